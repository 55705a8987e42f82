"""Slow, obviously-correct float64 references that the fast kernels are compared with.

Each function follows the textbook or MIT-code definition literally: explicit
1-D operator matrices for the pyramid, every Laplacian level filtered on its
own, MIT's own update formulas for its filters.  Nothing here imports the
package under test, so a shared mistake cannot hide.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.signal

BINOM5 = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
RGB2YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
YIQ2RGB = np.linalg.inv(RGB2YIQ)


def reflect101(i: int, n: int) -> int:
    while i < 0 or i >= n:
        i = -i if i < 0 else 2 * n - 2 - i
    return i


def down_matrix(n: int) -> np.ndarray:
    """(ceil(n/2), n): blur with BINOM5 (reflect-101 edges), keep even samples."""
    m = (n + 1) // 2
    D = np.zeros((m, n))
    for i in range(m):
        for t in range(-2, 3):
            D[i, reflect101(2 * i + t, n)] += BINOM5[t + 2]
    return D


def up_matrix(n: int, mit_edges: bool = False) -> np.ndarray:
    """(n, ceil(n/2)): zero-insert to n samples, blur with 2*BINOM5, reflect-101 on the upsampled grid.

    ``mit_edges``: matlabPyrTools drops the reflected tap of the last sample when n == 5.
    """
    m = (n + 1) // 2
    U = np.zeros((n, m))
    for j in range(n):
        for t in range(-2, 3):
            if mit_edges and n == 5 and j == 4 and t == 2:
                continue
            k = reflect101(j + t, n)
            if k % 2 == 0:
                U[j, k // 2] += 2 * BINOM5[t + 2]
    return U


def apply2(A: np.ndarray, B: np.ndarray, img: np.ndarray) -> np.ndarray:
    """A @ img @ B.T on the first two axes of an (H, W[, C]) array."""
    out = np.tensordot(A, img, axes=(1, 0))
    return np.moveaxis(np.tensordot(B, out, axes=(1, 1)), 0, 1)


def max_levels(h: int, w: int) -> int:
    """MIT 1 + maxPyrHt([h w], 5)."""
    if h < 5 or w < 5:
        return 1
    return 1 + max_levels(h // 2, w // 2)


def gaussian(img: np.ndarray, levels: int) -> list[np.ndarray]:
    pyr = [np.asarray(img, np.float64)]
    for _ in range(levels - 1):
        h, w = pyr[-1].shape[:2]
        pyr.append(apply2(down_matrix(h), down_matrix(w), pyr[-1]))
    return pyr


def laplacian(img: np.ndarray, levels: int, mit_edges: bool = False) -> list[np.ndarray]:
    g = gaussian(img, levels)
    bands = []
    for k in range(levels - 1):
        h, w = g[k].shape[:2]
        bands.append(g[k] - apply2(up_matrix(h, mit_edges), up_matrix(w, mit_edges), g[k + 1]))
    return bands + [g[-1]]


def collapse(bands: list[np.ndarray], mit_edges: bool = False) -> np.ndarray:
    out = bands[-1]
    for b in bands[-2::-1]:
        h, w = b.shape[:2]
        out = b + apply2(up_matrix(h, mit_edges), up_matrix(w, mit_edges), out)
    return out


def mit_gains(h: int, w: int, levels: int, alpha: float, lambda_c: float) -> list[float]:
    """MIT amplify_spatial_lpyr_temporal_*.m gain loop, transliterated (finest first)."""
    lam = (h**2 + w**2) ** 0.5 / 3
    delta = lambda_c / 8 / (1 + alpha)
    gains = [0.0] * levels
    for l in range(levels, 0, -1):  # MIT's 1-based l, coarse to fine
        cur = (lam / delta / 8 - 1) * 2
        if l == levels or l == 1:
            gains[l - 1] = 0.0
        elif cur > alpha:
            gains[l - 1] = alpha
        else:
            gains[l - 1] = cur
        lam /= 2
    return gains


def mit_butter_filter(stack: np.ndarray, fl: float, fh: float, fs: float) -> np.ndarray:
    """MIT's per-frame Butterworth loop: two butter(1, f/fs) low-passes, states start at frame 1."""
    bh, ah = scipy.signal.butter(1, fh / fs, "low")
    bl, al = scipy.signal.butter(1, fl / fs, "low")
    lp1 = stack[0].copy()
    lp2 = stack[0].copy()
    prev = stack[0].copy()
    out = np.zeros_like(stack)
    for t in range(1, len(stack)):
        x = stack[t]
        lp1 = (-ah[1] * lp1 + bh[0] * x + bh[1] * prev) / ah[0]
        lp2 = (-al[1] * lp2 + bl[0] * x + bl[1] * prev) / al[0]
        prev = x
        out[t] = lp1 - lp2
    return out


