"""Synthetic clips with known motion and colour change, for checks, demos and benchmarks."""

from __future__ import annotations

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
