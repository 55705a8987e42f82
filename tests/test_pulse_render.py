"""The blood-volume pulse of the synthetic anti-spoofing clips (antispoof.data.pulse_render)."""

import numpy as np
import pytest

import antispoof.data.synth as synth
import antispoof.data.synth.render as synth_render
from antispoof.data.pulse_render import (
    AMPLITUDE_RANGE,
    RATE_RANGE,
    REPLAY_GAIN_RANGE,
    SubjectPulse,
    clip_pulse,
    skin_factors,
)


def render(kind, monkeypatch, *, pulse=True):
    """A clip and the skin factors its content got (None: no pulse); ``pulse=False`` renders without."""
    seen = {}
    attach = synth_render.attach_pulse

    def spy(content, rng, kind_, n, fps):
        if pulse:
            attach(content, rng, kind_, n, fps)
        seen["factors"] = getattr(content, "pulse", None)

    monkeypatch.setattr(synth_render, "attach_pulse", spy)  # the module that calls it
    video, boxes = synth.render_sample(kind, seed=3, subject=2, frames=60, fps=25.0, size=(96, 72))
    return video, boxes, seen["factors"]


@pytest.mark.parametrize("kind", ["bona_fide", "screen_video"])
def test_live_and_replayed_skin_carries_the_pulse_and_nothing_else_changes(kind, monkeypatch):
    video, boxes, factors = render(kind, monkeypatch)
    still, _, none = render(kind, monkeypatch, pulse=False)
    assert none is None and factors.shape == (60, 3) and factors.dtype == np.float32
    diff = video.astype(np.float64) - still
    x, y, w, h = np.median(boxes, axis=0).round().astype(int)
    inside = np.zeros(video.shape[1:3], bool)
    inside[max(0, y - h) : y + 2 * h, max(0, x - w) : x + 2 * w] = True  # the face and around it (screen blur)
    assert np.abs(diff[:, ~inside]).max() <= 1  # the background: at most the rounding of a blurred edge
    # skin darkens when the green factor drops: the face's green follows the factor, frame by frame
    green = diff[:, y : y + h, x : x + w, 1].mean(axis=(1, 2))
    assert np.corrcoef(green, factors[:, 1])[0, 1] > 0.8
    # green changes most, as in the POS paper's skin analysis (R 0.33, G 0.77, B 0.53)
    swing = np.ptp(factors, axis=0)
    assert swing[1] > swing[2] > swing[0]


def test_prints_and_photos_do_not_pulse(monkeypatch):
    for kind in ("print", "screen_photo"):
        video, _, factors = render(kind, monkeypatch)
        still, _, _ = render(kind, monkeypatch, pulse=False)
        assert factors is None and np.array_equal(video, still)


def test_replays_are_weaker_than_live_and_subjects_keep_their_rate():
    appearance = np.arange(12.0)
    subject = SubjectPulse.of(appearance)
    assert subject == SubjectPulse.of(appearance.copy())  # a function of the subject
    assert (
        RATE_RANGE[0] <= subject.bpm <= RATE_RANGE[1] and AMPLITUDE_RANGE[0] <= subject.amplitude <= AMPLITUDE_RANGE[1]
    )
    rng = np.random.default_rng(0)
    live = clip_pulse(rng, "bona_fide", appearance, 500, 25.0)
    replay = clip_pulse(rng, "screen_video", appearance, 500, 25.0)
    assert clip_pulse(rng, "print", appearance, 500, 25.0) is None
    ratio = np.ptp(replay[:, 1]) / np.ptp(live[:, 1])
    assert REPLAY_GAIN_RANGE[0] * 0.9 < ratio < REPLAY_GAIN_RANGE[1] * 1.1
    # the live pulse's amplitude is the subject's, its rate near the subject's
    factors, bpm = skin_factors(np.random.default_rng(1), subject, 2500, 25.0)
    assert np.ptp(factors[:, 1]) == pytest.approx(subject.amplitude, rel=0.02)
    assert abs(bpm.mean() - subject.bpm) < 4 * 4.0
    g = factors[:, 1] - factors[:, 1].mean()
    peak = np.fft.rfftfreq(2500, 1 / 25.0)[np.argmax(np.abs(np.fft.rfft(g)))] * 60
    assert abs(peak - bpm.mean()) < 4
    # the clip's stream is only spawned from: its next draws are as without a pulse
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    clip_pulse(a, "bona_fide", appearance, 10, 25.0)
    assert a.random() == b.random()
