"""Uniform local binary patterns LBP^{u2}_{8,1} and LBP-TOP, in Numba.

The operator is scikit-image's ``local_binary_pattern(image, 8, 1, method="nri_uniform")``
reproduced bit for bit, so the features can be checked against it:

* **Neighbourhood.**  Eight samples on the circle of radius 1, sample ``i`` at
  row ``r + round(-sin(2 pi i / 8), 5)`` and column ``c + round(cos(2 pi i / 8), 5)``:
  ``i = 0`` right, 1 up-right, 2 up, 3 up-left, 4 left, 5 down-left, 6 down,
  7 down-right.  The four diagonal samples fall between pixels (offsets
  ``+-0.70711``) and are bilinearly interpolated with scikit-image's float64
  formula and operation order; the axis samples are the pixels themselves.
  (The integer 3x3 square neighbourhood does *not* match scikit-image.)
* **Bit.**  Bit ``i`` is set when ``sample_i - centre >= 0``; the code is ``sum bit_i 2**i``.
* **Labels (59).**  A pattern is uniform (u2) when it has at most two 0/1
  transitions around the circle: 58 such patterns, plus one label for all
  the others.  Numbering as scikit-image's ``nri_uniform``: ``0`` = no bit set
  (every sample darker than the centre), ``57`` = all bits set (flat
  neighbourhood), ``1 + 8 (k - 1) + (-s mod 8)`` for a run of ``k`` (1..7)
  set bits starting at sample ``s``, ``58`` = non-uniform.
* **Border.**  Like scikit-image (interpolation mode ``"C"``, ``cval=0``),
  :func:`lbp_codes` reads samples outside the image as 0, also as corners of
  the bilinear interpolation.  The histograms use only the *interior* pixels,
  whose eight samples all lie inside the image (rows ``1..H-2``, columns
  ``1..W-2``): border codes describe the zero padding, not the texture.

LBP-TOP applies the same operator (R = 1 along x, y and t) to the three
orthogonal planes of a gray clip ``(T, H, W)``: every XY plane ``clip[t]``
(rows y, columns x), every XT plane ``clip[:, y, :]`` (rows t, columns x) and
every YT plane ``clip[:, :, x]`` (rows t, columns y), each plane's interior
pixels counted into one histogram per orientation.  The three histograms,
each normalised to sum 1, are concatenated XY, XT, YT (177 values).

Colour clips are reduced to 8-bit gray first (:func:`rgb_to_gray`): ITU-R
BT.601 luma ``Y = 0.299 R + 0.587 G + 0.114 B`` rounded to the integers 0..255,
the 8-bit gray image LBP is defined on.  Rounding makes a ``uint8`` clip and
the same clip as float in [0, 1] (the data loader's tensors) give identical
features: no float noise between nearly equal levels decides a ``>=``.

Kernels (``_``-prefixed) trust their arguments; the public wrappers validate.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

__all__ = [
    "N_BINS",
    "N_TOP_FEATURES",
    "rgb_to_gray",
    "lbp_codes",
    "lbp_histogram",
    "lbp_top_histogram",
    "lbp_features",
    "lbp_top_features",
]

#: Labels of LBP^{u2}_{8,1}: 58 uniform patterns and one for all non-uniform ones.
N_BINS = 59
#: Length of the LBP-TOP feature: XY, XT and YT histograms.
N_TOP_FEATURES = 3 * N_BINS

_P = 8
# Sample offsets exactly as scikit-image computes them (rounded to 5 decimals).
_ANGLES = 2.0 * np.pi * np.arange(_P, dtype=np.float64) / _P
_ROW_OFF = np.round(-1.0 * np.sin(_ANGLES), 5)
_COL_OFF = np.round(1.0 * np.cos(_ANGLES), 5)


def _make_lut() -> np.ndarray:
    """(256,) uint8: 8-bit code -> u2 label (0..58), from the textbook definition."""
    lut = np.empty(256, np.uint8)
    for code in range(256):
        bits = [(code >> i) & 1 for i in range(_P)]
        ones = sum(bits)
        transitions = sum(bits[i] != bits[(i + 1) % _P] for i in range(_P))
        if ones == 0:
            lut[code] = 0
        elif ones == _P:
            lut[code] = _P * (_P - 1) + 1
        elif transitions > 2:
            lut[code] = _P * (_P - 1) + 2
        else:
            # the run of ones starts at the set bit whose predecessor (circularly) is clear
            start = next(i for i in range(_P) if bits[i] and not bits[i - 1])
            lut[code] = 1 + (ones - 1) * _P + (-start) % _P
    return lut


_LUT = _make_lut()

#: Work (pixels) below which a kernel runs on one thread: starting threads would cost more.
_PARALLEL_MIN_PIXELS = 16384


def _chunks(items: int, pixels: int) -> int:
    """Runs to split ``items`` (frames or planes, ``pixels`` in all) into: one per thread."""
    if pixels < _PARALLEL_MIN_PIXELS:
        return 1
    return max(1, min(items, numba.get_num_threads()))


def _taps(n: int, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interpolation taps along one axis for indices 0..n-1 and the 8 sample offsets.

    Returns ``lo, hi`` (n, 8) int64 (floor and ceil of ``index + offset``) and
    ``frac`` (n, 8) float64 (``index + offset - lo``), computed in float64 like
    scikit-image (the fraction depends slightly on the index through rounding).
    """
    pos = np.arange(n, dtype=np.float64)[:, None] + offsets[None, :]
    lo = np.floor(pos)
    return lo.astype(np.int64), np.ceil(pos).astype(np.int64), pos - lo


