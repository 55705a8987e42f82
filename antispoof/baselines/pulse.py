"""Pulse baseline: rPPG spectral features of the face crop + SVM (after Li et al., ICPR 2016).

Li, Komulainen, Zhao, Yuen and Pietikainen ("Generalized face anti-spoofing by detecting pulse from
face videos") take the mean R, G, B of the face over time, detrend and band-pass them, and describe
each channel's power spectrum by its peak power ``E`` and the peak's share of the band's power
``Gamma = E / sum``; six numbers per clip, classified by an SVM. A live face has a clear peak at the
heart rate, a print none, a replay a weak one. :func:`pulse_features` computes those six on the skin
region of a face crop and adds the same two for the POS pulse trace (:mod:`evm.pulse`) and its
spectral SNR: nine per clip (:data:`FEATURE_NAMES`). :class:`PulseSVM` is the classifier, with the
machinery of the LBP baselines (calibrated SVM, video score = mean clip probability, persistence).

A clip must span at least :data:`MIN_SECONDS` (two periods at the band's low edge): the cache clips of
the CNN-LSTM (8 frames) are far too short. Give whole face-crop videos, or the :class:`PulseTrace` a
prepared cache stores per video (its skin-region means over the whole video, :func:`antispoof.cache.read_trace`):
:func:`trace_features` is the same computation from the means.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.signal

from evm.pulse import DEFAULT_BAND_BPM, FILTER_ORDER, PulseSignal, RegionMean, check_band_bpm, spectral_snr
from evm.temporal import butterworth
from evm.validation import positive

from ..data.faces import CROP_SKIN, crop_skin_roi
from .lbp import _channel_axis
from .svm import _SVMBaseline

__all__ = ["CROP_SKIN", "FEATURE_NAMES", "MIN_SECONDS", "PulseSVM", "PulseTrace", "pulse_features", "trace_features"]

#: The features, in order: log10 peak power and peak share of R, G, B, then of the POS trace, then its SNR (dB).
FEATURE_NAMES = ("log_e_r", "log_e_g", "log_e_b", "gamma_r", "gamma_g", "gamma_b", "log_e_pos", "gamma_pos", "snr_pos")
#: Shortest clip the features accept, seconds.
MIN_SECONDS = 3.0


@dataclass(frozen=True)
class PulseTrace:
    """The per-frame mean RGB of a face crop's skin region (:data:`~antispoof.data.faces.CROP_SKIN`), with its rate.

    What a prepared cache stores per video (:func:`antispoof.cache.read_trace`): :class:`PulseSVM` takes it in
    place of a face-crop clip, so the features of a whole video need not hold its frames.

    Attributes
    ----------
    means : ndarray, (T, 3)
        R, G, B means in [0, 1], one row per frame.
    fps : float
        Frame rate of the video, Hz.
    """

    means: np.ndarray
    fps: float


def _region_means(clip, layout: str) -> np.ndarray:
    """(T, 3) float64 means in [0, 1] of the clip's :data:`CROP_SKIN` region: :class:`evm.pulse.RegionMean` for
    uint8 clips (the cache's traces are made the same way), the same sum in NumPy for float ones."""
    clip = np.asarray(clip)
    if clip.ndim != 4:
        raise ValueError(f"clip must be (T, H, W, 3) or (T, 3, H, W), got shape {clip.shape}")
    if _channel_axis(clip.shape, layout) == 1:
        clip = clip.transpose(0, 2, 3, 1)
    H, W = clip.shape[1:3]
    x, y, w, h = crop_skin_roi(H, W)
    if clip.dtype == np.uint8:
        region = RegionMean((H, W), roi=(x, y, w, h))
        return np.array([region(frame) for frame in clip]).reshape(len(clip), 3)
    means = clip[:, y : y + h, x : x + w].reshape(len(clip), -1, 3).mean(axis=1, dtype=np.float64)
    return means / 255.0 if np.issubdtype(clip.dtype, np.integer) else means


def pulse_features(clip, fps: float, *, band_bpm=DEFAULT_BAND_BPM, layout: str = "auto") -> np.ndarray:
    """The nine rPPG spectral features of one face-crop clip (:data:`FEATURE_NAMES`).

    :func:`trace_features` of the clip's skin-region means.

    Parameters
    ----------
    clip : array-like, (T, H, W, 3) or (T, 3, H, W)
        A face crop over time (uint8, or float in [0, 1]); at least :data:`MIN_SECONDS` long.
    fps : float
        Frame rate, Hz.
    band_bpm : (low, high)
        Heart-rate band, bpm.
    layout : {"auto", "THWC", "TCHW"}

    Returns
    -------
    ndarray, float64, (9,)
        As :func:`trace_features`.

    Raises
    ------
    ValueError
        Not an RGB clip, too short, or an invalid band.
    """
    return trace_features(_region_means(clip, layout), fps, band_bpm=band_bpm)


def trace_features(means, fps: float, *, band_bpm=DEFAULT_BAND_BPM) -> np.ndarray:
    """The nine rPPG spectral features (:data:`FEATURE_NAMES`) of a skin region's mean RGB over time.

    Parameters
    ----------
    means : array-like, (T, 3)
        R, G, B means in [0, 1] per frame (a :class:`PulseTrace`'s), finite; at least :data:`MIN_SECONDS` long.
    fps : float
        Frame rate, Hz.
    band_bpm : (low, high)
        Heart-rate band, bpm.

    Returns
    -------
    ndarray, float64, (9,)
        Peak powers are of the mean-normalised signals (relative units squared), log10 with a floor
        of 1e-12; shares in [0, 1]; SNR in dB, clipped to [-30, 30].

    Raises
    ------
    ValueError
        Not a (T, 3) finite trace, too short, or an invalid band.
    """
    fps = positive(fps, "fps")
    low, high = check_band_bpm(band_bpm, fps)
    means = np.asarray(means, dtype=np.float64)
    if means.ndim != 2 or means.shape[1] != 3:
        raise ValueError(f"a pulse trace must be (T, 3) R, G, B means, got shape {means.shape}")
    if not np.isfinite(means).all():
        raise ValueError("a pulse trace must be finite")
    n = len(means)
    if n < MIN_SECONDS * fps:
        raise ValueError(f"clip too short for pulse features: {n} frames = {n / fps:.1f} s, need {MIN_SECONDS:g} s")
    rgb = means / np.maximum(means.mean(axis=0), 1e-9) - 1.0
    rgb = butterworth(low / 60, high / 60, fps, FILTER_ORDER).filter(scipy.signal.detrend(rgb, axis=0))
    signal = PulseSignal(fps, "pos", (low, high))
    pos = np.concatenate([signal.push(means), signal.flush()])
    freqs = np.fft.rfftfreq(n, 1.0 / fps)  # no zero padding: Gamma is a share of the clip's own bins
    band = (freqs >= low / 60) & (freqs <= high / 60)
    window = np.hanning(n)[:, None]
    power = np.abs(np.fft.rfft(np.column_stack([rgb, pos]) * window, axis=0)) ** 2 / n
    inband = power[band]
    peak = inband.max(axis=0)
    share = peak / np.maximum(inband.sum(axis=0), 1e-30)
    f0 = freqs[band][np.argmax(inband[:, 3])]
    snr = spectral_snr(freqs, power[:, 3], f0, (low / 60, high / 60), max(0.1, 1.5 * fps / n))
    log_e = np.log10(np.maximum(peak, 1e-12))
    return np.array([*log_e[:3], *share[:3], log_e[3], share[3], float(np.clip(snr, -30.0, 30.0))])


class PulseSVM(_SVMBaseline):
    """Pulse features (:func:`pulse_features`) + SVM: one row per clip, video score = mean clip probability.

    Parameters
    ----------
    fps : float
        Frame rate of the clips, Hz.
    band_bpm : (low, high)
        Heart-rate band, bpm.
    kernel, C, gamma, calibration_folds, layout, cache_size, n_jobs, random_state
        As :class:`~antispoof.baselines.LBPSVM`.
    """

    n_features = len(FEATURE_NAMES)

    def __init__(self, fps: float = 25.0, band_bpm=DEFAULT_BAND_BPM, **kwargs):
        super().__init__(**kwargs)
        self.fps = positive(fps, "fps")
        self.band_bpm = check_band_bpm(band_bpm, self.fps)

    def get_settings(self) -> dict:
        return {**super().get_settings(), "fps": self.fps, "band_bpm": list(self.band_bpm)}

    def features(self, clip) -> np.ndarray:
        """(1, 9) float64: the pulse features of a face-crop clip (at ``fps``) or of a :class:`PulseTrace`
        (at its own rate)."""
        if isinstance(clip, PulseTrace):
            return trace_features(clip.means, clip.fps, band_bpm=self.band_bpm)[None, :]
        return pulse_features(clip, self.fps, band_bpm=self.band_bpm, layout=self.layout)[None, :]
