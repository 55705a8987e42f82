"""Numba kernels: pure functions on preallocated arrays.

Images are C-contiguous ``(H, W, C)`` arrays (channels interleaved), so a pixel
row is one contiguous run of ``W * C`` values.  Row-wise work is split into one
chunk of rows per thread; each chunk allocates its scratch rows once.  The
public wrappers in :mod:`evm.pyramid`, :mod:`evm.temporal` and
:mod:`evm.magnify` validate shapes and dtypes; these kernels trust their
arguments.

The entry points release the GIL (``nogil=True``): decoding and encoding threads (PyAV)
keep running while a frame is magnified.

Convention (edges and sizes), identical to matlabPyrTools with the ``binom5``
filter and ``reflect1`` edges (pyrtools' ``LaplacianPyramid``), but with the
filter normalised to unit sum so that every level keeps image units:

* ``down``: blur with ``[1 4 6 4 1] / 16`` along each axis, edges mirrored
  without repeating the border sample (reflect-101), keep even samples; an axis
  of length ``n`` becomes ``ceil(n / 2)`` (this is exactly ``cv2.pyrDown``).
* ``up`` to length ``n`` from ``m = ceil(n / 2)`` samples: insert zeros, blur
  with ``2 * [1 4 6 4 1] / 16`` with reflect-101 edges *on the upsampled grid*.
  Even outputs are ``(x[i-1] + 6 x[i] + x[i+1]) / 8``, odd outputs
  ``(x[i] + x[i+1]) / 2``; at the start ``x[-1] = x[1]``; at the end
  ``x[m] = x[m-1]`` when ``n`` is even and ``x[m] = x[m-2]`` when ``n`` is odd.
  (``cv2.pyrUp`` differs in that last row/column.)  ``mit_edges=True`` also
  reproduces matlabPyrTools' one quirk: when the expanded axis is exactly 5 long
  (as long as the filter) its last sample misses the reflected tap,
  ``(x[1] + 6 x[2]) / 8``.
"""

from __future__ import annotations

import sys

import numba
import numpy as np
from numba import njit, prange

_F1 = np.float32(1.0 / 16.0)
_F4 = np.float32(4.0 / 16.0)
_F6 = np.float32(6.0 / 16.0)
_U1 = np.float32(1.0 / 8.0)
_U6 = np.float32(6.0 / 8.0)
_HALF = np.float32(0.5)
_ZERO = np.float32(0.0)
_MAXV = np.float32(255.0)


def threads() -> int:
    """Threads the parallel kernels split their rows over (numba's current setting)."""
    return numba.get_num_threads()


def skip_blas_probe() -> None:
    """Load Numba's array implementations without the BLAS probe they run on import.

    ``numba.np.arraymath`` imports ``scipy.linalg`` when it is first imported (at the first kernel
    call) only to choose how ``np.cov``-style inner products are compiled: 0.13 s and about 16 MB
    of peak memory in an ``evm magnify`` run, for kernels that use no BLAS.  With the probe
    skipped those inner products use a plain loop; ``np.dot`` and ``np.linalg`` still find BLAS
    when something compiles them (they check again at compile time), and ``scipy.linalg`` imports
    normally afterwards.  Called by the processes evm owns (the ``evm`` command, batch workers);
    does nothing where ``scipy.linalg`` or Numba's array implementations are loaded already.
    """
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return
    sys.modules["scipy.linalg"] = None  # makes `import scipy.linalg` raise ImportError: "no BLAS"
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        if "scipy.linalg" in sys.modules and sys.modules["scipy.linalg"] is None:
            del sys.modules["scipy.linalg"]


#: Rows below which a kernel runs on one thread (thread start-up would cost more).
_PARALLEL_MIN_VALUES = 16384


@njit(cache=True)
def _chunks(rows, values_per_row, threads):
    if rows * values_per_row < _PARALLEL_MIN_VALUES:
        return 1
    return max(1, min(rows, threads))


@njit(cache=True)
def _reflect101(i, n):
    # n >= 3 is guaranteed by the pyramid height rule (every blurred axis has >= 5 samples).
    if i < 0:
        return -i
    if i >= n:
        return 2 * n - 2 - i
    return i


# -- reduce ------------------------------------------------------------------------------------