# -- kernels -----------------------------------------------------------------------------------


@njit(cache=True)
def _get(img, r, c):
    # scikit-image's get_pixel2d in mode "C" with cval 0
    if r < 0 or r >= img.shape[0] or c < 0 or c >= img.shape[1]:
        return 0.0
    return np.float64(img[r, c])


@njit(cache=True)
def _label(img, r, c, rlo, rhi, rfr, clo, chi, cfr, lut):
    """u2 label of pixel (r, c) of a 2-D image (any layout), zero outside the image."""
    centre = np.float64(img[r, c])
    code = 0
    for i in range(8):
        r0 = rlo[r, i]
        c0 = clo[c, i]
        if i % 2 == 0:
            # axis sample: the bilinear weights are exactly 1 and 0, so this is the pixel itself
            v = _get(img, r0, c0)
        else:
            r1 = rhi[r, i]
            c1 = chi[c, i]
            dr = rfr[r, i]
            dc = cfr[c, i]
            # same expression and order as scikit-image's bilinear_interpolation
            top = (1.0 - dc) * _get(img, r0, c0) + dc * _get(img, r0, c1)
            bottom = (1.0 - dc) * _get(img, r1, c0) + dc * _get(img, r1, c1)
            v = (1.0 - dr) * top + dr * bottom
        if v - centre >= 0.0:
            code |= 1 << i
    return lut[code]


@njit(cache=True)
def _codes_2d(img, rlo, rhi, rfr, clo, chi, cfr, lut, out):
    """out (H, W) uint8 = labels of every pixel of img (H, W)."""
    for r in range(img.shape[0]):
        for c in range(img.shape[1]):
            out[r, c] = _label(img, r, c, rlo, rhi, rfr, clo, chi, cfr, lut)


