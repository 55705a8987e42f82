"""Small synthetic video files for the I/O and CLI tests (written by the tests themselves)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from evm.synthetic import translating_grating


def grating_frames(frames=60, height=48, width=64, fps=30.0, amplitude=0.3, frequency=1.5):
    video, _ = translating_grating(frames, height, width, fps, wavelength=16, amplitude=amplitude,
                                   frequency=frequency)
    return video


def write_video(path, frames: np.ndarray, fps=30, *, codec="libx264", audio_seconds: float | None = None,
                rotation: int | None = None, pix_fmt="yuv420p") -> Path:
    """Encode RGB uint8 frames with PyAV (crf 0 for near-lossless), optional AAC sine audio."""
    path = Path(path)
    rate = Fraction(fps).limit_denominator(100000)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = pix_fmt
        if codec == "libx264":
            stream.options = {"crf": "0", "preset": "ultrafast"}
        if rotation is not None:
            stream.set_display_rotation(rotation)
        audio = None
        if audio_seconds:
            audio = container.add_stream("aac", rate=44100)
            audio.layout = "mono"
        for i, frame in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            vf.pts = i
            vf.time_base = 1 / rate
            container.mux(stream.encode(vf))
        container.mux(stream.encode(None))
        if audio is not None:
            n = int(44100 * audio_seconds)
            t = np.arange(n) / 44100
            samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for s in range(0, n, 1024):
                chunk = samples[s : s + 1024][None, :]
                af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                af.sample_rate = 44100
                af.pts = s
                container.mux(audio.encode(af))
            container.mux(audio.encode(None))
    return path


def write_audio_only(path) -> Path:
    """A file with one AAC audio stream and no video stream."""
    path = Path(path)
    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=44100)
        s.layout = "mono"
        af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        af.sample_rate, af.pts = 44100, 0
        c.mux(s.encode(af))
        c.mux(s.encode(None))
    return path