@njit(cache=True)
def _vblur(s0, s1, s2, s3, s4, row, off):
    """row[off + x] = binomial blur of five source rows (any numeric dtype) at x."""
    for x in range(s0.shape[0]):
        row[off + x] = (
            _F1 * (np.float32(s0[x]) + np.float32(s4[x]))
            + _F4 * (np.float32(s1[x]) + np.float32(s3[x]))
            + _F6 * np.float32(s2[x])
        )


@njit(cache=True)
def _pad2(row, W, C):
    """Mirror two pixels at each end of a row whose samples start at pixel 2."""
    for c in range(C):
        row[0 * C + c] = row[4 * C + c]
        row[1 * C + c] = row[3 * C + c]
        row[(W + 2) * C + c] = row[W * C + c]
        row[(W + 3) * C + c] = row[(W - 1) * C + c]


@njit(cache=True)
def _hdown(row, out, w, C):
    """out[j, c] = binomial blur of the padded row at pixel 2j (decimation by 2)."""
    if C == 3:
        for j in range(w):
            b = 6 * j
            o = 3 * j
            out[o] = _F1 * (row[b] + row[b + 12]) + _F4 * (row[b + 3] + row[b + 9]) + _F6 * row[b + 6]
            out[o + 1] = _F1 * (row[b + 1] + row[b + 13]) + _F4 * (row[b + 4] + row[b + 10]) + _F6 * row[b + 7]
            out[o + 2] = _F1 * (row[b + 2] + row[b + 14]) + _F4 * (row[b + 5] + row[b + 11]) + _F6 * row[b + 8]
    elif C == 1:
        for j in range(w):
            b = 2 * j
            out[j] = _F1 * (row[b] + row[b + 4]) + _F4 * (row[b + 1] + row[b + 3]) + _F6 * row[b + 2]
    else:
        for j in range(w):
            b = 2 * j * C
            for c in range(C):
                out[j * C + c] = (
                    _F1 * (row[b + c] + row[b + 4 * C + c])
                    + _F4 * (row[b + C + c] + row[b + 3 * C + c])
                    + _F6 * row[b + 2 * C + c]
                )