@njit(cache=True)
def _count_interior(img, rfr, cfr, cfr1, lut, hist, lab):
    """hist (59,) int64 += label counts of the interior pixels of img (R, C), any layout.

    Same arithmetic as :func:`_label`, unrolled for interior pixels, where the
    taps are known: a diagonal sample at row offset -0.70711 interpolates rows
    r-1 and r, at +0.70711 rows r and r+1 (columns likewise), and nothing lies
    outside the image.  cfr1 = 1 - cfr (the same float64 values skimage forms).
    Codes go to the scratch row lab (>= C) first: the histogram increments
    would otherwise stop the compiler from keeping the row's loads in registers.
    """
    C = img.shape[1]
    for r in range(1, img.shape[0] - 1):
        up = img[r - 1]
        mid = img[r]
        dn = img[r + 1]
        dr1 = rfr[r, 1]
        dr3 = rfr[r, 3]
        dr5 = rfr[r, 5]
        dr7 = rfr[r, 7]
        er1 = 1.0 - dr1
        er3 = 1.0 - dr3
        er5 = 1.0 - dr5
        er7 = 1.0 - dr7
        for c in range(1, C - 1):
            ce = mid[c]
            # samples 0, 2, 4, 6 (right, up, left, down) are pixels; 1, 3, 5, 7 the diagonals
            v1 = er1 * (cfr1[c, 1] * up[c] + cfr[c, 1] * up[c + 1]) + dr1 * (
                cfr1[c, 1] * mid[c] + cfr[c, 1] * mid[c + 1]
            )
            v3 = er3 * (cfr1[c, 3] * up[c - 1] + cfr[c, 3] * up[c]) + dr3 * (
                cfr1[c, 3] * mid[c - 1] + cfr[c, 3] * mid[c]
            )
            v5 = er5 * (cfr1[c, 5] * mid[c - 1] + cfr[c, 5] * mid[c]) + dr5 * (
                cfr1[c, 5] * dn[c - 1] + cfr[c, 5] * dn[c]
            )
            v7 = er7 * (cfr1[c, 7] * mid[c] + cfr[c, 7] * mid[c + 1]) + dr7 * (
                cfr1[c, 7] * dn[c] + cfr[c, 7] * dn[c + 1]
            )
            lab[c] = (
                np.uint8(mid[c + 1] - ce >= 0.0)
                | (np.uint8(v1 - ce >= 0.0) << 1)
                | (np.uint8(up[c] - ce >= 0.0) << 2)
                | (np.uint8(v3 - ce >= 0.0) << 3)
                | (np.uint8(mid[c - 1] - ce >= 0.0) << 4)
                | (np.uint8(v5 - ce >= 0.0) << 5)
                | (np.uint8(dn[c] - ce >= 0.0) << 6)
                | (np.uint8(v7 - ce >= 0.0) << 7)
            )
        for c in range(1, C - 1):
            hist[lut[lab[c]]] += 1


@njit(cache=True)
def _count_stack_range(stack, rfr, cfr, cfr1, lut, hist, n0, n1):
    lab = np.empty(stack.shape[2], np.uint8)
    for n in range(n0, n1):
        hist[n, :] = 0
        _count_interior(stack[n], rfr, cfr, cfr1, lut, hist[n], lab)


