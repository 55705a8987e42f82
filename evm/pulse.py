"""Heart rate from a face video: remote photoplethysmography (rPPG), streamed.

Three stages, each a class that is fed as the video is decoded (memory does not grow with the
video's length), tied together by :class:`PulseMeter` and :func:`estimate_pulse`:

1. :class:`RegionMean`: per frame, the spatial mean of a rectangle (``roi``), optionally of its
   skin pixels only, as RGB in [0, 1]; for the ``"evm"`` method the mean of the I (YIQ) channel of
   the region's coarse Gaussian pyramid level instead.
2. :class:`PulseSignal`: the means -> a pulse trace, one sample per frame, band-passed:

   * ``"green"`` (Verkruysse et al. 2008): minus the band-passed green mean.
   * ``"chrom"`` (de Haan and Jeanne 2013): windows of 1.6 s normalised by their mean,
     ``X = 3R - 2G``, ``Y = 1.5R + G - 1.5B``, both band-passed (zero-phase, inside the window),
     ``S = X - (std X / std Y) Y``, Hann-tapered and overlap-added at half a window.
   * ``"pos"`` (Wang et al. 2017): windows of 1.6 s normalised by their mean, projected with
     ``P = [[0, 1, -1], [-2, 1, 1]]``, ``h = S1 + (std S1 / std S2) S2``, zero-mean, overlap-added
     at every frame.
   * ``"evm"``: the magnifier's way: the coarse Gaussian level's I channel, band-passed by the
     same Butterworth filter as :func:`evm.butterworth` (no window).

3. :class:`HeartRateTracker`: a sliding window of the trace (default 10 s, 1 s hop), the Hann-
   windowed power spectrum, the peak inside the band (40-180 bpm by default) and its spectral SNR
   (:func:`spectral_snr`); the whole-clip estimate is the peak of the windows' average spectrum
   (each window normalised to unit in-band power, so every window has one vote).

Units: frequencies in bpm in the public API (``band_bpm``, results) and Hz inside; times in seconds
from the first frame analysed; the quality figure is an SNR in dB.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import scipy.signal

from . import _pulse_kernels
from .color import rgb_to_yiq
from .pyramid import gaussian_pyramid, max_pyramid_levels
from .temporal import butterworth, check_band
from .validation import integer, positive, real
from .visualize import dominant_frequency

METHODS = ("pos", "chrom", "green", "evm")
#: Physiological band of adult heart rates searched by default, bpm (0.67-3 Hz).
DEFAULT_BAND_BPM = (40.0, 180.0)
#: Sliding window and hop of the heart-rate estimates, seconds.
DEFAULT_WINDOW = 10.0
DEFAULT_HOP = 1.0
#: Window of CHROM's and POS's normalisation and projection (POS paper: l = 1.6 s, 32 frames at 20 fps).
PROJECTION_WINDOW = 1.6
#: Butterworth order of the band-pass filters (trace; CHROM's in-window filter as in rPPG-Toolbox).
FILTER_ORDER = 3
#: An estimate whose SNR is below this is reported as unreliable, dB (see docs/pulse.md for its calibration).
MIN_SNR_DB = 3.0
#: A clip shorter than this (or than the window, if shorter) gets no estimate, seconds.
MIN_SECONDS = 5.0
#: Half-width of the SNR's signal bands around the peak and its harmonic, Hz: at least 1.5 frequency-resolution
#: bins (1 / window) of the Hann window, whose main lobe holds 99.4% of a sinusoid's power within +-1.5 bins.
SNR_HALF_WIDTH = 0.1
SNR_HALF_WIDTH_BINS = 1.5
#: Mean brightness (luma, 0-1) below which a region is "too dark" for a pulse.
MIN_LEVEL = 15 / 255
#: Share of frames whose region has less than 1% skin pixels above which the clip has "no skin".
MAX_SKINLESS = 0.5
#: Coarsest Gaussian level the ``"evm"`` method averages (MIT's face example uses level 4).
EVM_LEVEL = 4
#: Smallest region side, pixels.
MIN_ROI_SIDE = 4


def check_method(method: str) -> str:
    """Validate a method name (``pos``, ``chrom``, ``green``, ``evm``; case-insensitive)."""
    if not isinstance(method, str) or method.lower() not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    return method.lower()


def check_band_bpm(band_bpm, fps: float) -> tuple[float, float]:
    """Validate a heart-rate band ``(low, high)`` in bpm for video at ``fps``; returns floats.

    Raises
    ------
    ValueError
        Not two numbers, ``low >= high``, ``low <= 0``, or ``high`` at or above the Nyquist rate.
    """
    try:
        low, high = band_bpm
    except (TypeError, ValueError):
        raise ValueError(f"band_bpm must be (low, high) in bpm, got {band_bpm!r}") from None
    low, high = real(low, "band low (bpm)", minimum=0, strict=True), real(high, "band high (bpm)")
    if low >= high:
        raise ValueError(f"band low ({low:g} bpm) must be below band high ({high:g} bpm)")
    fps = positive(fps, "fps")
    if high >= 30.0 * fps:
        raise ValueError(
            f"band high ({high:g} bpm) must be below the Nyquist rate of {fps:g} fps video ({30 * fps:g} bpm)"
        )
    check_band(low / 60.0, high / 60.0, fps)
    return low, high


def check_roi(roi, frame_shape) -> tuple[int, int, int, int]:
    """Validate a region ``(x, y, w, h)`` (pixels) against a frame shape ``(H, W[, 3])``.

    ``None`` is the whole frame.

    Raises
    ------
    ValueError
        Not four integers, a side under :data:`MIN_ROI_SIDE`, or not inside the frame.
    """
    H, W = int(frame_shape[0]), int(frame_shape[1])
    if roi is None:
        roi = (0, 0, W, H)
    try:
        values = tuple(roi)
    except TypeError:
        raise ValueError(f"roi must be (x, y, w, h), got {roi!r}") from None
    if len(values) != 4:
        raise ValueError(f"roi must be (x, y, w, h), got {roi!r}")
    x, y, w, h = (integer(v, name) for v, name in zip(values, ("roi x", "roi y", "roi w", "roi h")))
    if w < MIN_ROI_SIDE or h < MIN_ROI_SIDE:
        raise ValueError(f"roi {w}x{h} is too small: at least {MIN_ROI_SIDE}x{MIN_ROI_SIDE} pixels")
    if x < 0 or y < 0 or x + w > W or y + h > H:
        raise ValueError(f"roi x={x} y={y} w={w} h={h} is not inside the {W}x{H} frame")
    return x, y, w, h


def _check_frame(frame: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"a frame must be RGB uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
    if frame.shape[:2] != shape:
        raise ValueError(f"frame is {frame.shape[1]}x{frame.shape[0]}, expected {shape[1]}x{shape[0]}")
    return np.ascontiguousarray(frame)


class RegionMean:
    """Per-frame spatial mean of a region: the first stage of :class:`PulseMeter`.

    Parameters
    ----------
    frame_shape : (H, W) or (H, W, 3)
        Size of the frames to come.
    roi : (x, y, w, h) or None
        Region in pixels (None: the whole frame).
    skin : bool
        Average only the skin pixels of the region (a YCbCr chroma rule, see
        :mod:`evm._pulse_kernels`); frames without a skin pixel take the whole region.
    method : str
        ``"evm"`` averages the I channel of the region's coarse Gaussian level (level
        ``min(4, levels - 1)``); the others the RGB means.

    Attributes
    ----------
    skinless : int
        Frames whose region had less than 1% skin pixels (``skin=True`` only).
    level_sum : float
        Sum over frames of the region's mean luma (0-1), for the darkness check.
    """

    def __init__(self, frame_shape, *, roi=None, skin: bool = False, method: str = "pos") -> None:
        self.method = check_method(method)
        self.shape = (
            integer(frame_shape[0], "frame height", minimum=1),
            integer(frame_shape[1], "frame width", minimum=1),
        )
        self.roi = check_roi(roi, self.shape)
        self.skin = bool(skin)
        x, y, w, h = self.roi
        self._bounds = (y, y + h, x, x + w)
        self._sums = np.zeros(4)
        self.level = min(EVM_LEVEL, max_pyramid_levels((h, w)) - 1)
        self._weights = np.empty((h, w), np.float32) if self.skin and self.method == "evm" else None
        self.frames = 0
        self.skinless = 0
        self.level_sum = 0.0

    @property
    def channels(self) -> int:
        """Values per frame: 1 (``evm``: the I mean) or 3 (R, G, B means)."""
        return 1 if self.method == "evm" else 3

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """The region mean of one frame.

        Parameters
        ----------
        frame : ndarray, (H, W, 3) uint8

        Returns
        -------
        ndarray, float64, (3,) R, G, B in [0, 1], or (1,) I (``evm``), in [-0.6, 0.6]
        """
        frame = _check_frame(frame, self.shape)
        y0, y1, x0, x1 = self._bounds
        sums = self._sums
        _pulse_kernels.region_sums(frame, y0, y1, x0, x1, self.skin, sums)
        area = (y1 - y0) * (x1 - x0)
        if self.skin and sums[3] < 0.01 * area:
            self.skinless += 1
            if sums[3] == 0:
                _pulse_kernels.region_sums(frame, y0, y1, x0, x1, False, sums)
        rgb = sums[:3] / (sums[3] * 255.0)
        self.frames += 1
        self.level_sum += float(rgb @ (0.299, 0.587, 0.114))
        if self.method != "evm":
            return rgb
        crop = frame[y0:y1, x0:x1]
        coarse = gaussian_pyramid(crop, self.level + 1)[-1]
        i = rgb_to_yiq(coarse / np.float32(255.0))[..., 1]
        if self._weights is None:
            return np.array([float(i.mean())])
        _pulse_kernels.skin_weights(frame, y0, y1, x0, x1, self._weights)
        weights = gaussian_pyramid(self._weights, self.level + 1)[-1]
        total = float(weights.sum())
        return np.array([float((i * weights).sum()) / total if total > 0 else float(i.mean())])


def _window_length(fps: float, seconds: float) -> int:
    return max(2, int(round(seconds * fps)))


class PulseSignal:
    """Region means -> the pulse trace, streamed: the second stage of :class:`PulseMeter`.

    Parameters
    ----------
    fps : float
        Frame rate, Hz.
    method : {"pos", "chrom", "green", "evm"}
    band_bpm : (low, high)
        Pass band of the band-pass filters, bpm.

    Notes
    -----
    The windowed methods (POS, CHROM) emit a sample once every window that contains it has been
    seen: the trace lags the input by ``PROJECTION_WINDOW`` seconds, and :meth:`flush` emits the
    rest. Every sample comes out exactly once, in order, so sample ``k`` belongs to frame ``k``.
    Units: ``pos`` and ``chrom``: relative colour change (dimensionless); ``green``: minus the
    green level in [0, 1] units; ``evm``: the I channel in [0, 1] units.
    """

    def __init__(self, fps: float, method: str = "pos", band_bpm=DEFAULT_BAND_BPM) -> None:
        self.method = check_method(method)
        self.fps = positive(fps, "fps")
        low, high = check_band_bpm(band_bpm, self.fps)
        self._filter = butterworth(low / 60, high / 60, self.fps, FILTER_ORDER)
        self._sos = self._filter.sos
        self._length = _window_length(self.fps, PROJECTION_WINDOW)
        L = self._length
        if self.method == "pos":
            self._hop, self._taper = 1, np.ones(L)
        elif self.method == "chrom":
            self._hop, self._taper = max(1, L // 2), scipy.signal.windows.hann(L, sym=False)
        else:
            self._hop = 0  # no window
        self._inputs = np.zeros((0, 3))
        self._acc = np.zeros(0)
        self._wsum = np.zeros(0)
        self._seen = 0  # inputs received
        self._in_base = 0  # absolute index of _inputs[0]
        self._emitted = 0  # trace samples emitted
        self._next_end = L  # end (exclusive, absolute) of the next window to project

    def _project(self, window: np.ndarray) -> np.ndarray:
        """One window (L, 3) of RGB means -> its zero-mean pulse segment (L,)."""
        mean = window.mean(axis=0)
        c = window / np.maximum(mean, 1e-9)
        if self.method == "pos":
            s1 = c[:, 1] - c[:, 2]
            s2 = -2.0 * c[:, 0] + c[:, 1] + c[:, 2]
            sd2 = s2.std()
            h = s1 + (s1.std() / sd2 if sd2 > 0 else 0.0) * s2
            return h - h.mean()
        c = c - 1.0
        x = 3.0 * c[:, 0] - 2.0 * c[:, 1]
        y = 1.5 * c[:, 0] + c[:, 1] - 1.5 * c[:, 2]
        padlen = min(3 * (2 * len(self._sos) + 1), len(window) - 1)
        x, y = scipy.signal.sosfiltfilt(self._sos, np.stack([x, y]), axis=1, padlen=padlen)
        sdy = y.std()
        s = x - (x.std() / sdy if sdy > 0 else 0.0) * y
        return s - s.mean()

    def push(self, values: np.ndarray) -> np.ndarray:
        """Feed region means; returns the trace samples completed by them.

        Parameters
        ----------
        values : ndarray, (n, 3) R, G, B means (or (n, 1) I means for ``evm``), any n >= 0

        Returns
        -------
        ndarray, float64, (m,)
            The next ``m`` samples of the trace (``m`` may be 0 or exceed ``n`` after a lag).
        """
        values = np.asarray(values, dtype=np.float64)
        values = values.reshape(len(values), -1)
        if not np.all(np.isfinite(values)):
            raise ValueError("region means must be finite")
        if self._hop == 0:  # green, evm: one band-pass, no window
            raw = -values[:, 1] if self.method == "green" else values[:, 0]
            self._seen += len(raw)
            return self._band(raw)
        return self._band(self._overlap_add(values, final=False))

    def flush(self) -> np.ndarray:
        """Emit the samples still waiting for windows (the last ``PROJECTION_WINDOW`` seconds)."""
        if self._hop == 0:
            return np.zeros(0)
        return self._band(self._overlap_add(np.zeros((0, 3)), final=True))

    def _band(self, raw: np.ndarray) -> np.ndarray:
        if len(raw) == 0:
            return np.zeros(0)
        self._emitted += len(raw)
        return self._filter.filter(raw[:, None])[:, 0].astype(np.float64)

    def _overlap_add(self, values: np.ndarray, *, final: bool) -> np.ndarray:
        # Absolute sample indices: _inputs holds [_in_base, _seen), _acc and _wsum [_emitted, _seen).
        L, hop = self._length, self._hop
        self._inputs = np.concatenate([self._inputs, values])
        self._seen += len(values)
        grow = self._seen - self._emitted - len(self._acc)
        self._acc = np.concatenate([self._acc, np.zeros(grow)])
        self._wsum = np.concatenate([self._wsum, np.zeros(grow)])
        while self._next_end <= self._seen:
            start = self._next_end - L
            self._add(start, self._taper, self._inputs[start - self._in_base : start - self._in_base + L])
            self._next_end += hop
        if final:
            last_end = self._next_end - hop  # end of the last window projected (< L: none was)
            m = min(L, self._seen - self._in_base)
            if (self._seen > last_end or last_end < L) and m >= 4:  # a tail no window covers: one on the last m
                taper = self._taper if m == L else self._taper_for(m)
                self._add(self._seen - m, taper, self._inputs[len(self._inputs) - m :])
            done = self._seen - self._emitted
        else:
            done = max(0, self._next_end - L - self._emitted)  # no later window reaches these samples
        wsum = self._wsum[:done]
        out = np.divide(self._acc[:done], wsum, out=np.zeros(done), where=wsum > 0)
        self._acc, self._wsum = self._acc[done:], self._wsum[done:]
        keep_from = max(self._in_base, self._seen - L)  # the last window's inputs, for the next one and the tail
        self._inputs = self._inputs[keep_from - self._in_base :]
        self._in_base = keep_from
        return out

    def _taper_for(self, m: int) -> np.ndarray:
        return np.ones(m) if self.method == "pos" else scipy.signal.windows.hann(m, sym=False)

    def _add(self, start: int, taper: np.ndarray, window: np.ndarray) -> None:
        """Overlap-add the projection of ``window`` (inputs from absolute index ``start``)."""
        segment = taper * self._project(window)
        skip = max(0, self._emitted - start)  # samples already emitted are final
        a = start + skip - self._emitted
        self._acc[a : a + len(segment) - skip] += segment[skip:]
        self._wsum[a : a + len(segment) - skip] += taper[skip:]


def spectral_snr(freqs: np.ndarray, power: np.ndarray, f0: float, band_hz, half_width: float = SNR_HALF_WIDTH) -> float:
    """Spectral SNR of a pulse at ``f0`` (de Haan and Jeanne 2013), dB.

    The power within ``half_width`` of ``f0`` and of its first harmonic ``2 f0`` (where it lies in
    the band) over the power in the rest of the band.

    Parameters
    ----------
    freqs, power : ndarray, (K,)
        Frequencies (Hz) and power spectrum.
    f0 : float
        Pulse frequency, Hz.
    band_hz : (low, high)
        The band the ratio is taken over, Hz.
    half_width : float
        Hz.

    Returns
    -------
    float
        dB; ``-inf`` without signal power, ``+inf`` without noise power.
    """
    low, high = band_hz
    inband = (freqs >= low) & (freqs <= high)
    signal = inband & ((np.abs(freqs - f0) <= half_width) | (np.abs(freqs - 2 * f0) <= half_width))
    s = float(power[signal].sum())
    n = float(power[inband & ~signal].sum())
    if s <= 0:
        return -math.inf
    if n <= 0:
        return math.inf
    return 10.0 * math.log10(s / n)


@dataclass(frozen=True)
class WindowEstimate:
    """One sliding-window heart rate: centre ``time`` (s), ``bpm`` and ``snr_db``."""

    time: float
    bpm: float
    snr_db: float


class HeartRateTracker:
    """Pulse trace -> heart rate per sliding window and for the whole clip (third stage).

    Parameters
    ----------
    fps : float
        Frame rate, Hz.
    window, hop : float
        Sliding window and its step, seconds (``MIN_SECONDS`` <= window <= 600, 0 < hop <= window).
    band_bpm : (low, high)
        Heart rates searched, bpm.

    Notes
    -----
    Memory: one window of samples and one averaged spectrum, plus one :class:`WindowEstimate`
    per hop.
    """

    def __init__(
        self, fps: float, *, window: float = DEFAULT_WINDOW, hop: float = DEFAULT_HOP, band_bpm=DEFAULT_BAND_BPM
    ) -> None:
        self.fps = positive(fps, "fps")
        self.band_bpm = check_band_bpm(band_bpm, self.fps)
        self.window = real(window, "window (s)", minimum=MIN_SECONDS, maximum=600.0)
        self.hop = real(hop, "hop (s)", minimum=0, strict=True, maximum=self.window)
        self._length = _window_length(self.fps, self.window)
        self._hop = max(1, int(round(self.hop * self.fps)))
        # FFT length: zero-padded to a resolution of at most 0.5 bpm before the peak's interpolation
        self._nfft = 1 << int(math.ceil(math.log2(max(self._length, 120.0 * self.fps))))
        self.freqs = np.fft.rfftfreq(self._nfft, 1.0 / self.fps)
        low, high = self.band_bpm
        self._inband = (self.freqs >= low / 60) & (self.freqs <= high / 60)
        self._buffer = np.zeros(0)
        self._start = 0  # absolute index of _buffer[0]
        self._next_end = self._length
        self._sum = np.zeros(len(self.freqs))
        self.windows: list[WindowEstimate] = []

    @property
    def samples(self) -> int:
        """Trace samples received so far."""
        return self._start + len(self._buffer)

    def _spectrum(self, x: np.ndarray) -> np.ndarray:
        x = scipy.signal.detrend(x)
        return np.abs(np.fft.rfft(x * np.hanning(len(x)), self._nfft)) ** 2

    def _estimate(self, power: np.ndarray, seconds: float) -> tuple[float, float]:
        low, high = self.band_bpm
        band_hz = (low / 60, high / 60)
        if not np.any(power[self._inband] > 0):
            return math.nan, -math.inf
        f0 = dominant_frequency(self.freqs, power, band_hz[0] - 1e-9, band_hz[1])
        f0 = min(max(f0, band_hz[0]), band_hz[1])
        return 60.0 * f0, spectral_snr(
            self.freqs, power, f0, band_hz, max(SNR_HALF_WIDTH, SNR_HALF_WIDTH_BINS / seconds)
        )

    def _analyse(self, x: np.ndarray, end: int) -> WindowEstimate:
        power = self._spectrum(x)
        total = power[self._inband].sum()
        if total > 0:
            self._sum += power / total
        bpm, snr = self._estimate(power, len(x) / self.fps)
        estimate = WindowEstimate((end - len(x) / 2) / self.fps, bpm, snr)
        self.windows.append(estimate)
        return estimate

    def push(self, samples: np.ndarray) -> list[WindowEstimate]:
        """Feed trace samples (float, (n,)); returns the window estimates they complete."""
        samples = np.asarray(samples, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(samples)):
            raise ValueError("trace samples must be finite")
        self._buffer = np.concatenate([self._buffer, samples])
        new = []
        while self._next_end <= self.samples:
            a = self._next_end - self._length - self._start
            new.append(self._analyse(self._buffer[a : a + self._length], self._next_end))
            self._next_end += self._hop
        keep = max(0, self._next_end - self._length - self._start)
        self._buffer = self._buffer[keep:]
        self._start += keep
        return new

    def finish(self) -> tuple[float, float, np.ndarray]:
        """Whole-clip estimate: ``(bpm, snr_db, average spectrum)``.

        A clip shorter than the window (but at least :data:`MIN_SECONDS` long) is analysed as one
        window.

        Raises
        ------
        ValueError
            The trace is shorter than :data:`MIN_SECONDS`.
        """
        if not self.windows:
            n = self.samples
            if n < MIN_SECONDS * self.fps - 1e-9 or len(self._buffer) < n:
                raise ValueError(
                    f"clip too short for a heart rate: {n} frames = {n / self.fps:.1f} s at {self.fps:g} fps, "
                    f"need at least {MIN_SECONDS:g} s"
                )
            self._analyse(self._buffer, n)
        average = self._sum / len(self.windows)
        seconds = min(self._length, self.samples) / self.fps
        bpm, snr = self._estimate(average, seconds)
        return bpm, snr, average


@dataclass
class PulseResult:
    """What :func:`estimate_pulse` found.

    Attributes
    ----------
    bpm : float
        Whole-clip heart rate (peak of the windows' average spectrum), bpm; NaN without signal.
    snr_db : float
        Its quality: spectral SNR of the average spectrum, dB (:func:`spectral_snr`).
    reliable : bool
        ``snr_db >= MIN_SNR_DB`` and the region is neither too dark nor skinless.
    reason : str
        Why the estimate is not reliable ('' when it is).
    times, window_bpm, window_snr_db : ndarray, (N,)
        Sliding-window estimates: centre time (s), bpm, SNR (dB).
    freqs_bpm, spectrum : ndarray, (K,)
        The average normalised power spectrum inside the band (for plots).
    """

    method: str
    fps: float
    frames: int
    roi: tuple[int, int, int, int]
    skin: bool
    band_bpm: tuple[float, float]
    window: float
    hop: float
    bpm: float
    snr_db: float
    reliable: bool
    reason: str
    times: np.ndarray = field(repr=False)
    window_bpm: np.ndarray = field(repr=False)
    window_snr_db: np.ndarray = field(repr=False)
    freqs_bpm: np.ndarray = field(repr=False)
    spectrum: np.ndarray = field(repr=False)
    mean_level: float = 0.0
    skinless_share: float = 0.0

    @property
    def seconds(self) -> float:
        return self.frames / self.fps

    def as_dict(self, *, spectrum: bool = False) -> dict:
        """JSON-ready summary (non-finite numbers as None); ``spectrum`` adds the average spectrum."""

        def num(v):
            return float(v) if math.isfinite(v) else None

        out = {
            "method": self.method,
            "fps": self.fps,
            "frames": self.frames,
            "seconds": self.seconds,
            "roi": list(self.roi),
            "skin": self.skin,
            "band_bpm": list(self.band_bpm),
            "window_s": self.window,
            "hop_s": self.hop,
            "bpm": num(self.bpm),
            "snr_db": num(self.snr_db),
            "min_snr_db": MIN_SNR_DB,
            "reliable": self.reliable,
            "reason": self.reason,
            "mean_level": self.mean_level,
            "skinless_share": self.skinless_share,
            "windows": [
                {"time_s": float(t), "bpm": num(b), "snr_db": num(s)}
                for t, b, s in zip(self.times, self.window_bpm, self.window_snr_db)
            ],
        }
        if spectrum:
            out["spectrum"] = {"bpm": self.freqs_bpm.tolist(), "power": self.spectrum.tolist()}
        return out


class PulseMeter:
    """Frames in, pulse trace out, heart rate at the end: the three stages of this module in a row.

    Parameters
    ----------
    frame_shape : (H, W) or (H, W, 3)
    fps : float
        Frame rate, Hz.
    method : {"pos", "chrom", "green", "evm"}
        Default ``"pos"``.
    roi : (x, y, w, h) or None
        Region in pixels; None: the whole frame.
    skin : bool
        Average only the region's skin pixels.
    window, hop : float
        Sliding window and hop, seconds (default 10 and 1).
    band_bpm : (low, high)
        Heart rates searched, bpm (default 40-180).

    Examples
    --------
    >>> from evm.synthetic import pulse_clip
    >>> clip = pulse_clip(300, 30.0, bpm=72.0, seed=0)
    >>> meter = PulseMeter(clip.video.shape[1:], 30.0, roi=clip.roi)
    >>> for frame in clip.video:
    ...     _ = meter.update(frame)
    >>> _, result = meter.finish()
    >>> abs(result.bpm - 72.0) < 2 and result.reliable
    True
    """

    def __init__(
        self,
        frame_shape,
        fps: float,
        *,
        method: str = "pos",
        roi=None,
        skin: bool = False,
        window: float = DEFAULT_WINDOW,
        hop: float = DEFAULT_HOP,
        band_bpm=DEFAULT_BAND_BPM,
    ) -> None:
        self.region = RegionMean(frame_shape, roi=roi, skin=skin, method=method)
        self.signal = PulseSignal(fps, self.region.method, band_bpm)
        self.tracker = HeartRateTracker(fps, window=window, hop=hop, band_bpm=band_bpm)

    def update(self, frame: np.ndarray) -> np.ndarray:
        """Feed one frame ((H, W, 3) uint8); returns the trace samples it completes (float64, (m,))."""
        trace = self.signal.push(self.region(frame)[None])
        self.tracker.push(trace)
        return trace

    def finish(self) -> tuple[np.ndarray, PulseResult]:
        """The last trace samples and the result.

        Raises
        ------
        ValueError
            The clip is shorter than :data:`MIN_SECONDS`.
        """
        tail = self.signal.flush()
        self.tracker.push(tail)
        region, tracker = self.region, self.tracker
        if region.frames == 0:
            raise ValueError("no frames")
        bpm, snr, average = tracker.finish()
        level = region.level_sum / region.frames
        skinless = region.skinless / region.frames
        reasons = []
        if level < MIN_LEVEL:
            reasons.append(f"the region is too dark (mean level {255 * level:.0f}/255)")
        if region.skin and skinless > MAX_SKINLESS:
            reasons.append(f"no skin in the region in {100 * skinless:.0f}% of the frames")
        if not snr >= MIN_SNR_DB:
            reasons.append(f"no clear pulse peak (SNR {snr:.1f} dB < {MIN_SNR_DB:g} dB)")
        w = tracker.windows
        return tail, PulseResult(
            method=region.method,
            fps=tracker.fps,
            frames=region.frames,
            roi=region.roi,
            skin=region.skin,
            band_bpm=tracker.band_bpm,
            window=tracker.window,
            hop=tracker.hop,
            bpm=bpm,
            snr_db=snr,
            reliable=not reasons,
            reason="; ".join(reasons),
            times=np.array([e.time for e in w]),
            window_bpm=np.array([e.bpm for e in w]),
            window_snr_db=np.array([e.snr_db for e in w]),
            freqs_bpm=60.0 * tracker.freqs[tracker._inband],
            spectrum=average[tracker._inband],
            mean_level=level,
            skinless_share=skinless,
        )


def estimate_pulse(
    frames: Iterable[np.ndarray],
    fps: float,
    *,
    on_trace: Callable[[int, np.ndarray], None] | None = None,
    **settings,
) -> PulseResult:
    """Heart rate of the skin in a region of a video, streamed (see :class:`PulseMeter`).

    Parameters
    ----------
    frames : iterable of ndarray (H, W, 3) uint8, or an array (T, H, W, 3)
        Consumed once; memory does not grow with the number of frames.
    fps : float
        Frame rate, Hz.
    on_trace : callable or None
        ``on_trace(first_index, samples)`` receives the pulse trace as it is completed (frame
        ``first_index`` onwards; float64, (m,)), e.g. to write it to a file.
    **settings
        ``method``, ``roi``, ``skin``, ``window``, ``hop``, ``band_bpm``: as :class:`PulseMeter`.

    Returns
    -------
    PulseResult

    Raises
    ------
    ValueError
        Invalid arguments or frames, or a clip shorter than :data:`MIN_SECONDS`.
    """
    meter, emitted = None, 0
    for frame in frames:
        if meter is None:
            meter = PulseMeter(np.shape(frame), fps, **settings)
        trace = meter.update(frame)
        if on_trace is not None and len(trace):
            on_trace(emitted, trace)
        emitted += len(trace)
    if meter is None:
        raise ValueError("no frames")
    tail, result = meter.finish()
    if on_trace is not None and len(tail):
        on_trace(emitted, tail)
    return result
