import itertools
import math

import numpy as np
import pytest

import naive
from evm import Magnifier, laplacian_gains, magnify
from evm.synthetic import grating_displacement, translating_grating

FPS = 30.0


@pytest.fixture(scope="module")
def noisy_video():
    rng = np.random.default_rng(1)
    T, H, W = 40, 37, 50  # odd sizes on purpose
    t = np.arange(T)[:, None, None, None] / FPS
    base = rng.integers(40, 215, (1, H, W, 3)).astype(float)
    wobble = 20 * np.sin(2 * np.pi * 1.3 * t + rng.random((1, H, W, 3)) * 6)
    video = base + wobble + rng.normal(0, 3, (T, H, W, 3))
    return np.clip(video, 0, 255).astype(np.uint8)


COMBOS = list(itertools.product(["laplacian", "gaussian"], ["butterworth", "iir", "ideal"], [None, "mit"]))


@pytest.mark.parametrize("pyramid, temporal, compat", COMBOS)
def test_matches_naive_reference(noisy_video, pyramid, temporal, compat):
    """The fused float32 pipeline equals the per-level float64 textbook/MIT pipeline."""
    levels = 2 if pyramid == "gaussian" else None
    ours = magnify(noisy_video, FPS, 20, 0.8, 3.0, pyramid=pyramid, temporal=temporal, levels=levels, compat=compat)
    ref = naive.magnify(
        noisy_video, FPS, 20, 0.8, 3.0, pyramid=pyramid, temporal=temporal, levels=levels, mit=compat == "mit"
    )
    diff = np.abs(ours.astype(int) - ref)
    assert np.abs(ours.astype(int) - noisy_video).max() > 20  # something was magnified
    assert diff.max() <= 1
    assert (diff > 0).mean() <= 1e-3


def test_mit_gain_rule_example():
    gains = laplacian_gains((120, 160), 6, 30, 16, compat="mit")
    np.testing.assert_allclose(gains, [0, 14.15, 30, 30, 30, 0], atol=0.01)
    np.testing.assert_allclose(laplacian_gains((120, 160), 6, 30, 16), naive.mit_gains(120, 160, 6, 30, 16))


def test_gain_ramp_clamped_unless_mit():
    mit = laplacian_gains((64, 64), 5, 10, 200, compat="mit")
    assert mit.min() < 0  # MIT's ramp goes negative when lambda_c is large
    np.testing.assert_allclose(mit, naive.mit_gains(64, 64, 5, 10, 200))
    assert laplacian_gains((64, 64), 5, 10, 200).min() == 0


@pytest.mark.parametrize("temporal, band", [("ideal", (0.75, 1.25)), ("butterworth", (0.5, 2.0))])
@pytest.mark.parametrize("alpha", [0, 4, 10])
def test_translation_is_magnified_by_one_plus_alpha(temporal, band, alpha):
    """A grating moving by A sin(2 pi f t) comes out moving by (1 + alpha) A."""
    wavelength, A, f = 64, 0.15, 1.0
    assert (1 + alpha) * A < wavelength / 8
    video, _ = translating_grating(180, 192, 512, FPS, wavelength=wavelength, amplitude=A, frequency=f, channels=1)
    out = magnify(video, FPS, alpha, *band, temporal=temporal, lambda_c=8)
    d = grating_displacement(out, wavelength)[90:]  # after the filter's transient
    t = np.arange(90, 180) / FPS
    amp = math.hypot(2 * np.mean(d * np.sin(2 * np.pi * f * t)), 2 * np.mean(d * np.cos(2 * np.pi * f * t)))
    assert amp == pytest.approx((1 + alpha) * A, rel=0.04)