def mit_iir_filter(stack: np.ndarray, r1: float, r2: float) -> np.ndarray:
    lp1 = stack[0].copy()
    lp2 = stack[0].copy()
    out = np.zeros_like(stack)
    for t in range(1, len(stack)):
        lp1 = (1 - r1) * lp1 + r1 * stack[t]
        lp2 = (1 - r2) * lp2 + r2 * stack[t]
        out[t] = lp1 - lp2
    return out


def ideal_filter(stack: np.ndarray, fl: float, fh: float, fs: float, mit: bool) -> np.ndarray:
    """FFT along time.  MIT: positive bins with fl < f < fh only (half amplitude)."""
    n = len(stack)
    freqs = np.arange(n) / n * fs
    spec = np.fft.fft(stack, axis=0)
    if mit:
        mask = (freqs > fl) & (freqs < fh)
    else:
        signed = np.minimum(freqs, fs - freqs)  # |f| of each bin
        mask = (signed >= fl - 1e-9 * fs) & (signed <= fh + 1e-9 * fs)
    spec[~mask] = 0
    return np.real(np.fft.ifft(spec, axis=0))


def butter_filter(stack: np.ndarray, fl: float, fh: float, fs: float, order: int = 1) -> np.ndarray:
    sos = scipy.signal.butter(order, [fl, fh], btype="bandpass", fs=fs, output="sos")
    zi = scipy.signal.sosfilt_zi(sos)
    zi = zi.reshape(zi.shape + (1,) * (stack.ndim - 1)) * stack[0][None, None]
    return scipy.signal.sosfilt(sos, stack, axis=0, zi=zi)[0]


def iir_rates(fl: float, fh: float, fs: float) -> tuple[float, float]:
    def rate(f):
        c = 2 - math.cos(2 * math.pi * f / fs)
        return 1 - (c - math.sqrt(c * c - 1))

    return rate(fh), rate(fl)


def matlab_bicubic(n_in: int, n_out: int) -> np.ndarray:
    """MATLAB imresize 'bicubic' weights for enlarging (a = -0.5, symmetric padding), literal loops."""
    s = n_out / n_in
    M = np.zeros((n_out, n_in))

    def cubic(x):
        x = abs(x)
        if x <= 1:
            return 1.5 * x**3 - 2.5 * x**2 + 1
        if x <= 2:
            return -0.5 * x**3 + 2.5 * x**2 - 4 * x + 2
        return 0.0

    for j in range(1, n_out + 1):
        u = j / s + 0.5 * (1 - 1 / s)
        left = math.floor(u - 2)
        idx = [left + k for k in range(6)]
        wts = [cubic(u - i) for i in idx]
        tot = sum(wts)
        for i, wt in zip(idx, wts):
            k = (i - 1) % (2 * n_in)
            k = k if k < n_in else 2 * n_in - 1 - k
            M[j - 1, k] += wt / tot
    return M


def to_uint8(rgb01: np.ndarray, hue_preserving: bool) -> np.ndarray:
    x = rgb01
    if hue_preserving:  # Octave ntsc2rgb
        x = np.maximum(x, 0)
        peak = x.max(axis=-1, keepdims=True)
        x = np.where(peak > 1, x / np.maximum(peak, 1), x)
    x = np.clip(x, 0, 1)
    return np.floor(x * 255 + 0.5).astype(np.uint8)


def magnify(
    frames: np.ndarray,
    fps: float,
    alpha: float,
    fl: float,
    fh: float,
    *,
    pyramid: str = "laplacian",
    temporal: str = "butterworth",
    levels: int | None = None,
    lambda_c: float = 16.0,
    chroma_attenuation: float = 0.1,
    r1: float | None = None,
    r2: float | None = None,
    order: int = 1,
    mit: bool = False,
) -> np.ndarray:
    """The whole method the slow way: full YIQ pyramids of every frame, every level filtered."""
    T, H, W, _ = frames.shape
    yiq = (frames / 255.0) @ RGB2YIQ.T

    def tfilter(stack):
        if temporal == "ideal":
            return ideal_filter(stack, fl, fh, fps, mit)
        if temporal == "iir":
            a, b = (r1, r2) if r1 is not None else iir_rates(fl, fh, fps)
            return mit_iir_filter(stack, a, b)
        if mit:
            return mit_butter_filter(stack, fl, fh, fps)
        return butter_filter(stack, fl, fh, fps, order)

    if pyramid == "laplacian":
        K = levels or max_levels(H, W)
        gains = mit_gains(H, W, K, alpha, lambda_c)
        if not mit:
            gains = [max(g, 0.0) for g in gains]
        pyrs = [laplacian(f, K, mit) for f in yiq]
        filtered = [tfilter(np.stack([p[k] for p in pyrs])) * gains[k] for k in range(K)]
        delta = np.stack([collapse([filtered[k][t] for k in range(K)], mit) for t in range(T)])
    else:
        L = 4 if levels is None else levels
        small = np.stack([gaussian(f, L + 1)[L] for f in yiq])
        filtered = tfilter(small) * alpha
        if mit:
            R, C = matlab_bicubic(small.shape[1], H), matlab_bicubic(small.shape[2], W)
            delta = np.stack([apply2(R, C, f) for f in filtered])
        else:
            shapes = [g.shape[:2] for g in gaussian(np.zeros((H, W)), L + 1)]
            ups = []
            for x in filtered:
                for h, w in shapes[-2::-1]:
                    x = apply2(up_matrix(h), up_matrix(w), x)
                ups.append(x)
            delta = np.stack(ups)
    delta[..., 1:] *= chroma_attenuation
    rgb = (yiq + delta) @ YIQ2RGB.T
    return to_uint8(rgb, hue_preserving=mit)