@njit(cache=True)
def _down_rows(src, dst, C, first, stop, mix, dst_c):
    """Rows lo..hi of dst = reduce(src); src (H, W*C), dst (h, w*dst_c).

    ``mix`` (dst_c, C) is applied per pixel after reducing when ``dst_c > 0`` and
    mix.size > 0 (channel conversion on the coarse grid); otherwise dst has C channels.
    """
    W = src.shape[1] // C
    row = np.empty((W + 4) * C, np.float32)
    red = np.empty(((W + 1) // 2) * C, np.float32)
    use_mix = mix.shape[0] > 0
    for i in range(np.int64(first), np.int64(stop)):
        if not use_mix:
            _reduce_row(src, i, C, row, dst[i])
            continue
        _reduce_row(src, i, C, row, red)
        _mix_row(red, dst[i], mix)


@njit(cache=True)
def _reduce_row(src, i, C, row, out):
    """out = row ``i`` of reduce(src) (ceil(W/2) pixels); src (H, W*C) of any numeric dtype."""
    H = src.shape[0]
    W = src.shape[1] // C
    _vblur(
        src[_reflect101(2 * i - 2, H)],
        src[_reflect101(2 * i - 1, H)],
        src[2 * i],
        src[_reflect101(2 * i + 1, H)],
        src[_reflect101(2 * i + 2, H)],
        row,
        2 * C,
    )
    _pad2(row, W, C)
    _hdown(row, out, (W + 1) // 2, C)


@njit(parallel=True, cache=True, nogil=True)
def down(src, dst, C, threads):
    """``dst = pyrDown(src)``; src (H, W*C) float32, dst (ceil(H/2), ceil(W/2)*C) float32."""
    h = dst.shape[0]
    n = _chunks(h, dst.shape[1], threads)
    nomix = np.empty((0, 0), np.float32)
    if n == 1:
        _down_rows(src, dst, C, 0, h, nomix, C)
        return
    for k in prange(n):
        _down_rows(src, dst, C, k * h // n, (k + 1) * h // n, nomix, C)


@njit(parallel=True, cache=True, nogil=True)
def down_mix(src, dst, C, mix, threads):
    """Reduce a frame (any numeric dtype, (H, W*C)) and convert channels with ``mix`` (Co, C).

    Blurring and a per-pixel channel matrix commute, so the colour conversion runs
    on a quarter of the pixels.  dst is (ceil(H/2), ceil(W/2)*Co) float32.
    """
    h = dst.shape[0]
    n = _chunks(h, dst.shape[1], threads)
    co = mix.shape[0]
    if n == 1:
        _down_rows(src, dst, C, 0, h, mix, co)
        return
    for k in prange(n):
        _down_rows(src, dst, C, k * h // n, (k + 1) * h // n, mix, co)


@njit(cache=True)
def _down_yuv_rows(y, u, v, mix, offset, dst, first, stop):
    w = (y.shape[1] + 1) // 2
    co = mix.shape[0]
    row = np.empty(y.shape[1] + 4, np.float32)
    red = np.empty(w, np.float32)
    o0, o1, o2 = offset[0], offset[1], offset[2]
    for i in range(np.int64(first), np.int64(stop)):
        _reduce_row(y, i, 1, row, red)
        ur, vr, d = u[i], v[i], dst[i]
        for x in range(w):
            a = red[x] - o0
            b = np.float32(ur[x]) - o1
            c = np.float32(vr[x]) - o2
            for o in range(co):
                d[x * co + o] = mix[o, 0] * a + mix[o, 1] * b + mix[o, 2] * c


@njit(parallel=True, cache=True, nogil=True)
def down_yuv(y, u, v, mix, offset, dst, threads):
    """Level 1 of a Y'CbCr 4:2:0 frame in the analysed channels: luma reduced, chroma as it is.

    ``dst[i, j] = mix @ (reduce(y)[i, j] - offset[0], u[i, j] - offset[1], v[i, j] - offset[2])``.
    ``y`` (H, W) uint8; ``u``, ``v`` (ceil(H/2), ceil(W/2)) uint8, the chroma planes, which sit
    on level 1's grid already; ``mix`` (Co, 3) and ``offset`` (3,) float32; dst
    (ceil(H/2), ceil(W/2)*Co) float32.
    """
    h = dst.shape[0]
    n = _chunks(h, dst.shape[1], threads)
    if n == 1:
        _down_yuv_rows(y, u, v, mix, offset, dst, 0, h)
        return
    for k in prange(n):
        _down_yuv_rows(y, u, v, mix, offset, dst, k * h // n, (k + 1) * h // n)


# -- expand ------------------------------------------------------------------------------------


@njit(cache=True)
def _up_taps(r, m, n, mit_edges):
    """Source rows and weights for output row ``r`` of an expansion from m to n rows."""
    r = np.int64(r)
    i = r >> 1
    if r & 1:
        b = i + 1
        if b >= m:  # only reached when n is even: x[m] = x[m-1]
            b = m - 1
        return i, b, b, _HALF, _HALF, _ZERO
    lo = i - 1 if i >= 1 else 1
    hi = i + 1
    whi = _U1
    if hi >= m:
        hi = m - 1 if (n % 2 == 0) else m - 2
        if mit_edges and n == 5:
            whi = _ZERO
    return lo, i, hi, _U1, _U6, whi


@njit(cache=True)
def _vmix(sa, sb, se, wa, wb, we, row, off):
    for x in range(sa.shape[0]):
        row[off + x] = wa * sa[x] + wb * sb[x] + we * se[x]


@njit(cache=True)
def _hup(row, q, p, C, out, mit_edges):
    """Expand a row of q pixels (stored from pixel 1 of ``row``) to p pixels in ``out``."""
    for c in range(C):
        row[c] = row[2 * C + c]
        if p % 2 == 0:
            row[(q + 1) * C + c] = row[q * C + c]
        elif mit_edges and p == 5:
            row[(q + 1) * C + c] = _ZERO
        else:
            row[(q + 1) * C + c] = row[(q - 1) * C + c]
    pairs = p // 2
    if C == 3:
        for j in range(pairs):
            a = 3 * j  # pixel j - 1 (row is offset by one pixel)
            o = 6 * j
            for c in range(3):
                left = row[a + c]
                mid = row[a + 3 + c]
                right = row[a + 6 + c]
                out[o + c] = _U1 * (left + right) + _U6 * mid
                out[o + 3 + c] = _HALF * (mid + right)
    elif C == 1:  # the luma plane: the same sums as below, with the channel loop unrolled
        for j in range(pairs):
            left = row[j]
            mid = row[j + 1]
            right = row[j + 2]
            out[2 * j] = _U1 * (left + right) + _U6 * mid
            out[2 * j + 1] = _HALF * (mid + right)
    else:
        for j in range(pairs):
            a = C * j
            o = 2 * C * j
            for c in range(C):
                left = row[a + c]
                mid = row[a + C + c]
                right = row[a + 2 * C + c]
                out[o + c] = _U1 * (left + right) + _U6 * mid
                out[o + C + c] = _HALF * (mid + right)
    if p % 2 == 1:
        j = pairs
        for c in range(C):
            out[2 * C * j + c] = _U1 * (row[C * j + c] + row[C * j + 2 * C + c]) + _U6 * row[C * j + C + c]


@njit(cache=True)
def _expand_row(src, r, n, p, C, row, out, mit_edges):
    """out = row ``r`` of expand(src) (p pixels), src (m, q*C)."""
    m = src.shape[0]
    q = src.shape[1] // C
    a, b, e, wa, wb, we = _up_taps(r, m, n, mit_edges)
    _vmix(src[a], src[b], src[e], wa, wb, we, row, C)
    _hup(row, q, p, C, out, mit_edges)


@njit(cache=True)
def _up_rows(src, dst, C, first, stop, add, scale, mit_edges):
    n = dst.shape[0]
    p = dst.shape[1] // C
    q = src.shape[1] // C
    row = np.empty((q + 2) * C, np.float32)
    use_add = add.shape[0] > 0
    for r in range(np.int64(first), np.int64(stop)):
        out = dst[r]
        _expand_row(src, r, n, p, C, row, out, mit_edges)
        if use_add:
            a = add[r]
            for x in range(out.shape[0]):
                out[x] += scale * a[x]


@njit(parallel=True, cache=True, nogil=True)
def up(src, dst, C, mit_edges, threads):
    """``dst = expand(src)``; src (m, q*C), dst (n, p*C) float32 with ceil(n/2)=m, ceil(p/2)=q."""
    n = dst.shape[0]
    k_n = _chunks(n, dst.shape[1], threads)
    noadd = np.empty((0, 0), np.float32)
    if k_n == 1:
        _up_rows(src, dst, C, 0, n, noadd, _ZERO, mit_edges)
        return
    for k in prange(k_n):
        _up_rows(src, dst, C, k * n // k_n, (k + 1) * n // k_n, noadd, _ZERO, mit_edges)


@njit(parallel=True, cache=True, nogil=True)
def up_add(src, dst, C, add, scale, mit_edges, threads):
    """``dst = expand(src) + scale * add``; add has dst's shape."""
    n = dst.shape[0]
    k_n = _chunks(n, dst.shape[1], threads)
    if k_n == 1:
        _up_rows(src, dst, C, 0, n, add, scale, mit_edges)
        return
    for k in prange(k_n):
        _up_rows(src, dst, C, k * n // k_n, (k + 1) * n // k_n, add, scale, mit_edges)


# -- output ------------------------------------------------------------------------------------


@njit(cache=True)
def _store_clip(values, frame_row, out_row):
    """out = round(frame + values) clipped to [0, 255], half away from zero (MATLAB im2uint8)."""
    for x in range(values.shape[0]):
        v = values[x] + np.float32(frame_row[x])
        v = min(max(v, _ZERO), _MAXV)
        out_row[x] = np.uint8(np.int32(v + _HALF))


@njit(cache=True)
def _store_hue(values, frame_row, out_row, C):
    """Like ``_store_clip`` with Octave ``ntsc2rgb`` gamut handling: negatives to 0, then a
    pixel whose largest channel exceeds 255 is scaled down by that channel / 255."""
    for x0 in range(0, values.shape[0], C):
        peak = _ZERO
        for c in range(C):
            v = max(values[x0 + c] + np.float32(frame_row[x0 + c]), _ZERO)
            values[x0 + c] = v
            peak = max(peak, v)
        s = _MAXV / peak if peak > _MAXV else np.float32(1.0)
        for c in range(C):
            v = min(values[x0 + c] * s, _MAXV)
            out_row[x0 + c] = np.uint8(np.int32(v + _HALF))


@njit(cache=True)
def _render_rows(delta, frame, out, C, first, stop, hue_preserving, mit_edges, full_size):
    n = frame.shape[0]
    p = frame.shape[1] // C
    q = delta.shape[1] // C
    row = np.empty((q + 2) * C, np.float32)
    values = np.empty(p * C, np.float32)
    for r in range(np.int64(first), np.int64(stop)):
        if full_size:
            values[:] = delta[r]
        else:
            _expand_row(delta, r, n, p, C, row, values, mit_edges)
        if hue_preserving:
            _store_hue(values, frame[r], out[r], C)
        else:
            _store_clip(values, frame[r], out[r])


@njit(parallel=True, cache=True, nogil=True)
def up_add_u8(delta, frame, out, C, hue_preserving, mit_edges, threads):
    """``out = round(frame + expand(delta))`` as uint8.

    ``delta`` (m, q*C) float32 in frame units (0..255); ``frame``/``out`` (n, p*C)
    uint8.  Out-of-range values are clipped per channel, or with
    ``hue_preserving`` handled like Octave's ``ntsc2rgb`` (see ``_store_hue``).
    """
    n = frame.shape[0]
    k_n = _chunks(n, frame.shape[1], threads)
    if k_n == 1:
        _render_rows(delta, frame, out, C, 0, n, hue_preserving, mit_edges, False)
        return
    for k in prange(k_n):
        _render_rows(delta, frame, out, C, k * n // k_n, (k + 1) * n // k_n, hue_preserving, mit_edges, False)


@njit(parallel=True, cache=True, nogil=True)
def add_u8(delta, frame, out, C, hue_preserving, threads):
    """``out = round(frame + delta)`` for a full-size float32 delta (see ``up_add_u8``)."""
    n = frame.shape[0]
    k_n = _chunks(n, frame.shape[1], threads)
    if k_n == 1:
        _render_rows(delta, frame, out, C, 0, n, hue_preserving, False, True)
        return
    for k in prange(k_n):
        _render_rows(delta, frame, out, C, k * n // k_n, (k + 1) * n // k_n, hue_preserving, False, True)


# -- per-pixel ---------------------------------------------------------------------------------


@njit(cache=True)
def _mix_row(src, dst, mix):
    """dst pixel = mix @ src pixel, for interleaved rows; mix (Co, Ci)."""
    Co, Ci = mix.shape
    n = src.shape[0] // Ci
    if Ci == 3 and Co == 3:
        m00, m01, m02 = mix[0, 0], mix[0, 1], mix[0, 2]
        m10, m11, m12 = mix[1, 0], mix[1, 1], mix[1, 2]
        m20, m21, m22 = mix[2, 0], mix[2, 1], mix[2, 2]
        for i in range(n):
            a, b, c = src[3 * i], src[3 * i + 1], src[3 * i + 2]
            dst[3 * i] = m00 * a + m01 * b + m02 * c
            dst[3 * i + 1] = m10 * a + m11 * b + m12 * c
            dst[3 * i + 2] = m20 * a + m21 * b + m22 * c
    elif Ci == 3 and Co == 1:
        m00, m01, m02 = mix[0, 0], mix[0, 1], mix[0, 2]
        for i in range(n):
            dst[i] = m00 * src[3 * i] + m01 * src[3 * i + 1] + m02 * src[3 * i + 2]
    elif Ci == 1 and Co == 3:
        m0, m1, m2 = mix[0, 0], mix[1, 0], mix[2, 0]
        for i in range(n):
            v = src[i]
            dst[3 * i] = m0 * v
            dst[3 * i + 1] = m1 * v
            dst[3 * i + 2] = m2 * v
    else:
        for i in range(n):
            for o in range(Co):
                acc = _ZERO
                for c in range(Ci):
                    acc += mix[o, c] * src[i * Ci + c]
                dst[i * Co + o] = acc


@njit(cache=True, nogil=True)
def mix_channels(src, mix, dst):
    """``dst[p, o] = sum_c mix[o, c] * src[p, c]``; src (P*Ci,), dst (P*Co,) float32."""
    _mix_row(src, dst, mix)


@njit(cache=True)
def _sos_range(x, sos, state, y, lo, hi):
    for s in range(sos.shape[0]):
        b0, b1, b2, a1, a2 = sos[s, 0], sos[s, 1], sos[s, 2], sos[s, 4], sos[s, 5]
        z0 = state[s, 0]
        z1 = state[s, 1]
        src = x if s == 0 else y
        for p in range(lo, hi):
            v = src[p]
            out = b0 * v + z0[p]
            z0[p] = b1 * v - a1 * out + z1[p]
            z1[p] = b2 * v - a2 * out
            y[p] = out


@njit(parallel=True, cache=True, nogil=True)
def sos_step(x, sos, state, y, threads):
    """One time step of a cascade of biquads (scipy ``sosfilt``, transposed direct form II).

    ``x``/``y`` (P,) float32 (may alias), ``sos`` (S, 6) float32 rows
    ``b0 b1 b2 a0 a1 a2`` with ``a0 = 1``, ``state`` (S, 2, P) float32, updated in place.
    """
    P = x.shape[0]
    k_n = _chunks(1, P, threads)
    if k_n == 1:
        _sos_range(x, sos, state, y, 0, P)
        return
    for k in prange(k_n):
        _sos_range(x, sos, state, y, k * P // k_n, (k + 1) * P // k_n)


@njit(parallel=True, cache=True, nogil=True)
def sos_block(x, sos, state, y, threads):
    """``sos_step`` over a block: x, y (T, P) float32 (may alias); time is the outer axis."""
    T, P = x.shape
    k_n = _chunks(1, P, threads)
    for t in range(T):
        if k_n == 1:
            _sos_range(x[t], sos, state, y[t], 0, P)
        else:
            for k in prange(k_n):
                _sos_range(x[t], sos, state, y[t], k * P // k_n, (k + 1) * P // k_n)


@njit(cache=True)
def _sos_inplace(v, sos, state, base):
    """Filter the values v (one time step) whose state lives at state[:, :, base:base+len(v)]."""
    for s in range(sos.shape[0]):
        b0, b1, b2, a1, a2 = sos[s, 0], sos[s, 1], sos[s, 2], sos[s, 4], sos[s, 5]
        z0 = state[s, 0]
        z1 = state[s, 1]
        for x in range(v.shape[0]):
            xin = v[x]
            out = b0 * xin + z0[base + x]
            z0[base + x] = b1 * xin - a1 * out + z1[base + x]
            z1[base + x] = b2 * xin - a2 * out
            v[x] = out


@njit(cache=True)
def _stage_rows(coarse, g, scale, sos, state, mix, out, C, mit_edges, first, stop):
    n = g.shape[0]
    p = g.shape[1] // C
    expand = coarse.shape[0] > 0
    q = coarse.shape[1] // C if expand else 1
    row = np.empty((q + 2) * C, np.float32)
    d = np.empty(p * C, np.float32)
    for r in range(np.int64(first), np.int64(stop)):
        gr = g[r]
        if expand:
            _expand_row(coarse, r, n, p, C, row, d, mit_edges)
            for x in range(p * C):
                d[x] += scale * gr[x]
        else:
            d[:] = gr
        if sos.shape[0] > 0:
            _sos_inplace(d, sos, state, r * p * C)
        if mix.shape[0] > 0:
            _mix_row(d, out[r], mix)
        else:
            out[r, :] = d


@njit(parallel=True, cache=True, nogil=True)
def working_level(coarse, g, scale, sos, state, mix, out, C, mit_edges, threads):
    """The fused last step at the working level, one pass per row.

    ``d = expand(coarse) + scale * g`` (or ``d = g`` when ``coarse`` has no rows),
    then, when ``sos`` has sections, one filter time step on d (``state`` (S, 2,
    h*w*C)), then, when ``mix`` (Co, C) has rows, ``out = mix @ d`` per pixel,
    else ``out = d``.  g (h, w*C), coarse (ceil(h/2), ceil(w/2)*C), out (h, w*Co).
    """
    n = g.shape[0]
    k_n = _chunks(n, g.shape[1], threads)
    if k_n == 1:
        _stage_rows(coarse, g, scale, sos, state, mix, out, C, mit_edges, 0, n)
        return
    for k in prange(k_n):
        _stage_rows(coarse, g, scale, sos, state, mix, out, C, mit_edges, k * n // k_n, (k + 1) * n // k_n)
