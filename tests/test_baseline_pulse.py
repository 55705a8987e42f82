"""The pulse baseline (antispoof.baselines.pulse): rPPG spectral features + SVM."""

import numpy as np
import pytest

from antispoof.baselines.pulse import FEATURE_NAMES, PulseSVM, pulse_features
from evm.synthetic import pulse_clip

FPS = 25.0


def crops(n, *, amplitude, seed0=0, motion=0.3):
    """Face-crop-like clips (T, 48, 48, 3): the skin ellipse fills the middle, as in a 1.6x face crop."""
    rng = np.random.default_rng(seed0)
    return [
        pulse_clip(100, FPS, bpm=float(rng.uniform(55, 110)), amplitude=amplitude, height=48, width=48, noise=2.0,
                   motion=motion, seed=seed0 + i).video
        for i in range(n)
    ]  # fmt: skip


def test_features_see_the_pulse():
    live, still = crops(1, amplitude=0.004, motion=0)[0], crops(1, amplitude=0.0, motion=0)[0]
    f, g = pulse_features(live, FPS), pulse_features(still, FPS)
    assert f.shape == (len(FEATURE_NAMES),) == (9,) and np.isfinite(f).all()
    named = dict(zip(FEATURE_NAMES, f))
    other = dict(zip(FEATURE_NAMES, g))
    assert named["gamma_g"] > other["gamma_g"] and named["log_e_g"] > other["log_e_g"] + 0.5
    assert named["snr_pos"] > 5 > other["snr_pos"]
    # the layout and the sample type do not matter
    np.testing.assert_allclose(pulse_features(live.transpose(0, 3, 1, 2), FPS), f, rtol=1e-9)
    np.testing.assert_allclose(pulse_features(live / 255.0, FPS), f, rtol=1e-9)


def test_features_refuse_short_clips_and_bad_shapes():
    clip = crops(1, amplitude=0.004)[0]
    with pytest.raises(ValueError, match=r"clip too short for pulse features: 50 frames = 2.0 s, need 3 s"):
        pulse_features(clip[:50], FPS)
    with pytest.raises(ValueError, match="clip must be"):
        pulse_features(clip[..., 0], FPS)
    with pytest.raises(ValueError, match="fps must be > 0"):
        pulse_features(clip, 0)


def test_pulse_svm_tells_pulsing_from_still_skin_and_round_trips(tmp_path):
    live, still = crops(6, amplitude=0.004), crops(6, amplitude=0.0, seed0=100)
    clips = np.stack(live + still)
    labels = np.array([1] * 6 + [0] * 6)
    model = PulseSVM(fps=FPS, calibration_folds=3).fit(clips[::2], labels[::2])
    scores = model.score(clips[1::2])
    assert scores[labels[1::2] == 1].min() > scores[labels[1::2] == 0].max()
    again = PulseSVM.load(model.save(tmp_path / "pulse"))
    assert again.fps == FPS and again.band_bpm == (40.0, 180.0)
    np.testing.assert_allclose(again.score(clips[1::2]), scores)
