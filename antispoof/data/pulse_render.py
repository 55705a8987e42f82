"""The blood-volume pulse on the synthetic faces of :mod:`antispoof.data.synth`.

Live skin pulses; a replay shows a recording whose pulse went through a second camera and a screen;
a printed photo has none (Li et al. 2016, "Generalized face anti-spoofing by detecting pulse from
face videos"). :func:`attach_pulse` gives a rendered clip's content one factor per frame and channel
that multiplies the subject's skin colour (every skin-derived colour of the face, neck and lids):

* **Waveform**: :func:`evm.synthetic.pulse_waveform` (a fundamental and a 40% second harmonic: the
  systolic rise and the dicrotic shoulder) of the integrated heart rate; more blood, less light.
* **Colour**: relative strengths R 0.33, G 0.77, B 0.53 (Wang et al. 2017, the POS paper's skin
  analysis; :data:`evm.synthetic.PULSE_RGB`), green strongest.
* **Amplitude**: peak-to-peak relative change of green, drawn per subject uniformly in
  :data:`AMPLITUDE_RANGE` (0.1-0.5%): the blood-volume pulse changes skin colour by well under 1% of
  the pixel value (de Haan and Jeanne 2013; Wang et al. 2017).
* **Rate**: a resting rate per subject, uniform in :data:`RATE_RANGE` bpm; per clip that rate plus a
  normal offset of :data:`CLIP_RATE_SPREAD` bpm, with respiratory sinus arrhythmia (a sinusoidal
  modulation of 1-3 bpm at 0.15-0.35 Hz).
* **Replay** (``screen_video``): the recording's pulse scaled by a gain in :data:`REPLAY_GAIN_RANGE`
  (the recording camera's noise reduction and compression, then the screen) and delayed by
  :data:`REPLAY_DELAY_RANGE` seconds. The screen and the attacking camera then attenuate it further
  as they do every other detail. **Print** and **screen photo**: no pulse.

Randomness: the subject's figures come from a stream keyed by the subject's appearance (the same in
all its clips), the clip's from a child of the clip's own stream (``Generator.spawn``), which leaves
the clip's other draws, and so every other pixel, as they were without a pulse.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from evm.synthetic import PULSE_RGB, pulse_waveform

#: Peak-to-peak relative change of green on skin, per subject.
AMPLITUDE_RANGE = (0.001, 0.005)
#: Resting heart rate per subject, bpm.
RATE_RANGE = (55.0, 95.0)
#: Standard deviation of a clip's rate around the subject's, bpm.
CLIP_RATE_SPREAD = 4.0
#: Gain of a replayed recording's pulse.
REPLAY_GAIN_RANGE = (0.2, 0.6)
#: Delay of a replayed recording's pulse, seconds.
REPLAY_DELAY_RANGE = (0.2, 1.0)
#: Clip kinds whose face pulses, with the kind of pulse.
PULSING = {"bona_fide": "live", "screen_video": "replay"}


@dataclass(frozen=True)
class SubjectPulse:
    """A subject's resting heart rate (bpm) and pulse amplitude (peak-to-peak relative change of green)."""

    bpm: float
    amplitude: float

    @classmethod
    def of(cls, appearance: np.ndarray) -> SubjectPulse:
        """The pulse of the subject whose appearance draw includes ``appearance`` (any array unique to it)."""
        rng = np.random.default_rng(zlib.crc32(np.ascontiguousarray(appearance).tobytes()))
        return cls(bpm=float(rng.uniform(*RATE_RANGE)), amplitude=float(rng.uniform(*AMPLITUDE_RANGE)))


def skin_factors(
    rng: np.random.Generator, subject: SubjectPulse, n: int, fps: float, *, gain: float = 1.0, delay: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame multipliers of the skin colour, and the instantaneous heart rate.

    Parameters
    ----------
    rng : Generator
        Draws the clip's rate offset, breathing modulation and cardiac phase.
    subject : SubjectPulse
    n : int
        Frames.
    fps : float
        Frame rate, Hz.
    gain : float
        Amplitude scale (1 live; less for a replay).
    delay : float
        Seconds the pulse lags (a replay shows a recording).

    Returns
    -------
    factors : ndarray, float32, (n, 3)
        ``1 - gain * amplitude * k_c * p(t - delay)``, ``k = PULSE_RGB / 0.77``.
    bpm : ndarray, float64, (n,)
    """
    t = np.arange(n) / fps - delay
    base = subject.bpm + rng.normal(0.0, CLIP_RATE_SPREAD)
    depth, rate, phase = rng.uniform(1.0, 3.0), rng.uniform(0.15, 0.35), rng.uniform(0, 2 * np.pi)
    bpm = base + depth * np.sin(2 * np.pi * rate * t + phase)
    cardiac = 2 * np.pi * np.cumsum(bpm / 60.0) / fps + rng.uniform(0, 2 * np.pi)
    k = np.asarray(PULSE_RGB) / PULSE_RGB[1]
    factors = 1.0 - gain * subject.amplitude * pulse_waveform(cardiac)[:, None] * k[None, :]
    return factors.astype(np.float32), bpm


def clip_pulse(rng: np.random.Generator, kind: str, appearance: np.ndarray, n: int, fps: float) -> np.ndarray | None:
    """The skin factors (n, 3) of a clip of ``kind``, or None for a kind without pulse (print, photo).

    ``rng`` is the clip's stream; only a child of it is drawn from.
    """
    what = PULSING.get(kind)
    if what is None:
        return None
    child = rng.spawn(1)[0]
    gain, delay = 1.0, 0.0
    if what == "replay":
        gain, delay = child.uniform(*REPLAY_GAIN_RANGE), child.uniform(*REPLAY_DELAY_RANGE)
    return skin_factors(child, SubjectPulse.of(appearance), n, fps, gain=gain, delay=delay)[0]


def attach_pulse(content, rng: np.random.Generator, kind: str, n: int, fps: float) -> None:
    """Give a rendered clip content (``synth._RenderedContent``) its pulse; other contents are left alone
    (frames of a real face video carry their own pulse)."""
    if hasattr(content, "pulse") and hasattr(content, "person"):
        content.pulse = clip_pulse(rng, kind, content.person.texture, n, fps)