@njit(parallel=True, cache=True)
def _count_stack(stack, rfr, cfr, cfr1, lut, hist, chunks):
    """hist (N, 59) int64 = interior label counts of each image of stack (N, H, W).

    The images are split into ``chunks`` runs, one per thread (1: serial, no thread start).
    """
    N = stack.shape[0]
    if chunks <= 1:
        _count_stack_range(stack, rfr, cfr, cfr1, lut, hist, 0, N)
        return
    for k in prange(chunks):
        _count_stack_range(stack, rfr, cfr, cfr1, lut, hist, k * N // chunks, (k + 1) * N // chunks)


@njit(cache=True)
def _top_range(vol, vol_t, plane, i0, i1, rfr, cfr, cfr1, lut, hxy, hxt, hyt):
    """Counts of planes i0..i1-1 of one orientation (0: XY, 1: XT, 2: YT)."""
    T, H, W = vol.shape
    if plane == 0:
        lab = np.empty(W, np.uint8)
        for t in range(i0, i1):
            hxy[t, :] = 0
            _count_interior(vol[t], rfr, cfr, cfr1, lut, hxy[t], lab)
    elif plane == 1:
        lab = np.empty(W, np.uint8)
        for y in range(i0, i1):
            hxt[y, :] = 0
            _count_interior(vol[:, y, :], rfr, cfr, cfr1, lut, hxt[y], lab)
    else:
        lab = np.empty(H, np.uint8)
        for x in range(i0, i1):
            hyt[x, :] = 0
            _count_interior(vol_t[:, x, :], rfr, cfr, cfr1, lut, hyt[x], lab)


@njit(parallel=True, cache=True)
def _count_top(vol, vol_t, rfr, cfr, cfr1, lut, hxy, hxt, hyt, chunks):
    """Interior label counts of every XY (hxy (T, 59)), XT (hxt (H, 59)) and YT (hyt (W, 59)) plane.

    vol (T, H, W) and vol_t = vol.transpose(0, 2, 1) as a C-contiguous copy, so that
    the YT planes vol_t[:, x, :] have contiguous rows like the XT planes vol[:, y, :].
    The tap tables cover max(T, H, W) indices, whichever axis a plane's rows and
    columns are.  Each orientation's planes are split into up to ``chunks`` runs.
    """
    for plane in range(3):
        n = vol.shape[plane]
        k_n = min(chunks, n)
        if k_n <= 1:
            _top_range(vol, vol_t, plane, 0, n, rfr, cfr, cfr1, lut, hxy, hxt, hyt)
            continue
        for k in prange(k_n):
            _top_range(vol, vol_t, plane, k * n // k_n, (k + 1) * n // k_n, rfr, cfr, cfr1, lut, hxy, hxt, hyt)


@njit(cache=True)
def _luma_row(R, G, B, out, levels):
    """out (n,) uint8 = luma of the pixels with channels R, G, B (n,); returns the count of bad values.

    ``(299 R + 587 G + 114 B + 500) // 1000`` on the levels R, G, B (0..255):
    ``round(0.299 R + 0.587 G + 0.114 B)``, ties up, in exact arithmetic.
    levels: the channels are uint8 levels; otherwise floats in [0, 1], rounded to
    the levels floor(255 x + 0.5).  Floats are clamped first (NaN -> 0) and every value
    the clamp changes is counted as bad, for the wrapper to raise.
    """
    if levels:
        for x in range(out.shape[0]):
            out[x] = np.uint8((299 * np.int32(R[x]) + 587 * np.int32(G[x]) + 114 * np.int32(B[x]) + 500) // 1000)
        return 0
    zero = np.float32(0.0)
    one = np.float32(1.0)
    half = np.float32(0.5)
    n_bad = 0
    for x in range(out.shape[0]):
        r = np.float32(R[x])
        g = np.float32(G[x])
        b = np.float32(B[x])
        # clamp with selects (vectorises, unlike min/max); NaN fails both tests -> 0
        cr = (r if r > zero else zero) if r < one else one
        cg = (g if g > zero else zero) if g < one else one
        cb = (b if b > zero else zero) if b < one else one
        n_bad += np.int32(cr != r) + np.int32(cg != g) + np.int32(cb != b)
        # levels and the weighted sum are integers below 2**24: exact in float32, and the
        # correctly rounded quotient of an integer by 1000 never crosses an integer wrongly
        s = (
            np.float32(299.0) * np.floor(cr * np.float32(255.0) + half)
            + np.float32(587.0) * np.floor(cg * np.float32(255.0) + half)
            + np.float32(114.0) * np.floor(cb * np.float32(255.0) + half)
            + np.float32(500.0)
        )
        out[x] = np.uint8(np.int32(np.floor(s / np.float32(1000.0))))
    return n_bad


@njit(cache=True)
def _luma_range(clip, channels_last, levels, out, bad, t0, t1):
    H, W = out.shape[1], out.shape[2]
    for t in range(t0, t1):
        # whole frames as 1-D runs (views of the C-contiguous arrays): long vectorised loops
        o = out[t].reshape(H * W)
        if channels_last:
            px = clip[t].reshape(H * W, 3)
            n_bad = _luma_row(px[:, 0], px[:, 1], px[:, 2], o, levels)
        else:
            planes = clip[t].reshape(3, H * W)
            n_bad = _luma_row(planes[0], planes[1], planes[2], o, levels)
        bad[t] = n_bad > 0


@njit(parallel=True, cache=True)
def _luma(clip, channels_last, levels, out, bad, chunks):
    """out (T, H, W) uint8 = 8-bit BT.601 luma of clip (T, H, W, 3) or (T, 3, H, W), C-contiguous.

    levels: clip is uint8; otherwise float32 in [0, 1].  bad (T,) flags frames with a
    float outside [0, 1] or NaN (the wrapper raises).  Frames split into ``chunks`` runs.
    """
    T = out.shape[0]
    if chunks <= 1:
        _luma_range(clip, channels_last, levels, out, bad, 0, T)
        return
    for k in prange(chunks):
        _luma_range(clip, channels_last, levels, out, bad, k * T // chunks, (k + 1) * T // chunks)


# -- validation and conversion -----------------------------------------------------------------


def _as_gray(image, ndim: int, what: str, min_size: tuple[int, ...]) -> np.ndarray:
    """Validated C-contiguous float64 copy/view of a real-valued array with ``ndim`` axes."""
    a = np.asarray(image)
    if a.dtype == np.bool_ or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise ValueError(f"{what} must be an integer or float array, got dtype {a.dtype}")
    if a.ndim != ndim:
        raise ValueError(f"{what} must have {ndim} axes, got shape {a.shape}")
    if any(n < m for n, m in zip(a.shape, min_size)):
        raise ValueError(f"{what} of shape {a.shape} is too small: need at least {min_size}")
    is_float = np.issubdtype(a.dtype, np.floating)
    a = np.ascontiguousarray(a, dtype=np.float64)
    if is_float and not np.isfinite(a).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    return a


def _tap_tables(n: int):
    """rlo, rhi, rfr, clo, chi, cfr for indices 0..n-1 (see :func:`_taps`)."""
    return (*_taps(n, _ROW_OFF), *_taps(n, _COL_OFF))


def _interior_tables(n: int):
    """rfr, cfr, 1 - cfr for indices 0..n-1, what the interior kernels need."""
    rfr = _taps(n, _ROW_OFF)[2]
    cfr = _taps(n, _COL_OFF)[2]
    return rfr, cfr, 1.0 - cfr


def _channel_axis(shape: tuple[int, ...], layout: str) -> int:
    if layout == "THWC":
        return 3
    if layout == "TCHW":
        return 1
    if layout != "auto":
        raise ValueError(f"layout must be 'auto', 'THWC' or 'TCHW', got {layout!r}")
    last, second = shape[3] == 3, shape[1] == 3
    if last and second:
        raise ValueError(f"clip shape {shape} is ambiguous: pass layout='THWC' or layout='TCHW'")
    if not (last or second):
        raise ValueError(f"clip must be (T, H, W, 3) or (T, 3, H, W) RGB, got shape {shape}")
    return 3 if last else 1


def rgb_to_gray(clip, layout: str = "auto") -> np.ndarray:
    """8-bit ITU-R BT.601 luma of an RGB clip.

    Parameters
    ----------
    clip : array_like, shape (T, H, W, 3) or (T, 3, H, W)
        RGB frames, ``uint8`` in 0..255 or float in [0, 1] (NumPy array or CPU
        torch tensor, e.g. the data loader's ``(T, 3, H, W)`` float32 clips).
    layout : {"auto", "THWC", "TCHW"}
        Where the channels are; ``"auto"`` picks the axis of length 3 and
        refuses shapes where both axes 1 and 3 have length 3.

    Returns
    -------
    numpy.ndarray, shape (T, H, W), uint8
        ``round(0.299 R + 0.587 G + 0.114 B)`` on the 0..255 scale, in exact
        integer arithmetic (ties up).  Float channels are first rounded to the
        256 levels ``floor(255 x + 0.5)`` in float32 (float64 clips are cast to
        float32 first), so a ``uint8`` clip and the same clip divided by 255
        give the same gray.

    Raises
    ------
    ValueError
        Wrong number of axes, no RGB axis, an empty clip, a dtype other than
        ``uint8`` or float, float values outside [0, 1], or NaN.
    """
    a = np.asarray(clip)
    if a.ndim != 4:
        raise ValueError(f"clip must be (T, H, W, 3) or (T, 3, H, W), got shape {a.shape}")
    axis = _channel_axis(a.shape, layout)
    if a.shape[axis] != 3:
        raise ValueError(f"clip of shape {a.shape} has no RGB axis of length 3 for layout {layout!r}")
    if a.size == 0:
        raise ValueError(f"clip of shape {a.shape} is empty")
    if np.issubdtype(a.dtype, np.floating):
        # one float kernel: float32 is the loader's dtype and resolves the 256 levels
        a = a.astype(np.float32, copy=False)
    elif a.dtype != np.uint8:
        raise ValueError(f"clip dtype must be uint8 or float, got {a.dtype}")
    a = np.ascontiguousarray(a)
    T, H, W = (a.shape[0], a.shape[1], a.shape[2]) if axis == 3 else (a.shape[0], a.shape[2], a.shape[3])
    out = np.empty((T, H, W), np.uint8)
    bad = np.zeros(T, np.bool_)
    _luma(a, axis == 3, bool(a.dtype == np.uint8), out, bad, _chunks(T, out.size))
    if bad.any():
        if np.isnan(a).any():
            raise ValueError("float clip contains NaN")
        raise ValueError(f"float clips must lie in [0, 1], got values in [{a.min()}, {a.max()}]")
    return out


# -- public LBP on gray images -----------------------------------------------------------------


def lbp_codes(image) -> np.ndarray:
    """Per-pixel LBP^{u2}_{8,1} labels of a gray image, border included.

    Parameters
    ----------
    image : array_like, shape (H, W), integer or float, H, W >= 3
        Gray values (any scale); compared in float64.

    Returns
    -------
    numpy.ndarray, shape (H, W), uint8
        Labels 0..58, equal to ``skimage.feature.local_binary_pattern(image, 8,
        1, method="nri_uniform")``; samples outside the image read as 0.

    Raises
    ------
    ValueError
        Not 2-D, smaller than 3x3, not a real dtype, or not finite.
    """
    img = _as_gray(image, 2, "image", (3, 3))
    out = np.empty(img.shape, np.uint8)
    _codes_2d(img, *_tap_tables(max(img.shape)), _LUT, out)
    return out


def lbp_histogram(images) -> np.ndarray:
    """Normalised LBP^{u2}_{8,1} histogram of the interior pixels of one gray image or a stack.

    Parameters
    ----------
    images : array_like, shape (H, W) or (N, H, W), integer or float, H, W >= 3
        Gray image(s); a stack is processed in parallel over its images.

    Returns
    -------
    numpy.ndarray, shape (59,) or (N, 59), float64
        Fraction of the ``(H - 2) (W - 2)`` interior pixels with each label
        (rows sum to 1); same labels as :func:`lbp_codes`.

    Raises
    ------
    ValueError
        Not 2-D or 3-D, empty stack, images smaller than 3x3, not a real dtype, or not finite.
    """
    a = np.asarray(images)
    single = a.ndim == 2
    if a.ndim not in (2, 3):
        raise ValueError(f"images must be (H, W) or (N, H, W), got shape {a.shape}")
    stack = _as_gray(a[None] if single else a, 3, "images", (1, 3, 3))
    hist = _stack_counts(stack).astype(np.float64)
    hist /= (stack.shape[1] - 2) * (stack.shape[2] - 2)
    return hist[0] if single else hist


def _stack_counts(stack: np.ndarray) -> np.ndarray:
    n = max(stack.shape[1], stack.shape[2])
    hist = np.empty((stack.shape[0], N_BINS), np.int64)
    _count_stack(stack, *_interior_tables(n), _LUT, hist, _chunks(len(stack), stack.size))
    return hist


def lbp_top_histogram(clip) -> np.ndarray:
    """LBP-TOP feature (u2, R = 1 along x, y, t) of a gray clip.

    Parameters
    ----------
    clip : array_like, shape (T, H, W), integer or float, T, H, W >= 3
        Gray frames.

    Returns
    -------
    numpy.ndarray, shape (177,), float64
        Concatenated normalised histograms of the XY planes (``clip[t]``, rows
        y, columns x; ``T (H-2) (W-2)`` pixels), the XT planes (``clip[:, y, :]``,
        rows t, columns x; ``H (T-2) (W-2)`` pixels) and the YT planes
        (``clip[:, :, x]``, rows t, columns y; ``W (T-2) (H-2)`` pixels),
        interior pixels of each plane only.  Each block of 59 sums to 1.

    Raises
    ------
    ValueError
        Not 3-D, fewer than 3 frames, frames smaller than 3x3, not a real dtype, or not finite.
    """
    vol = _as_gray(clip, 3, "clip", (3, 3, 3))
    T, H, W = vol.shape
    vol_t = np.ascontiguousarray(vol.transpose(0, 2, 1))
    hxy = np.empty((T, N_BINS), np.int64)
    hxt = np.empty((H, N_BINS), np.int64)
    hyt = np.empty((W, N_BINS), np.int64)
    _count_top(vol, vol_t, *_interior_tables(max(T, H, W)), _LUT, hxy, hxt, hyt, _chunks(min(T, H, W), 3 * vol.size))
    out = np.empty(N_TOP_FEATURES, np.float64)
    out[:N_BINS] = hxy.sum(0) / (T * (H - 2) * (W - 2))
    out[N_BINS : 2 * N_BINS] = hxt.sum(0) / (H * (T - 2) * (W - 2))
    out[2 * N_BINS :] = hyt.sum(0) / (W * (T - 2) * (H - 2))
    return out


# -- public features of RGB clips --------------------------------------------------------------


def lbp_features(clip, layout: str = "auto") -> np.ndarray:
    """Per-frame LBP^{u2}_{8,1} histograms of an RGB clip (the LBP + SVM baseline's features).

    Parameters
    ----------
    clip : array_like, shape (T, H, W, 3) or (T, 3, H, W)
        ``uint8`` or float in [0, 1]; see :func:`rgb_to_gray`.  H, W >= 3.
    layout : {"auto", "THWC", "TCHW"}

    Returns
    -------
    numpy.ndarray, shape (T, 59), float64
        :func:`lbp_histogram` of each frame's 8-bit luma.
    """
    return lbp_histogram(rgb_to_gray(clip, layout))


def lbp_top_features(clip, layout: str = "auto") -> np.ndarray:
    """LBP-TOP feature of an RGB clip (the LBP-TOP + SVM baseline's features).

    Parameters
    ----------
    clip : array_like, shape (T, H, W, 3) or (T, 3, H, W)
        ``uint8`` or float in [0, 1]; see :func:`rgb_to_gray`.  T, H, W >= 3.
    layout : {"auto", "THWC", "TCHW"}

    Returns
    -------
    numpy.ndarray, shape (177,), float64
        :func:`lbp_top_histogram` of the clip's 8-bit luma.
    """
    return lbp_top_histogram(rgb_to_gray(clip, layout))
