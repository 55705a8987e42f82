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
the CNN-LSTM (8 frames) are far too short; give whole face-crop videos.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from evm.pulse import DEFAULT_BAND_BPM, FILTER_ORDER, PulseSignal, check_band_bpm, spectral_snr
from evm.temporal import butterworth
from evm.validation import positive

from .lbp import _channel_axis
from .svm import _SVMBaseline

__all__ = ["FEATURE_NAMES", "MIN_SECONDS", "PulseSVM", "pulse_features"]

#: The features, in order: log10 peak power and peak share of R, G, B, then of the POS trace, then its SNR (dB).
FEATURE_NAMES = ("log_e_r", "log_e_g", "log_e_b", "gamma_r", "gamma_g", "gamma_b", "log_e_pos", "gamma_pos", "snr_pos")
#: Shortest clip the features accept, seconds.
MIN_SECONDS = 3.0
#: The skin region of a face crop (the crop is the face box enlarged 1.6 times, :mod:`antispoof.data.faces`):
#: x0, y0, x1, y1 as fractions of the crop side: cheeks and nose, no background, no eyes' blinks.
CROP_SKIN = (0.32, 0.45, 0.68, 0.72)


def _region_means(clip, layout: str) -> np.ndarray:
    clip = np.asarray(clip)
    if clip.ndim != 4:
        raise ValueError(f"clip must be (T, H, W, 3) or (T, 3, H, W), got shape {clip.shape}")
    if _channel_axis(clip.shape, layout) == 1:
        clip = clip.transpose(0, 2, 3, 1)
    H, W = clip.shape[1:3]
    x0, y0, x1, y1 = CROP_SKIN
    r = clip[:, int(y0 * H) : max(int(y0 * H) + 1, int(y1 * H)), int(x0 * W) : max(int(x0 * W) + 1, int(x1 * W))]
    means = r.reshape(len(clip), -1, 3).mean(axis=1, dtype=np.float64)
    return means / 255.0 if np.issubdtype(clip.dtype, np.integer) else means


def pulse_features(clip, fps: float, *, band_bpm=DEFAULT_BAND_BPM, layout: str = "auto") -> np.ndarray:
    """The nine rPPG spectral features of one face-crop clip (:data:`FEATURE_NAMES`).

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
        Peak powers are of the mean-normalised signals (relative units squared), log10 with a floor
        of 1e-12; shares in [0, 1]; SNR in dB, clipped to [-30, 30].

    Raises
    ------
    ValueError
        Not an RGB clip, too short, or an invalid band.
    """
    fps = positive(fps, "fps")
    low, high = check_band_bpm(band_bpm, fps)
    means = _region_means(clip, layout)
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
        """(1, 9) float64: the clip's pulse features."""
        return pulse_features(clip, self.fps, band_bpm=self.band_bpm, layout=self.layout)[None, :]
