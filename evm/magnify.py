"""Eulerian video magnification: :func:`magnify` for whole clips, :class:`Magnifier` for streams.

The method (Wu et al., SIGGRAPH 2012, and the MIT reference code): convert each
frame to YIQ, decompose it spatially (Laplacian pyramid for motion, one coarse
Gaussian level for colour), band-pass every coefficient in time, multiply by a
per-level gain, attenuate the chroma of the result and add it back to the frame.

How it is computed here
-----------------------
Every step between the frame and the added delta is linear and the spatial part
is the same for every frame, so the order of operations can change without
changing the result (up to float32 rounding):

* the colour matrix is applied after the first blur-and-decimate, on a quarter
  of the pixels;
* the gained Laplacian bands are collapsed *before* the temporal filter, so one
  image per frame is filtered instead of one per level:
  ``D_k = g_k G_k + expand(D_{k+1} - g_k G_{k+1})`` from the coarsest level with
  a non-zero gain down to the finest one;
* levels whose gain is zero are never built: under the MIT gain rule the finest
  level (three quarters of the pyramid) always has gain 0, so the whole pipeline
  runs at half resolution or coarser and the full-size frame is touched twice,
  once to reduce it and once to add the upsampled delta and round to uint8.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from . import _kernels
from ._imresize import imresize_bicubic
from .color import RGB_TO_YIQ, YIQ_TO_RGB
from .pyramid import _rows, level_shapes, max_pyramid_levels
from .temporal import (
    SOSFilter,
    butterworth,
    check_band,
    first_order_iir,
    ideal_band_gains,
    ideal_bandpass,
    iir_rates_from_band,
)
from .validation import real as _real

PyramidKind = Literal["laplacian", "gaussian", "riesz"]
TemporalKind = Literal["butterworth", "ideal", "iir"]

#: Default Gaussian level (number of halvings) for colour magnification, as in MIT's face example.
DEFAULT_GAUSSIAN_LEVEL = 4

# Empty arguments that switch off a stage of the fused kernels.
_NO_ROWS = np.empty((0, 0), np.float32)
_NO_SOS = np.empty((0, 6), np.float32)
_NO_STATE = np.empty((0, 2, 0), np.float32)
_NO_MIX = np.empty((0, 0), np.float32)


def laplacian_gains(
    shape: Sequence[int],
    levels: int,
    alpha: float,
    lambda_c: float,
    *,
    compat: Literal["mit"] | None = None,
) -> np.ndarray:
    """Per-level amplification of the Laplacian variant (MIT rule), finest level first.

    The representative wavelength of the coarsest level is ``hypot(H, W) / 3``
    pixels and halves at each finer level.  A level whose wavelength allows it
    (``(1 + alpha) * delta < lambda / 8`` with ``delta = lambda_c / 8 / (1 + alpha)``)
    gets ``alpha``; finer levels get ``2 * (lambda / delta / 8 - 1)`` (MIT's
    exaggeration factor 2).  The finest level and the low-pass residual get 0.

    Parameters
    ----------
    shape : (H, W[, C])
        Frame size in pixels.
    levels : int
        Number of pyramid entries including the residual.
    alpha : float
        Amplification factor (>= 0).
    lambda_c : float
        Cutoff wavelength in pixels (> 0).
    compat : {None, "mit"}
        MIT lets the ramp go negative (inverting motion) when ``lambda_c`` is large
        relative to a level's wavelength; the default clamps it at 0.

    Returns
    -------
    ndarray, float64, (levels,)

    Examples
    --------
    >>> laplacian_gains((120, 160), 6, alpha=30, lambda_c=16).round(2).tolist()
    [0.0, 14.15, 30.0, 30.0, 30.0, 0.0]
    """
    alpha = _real(alpha, "alpha", minimum=0)
    lambda_c = _real(lambda_c, "lambda_c", minimum=0, strict=True)
    wavelength = math.hypot(shape[0], shape[1]) / 3.0
    delta = lambda_c / 8.0 / (1.0 + alpha)
    gains = np.zeros(levels)
    for level in range(levels - 1, -1, -1):
        ramp = 2.0 * (wavelength / delta / 8.0 - 1.0)
        if 0 < level < levels - 1:
            gain = alpha if ramp > alpha else ramp
            gains[level] = gain if compat == "mit" else max(gain, 0.0)
        wavelength /= 2.0
    return gains


def _check_frames(frames: np.ndarray, *, single: bool = False) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8, got dtype {frames.dtype}")
    expected = "(H, W) or (H, W, C)" if single else "(T, H, W) or (T, H, W, C)"
    base = 2 if single else 3
    if frames.ndim == base:
        frames = frames[..., None]
    elif frames.ndim != base + 1:
        raise ValueError(f"frames must have shape {expected}, got {frames.shape}")
    if frames.shape[-1] not in (1, 3):
        raise ValueError(f"frames must have 1 (gray) or 3 (RGB) channels, got {frames.shape[-1]}")
    return frames


class Magnifier:
    """Streaming Eulerian magnifier: feed frames or blocks, get magnified frames back.

    With the causal filters (``"butterworth"``, ``"iir"``) every call to
    :meth:`process` returns as many frames as it was given and memory stays
    constant however long the video is.  With ``"ideal"`` (an FFT over the whole
    clip) frames are buffered and everything comes out of :meth:`flush`.
    Feeding a video frame by frame, in blocks, or all at once through
    :func:`magnify` gives identical frames.

    Parameters are those of :func:`magnify`, with ``frame_shape`` = ``(H, W)``
    (gray) or ``(H, W, C)`` instead of the frames, and ``threads``: how many threads
    the kernels use (None: Numba's current setting; 1 runs without starting the
    thread pool, best when another multi-threaded stage such as a video encoder
    shares the cores).

    ``pyramid="riesz"`` constructs the phase-based magnifier
    :class:`evm.phase.PhaseMagnifier` (a subclass with the same interface).

    Examples
    --------
    >>> import numpy as np
    >>> video = np.random.default_rng(0).integers(0, 255, (8, 48, 64, 3), dtype=np.uint8)
    >>> m = Magnifier(video.shape[1:], fps=30, alpha=10, low=0.5, high=3)
    >>> out = np.concatenate([m.process(video[:3]), m.process(video[3:])])
    >>> out.shape, out.dtype
    ((8, 48, 64, 3), dtype('uint8'))
    """

    def __new__(cls, *args, **kwargs):
        if cls is Magnifier and kwargs.get("pyramid") == "riesz":
            from .phase import PhaseMagnifier

            cls = PhaseMagnifier
        return super().__new__(cls)

    def __init__(
        self,
        frame_shape: Sequence[int],
        fps: float,
        alpha: float,
        low: float,
        high: float,
        *,
        pyramid: PyramidKind = "laplacian",
        temporal: TemporalKind = "butterworth",
        levels: int | None = None,
        sigma: float | None = None,
        lambda_c: float = 16.0,
        chroma_attenuation: float = 0.1,
        r1: float | None = None,
        r2: float | None = None,
        order: int = 1,
        compat: Literal["mit"] | None = None,
        threads: int | None = None,
    ) -> None:
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
        self.threads = threads
        if compat not in (None, "mit"):
            raise ValueError(f"compat must be None or 'mit', got {compat!r}")
        if pyramid not in ("laplacian", "gaussian"):
            raise ValueError(f"pyramid must be 'laplacian', 'gaussian' or 'riesz', got {pyramid!r}")
        if sigma is not None:
            raise ValueError("sigma (phase smoothing) applies to pyramid='riesz' only")
        if temporal not in ("butterworth", "ideal", "iir"):
            raise ValueError(f"temporal must be 'butterworth', 'ideal' or 'iir', got {temporal!r}")
        shape = tuple(int(s) for s in frame_shape)
        if len(shape) == 2:
            shape = shape + (1,)
        if len(shape) != 3 or shape[2] not in (1, 3) or shape[0] < 1 or shape[1] < 1:
            raise ValueError(f"frame_shape must be (H, W) or (H, W, 1|3), got {tuple(frame_shape)}")
        self.frame_shape = shape
        self.low, self.high, self.fps = check_band(low, high, fps)
        self.alpha = _real(alpha, "alpha", minimum=0)
        self.chroma_attenuation = _real(chroma_attenuation, "chroma_attenuation", minimum=0)
        self.lambda_c = _real(lambda_c, "lambda_c", minimum=0, strict=True)
        self.pyramid, self.temporal, self.compat = pyramid, temporal, compat
        H, W, C = shape

        top = max_pyramid_levels(shape)
        if pyramid == "laplacian":
            if levels is None:
                levels = top
            self.levels = self._check_level_count(levels, 3, top, "Laplacian pyramid entries")
            self.gains = laplacian_gains(shape, self.levels, self.alpha, self.lambda_c, compat=compat)
        else:
            if levels is None:
                levels = min(DEFAULT_GAUSSIAN_LEVEL, top - 1)
            self.levels = self._check_level_count(levels, 1, top - 1, "Gaussian halvings")
            self.gains = np.zeros(self.levels + 1)
            self.gains[self.levels] = self.alpha

        nonzero = np.flatnonzero(self.gains)
        self._identity = nonzero.size == 0
        # Work happens between the finest and the coarsest level with a non-zero gain.
        self._first = int(nonzero[0]) if nonzero.size else 1
        self._last = int(nonzero[-1]) if nonzero.size else 1
        depth = self._last + (2 if pyramid == "laplacian" else 1)
        self._shapes = level_shapes(shape, depth)

        mix_in, mix_out = self._colour_mixes(C)
        if pyramid == "gaussian":
            mix_out = mix_out * self.alpha  # one gain: fold it into the output matrix
        self._mix_in = np.ascontiguousarray(mix_in, dtype=np.float32)
        self._mix_out = np.ascontiguousarray(mix_out, dtype=np.float32)
        self._channels = self._mix_in.shape[0]

        # Temporal filter.
        self._ideal = temporal == "ideal"
        self._filter: SOSFilter | None = None
        if temporal == "butterworth":
            self._filter = butterworth(self.low, self.high, self.fps, order, compat=compat)
        elif temporal == "iir":
            if (r1 is None) != (r2 is None):
                raise ValueError("give both r1 and r2, or neither (then they follow low and high)")
            if r1 is None:
                r1, r2 = iir_rates_from_band(self.low, self.high, self.fps)
            self._filter = first_order_iir(r1, r2)
        elif compat is None and order != 1:
            raise ValueError("order applies to the Butterworth filter only")

        # Reusable per-frame buffers, one per level that is ever built.
        ch = self._channels
        self._g = {k: np.empty(self._shapes[k] + (ch,), np.float32) for k in range(1, depth)}
        self._d = {k: np.empty(self._shapes[k] + (ch,), np.float32) for k in range(self._first, self._last + 1)}
        self._t = {k: np.empty(self._shapes[k] + (ch,), np.float32) for k in range(self._first + 1, depth)}
        self._rgb = {k: np.empty(self._shapes[k] + (C,), np.float32) for k in range(1, self._first + 1)}
        if pyramid == "gaussian" and compat == "mit":
            self._full_delta = np.empty(shape, np.float32)
        self._frames: list[np.ndarray] = []
        self._deltas: list[np.ndarray] = []
        self.frames_in = 0

    def _colour_mixes(self, C: int) -> tuple[np.ndarray, np.ndarray]:
        """Matrices from the frame's channels to the analysed ones (gray; Y only when the chroma is
        attenuated to zero; or Y, I, Q) and from the analysed delta back to the frame's channels,
        chroma attenuation included; float64, (analysed, C) and (C, analysed)."""
        if C == 1:
            return np.ones((1, 1)), np.ones((1, 1))
        analysed = 1 if self.chroma_attenuation == 0 else 3
        chroma = np.array([1.0, self.chroma_attenuation, self.chroma_attenuation])[:analysed]
        return RGB_TO_YIQ[:analysed], YIQ_TO_RGB[:, :analysed] * chroma[None, :]

    @staticmethod
    def _check_level_count(levels, lowest: int, highest: int, what: str) -> int:
        if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)):
            raise ValueError(f"levels must be an integer or None, got {levels!r}")
        if highest < lowest:
            raise ValueError(f"frame too small: {what} need at least {lowest} levels, this frame allows {highest}")
        if not lowest <= levels <= highest:
            raise ValueError(f"levels={levels} out of range for this frame: {what} must be {lowest}..{highest}")
        return int(levels)

    def _threads(self) -> int:
        return self.threads or _kernels.threads()

    @property
    def delta_shape(self) -> tuple[int, int, int]:
        """Shape of the per-frame image that is filtered in time (the working level)."""
        return self._shapes[self._first] + (self._channels,)

    def __repr__(self) -> str:
        return (
            f"Magnifier({self.frame_shape}, fps={self.fps:g}, alpha={self.alpha:g}, "
            f"band={self.low:g}-{self.high:g} Hz, "
            f"pyramid={self.pyramid!r}, temporal={self.temporal!r}, levels={self.levels}, compat={self.compat!r})"
        )

    # -- per-frame stages -------------------------------------------------------------------------

    def _reduce(self, frame: np.ndarray) -> None:
        """Gaussian levels 1..depth-1 of the frame, in the analysed channels."""
        ch, threads = self._channels, self._threads()
        self._level_one(frame)
        for k in range(2, len(self._shapes)):
            _kernels.down(_rows(self._g[k - 1]), _rows(self._g[k]), ch, threads)

    def _level_one(self, frame: np.ndarray) -> None:
        """Gaussian level 1 of the frame in the analysed channels (the colour matrix after reducing)."""
        _kernels.down_mix(_rows(frame), _rows(self._g[1]), frame.shape[2], self._mix_in, self._threads())

    def _coarse_part(self) -> tuple[np.ndarray, np.float32]:
        """What the working level expands and the gain on its own Gaussian level.

        Collapses the gained bands from the coarsest non-zero level down to
        ``first + 1``: ``D_k = g_k G_k + expand(D_{k+1} - g_k G_{k+1})``; returns
        ``D_{first+1} - g_first G_{first+1}`` (as (rows, cols*C)) and ``g_first``.
        """
        if self.pyramid == "gaussian":
            return _NO_ROWS, np.float32(1.0)
        mit, ch, threads = self.compat == "mit", self._channels, self._threads()
        below = None  # D_{k+1}
        for k in range(self._last, self._first - 1, -1):
            g = np.float32(self.gains[k])
            t = self._t[k + 1]
            np.multiply(self._g[k + 1], -g, out=t)
            if below is not None:
                t += below
            if k == self._first:
                return _rows(t), g
            _kernels.up_add(_rows(t), _rows(self._d[k]), ch, _rows(self._g[k]), g, mit, threads)
            below = self._d[k]
        raise AssertionError("unreachable")

    def _working(self, frame: np.ndarray, out: np.ndarray, sos, state, mix) -> None:
        """Reduce, collapse and (optionally) filter and colour-mix one frame into ``out``."""
        self._reduce(frame)
        coarse, gain = self._coarse_part()
        _kernels.working_level(
            coarse,
            _rows(self._g[self._first]),
            gain,
            sos,
            state,
            mix,
            _rows(out),
            self._channels,
            self.compat == "mit",
            self._threads(),
        )

    def _check_buffers(self, frame: np.ndarray, delta: np.ndarray | None = None, out: np.ndarray | None = None):
        # The kernels index their buffers by the shapes set at construction: anything else would
        # read or write out of bounds, so every entry point checks before calling them.
        if frame.shape != self.frame_shape or frame.dtype != np.uint8:
            raise ValueError(f"frame {frame.dtype} {frame.shape} fed to a Magnifier for uint8 {self.frame_shape}")
        if delta is not None and (delta.shape != self.delta_shape or delta.dtype != np.float32):
            raise ValueError(f"delta {delta.dtype} {delta.shape}, expected float32 {self.delta_shape}")
        if out is not None and (out.shape != self.frame_shape or out.dtype != np.uint8):
            raise ValueError(f"output {out.dtype} {out.shape}, expected uint8 {self.frame_shape}")

    def _analyze(self, frame: np.ndarray, out: np.ndarray) -> None:
        """Gained, collapsed, unfiltered delta of one frame at the working level (analysed channels)."""
        self._check_buffers(frame, delta=out)
        self._working(frame, out, _NO_SOS, _NO_STATE, _NO_MIX)

    def _render(self, rgb_delta: np.ndarray, frame: np.ndarray, out: np.ndarray) -> None:
        """Expand a working-level delta in the frame's channels, add it to the frame, write uint8."""
        C, threads = self.frame_shape[2], self._threads()
        mit = self.compat == "mit"
        rgb = self._rgb
        if self.pyramid == "gaussian" and mit:
            full = imresize_bicubic(rgb_delta, self.frame_shape[:2])
            _kernels.add_u8(_rows(full), _rows(frame), _rows(out), C, True, threads)
            return
        src = rgb_delta
        for k in range(self._first - 1, 0, -1):
            _kernels.up(_rows(src), _rows(rgb[k]), C, mit, threads)
            src = rgb[k]
        _kernels.up_add_u8(_rows(src), _rows(frame), _rows(out), C, mit, mit, threads)

    def _render_delta(self, delta: np.ndarray, frame: np.ndarray, out: np.ndarray) -> None:
        """Render a filtered working-level delta in the analysed channels (ideal filter path)."""
        self._check_buffers(frame, delta=delta, out=out)
        if self._identity:
            self._passthrough(frame, out)
            return
        top = self._rgb[self._first]
        _kernels.mix_channels(delta.reshape(-1), self._mix_out, top.reshape(-1))
        self._render(top, frame, out)

    def _process_causal(self, block: np.ndarray, out: np.ndarray) -> None:
        """Magnify a checked (n, H, W, C) block into ``out`` (causal filters)."""
        if out.shape != block.shape:
            raise ValueError(f"output {out.shape} for a block of {block.shape}")
        for i, frame in enumerate(block):
            self._magnify_one(np.ascontiguousarray(frame), out[i])

    def _magnify_one(self, frame: np.ndarray, out: np.ndarray) -> None:
        """Magnify the next (contiguous) frame into ``out`` (causal filters); checks both buffers first."""
        self._check_buffers(frame, out=out)
        if self._identity:
            self._passthrough(frame, out)
        else:
            self._magnify_causal(frame, out)

    def _passthrough(self, frame: np.ndarray, out: np.ndarray) -> None:
        """The output of a magnifier that changes nothing (all gains zero)."""
        out[...] = frame

    def _magnify_causal(self, frame: np.ndarray, out: np.ndarray) -> None:
        f = self._filter
        top = self._rgb[self._first]
        if not f.initialized:
            # The first frame sets the filter's steady state, then takes the unfused path.
            delta = np.empty(self.delta_shape, np.float32)
            self._analyze(frame, delta)
            f.initialize(delta)
            f.step(delta, out=delta)
            _kernels.mix_channels(delta.reshape(-1), self._mix_out, top.reshape(-1))
        else:
            self._working(frame, top, f._sos32, f._state, self._mix_out)
        self._render(top, frame, out)

    # -- public streaming interface ---------------------------------------------------------------

    def process(self, frames: np.ndarray) -> np.ndarray:
        """Magnify the next frame(s).

        Parameters
        ----------
        frames : ndarray, uint8, (H, W[, C]) or (n, H, W[, C])
            One frame or a block, in order; ``C`` as in ``frame_shape``.

        Returns
        -------
        ndarray, uint8
            Magnified frames for the same time steps, shaped like the input
            (causal filters).  With ``temporal="ideal"`` an empty block
            ``(0, H, W[, C])``: call :meth:`flush` after the last frame.
        """
        arr = np.asarray(frames)
        H, W, C = self.frame_shape
        single = arr.shape == self.frame_shape or (C == 1 and arr.shape == (H, W))
        block = _check_frames(arr[None] if single else arr)
        if block.shape[1:] != self.frame_shape:
            raise ValueError(f"frames of shape {arr.shape} fed to a Magnifier for frames of {self.frame_shape}")
        squeeze_channel = arr.ndim == (2 if single else 3)
        if self._ideal:
            self._frames.append(block.copy())
            for frame in block:
                d = np.empty(self.delta_shape, np.float32)
                if not self._identity:
                    self._analyze(np.ascontiguousarray(frame), d)
                self._deltas.append(d)
            result = np.empty((0,) + self.frame_shape, np.uint8)
        else:
            result = np.empty_like(block)
            self._process_causal(block, result)
        self.frames_in += len(block)
        if single and len(result):
            result = result[0]
        return result[..., 0] if squeeze_channel else result

    def flush(self) -> np.ndarray:
        """Finish the stream; returns the frames still held back (all of them for ``"ideal"``).

        Returns
        -------
        ndarray, uint8, (n, H, W[, C])
            ``n = 0`` for the causal filters.
        """
        gray = self.frame_shape[2] == 1
        if not self._ideal or not self._frames:
            out = np.empty((0,) + self.frame_shape, np.uint8)
            return out[..., 0] if gray else out
        frames = np.concatenate(self._frames)
        stack = np.stack(self._deltas)
        self._frames, self._deltas = [], []
        out = _render_ideal(self, frames, stack)
        return out[..., 0] if gray else out