def test_out_of_band_motion_is_left_alone():
    video, _ = translating_grating(300, 64, 256, FPS, wavelength=32, amplitude=0.5, frequency=5.0)
    out = magnify(video, FPS, 30, 0.75, 1.5, temporal="ideal", lambda_c=8)
    assert np.abs(out.astype(int) - video).max() <= 1
    # A steep causal filter: unchanged once the start-up transient (a few seconds at 0.5 Hz) has died.
    out = magnify(video, FPS, 30, 0.5, 1.0, order=4, lambda_c=8)
    d_in = grating_displacement(video, 32)[180:]
    d_out = grating_displacement(out, 32)[180:]
    assert np.abs(d_out - d_in).max() < 0.05


def test_colour_oscillation_amplified():
    """A uniform patch whose brightness oscillates at f: (1 + alpha) times the oscillation;
    a chroma oscillation: (1 + alpha * chroma_attenuation) times."""
    T, alpha, ca = 120, 20.0, 0.5
    t = np.arange(T) / FPS
    wave = 2.0 * np.sin(2 * np.pi * 1.0 * t)  # on an FFT bin: exact ideal filter
    grey = np.full((T, 40, 48, 3), 120.0) + wave[:, None, None, None]
    chroma_dir = np.array([1.0, -0.5, -0.5])
    chroma_dir -= chroma_dir @ np.array([0.299, 0.587, 0.114])  # remove its luminance: an I/Q-only change
    coloured = np.full((T, 40, 48, 3), 120.0) + wave[:, None, None, None] * chroma_dir
    for video, gain in [(grey, 1 + alpha), (coloured, 1 + alpha * ca)]:
        v8 = np.rint(video).astype(np.uint8)
        out = magnify(v8, FPS, alpha, 0.9, 1.1, pyramid="gaussian", temporal="ideal", chroma_attenuation=ca)
        src = v8.astype(float).mean(axis=(1, 2)) - v8.astype(float).mean(axis=(0, 1, 2))
        res = out.astype(float).mean(axis=(1, 2)) - out.astype(float).mean(axis=(0, 1, 2))
        ratio = np.linalg.norm(res) / np.linalg.norm(src)
        assert ratio == pytest.approx(gain, rel=0.05)


def test_mit_ideal_is_half_amplitude():
    T, alpha = 120, 20.0
    t = np.arange(T) / FPS
    video = np.rint(120 + 2 * np.sin(2 * np.pi * t))[:, None, None, None] * np.ones((1, 32, 32, 3))
    video = video.astype(np.uint8)
    default = magnify(video, FPS, alpha, 0.9, 1.1, pyramid="gaussian", temporal="ideal", levels=2)
    mit = magnify(video, FPS, alpha, 0.9, 1.1, pyramid="gaussian", temporal="ideal", levels=2, compat="mit")
    amp = lambda v: np.ptp(v.astype(float).mean(axis=(1, 2, 3)))  # noqa: E731
    assert amp(default) == pytest.approx((1 + alpha) * amp(video), rel=0.05)
    assert amp(mit) == pytest.approx((1 + alpha / 2) * amp(video), rel=0.05)


@pytest.mark.parametrize(
    "pyramid, temporal", [("laplacian", "butterworth"), ("laplacian", "iir"), ("gaussian", "butterworth")]
)
def test_streaming_equals_batch(noisy_video, pyramid, temporal):
    kw = dict(pyramid=pyramid, temporal=temporal, levels=2 if pyramid == "gaussian" else None)
    batch = magnify(noisy_video, FPS, 15, 0.8, 3.0, **kw)
    m = Magnifier(noisy_video.shape[1:], FPS, 15, 0.8, 3.0, **kw)
    one_by_one = np.stack([m.process(frame) for frame in noisy_video])
    assert m.flush().shape == (0,) + noisy_video.shape[1:]
    m = Magnifier(noisy_video.shape[1:], FPS, 15, 0.8, 3.0, **kw)
    blocks = np.concatenate([m.process(noisy_video[a:b]) for a, b in [(0, 3), (3, 4), (4, 31), (31, 40)]])
    np.testing.assert_array_equal(one_by_one, batch)
    np.testing.assert_array_equal(blocks, batch)


