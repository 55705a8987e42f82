"""Phase-based motion magnification with the Riesz pyramid (Wadhwa et al., ICCP 2014).

Linear EVM (:mod:`evm.magnify`) amplifies the temporal change of pixel values,
which only approximates a motion while ``(1 + alpha) * delta`` stays well under a
quarter of the spatial wavelength, and amplifies noise by ``alpha``.  The phase
method reads the motion from the local phase of every band-pass coefficient and
shifts that phase instead: large amplifications stay motions, noise is not
amplified, and ``alpha = -1`` removes the motion in the band.

Method, per frame (luma only; the change is added to R, G and B alike, so the
chroma I and Q are passed through as the MIT phase code does):

1. Laplacian pyramid of the luma (:mod:`evm.pyramid`'s binomial pyramid, unit
   normalisation), every band level including the finest; the low-pass residual
   is left untouched.
2. Approximate Riesz transform per level: ``R1 = (I[x-1] - I[x+1]) / 2``,
   ``R2 = (I[y-1] - I[y+1]) / 2`` (reflect-101 edges).
3. Quaternion phase difference with the previous frame,
   ``q_t conj(q_{t-1})``: its angle ``dphi`` (``atan2``, accurate for small
   angles) along its orientation gives ``(dphi cos theta, dphi sin theta)``,
   accumulated over time so the filter sees a phase signal without wrap-around.
4. Temporal band-pass of both components (:mod:`evm.temporal`: Butterworth or
   IIR per frame, ideal over the clip).
5. Amplitude-weighted Gaussian smoothing ``blur(A * phase) / blur(A)`` with
   ``A = sqrt(I^2 + R1^2 + R2^2)`` of the current frame, ``sigma`` in pixels of
   each level (taps to ``ceil(2.5 sigma)``).
6. Phase shift by ``alpha`` times the smoothed phase, keeping the real part:
   ``cos(|m|) I - sin(|m|) / |m| * (m_cos R1 + m_sin R2)`` with ``m = alpha * phase``.
7. Collapse the changes and add them to the frame.

Steps 2-4 are one fused pass per level (:func:`evm._phase_kernels.analyze_level`),
5-7 another (:func:`evm._phase_kernels.synthesize_level`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from . import _kernels
from . import _phase_kernels as _pk
from .color import RGB_TO_YIQ
from .magnify import Magnifier, _real
from .pyramid import _rows, level_shapes, max_pyramid_levels
from .temporal import butterworth, first_order_iir, iir_rates_from_band

#: Default smoothing of the filtered phase, in pixels of each level (see docs/method.md for the measurements).
DEFAULT_SIGMA = 2.0

_EMPTY_F = np.empty((0, 0), np.float32)
_EMPTY_U8 = np.empty((0, 0), np.uint8)
_EMPTY_3 = np.empty((0, 0, 0), np.float32)
_NO_SOS = np.empty((0, 6), np.float32)
_NO_STATE = np.empty((0, 2, 2, 0, 0), np.float32)
_NO_TAPS = np.empty(0, np.float32)


def gaussian_taps(sigma: float) -> np.ndarray:
    """Normalised Gaussian taps for ``sigma`` pixels, radius ``ceil(2.5 * sigma)``; empty for 0."""
    if sigma == 0:
        return _NO_TAPS
    rad = max(1, math.ceil(2.5 * sigma))
    x = np.arange(-rad, rad + 1, dtype=np.float64)
    w = np.exp(-0.5 * (x / sigma) ** 2)
    return (w / w.sum()).astype(np.float32)


class PhaseMagnifier(Magnifier):
    """Streaming phase-based (Riesz pyramid) magnifier; what ``Magnifier(..., pyramid="riesz")`` returns.

    Feeding a clip frame by frame, in blocks or all at once through
    :func:`evm.magnify` gives identical frames; :meth:`process` and
    :meth:`flush` behave as in :class:`~evm.magnify.Magnifier`.

    Parameters
    ----------
    frame_shape : (H, W) or (H, W, C)
        Gray (C = 1) or RGB (C = 3); both sides at least 5 pixels (else
        ``ValueError``), odd sizes included.
    fps : float
        Frame rate in Hz.
    alpha : float
        Phase gain: the motion in the band comes out ``(1 + alpha)`` times as
        large.  ``alpha >= -1``; ``-1 <= alpha < 0`` attenuates the motion
        (``-1`` removes it); 0 returns the frames unchanged.
    low, high : float
        Temporal pass band in Hz.
    temporal : {"butterworth", "iir", "ideal"}
        Filter of the phase.  The causal ones keep constant memory (per
        coefficient of every band level: 3 floats of the previous frame, 2 of
        accumulated phase, ``4 * sections`` of filter state).  ``"ideal"`` holds
        the accumulated phase of every frame: ``8 * P`` bytes per frame with
        ``P = sum_k h_k * w_k`` over the band levels (about ``4/3 * H * W``, so
        ~10.7 bytes per pixel: 3.3 MB per 640x480 frame), besides the frames
        that :meth:`process` buffers.
    levels : int or None
        Pyramid entries including the low-pass residual, at least 2; ``None``:
        as many as the frame allows (:func:`evm.max_pyramid_levels`).
    sigma : float or None
        Gaussian smoothing of the filtered phase, in pixels of each level
        (0: none); ``None``: :data:`DEFAULT_SIGMA`.
    r1, r2, order : see :func:`evm.magnify` (IIR rates; Butterworth order).
    lambda_c, chroma_attenuation :
        Accepted so that one parameter set drives every method; unused here (the
        phase method needs no wavelength cutoff and passes chroma through).
    compat : None
        The MIT EVM conventions do not apply to this method; only ``None``.
    threads : int or None
        Kernel threads (None: Numba's setting).
    pyramid : "riesz"
    """

    def __init__(
        self,
        frame_shape: Sequence[int],
        fps: float,
        alpha: float,
        low: float,
        high: float,
        *,
        pyramid: Literal["riesz"] = "riesz",
        temporal: Literal["butterworth", "ideal", "iir"] = "butterworth",
        levels: int | None = None,
        sigma: float | None = None,
        lambda_c: float = 16.0,
        chroma_attenuation: float = 0.1,
        r1: float | None = None,
        r2: float | None = None,
        order: int = 1,
        compat: None = None,
        threads: int | None = None,
    ) -> None:
        from .temporal import check_band

        if pyramid != "riesz":
            raise ValueError(f"PhaseMagnifier is the 'riesz' pyramid, got pyramid={pyramid!r}")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
        if compat is not None:
            raise ValueError(f"compat={compat!r} does not apply to pyramid='riesz' (only None)")
        if temporal not in ("butterworth", "ideal", "iir"):
            raise ValueError(f"temporal must be 'butterworth', 'ideal' or 'iir', got {temporal!r}")
        shape = tuple(int(s) for s in frame_shape)
        if len(shape) == 2:
            shape = shape + (1,)
        if len(shape) != 3 or shape[2] not in (1, 3) or shape[0] < 1 or shape[1] < 1:
            raise ValueError(f"frame_shape must be (H, W) or (H, W, 1|3), got {tuple(frame_shape)}")
        self.threads = threads
        self.frame_shape = shape
        self.low, self.high, self.fps = check_band(low, high, fps)
        self.alpha = _real(alpha, "alpha", minimum=-1)
        self.sigma = DEFAULT_SIGMA if sigma is None else _real(sigma, "sigma", minimum=0)
        self.lambda_c = _real(lambda_c, "lambda_c", minimum=0, strict=True)
        self.chroma_attenuation = _real(chroma_attenuation, "chroma_attenuation", minimum=0)
        self.pyramid, self.temporal, self.compat = "riesz", temporal, None
        H, W, C = shape

        top = max_pyramid_levels(shape) if min(H, W) >= 5 else 1
        if levels is None:
            levels = top
        self.levels = self._check_level_count(levels, 2, top, "Riesz pyramid entries (both sides >= 5 pixels)")
        self._shapes = level_shapes(shape, self.levels)
        bands = self._shapes[:-1]

        self._ideal = temporal == "ideal"
        self._sos, S = _NO_SOS, 0
        if temporal == "butterworth":
            self._sos = np.ascontiguousarray(butterworth(self.low, self.high, self.fps, order).sos, np.float32)
        elif temporal == "iir":
            if (r1 is None) != (r2 is None):
                raise ValueError("give both r1 and r2, or neither (then they follow low and high)")
            if r1 is None:
                r1, r2 = iir_rates_from_band(self.low, self.high, self.fps)
            self._sos = np.ascontiguousarray(first_order_iir(r1, r2).sos, np.float32)
        elif order != 1:
            raise ValueError("order applies to the Butterworth filter only")
        S = self._sos.shape[0]

        self._identity = self.alpha == 0
        self._taps = gaussian_taps(self.sigma)
        self._luma = np.ascontiguousarray(RGB_TO_YIQ[0] if C == 3 else [1.0], np.float32)
        self._mix_in = self._luma[None, :].copy()  # (1, C) for down_mix

        # Per band level: previous (I, R1, R2), accumulated phase, filter state, smoothing inputs,
        # collapsed change (levels >= 1).  The accumulated phase of all levels is one buffer, laid
        # out like one frame of the ideal filter's stack.
        sizes = [h * w for h, w in bands]
        self._offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self._acc_all = np.zeros(2 * int(self._offsets[-1]), np.float32)
        self._acc = [self._level_view(self._acc_all, k) for k in range(len(bands))]
        self._prev = [np.zeros((3, h, w), np.float32) for h, w in bands]
        self._state = [np.zeros((S, 2, 2, h, w), np.float32) for h, w in bands] if S else None
        self._fields = [np.empty((3, h, w), np.float32) for h, w in bands]
        self._g = {k: np.empty(self._shapes[k], np.float32) for k in range(1, self.levels)}
        self._d = {k: np.empty(bands[k], np.float32) for k in range(1, len(bands))}
        self._started = False
        self._frames: list[np.ndarray] = []
        self._deltas: list[np.ndarray] = []
        self.frames_in = 0

    def _level_view(self, flat: np.ndarray, k: int) -> np.ndarray:
        h, w = self._shapes[k]
        a = 2 * int(self._offsets[k])
        return flat[a : a + 2 * h * w].reshape(2, h, w)

    @property
    def delta_shape(self) -> tuple[int]:
        """Shape of what the ideal filter stacks per frame: the two accumulated phase components
        of every band level, ``(2 * P,)`` float32 (``8 * P`` bytes, ``P = sum_k h_k * w_k``)."""
        return (2 * int(self._offsets[-1]),)

    def __repr__(self) -> str:
        return (
            f"PhaseMagnifier({self.frame_shape}, fps={self.fps:g}, alpha={self.alpha:g}, "
            f"band={self.low:g}-{self.high:g} Hz, pyramid='riesz', temporal={self.temporal!r}, "
            f"levels={self.levels}, sigma={self.sigma:g})"
        )

    # -- per-frame stages -------------------------------------------------------------------------

    def _reduce(self, frame: np.ndarray) -> None:
        """Gaussian levels 1..levels-1 of the frame's luma."""
        threads = self._threads()
        _kernels.down_mix(_rows(frame), self._g[1], frame.shape[2], self._mix_in, threads)
        for k in range(2, self.levels):
            _kernels.down(self._g[k - 1], self._g[k], 1, threads)

    def _analyze_levels(self, frame: np.ndarray, mode: int, given: np.ndarray | None = None) -> None:
        threads, blur = self._threads(), self._taps.size > 0
        self._reduce(frame)
        for k in range(self.levels - 1):
            _pk.analyze_level(
                _EMPTY_F if k == 0 else self._g[k],
                _rows(frame) if k == 0 else _EMPTY_U8,
                self._luma,
                self._g[k + 1],
                self._prev[k],
                self._acc[k],
                self._sos if mode == _pk.CAUSAL else _NO_SOS,
                self._state[k] if (mode == _pk.CAUSAL and self._state is not None) else _NO_STATE,
                _EMPTY_3 if given is None else self._level_view(given, k),
                self._fields[k],
                not self._started,
                mode,
                blur,
                threads,
            )
        self._started = True

    def _synthesize(self, frame: np.ndarray, out: np.ndarray) -> None:
        threads, alpha, C = self._threads(), np.float32(self.alpha), self.frame_shape[2]
        below = _EMPTY_F
        for k in range(self.levels - 2, -1, -1):
            last = k == 0
            _pk.synthesize_level(
                self._fields[k],
                self._prev[k],
                self._taps,
                alpha,
                below,
                _rows(frame) if last else _EMPTY_U8,
                _rows(out) if last else self._d[k],
                C,
                threads,
            )
            if not last:
                below = self._d[k]

    def _analyze(self, frame: np.ndarray, out: np.ndarray) -> None:
        """Ideal filter, first pass: the accumulated phase of every band level, ``out`` (2 * P,) float32."""
        self._check_buffers(frame, delta=out)
        self._analyze_levels(frame, _pk.ACCUMULATE)
        out[...] = self._acc_all

    def _render_delta(self, delta: np.ndarray, frame: np.ndarray, out: np.ndarray) -> None:
        """Ideal filter, second pass: shift the frame's phase by ``alpha`` times the filtered ``delta``."""
        self._check_buffers(frame, delta=delta, out=out)
        if self._identity:
            self._passthrough(frame, out)
            return
        given = np.ascontiguousarray(delta.reshape(-1), dtype=np.float32)
        self._analyze_levels(frame, _pk.GIVEN, given)
        self._synthesize(frame, out)

    def _magnify_causal(self, frame: np.ndarray, out: np.ndarray) -> None:
        """Magnify one checked, contiguous frame into ``out`` (causal filters)."""
        self._analyze_levels(frame, _pk.CAUSAL)
        self._synthesize(frame, out)