# -- phase-based magnification (Riesz pyramid, Wadhwa et al. ICCP 2014) ----------------------------


def blur_matrix(n: int, sigma: float) -> np.ndarray:
    """(n, n): Gaussian blur, taps to ceil(2.5 sigma), reflect-101 edges (any radius)."""
    rad = max(1, math.ceil(2.5 * sigma))
    taps = np.exp(-0.5 * (np.arange(-rad, rad + 1) / sigma) ** 2)
    taps /= taps.sum()
    M = np.zeros((n, n))
    for i in range(n):
        for t in range(-rad, rad + 1):
            M[i, reflect101(i + t, n)] += taps[t + rad]
    return M


def riesz_magnify(
    frames: np.ndarray,
    fps: float,
    alpha: float,
    fl: float,
    fh: float,
    *,
    sigma: float,
    temporal: str = "butterworth",
    levels: int | None = None,
    order: int = 1,
) -> np.ndarray:
    """The ICCP 2014 pseudocode on whole float64 stacks, level by level; frames (T, H, W, C) uint8."""
    T, H, W, C = frames.shape
    luma = frames @ RGB2YIQ[0] if C == 3 else frames[..., 0].astype(np.float64)
    K = levels or max_levels(H, W)
    pyrs = [laplacian(y, K) for y in luma]
    changes = []
    for k in range(K - 1):
        I = np.stack([p[k] for p in pyrs])
        pad = np.pad(I, ((0, 0), (1, 1), (1, 1)), mode="reflect")  # numpy "reflect" is reflect-101
        R1 = 0.5 * (pad[:, 1:-1, :-2] - pad[:, 1:-1, 2:])
        R2 = 0.5 * (pad[:, :-2, 1:-1] - pad[:, 2:, 1:-1])
        Ip, R1p, R2p = (np.concatenate([a[:1], a[:-1]]) for a in (I, R1, R2))  # frame 0: itself
        real = I * Ip + R1 * R1p + R2 * R2p
        qx = Ip * R1 - I * R1p
        qy = Ip * R2 - I * R2p
        norm = np.hypot(qx, qy)
        dphi = np.arctan2(norm, real)
        safe = np.where(norm > 0, norm, 1.0)
        pc = np.cumsum(np.where(norm > 0, dphi * qx / safe, 0.0), axis=0)
        ps = np.cumsum(np.where(norm > 0, dphi * qy / safe, 0.0), axis=0)
        if temporal == "ideal":
            fc, fs_ = ideal_filter(pc, fl, fh, fps, False), ideal_filter(ps, fl, fh, fps, False)
        elif temporal == "iir":
            r1, r2 = iir_rates(fl, fh, fps)
            fc, fs_ = mit_iir_filter(pc, r1, r2), mit_iir_filter(ps, r1, r2)
        else:
            fc, fs_ = butter_filter(pc, fl, fh, fps, order), butter_filter(ps, fl, fh, fps, order)
        if sigma > 0:
            A = np.sqrt(I**2 + R1**2 + R2**2)
            By, Bx = blur_matrix(I.shape[1], sigma), blur_matrix(I.shape[2], sigma)

            def blur(x, By=By, Bx=Bx):
                return np.einsum("ij,tjk,lk->til", By, x, Bx)

            den = blur(A)
            den = np.where(den > 0, den, np.inf)
            fc, fs_ = blur(A * fc) / den, blur(A * fs_) / den
        mc, ms = alpha * fc, alpha * fs_
        mag = np.hypot(mc, ms)
        sinc = np.where(mag > 0, np.sin(mag) / np.where(mag > 0, mag, 1.0), 1.0)
        changes.append(np.cos(mag) * I - sinc * (mc * R1 + ms * R2) - I)
    changes.append(np.zeros((T,) + pyrs[0][-1].shape))
    delta = np.stack([collapse([c[t] for c in changes]) for t in range(T)])
    out = frames + delta[..., None]
    return np.floor(np.clip(out, 0, 255) + 0.5).astype(np.uint8)
