"""Evidence images: spatio-temporal slices and temporal spectra."""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np


def spatiotemporal_slice(frames: Iterable[np.ndarray], *, row: int | None = None, col: int | None = None) -> np.ndarray:
    """XT slice (one row over time) or YT slice (one column over time).

    Parameters
    ----------
    frames : iterable of ndarray (H, W, 3) uint8
        Streamed; only the chosen line of each frame is kept.
    row, col : int
        Exactly one: the image row (XT slice) or column (YT slice).

    Returns
    -------
    ndarray, uint8
        ``row``: (T, W, 3), time downwards.  ``col``: (H, T, 3), time to the right.
    """
    if (row is None) == (col is None):
        raise ValueError("give exactly one of row and col")
    lines = []
    for frame in frames:
        size = frame.shape[0] if row is not None else frame.shape[1]
        index = row if row is not None else col
        if not 0 <= index < size:
            raise ValueError(f"{'row' if row is not None else 'col'} {index} outside the frame (0..{size - 1})")
        lines.append(frame[row] if row is not None else frame[:, col])
    if not lines:
        raise ValueError("no frames")
    stack = np.stack(lines)
    return stack if row is not None else np.ascontiguousarray(stack.transpose(1, 0, 2))


def side_by_side_slices(before: np.ndarray, after: np.ndarray, gap: int = 4) -> np.ndarray:
    """Two slices next to each other (XT: side by side; YT: one above the other), white gap."""
    if before.shape != after.shape:
        raise ValueError(f"slices differ in shape: {before.shape} vs {after.shape}")
    axis = 1
    pad_shape = list(before.shape)
    pad_shape[axis] = gap
    return np.concatenate([before, np.full(pad_shape, 255, np.uint8), after], axis=axis)


def save_png(path: str | os.PathLike, image: np.ndarray, *, overwrite: bool = True) -> None:
    """Write a uint8 image atomically (temporary name, then rename)."""
    import imageio.v3 as iio

    from .io import atomic_output

    with atomic_output(path, overwrite=overwrite) as tmp:
        iio.imwrite(tmp, image, extension=".png")


def mean_intensity(frames: Iterable[np.ndarray], roi: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Mean RGB of a region in every frame: (T, 3) float64.  ``roi`` = (x, y, w, h)."""
    values = []
    for frame in frames:
        if roi is not None:
            x, y, w, h = roi
            if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > frame.shape[1] or y + h > frame.shape[0]:
                raise ValueError(f"roi {roi} is not inside the {frame.shape[1]}x{frame.shape[0]} frame")
            frame = frame[y : y + h, x : x + w]
        values.append(frame.reshape(-1, frame.shape[-1]).mean(axis=0))
    if len(values) < 2:
        raise ValueError("need at least 2 frames for a spectrum")
    return np.asarray(values)


def temporal_spectrum(signal: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Amplitude spectrum of a (T,) or (T, C) signal after removing its mean and a linear trend.

    Returns
    -------
    freqs : ndarray (T//2+1,), Hz
    amplitude : ndarray, same leading length, in the signal's units (a sinusoid of
        amplitude A shows a peak of about A, Hann-window corrected)
    """
    from scipy.signal import detrend

    x = detrend(np.asarray(signal, dtype=np.float64), axis=0)
    n = len(x)
    window = np.hanning(n)
    window = window.reshape((-1,) + (1,) * (x.ndim - 1))
    spec = np.abs(np.fft.rfft(x * window, axis=0)) * 2 / window.sum()
    return np.fft.rfftfreq(n, 1 / fps), spec


def dominant_frequency(freqs: np.ndarray, amplitude: np.ndarray, low: float = 0.0, high: float | None = None) -> float:
    """Frequency (Hz) of the largest peak of ``amplitude`` (summed over channels) in [low, high]."""
    amp = amplitude.sum(axis=1) if amplitude.ndim == 2 else amplitude
    mask = (freqs > max(low, 0.0)) & (freqs <= (high if high is not None else freqs[-1]))
    if not mask.any():
        raise ValueError("no frequency in the requested range")
    idx = np.flatnonzero(mask)[np.argmax(amp[mask])]
    # parabolic interpolation between bins
    if 0 < idx < len(amp) - 1:
        a, b, c = amp[idx - 1], amp[idx], amp[idx + 1]
        denom = a - 2 * b + c
        shift = 0.5 * (a - c) / denom if denom != 0 else 0.0
        return float(freqs[idx] + shift * (freqs[1] - freqs[0]))
    return float(freqs[idx])


def pulse_figure(result, trace: np.ndarray, *, title: str = ""):
    """A three-panel figure of a heart-rate estimate: pulse trace, heart rate over time, spectrum.

    Parameters
    ----------
    result : evm.pulse.PulseResult
    trace : ndarray, (T,)
        The pulse trace, one sample per frame (``estimate_pulse``'s ``on_trace``).
    title : str
        Shown above the panels (e.g. the file name).

    Returns
    -------
    matplotlib.figure.Figure
        Drawn with the Agg backend; the caller saves and closes it.
    """
    from matplotlib.figure import Figure

    from .pulse import MIN_SNR_DB

    fig = Figure(figsize=(9, 7.5))
    ax_trace, ax_rate, ax_spec = fig.subplots(3, 1)
    t = np.arange(len(trace)) / result.fps
    ax_trace.plot(t, trace, color="tab:red", lw=0.8)
    ax_trace.set_xlabel("time (s)")
    ax_trace.set_ylabel(f"pulse ({result.method})")
    good = result.window_snr_db >= MIN_SNR_DB
    ax_rate.plot(result.times, result.window_bpm, color="0.6", lw=0.8)
    ax_rate.plot(result.times[good], result.window_bpm[good], "o", color="tab:blue", ms=4,
                 label=f"SNR >= {MIN_SNR_DB:g} dB")  # fmt: skip
    ax_rate.plot(result.times[~good], result.window_bpm[~good], "o", mfc="none", color="tab:blue", ms=4,
                 label=f"SNR < {MIN_SNR_DB:g} dB")  # fmt: skip
    if np.isfinite(result.bpm):
        ax_rate.axhline(result.bpm, color="gray", ls="--", lw=1, label=f"clip {result.bpm:.1f} bpm")
    ax_rate.set_xlim(0, max(result.seconds, 1e-9))
    ax_rate.set_ylim(*result.band_bpm)
    ax_rate.set_xlabel(f"time (s), centre of a {result.window:g} s window")
    ax_rate.set_ylabel("heart rate (bpm)")
    ax_rate.legend(loc="upper right", fontsize=8)
    ax_spec.plot(result.freqs_bpm, result.spectrum, color="black", lw=1)
    if np.isfinite(result.bpm):
        ax_spec.axvline(result.bpm, color="gray", ls="--", lw=1)
    ax_spec.set_xlabel("heart rate (bpm)")
    ax_spec.set_ylabel("mean normalised power")
    quality = "reliable" if result.reliable else "NOT reliable"
    ax_spec.set_title(f"{result.bpm:.1f} bpm, SNR {result.snr_db:.1f} dB ({quality})", fontsize=10)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
