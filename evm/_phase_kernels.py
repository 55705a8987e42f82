"""Numba kernels of the Riesz-pyramid phase method (Wadhwa et al., ICCP 2014).

Two fused passes per pyramid level, each over row chunks in parallel (the
``_chunks`` convention of :mod:`evm._kernels`):

``analyze_level``
    One read of the Gaussian level and its coarser neighbour: the Laplacian band
    ``I = G_k - expand(G_{k+1})`` is built row by row in a three-row ring, the
    approximate Riesz transform ``R1 = (I[x-1] - I[x+1]) / 2``, ``R2 = (I[y-1] -
    I[y+1]) / 2`` is taken from the ring, and per coefficient: the quaternion
    phase difference with the previous frame's ``(I, R1, R2)`` (stored in
    ``prev``, replaced by the current one), its accumulation, one time step of
    the temporal filter on the two accumulated components, and the amplitude
    ``A = sqrt(I^2 + R1^2 + R2^2)``.  It writes the three images the smoothing
    needs, ``A * phase_cos``, ``A * phase_sin`` and ``A``.

``synthesize_level``
    For each output row: the separable Gaussian blur of the three images
    (``blur(A * phase) / blur(A)``), the phase shift by ``alpha`` keeping only
    the real part, minus the band (the change of the band), plus the expanded
    change of the coarser levels (the collapse), written either as the level's
    collapsed change or, at the finest level, added to the frame and rounded to
    uint8 in every channel (the same luma change in R, G and B leaves I and Q
    unchanged).

Levels are single-channel float32 ``(h, w)`` arrays; per-coefficient state is
stacked on a leading axis (``prev`` (3, h, w), ``acc`` (2, h, w), filter state
``(S, 2, 2, h, w)``: section, the two transposed-direct-form-II delays, the two
phase components).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._kernels import _chunks, _expand_row

_ZERO = np.float32(0.0)
_HALF = np.float32(0.5)
_ONE = np.float32(1.0)
_MAXV = np.float32(255.0)

_RING = 3
_TINY = np.float32(1e-30)
_PI = np.float32(math.pi)
_PI_2 = np.float32(math.pi / 2)
_PI_4 = np.float32(math.pi / 4)
_TAN_PI_8 = np.float32(math.tan(math.pi / 8))
_TWO_PI = np.float32(2 * math.pi)
_INV_TWO_PI = np.float32(1 / (2 * math.pi))
_QUARTER = np.float32(0.25)
_TWO = np.float32(2.0)
_C3, _C5, _C7, _C9, _C11 = (np.float32(c) for c in (-1 / 3, 1 / 5, -1 / 7, 1 / 9, -1 / 11))
_S3, _S5, _S7, _S9 = (np.float32(c) for c in (-1 / 6, 1 / 120, -1 / 5040, 1 / 362880))
_K2, _K4, _K6, _K8 = (np.float32(c) for c in (-1 / 2, 1 / 24, -1 / 720, 1 / 40320))


# Branch-free float32 polynomial versions of atan2 and sin/cos (no vector libm here), so that the
# per-coefficient loops vectorise; both are accurate to about 1e-6 rad, the float32 rounding level.


@njit(cache=True, inline="always")
def _atan2_pos(y, x):
    """atan2(y, x) for y >= 0, in [0, pi]: reduced to |t| <= tan(pi/8), Taylor series to t^11."""
    ax = abs(x)
    hi = max(y, ax)
    a = min(y, ax) / max(hi, _TINY)
    big = a > _TAN_PI_8
    t = (a - _ONE) / (a + _ONE) if big else a
    z = t * t
    r = t + t * z * (_C3 + z * (_C5 + z * (_C7 + z * (_C9 + z * _C11))))
    r = r + _PI_4 if big else r
    r = _PI_2 - r if y > ax else r
    return _PI - r if x < _ZERO else r


@njit(cache=True, inline="always")
def _cos_sin(m):
    """(cos m, sin m) for float32 m: reduced to [-pi, pi], Taylor on m/4 (|m/4| <= pi/4), doubled twice."""
    u = m - _TWO_PI * np.float32(np.floor(m * _INV_TWO_PI + _HALF))
    h = u * _QUARTER
    z = h * h
    sn = h + h * z * (_S3 + z * (_S5 + z * (_S7 + z * _S9)))
    cs = _ONE + z * (_K2 + z * (_K4 + z * (_K6 + z * _K8)))
    sn, cs = _TWO * sn * cs, cs * cs - sn * sn
    return cs * cs - sn * sn, _TWO * sn * cs


#: Modes of ``analyze_level``.
CAUSAL = 0  # phase difference, accumulate, filter, write the smoothing inputs
ACCUMULATE = 1  # phase difference, accumulate (ideal filter, first pass)
GIVEN = 2  # the filtered phase is given (ideal filter, second pass)


@njit(cache=True)
def _reflect(i, n):
    """Reflect-101 for any offset (blur radii may exceed the level's size)."""
    if n == 1:
        return 0
    period = 2 * n - 2
    i = i % period
    if i < 0:
        i += period
    return i if i < n else period - i


@njit(cache=True)
def _band_row(g, coarse, r, n, p, scratch, out):
    """out = row r of the Laplacian band g - expand(coarse); g is (n, p) of any numeric dtype."""
    _expand_row(coarse, r, n, p, 1, scratch, out, False)
    src = g[r]
    for x in range(p):
        out[x] = np.float32(src[x]) - out[x]


@njit(cache=True)
def _luma_band_row(frame, mix, coarse, r, n, p, scratch, out):
    """Row r of the finest band when the level is the luma of an (n, p*C) uint8 frame."""
    _expand_row(coarse, r, n, p, 1, scratch, out, False)
    C = mix.shape[0]
    src = frame[r]
    for x in range(p):
        y = _ZERO
        for c in range(C):
            y += mix[c] * np.float32(src[x * C + c])
        out[x] = y - out[x]


@njit(cache=True)
def _analyze_rows(g, frame, mix, coarse, prev, acc, sos, state, given, fields, first, mode, blur, lo, hi):
    n = prev.shape[1]
    p = prev.shape[2]
    q = coarse.shape[1]
    scratch = np.empty(q + 2, np.float32)
    # ring[(y + _RING) % _RING] holds band row y (y unreflected, r - 1 .. r + 1)
    ring = np.empty((_RING, p), np.float32)
    from_frame = frame.shape[0] > 0
    S = sos.shape[0]
    r1 = np.empty(p, np.float32)
    r2 = np.empty(p, np.float32)
    fc = np.empty(p, np.float32)
    fs = np.empty(p, np.float32)
    for r in range(np.int64(lo), np.int64(hi)):
        first_y = r - 1 if r == lo else r + 1
        for y in range(first_y, r + 2):
            rr = _reflect(y, n)
            slot = ring[(y + _RING) % _RING]
            if from_frame:
                _luma_band_row(frame, mix, coarse, rr, n, p, scratch, slot)
            else:
                _band_row(g, coarse, rr, n, p, scratch, slot)
        cur = ring[(r + _RING) % _RING]
        um1 = ring[(r - 1 + _RING) % _RING]
        dp1 = ring[(r + 1 + _RING) % _RING]
        p_i, p_r1, p_r2 = prev[0, r], prev[1, r], prev[2, r]
        # approximate Riesz transform: the paper's [0.5, 0, -0.5] along each axis (reflect-101 edges)
        r1[0] = _ZERO
        r1[p - 1] = _ZERO
        for x in range(1, p - 1):
            r1[x] = _HALF * (cur[x - 1] - cur[x + 1])
        for x in range(p):
            r2[x] = _HALF * (um1[x] - dp1[x])
        if mode == GIVEN:
            fc[:] = given[0, r]
            fs[:] = given[1, r]
        else:
            if first:
                p_i[:] = cur
                p_r1[:] = r1
                p_r2[:] = r2
            a_c, a_s = acc[0, r], acc[1, r]
            for x in range(p):
                i0, ip = cur[x], p_i[x]
                # q_t * conj(q_{t-1}): its angle is the phase change, its (x, y) part the orientation.
                real = i0 * ip + r1[x] * p_r1[x] + r2[x] * p_r2[x]
                qx = ip * r1[x] - i0 * p_r1[x]
                qy = ip * r2[x] - i0 * p_r2[x]
                norm = math.sqrt(qx * qx + qy * qy)
                per = _atan2_pos(norm, real) / max(norm, _TINY)  # qx = qy = 0 when norm = 0
                a_c[x] += per * qx
                a_s[x] += per * qy
            fc[:] = a_c
            fs[:] = a_s
            for sec in range(S):
                b0, b1, b2, a1, a2 = sos[sec, 0], sos[sec, 1], sos[sec, 2], sos[sec, 4], sos[sec, 5]
                for comp in range(2):
                    v = fc if comp == 0 else fs
                    z0 = state[sec, 0, comp, r]
                    z1 = state[sec, 1, comp, r]
                    for x in range(p):
                        xin = v[x]
                        y = b0 * xin + z0[x]
                        z0[x] = b1 * xin - a1 * y + z1[x]
                        z1[x] = b2 * xin - a2 * y
                        v[x] = y
        p_i[:] = cur
        p_r1[:] = r1
        p_r2[:] = r2
        if mode == ACCUMULATE:
            continue
        f0, f1, f2 = fields[0, r], fields[1, r], fields[2, r]
        if blur:
            for x in range(p):
                amp = math.sqrt(cur[x] * cur[x] + r1[x] * r1[x] + r2[x] * r2[x])
                f0[x] = amp * fc[x]
                f1[x] = amp * fs[x]
                f2[x] = amp
        else:
            f0[:] = fc
            f1[:] = fs


@njit(parallel=True, cache=True, nogil=True)
def analyze_level(g, frame, mix, coarse, prev, acc, sos, state, given, fields, first, mode, blur, threads):
    """The per-coefficient analysis of one level for one frame (see the module docstring).

    Parameters
    ----------
    g : (n, p) any numeric dtype
        Gaussian level k (unused, may be empty, when ``frame`` has rows).
    frame : (n, p*C) uint8 or empty
        The frame itself when level k is its luma ``sum_c mix[c] * frame[..., c]``.
    mix : (C,) float32
        Luma weights for ``frame``.
    coarse : (ceil(n/2), ceil(p/2)) float32
        Gaussian level k + 1.
    prev : (3, n, p) float32
        ``I, R1, R2`` of the previous frame; replaced by the current frame's.
    acc : (2, n, p) float32
        Accumulated phase ``(phi cos theta, phi sin theta)``, updated (modes 0, 1).
    sos : (S, 6) float32
        Temporal filter sections (mode 0); ``state`` (S, 2, 2, n, p) float32.
    given : (2, n, p) float32
        Filtered phase (mode 2).
    fields : (3, n, p) float32
        Output: ``A * phase_cos, A * phase_sin, A`` (``blur``) or the filtered
        phase in the first two (no ``blur``).  Not written in mode 1.
    first : bool
        First frame: the previous frame is taken equal to this one (phase change 0).
    mode : int
        ``CAUSAL``, ``ACCUMULATE`` or ``GIVEN``.
    """
    n = prev.shape[1]
    k_n = _chunks(n, prev.shape[2] * 8, threads)
    if k_n == 1:
        _analyze_rows(g, frame, mix, coarse, prev, acc, sos, state, given, fields, first, mode, blur, 0, n)
        return
    for k in prange(k_n):
        _analyze_rows(
            g, frame, mix, coarse, prev, acc, sos, state, given, fields, first, mode, blur,
            k * n // k_n, (k + 1) * n // k_n,
        )  # fmt: skip


@njit(cache=True)
def _synth_rows(fields, prev, weights, alpha, below, frame, out, C, lo, hi):
    n = prev.shape[1]
    p = prev.shape[2]
    rad = weights.shape[0] // 2
    blur = weights.shape[0] > 0
    has_below = below.shape[0] > 0
    to_frame = frame.shape[0] > 0
    q = below.shape[1] if has_below else 1
    scratch = np.empty(q + 2, np.float32)
    coarse_row = np.empty(p, np.float32)
    padded = np.empty((3, p + 2 * rad), np.float32)
    hc = np.empty(p, np.float32)
    hs = np.empty(p, np.float32)
    hd = np.empty(p, np.float32)
    for r in range(np.int64(lo), np.int64(hi)):
        if blur:
            # vertical pass into the padded rows
            for f in range(3):
                row = padded[f]
                for x in range(p):
                    row[rad + x] = _ZERO
                for t in range(-rad, rad + 1):
                    wgt = weights[t + rad]
                    src = fields[f, _reflect(r + t, n)]
                    for x in range(p):
                        row[rad + x] += wgt * src[x]
                for x in range(rad):
                    row[rad - 1 - x] = row[rad + _reflect(-1 - x, p)]
                    row[rad + p + x] = row[rad + _reflect(p + x, p)]
        if has_below:
            _expand_row(below, r, n, p, 1, scratch, coarse_row, False)
        else:
            coarse_row[:] = _ZERO
        if blur:
            hc[:] = _ZERO
            hs[:] = _ZERO
            hd[:] = _ZERO
            for t in range(2 * rad + 1):
                wgt = weights[t]
                v0, v1, v2 = padded[0, t : t + p], padded[1, t : t + p], padded[2, t : t + p]
                for x in range(p):
                    hc[x] += wgt * v0[x]
                    hs[x] += wgt * v1[x]
                    hd[x] += wgt * v2[x]
            for x in range(p):
                inv = _ONE / hd[x] if hd[x] > _ZERO else _ZERO
                hc[x] *= inv
                hs[x] *= inv
        else:
            hc[:] = fields[0, r]
            hs[:] = fields[1, r]
        p_i, p_r1, p_r2 = prev[0, r], prev[1, r], prev[2, r]
        for x in range(p):
            mc = alpha * hc[x]
            ms = alpha * hs[x]
            mag = math.sqrt(mc * mc + ms * ms)
            cs, sn = _cos_sin(mag)
            sinc = sn / mag if mag > _TINY else _ONE
            i0 = p_i[x]
            coarse_row[x] += (cs - _ONE) * i0 - sinc * (mc * p_r1[x] + ms * p_r2[x])
        if to_frame:
            src = frame[r]
            dst = out[r]
            for x in range(p):
                d = coarse_row[x]
                for c in range(C):
                    v = d + np.float32(src[x * C + c])
                    v = min(max(v, _ZERO), _MAXV)
                    dst[x * C + c] = np.uint8(np.int32(v + _HALF))
        else:
            out[r, :] = coarse_row


@njit(parallel=True, cache=True, nogil=True)
def synthesize_level(fields, prev, weights, alpha, below, frame, out, C, threads):
    """Smooth, shift and collapse one level (see the module docstring).

    Parameters
    ----------
    fields : (3, n, p) float32
        From :func:`analyze_level`.
    prev : (3, n, p) float32
        ``I, R1, R2`` of the current frame.
    weights : (2 * rad + 1,) float32
        Normalised Gaussian taps; empty: no smoothing (the filtered phase is in
        ``fields[0:2]``).
    alpha : float32
        Phase gain.
    below : (ceil(n/2), ceil(p/2)) float32 or empty
        Collapsed change of the coarser levels (empty at the coarsest band).
    frame : (n, p*C) uint8 or empty
        Finest level: the frame, and ``out`` (n, p*C) uint8 receives
        ``round(clip(frame + change))`` per channel; otherwise ``out`` (n, p)
        float32 receives this level's collapsed change.
    """
    n = prev.shape[1]
    k_n = _chunks(n, prev.shape[2] * 8, threads)
    if k_n == 1:
        _synth_rows(fields, prev, weights, alpha, below, frame, out, C, 0, n)
        return
    for k in prange(k_n):
        _synth_rows(fields, prev, weights, alpha, below, frame, out, C, k * n // k_n, (k + 1) * n // k_n)
