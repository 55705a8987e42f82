"""Synthetic clips with known motion and colour change, for checks, demos and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def translating_grating(
    frames: int,
    height: int,
    width: int,
    fps: float,
    *,
    wavelength: float = 32.0,
    amplitude: float = 0.25,
    frequency: float = 1.0,
    contrast: float = 60.0,
    mean: float = 128.0,
    channels: int = 3,
) -> tuple[np.ndarray, np.ndarray]:
    """A vertical sinusoidal grating translating horizontally by ``amplitude * sin(2 pi f t)``.

    Parameters
    ----------
    frames, height, width : int
        Clip size.
    fps : float
        Frame rate (Hz).
    wavelength : float
        Grating period in pixels.
    amplitude : float
        Peak displacement in pixels.
    frequency : float
        Oscillation frequency in Hz.
    contrast, mean : float
        Grey levels: ``mean + contrast * sin(...)``.
    channels : int
        1 (gray, shape (T, H, W)) or 3 (RGB, equal channels).

    Returns
    -------
    video : ndarray, uint8, (T, H, W) or (T, H, W, 3)
    displacement : ndarray, float64, (T,)
        Ground-truth shift in pixels for each frame.
    """
    t = np.arange(frames) / fps
    shift = amplitude * np.sin(2 * np.pi * frequency * t)
    x = np.arange(width)[None, :]
    rows = mean + contrast * np.sin(2 * np.pi * (x - shift[:, None]) / wavelength)  # (T, W)
    video = np.broadcast_to(rows[:, None, :], (frames, height, width))
    video = np.clip(np.rint(video), 0, 255).astype(np.uint8)
    if channels == 3:
        video = np.repeat(video[..., None], 3, axis=-1)
    elif channels != 1:
        raise ValueError("channels must be 1 or 3")
    return np.ascontiguousarray(video), shift


def grating_displacement(video: np.ndarray, wavelength: float, margin: int = 16) -> np.ndarray:
    """Horizontal shift (pixels) of a vertical grating in every frame, from its phase.

    Uses the Fourier coefficient at ``1 / wavelength`` of the mean row, away from
    the borders, so the result is exact for a pure translated sinusoid.  The
    window must hold a whole number of periods.
    """
    v = video.astype(np.float64)
    if v.ndim == 4:
        v = v.mean(axis=-1)
    rows = v.mean(axis=1)  # (T, W)
    W = rows.shape[1]
    periods = int((W - 2 * margin) // wavelength)
    x = np.arange(margin, margin + int(round(periods * wavelength)))
    basis = np.exp(-2j * np.pi * x / wavelength)
    coeff = (rows[:, x] - rows[:, x].mean(axis=1, keepdims=True)) @ basis
    # sin(2 pi (x - s) / L) has phase -pi/2 - 2 pi s / L at frequency 1/L
    phase = np.unwrap(np.angle(coeff) + np.pi / 2)
    return -phase * wavelength / (2 * np.pi)


def demo_scene(frames: int = 150, height: int = 240, width: int = 320, fps: float = 30.0) -> np.ndarray:
    """A textured scene with a disc that 'breathes' by a fraction of a pixel at 1.2 Hz.

    Invisible before magnification; obvious after ``magnify(..., alpha=20, low=0.8, high=2)``.

    Returns
    -------
    ndarray, uint8, (T, H, W, 3)
    """
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    texture = rng.normal(0, 1, (height // 8 + 1, width // 8 + 1)).astype(np.float32)
    texture = np.kron(texture, np.ones((8, 8), np.float32))[:height, :width]
    background = np.stack([110 + 12 * texture, 120 + 10 * texture, 135 + 8 * texture], axis=-1)
    cy, cx, radius = height * 0.5, width * 0.5, min(height, width) * 0.25
    dist = np.hypot(yy - cy, xx - cx)
    out = np.empty((frames, height, width, 3), np.uint8)
    colour = np.array([200.0, 150.0, 120.0], np.float32)
    for t in range(frames):
        r = radius + 0.35 * np.sin(2 * np.pi * 1.2 * t / fps)
        inside = np.clip(r - dist + 0.5, 0, 1)[..., None]  # anti-aliased edge
        frame = background * (1 - inside) + colour * inside
        out[t] = np.clip(np.rint(frame), 0, 255).astype(np.uint8)
    return out


#: Relative strength of the blood-volume pulse in R, G, B (POS paper's skin-tone analysis, Wang et al. 2017).
PULSE_RGB = (0.33, 0.77, 0.53)


@dataclass(frozen=True)
class PulseClip:
    """A synthetic face clip with a known heart rate (:func:`pulse_clip`).

    Attributes
    ----------
    video : ndarray, uint8, (T, H, W, 3)
    fps : float
    bpm : ndarray, float64, (T,)
        Instantaneous heart rate of every frame (0 where the clip has no pulse).
    roi : (x, y, w, h)
        A skin rectangle inside the face at rest (cheeks, nose, forehead below the hairline).
    face : (x, y, w, h)
        The face ellipse's bounding box at rest.
    """

    video: np.ndarray
    fps: float
    bpm: np.ndarray
    roi: tuple[int, int, int, int]
    face: tuple[int, int, int, int]


def pulse_waveform(phase: np.ndarray) -> np.ndarray:
    """A PPG-like blood-volume waveform of the cardiac phase (radians): a fundamental and a second
    harmonic at 40% (fast systolic rise, slower fall with a dicrotic shoulder), peak-to-peak 1, mean 0.
    """
    wave = np.sin(phase) + 0.4 * np.sin(2 * phase + 0.8)
    grid = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    ref = np.sin(grid) + 0.4 * np.sin(2 * grid + 0.8)
    return wave / (ref.max() - ref.min())


def _smooth_noise(rng: np.random.Generator, frames: int, fps: float) -> np.ndarray:
    """Gaussian noise smoothed by a 1 s Hann window (power mostly below 1 Hz, some up to 2 Hz), unit std."""
    pad = int(fps)
    x = np.convolve(rng.normal(0, 1, frames + 2 * pad), np.hanning(max(3, int(fps))), mode="same")[pad : pad + frames]
    return x / max(x.std(), 1e-12)


def pulse_clip(
    frames: int,
    fps: float,
    *,
    bpm=72.0,
    height: int = 120,
    width: int = 160,
    amplitude: float = 0.004,
    noise: float = 2.0,
    flicker: float = 0.0,
    motion: float = 0.0,
    seed: int = 0,
) -> PulseClip:
    """A face-like clip whose skin carries a blood-volume pulse of known rate.

    A skin-coloured ellipse with smooth shading on a textured background; every skin pixel is
    multiplied by ``1 - amplitude * k_c * p(t)`` with ``k = PULSE_RGB / 0.77`` (green strongest) and
    ``p`` :func:`pulse_waveform` of the integrated heart rate (peak-to-peak 1). Then a global
    illumination change ``1 + flicker * l(t)`` (a slow drift plus smoothed random variation, both
    white light), a translation of the whole picture of about ``motion`` pixels (slow sinusoids plus
    smoothed random motion that reaches into the heart-rate band; sub-pixel, bilinear), Gaussian
    sensor noise of ``noise`` grey levels and rounding to uint8.

    Parameters
    ----------
    frames : int
    fps : float
        Frame rate, Hz.
    bpm : float or array-like (frames,)
        Heart rate, bpm, constant or per frame; 0 (or ``amplitude=0``) gives a clip without pulse.
    height, width : int
        Frame size, pixels.
    amplitude : float
        Peak-to-peak relative change of the green channel over skin (0.004 = 0.4%: the literature
        reports well under 1%, see docs/pulse.md).
    noise : float
        Standard deviation of the sensor noise, grey levels.
    flicker : float
        Relative amplitude of the illumination change.
    motion : float
        Peak translation, pixels.
    seed : int
        Seed of the texture, flicker and noise.

    Returns
    -------
    PulseClip
    """
    import cv2

    rng = np.random.default_rng(seed)
    t = np.arange(frames) / fps
    rate = np.broadcast_to(np.asarray(bpm, dtype=np.float64), (frames,)).copy()
    phase = 2 * np.pi * np.cumsum(rate / 60.0) / fps + rng.uniform(0, 2 * np.pi)
    pulse = pulse_waveform(phase) * (rate > 0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    texture = rng.normal(0, 1, (height // 6 + 1, width // 6 + 1)).astype(np.float32)
    texture = cv2.resize(texture, (width, height), interpolation=cv2.INTER_CUBIC)
    background = np.stack([90 + 14 * texture, 100 + 12 * texture, 115 + 10 * texture], axis=-1)
    cx, cy, a, b = width / 2, height / 2, width * 0.22, height * 0.36
    inside = np.clip((1 - np.hypot((xx - cx) / a, (yy - cy) / b)) * min(a, b) + 0.5, 0, 1)[..., None]
    shading = 1.0 + 0.12 * (xx - cx) / a - 0.06 * ((yy - cy) / b) ** 2 + 0.03 * texture
    skin = np.array([195.0, 140.0, 115.0], np.float32) * shading[..., None]
    base = background * (1 - inside) + skin * inside
    k = np.asarray(PULSE_RGB, np.float32) / np.float32(0.77)
    light = 1 + flicker * (
        0.6 * np.sin(2 * np.pi * 0.1 * t + rng.uniform(0, 6)) + 0.4 * _smooth_noise(rng, frames, fps)
    )
    dx = motion * (0.7 * np.sin(2 * np.pi * 0.25 * t) + 0.3 * _smooth_noise(rng, frames, fps))
    dy = 0.6 * motion * (0.7 * np.sin(2 * np.pi * 0.17 * t + 1.0) + 0.3 * _smooth_noise(rng, frames, fps))
    video = np.empty((frames, height, width, 3), np.uint8)
    for i in range(frames):
        frame = base * (1 - inside * (amplitude * pulse[i]) * k) * np.float32(light[i])
        if motion:
            matrix = np.array([[1, 0, dx[i]], [0, 1, dy[i]]], np.float64)
            frame = cv2.warpAffine(
                frame, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
            )
        frame = frame + rng.normal(0, noise, frame.shape).astype(np.float32) if noise else frame
        video[i] = np.clip(np.rint(frame), 0, 255).astype(np.uint8)
    roi = (int(round(cx - 0.5 * a)), int(round(cy - 0.45 * b)), int(round(a)), int(round(0.9 * b)))
    face = (int(round(cx - a)), int(round(cy - b)), int(round(2 * a)), int(round(2 * b)))
    return PulseClip(video, float(fps), np.where(rate > 0, rate, 0.0) * (amplitude > 0), roi, face)