def test_streaming_ideal_flushes_everything(noisy_video):
    batch = magnify(noisy_video, FPS, 15, 0.8, 3.0, temporal="ideal")
    m = Magnifier(noisy_video.shape[1:], FPS, 15, 0.8, 3.0, temporal="ideal")
    assert m.process(noisy_video[:10]).shape == (0,) + noisy_video.shape[1:]
    assert m.process(noisy_video[10]).shape[0] == 0
    m.process(noisy_video[11:])
    np.testing.assert_array_equal(m.flush(), batch)


def test_first_output_frame_is_input_frame(noisy_video):
    for compat in (None, "mit"):
        for temporal in ("butterworth", "iir"):
            out = magnify(noisy_video, FPS, 50, 0.8, 3.0, temporal=temporal, compat=compat)
            np.testing.assert_array_equal(out[0], noisy_video[0])


def test_still_video_unchanged(noisy_video):
    still = np.repeat(noisy_video[:1], 10, axis=0)
    np.testing.assert_array_equal(magnify(still, FPS, 50, 0.8, 3.0), still)


def test_gray_equals_rgb_luminance(noisy_video):
    gray = noisy_video[..., 1]
    out_gray = magnify(gray, FPS, 20, 0.8, 3.0)
    assert out_gray.shape == gray.shape
    out_rgb = magnify(np.repeat(gray[..., None], 3, axis=-1), FPS, 20, 0.8, 3.0)
    assert np.abs(out_gray.astype(int) - out_rgb[..., 0]).max() <= 1


def test_zero_chroma_attenuation_only_changes_luminance(noisy_video):
    out = magnify(noisy_video, FPS, 20, 0.8, 3.0, chroma_attenuation=0).astype(float)
    change = out - noisy_video
    # the added signal is Y-only: equal in R, G, B wherever nothing clipped
    ok = (out > 0).all(-1) & (out < 255).all(-1)
    assert np.abs(change[..., 0] - change[..., 1])[ok].max() <= 1
    assert np.abs(change).max() > 10


def test_alpha_zero_is_identity(noisy_video):
    np.testing.assert_array_equal(magnify(noisy_video, FPS, 0, 0.8, 3.0), noisy_video)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(low=1, high=20), "Nyquist"),
        (dict(low=3, high=1), "below"),
        (dict(alpha="ten"), "alpha must be a number"),
        (dict(alpha=-1), "alpha"),
        (dict(levels=9), "levels"),
        (dict(levels=2), "levels"),
        (dict(pyramid="steerable"), "pyramid"),
        (dict(temporal="fir"), "temporal"),
        (dict(compat="matlab"), "compat"),
        (dict(lambda_c=0), "lambda_c"),
        (dict(chroma_attenuation=-0.1), "chroma"),
        (dict(temporal="iir", r1=0.4), "both r1 and r2"),
        (dict(temporal="ideal", low=0.83, high=0.95), "resolution"),
    ],
)
def test_argument_errors(noisy_video, kwargs, match):
    args = dict(fps=FPS, alpha=10, low=0.8, high=3.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        magnify(noisy_video[:20], **args)


@pytest.mark.parametrize(
    "frames, match",
    [
        (np.zeros((1, 32, 32, 3), np.uint8), "at least 2 frames"),
        (np.zeros((5, 32, 32, 3), np.float32), "uint8"),
        (np.zeros((5, 32, 32, 4), np.uint8), "channels"),
        (np.zeros((5, 32), np.uint8), "shape"),
        (np.zeros((5, 8, 8, 3), np.uint8), "frame too small"),
    ],
)
def test_frame_errors(frames, match):
    with pytest.raises(ValueError, match=match):
        magnify(frames, FPS, 10, 1, 3)


def test_magnifier_rejects_wrong_frame_shape():
    m = Magnifier((32, 32, 3), FPS, 10, 1, 3)
    with pytest.raises(ValueError, match="fed to a Magnifier"):
        m.process(np.zeros((2, 32, 33, 3), np.uint8))
