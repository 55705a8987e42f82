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

from ._kernels import _chunks, _expand_row, _reflect101

_ZERO = np.float32(0.0)
_HALF = np.float32(0.5)
_ONE = np.float32(1.0)
_MAXV = np.float32(255.0)

_RING = 3

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
        for x in range(p):
            i0 = cur[x]
            # approximate Riesz transform: the paper's [0.5, 0, -0.5] along each axis (reflect-101 edges)
            r1 = _HALF * (cur[x - 1 if x > 0 else 1] - cur[x + 1 if x < p - 1 else p - 2])
            r2 = _HALF * (um1[x] - dp1[x])
            if mode == GIVEN:
                fc = given[0, r, x]
                fs = given[1, r, x]
            else:
                if first:
                    ip, r1p, r2p = i0, r1, r2
                else:
                    ip = prev[0, r, x]
                    r1p = prev[1, r, x]
                    r2p = prev[2, r, x]
                # q_t * conj(q_{t-1}): its angle is the phase change, its (x, y) part the orientation.
                real = i0 * ip + r1 * r1p + r2 * r2p
                qx = ip * r1 - i0 * r1p
                qy = ip * r2 - i0 * r2p
                norm = math.sqrt(qx * qx + qy * qy)
                pc = acc[0, r, x]
                ps = acc[1, r, x]
                if norm > _ZERO:
                    dphi = np.float32(math.atan2(norm, real)) / norm
                    pc += dphi * qx
                    ps += dphi * qy
                    acc[0, r, x] = pc
                    acc[1, r, x] = ps
                fc = pc
                fs = ps
                for s in range(S):
                    b0, b1, b2, a1, a2 = sos[s, 0], sos[s, 1], sos[s, 2], sos[s, 4], sos[s, 5]
                    y = b0 * fc + state[s, 0, 0, r, x]
                    state[s, 0, 0, r, x] = b1 * fc - a1 * y + state[s, 1, 0, r, x]
                    state[s, 1, 0, r, x] = b2 * fc - a2 * y
                    fc = y
                    y = b0 * fs + state[s, 0, 1, r, x]
                    state[s, 0, 1, r, x] = b1 * fs - a1 * y + state[s, 1, 1, r, x]
                    state[s, 1, 1, r, x] = b2 * fs - a2 * y
                    fs = y
            prev[0, r, x] = i0
            prev[1, r, x] = r1
            prev[2, r, x] = r2
            if mode == ACCUMULATE:
                continue
            if blur:
                amp = math.sqrt(i0 * i0 + r1 * r1 + r2 * r2)
                fields[0, r, x] = amp * fc
                fields[1, r, x] = amp * fs
                fields[2, r, x] = amp
            else:
                fields[0, r, x] = fc
                fields[1, r, x] = fs


@njit(parallel=True, cache=True)
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
        for x in range(p):
            if blur:
                nc = _ZERO
                ns = _ZERO
                den = _ZERO
                for t in range(2 * rad + 1):
                    wgt = weights[t]
                    nc += wgt * padded[0, x + t]
                    ns += wgt * padded[1, x + t]
                    den += wgt * padded[2, x + t]
                if den > _ZERO:
                    fc = nc / den
                    fs = ns / den
                else:
                    fc = _ZERO
                    fs = _ZERO
            else:
                fc = fields[0, r, x]
                fs = fields[1, r, x]
            mc = alpha * fc
            ms = alpha * fs
            mag = math.sqrt(mc * mc + ms * ms)
            i0 = prev[0, r, x]
            if mag > _ZERO:
                s = np.float32(math.sin(mag)) / mag
                shifted = np.float32(math.cos(mag)) * i0 - s * (mc * prev[1, r, x] + ms * prev[2, r, x])
            else:
                shifted = i0
            coarse_row[x] += shifted - i0
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


@njit(parallel=True, cache=True)
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