def _render_ideal(m: Magnifier, frames: np.ndarray, stack: np.ndarray, progress=None) -> np.ndarray:
    # the clip must hold a frequency bin in the band, whatever the gains (as magnify() checks)
    ideal_band_gains(len(frames), m.fps, m.low, m.high, compat=m.compat)
    out = np.empty_like(frames)
    if m._identity:
        out[...] = frames
        return out
    ideal_bandpass(stack, m.fps, m.low, m.high, compat=m.compat, out=stack)
    for t in range(len(frames)):
        m._render_delta(stack[t], frames[t], out[t])
        if progress is not None:
            progress.update(1)
    return out


def magnify(
    frames: np.ndarray,
    fps: float,
    alpha: float,
    low: float,
    high: float,
    *,
    pyramid: PyramidKind = "laplacian",
    temporal: TemporalKind = "butterworth",
    levels: int | None = None,
    sigma: float | None = None,
    lambda_c: float = 16.0,
    chroma_attenuation: float = 0.1,
    r1: float | None = None,
    r2: float | None = None,
    order: int = 1,
    compat: Literal["mit"] | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Magnify the motion or colour changes of a clip in a temporal band.

    Parameters
    ----------
    frames : ndarray, uint8, (T, H, W, 3) RGB or (T, H, W) gray
        At least 2 frames; any size the pyramid allows (odd sizes included).
    fps : float
        Frame rate in Hz.
    alpha : float
        Amplification (>= 0).  Typical: 10-60 for motion, 50-150 for colour.
        With ``pyramid="riesz"``: phase gain, motion comes out ``(1 + alpha)``
        times as large; ``-1 <= alpha < 0`` attenuates it (``-1`` removes it).
    low, high : float
        Temporal pass band in Hz, ``0 < low < high < fps / 2``.
    pyramid : {"laplacian", "gaussian"}
        ``"laplacian"``: motion magnification, per-level gains limited by
        ``lambda_c`` (:func:`laplacian_gains`).  ``"gaussian"``: colour
        magnification of one coarse level, gain ``alpha``.  ``"riesz"``:
        phase-based motion magnification of the luma on a Riesz pyramid
        (:mod:`evm.phase`; chroma passed through, ``lambda_c`` and
        ``chroma_attenuation`` unused, ``compat`` must be None).
    temporal : {"butterworth", "ideal", "iir"}
        Temporal filter (:mod:`evm.temporal`).  ``"ideal"`` holds the working
        level of the whole clip in memory; the others stream.
    levels : int or None
        Laplacian: number of pyramid entries including the residual, at least 3;
        ``None`` is MIT's ``'auto'`` height.  Gaussian: the level used (number of
        halvings); ``None`` is 4, or less if the frame is small.  Riesz: entries
        including the residual, at least 2; ``None``: all the frame allows.
    sigma : float or None
        Riesz only: Gaussian smoothing of the filtered phase in pixels of each
        level (0: off; ``None``: :data:`evm.phase.DEFAULT_SIGMA`).
    lambda_c : float
        Spatial cutoff wavelength in pixels (Laplacian only).
    chroma_attenuation : float
        Factor on the I and Q channels of the added signal (0: luminance only).
    r1, r2 : float, optional
        Rates of MIT's IIR filter; by default derived from ``low``/``high`` so that
        its -3 dB points fall there.
    order : int
        Butterworth order (default 1).
    compat : {None, "mit"}
        ``"mit"`` reproduces the MIT reference code's conventions (docs/method.md):
        Butterworth normalised by ``fps``, half-amplitude ideal band,
        hue-preserving gamut handling, MATLAB bicubic upsampling in the Gaussian
        variant, pyrTools edge quirk, unclamped gain ramp.
    progress : bool
        Show a tqdm progress bar on stderr.

    Returns
    -------
    ndarray, uint8, same shape as ``frames``

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(60)[:, None, None] / 30.0
    >>> x = np.arange(64)[None, None, :]
    >>> still = 128 + 40 * np.sin(2 * np.pi * (x - 0.1 * np.sin(2 * np.pi * 2 * t)) / 16)
    >>> video = np.repeat(still[:, None, :, :], 48, axis=1)[..., None].repeat(3, -1).astype(np.uint8)
    >>> magnify(video, fps=30, alpha=10, low=1, high=3).shape
    (60, 48, 64, 3)
    """
    frames = np.asarray(frames)
    checked = _check_frames(frames)
    if checked.shape[0] < 2:
        raise ValueError(f"need at least 2 frames to filter in time, got {checked.shape[0]}")
    m = Magnifier(
        checked.shape[1:],
        fps,
        alpha,
        low,
        high,
        pyramid=pyramid,
        temporal=temporal,
        levels=levels,
        sigma=sigma,
        lambda_c=lambda_c,
        chroma_attenuation=chroma_attenuation,
        r1=r1,
        r2=r2,
        order=order,
        compat=compat,
    )
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(checked) * (2 if m._ideal else 1), unit="frame", desc="magnify", leave=False)
    try:
        if m._ideal:
            ideal_band_gains(len(checked), m.fps, m.low, m.high, compat=compat)  # fail before the work
            stack = np.empty((len(checked),) + m.delta_shape, np.float32)
            if not m._identity:
                for t in range(len(checked)):
                    m._analyze(np.ascontiguousarray(checked[t]), stack[t])
                    if bar is not None:
                        bar.update(1)
            out = _render_ideal(m, checked, stack, bar)
        else:
            out = np.empty_like(checked)
            step = 16
            for s in range(0, len(checked), step):
                m._process_causal(checked[s : s + step], out[s : s + step])
                m.frames_in += len(checked[s : s + step])
                if bar is not None:
                    bar.update(len(checked[s : s + step]))
    finally:
        if bar is not None:
            bar.close()
    return out.reshape(frames.shape)
