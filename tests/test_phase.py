"""Phase-based (Riesz pyramid) magnification: against the maths, a float64 reference, and linear EVM."""

import numpy as np
import pytest

import naive
from evm import Magnifier, magnify
from evm.phase import PhaseMagnifier

FPS = 30.0


def grating_video(d, *, wavelength=16.0, freq=2.0, frames=60, height=48, width=64, channels=0, contrast=60.0):
    """A vertical-bar sinusoid translated horizontally by d * sin(2 pi freq t) pixels (exact, analytic)."""
    t = np.arange(frames)[:, None, None] / FPS
    x = np.arange(width)[None, None, :]
    shift = d * np.sin(2 * np.pi * freq * t)
    video = 128 + contrast * np.cos(2 * np.pi * (x - shift) / wavelength) + np.zeros((1, height, 1))
    video = np.round(video).astype(np.uint8)
    return np.repeat(video[..., None], channels, axis=-1) if channels else video


def measured_gain(video_in, video_out, wavelength, edge=8):
    """Output motion / input motion, from the phase of the grating's fundamental per frame."""

    def position(v):
        v = v.astype(np.float64)
        rows = (v.mean(axis=-1) if v.ndim == 4 else v).mean(axis=1)
        c = (rows * np.exp(-2j * np.pi * np.arange(rows.shape[1]) / wavelength)).sum(axis=1)
        return np.unwrap(-np.angle(c)) * wavelength / (2 * np.pi)

    a, b = position(video_in)[edge:-edge], position(video_out)[edge:-edge]
    return np.polyfit(a - a.mean(), b - b.mean(), 1)[0]


@pytest.fixture(scope="module")
def noisy_video():
    rng = np.random.default_rng(2)
    T, H, W = 24, 29, 38  # odd sizes on purpose
    t = np.arange(T)[:, None, None, None] / FPS
    x = np.arange(W)[None, None, :, None]
    base = 128 + 50 * np.sin(2 * np.pi * (x - 0.4 * np.sin(2 * np.pi * 3 * t)) / 9)
    video = base + rng.normal(0, 4, (T, H, W, 3)) + rng.integers(-20, 20, (1, H, W, 3))
    return np.clip(video, 0, 255).astype(np.uint8)


# -- against the maths --------------------------------------------------------------------------


def positions(v, wavelength):
    """Horizontal position of the grating per frame (pixels), from its fundamental's phase."""
    v = v.astype(np.float64)
    rows = (v.mean(axis=-1) if v.ndim == 4 else v).mean(axis=1)
    c = (rows * np.exp(-2j * np.pi * np.arange(rows.shape[1]) / wavelength)).sum(axis=1)
    return np.unwrap(-np.angle(c)) * wavelength / (2 * np.pi)


def test_grating_shift_is_magnified_by_one_plus_alpha_where_linear_fails():
    """(1 + alpha) d = 5 px on a 16 px grating (beyond lambda / 4 = 4 px): riesz stays a translation
    up to the bias of the paper's 3-tap Riesz filter (gain 0.79 of the ideal on this grating, see
    docs/method.md); linear EVM with every level amplified is far from the translated grating."""
    d, alpha, lam = 0.5, 9.0, 16.0
    video = grating_video(d, wavelength=lam)
    riesz = magnify(video, FPS, alpha, 1.5, 2.5, pyramid="riesz", temporal="ideal", sigma=0)
    linear = magnify(video, FPS, alpha, 1.5, 2.5, temporal="ideal", lambda_c=1)
    g_riesz = measured_gain(video, riesz, lam)
    assert 0.75 * (1 + alpha) < g_riesz < 1.05 * (1 + alpha)
    truth = grating_video((1 + alpha) * d, wavelength=lam).astype(float)
    e = slice(8, -8)
    err_riesz = np.sqrt(np.mean((riesz[e] - truth[e]) ** 2))
    err_linear = np.sqrt(np.mean((linear[e] - truth[e]) ** 2))
    assert err_linear > 2 * err_riesz
    # the riesz output is still a grating: its fundamental keeps most of its contrast (the 3-tap
    # filter's bias lowers it where the shifted phase nears pi / 2: measured mean 0.76)
    spectrum = np.abs(np.fft.rfft(riesz[e, 24].astype(float), axis=-1))
    assert spectrum[:, 64 // 16].mean() > 0.65 * np.abs(np.fft.rfft(video[0, 24].astype(float)))[4]


@pytest.mark.parametrize("temporal, band", [("butterworth", (1.0, 3.5)), ("iir", (1.0, 3.5))])
def test_causal_filters_magnify_the_motion(temporal, band):
    """Amplitude of the grating's motion after the start-up, whatever the filter's delay."""
    lam, d, alpha = 4.0, 0.1, 3.0
    video = grating_video(d, wavelength=lam, frames=90)
    out = magnify(video, FPS, alpha, *band, pyramid="riesz", temporal=temporal, sigma=0)
    a, b = positions(video, lam)[30:], positions(out, lam)[30:]
    from evm.temporal import butterworth, first_order_iir, iir_rates_from_band

    f = butterworth(*band, FPS) if temporal == "butterworth" else first_order_iir(*iir_rates_from_band(*band, FPS))
    gain = abs(f.frequency_response(np.array([2.0]), FPS)[0])
    assert np.std(b - b.mean()) / np.std(a - a.mean()) == pytest.approx(1 + alpha * gain, rel=0.08)


def test_small_motion_gain_on_a_short_wavelength():
    """Where the 3-tap Riesz filter is exact (lambda = 4 px, w = pi/2 at the finest level)."""
    video = grating_video(0.1, wavelength=4.0)
    out = magnify(video, FPS, 3.0, 1.5, 2.5, pyramid="riesz", temporal="ideal", sigma=0)
    assert measured_gain(video, out, 4.0) == pytest.approx(4.0, rel=0.05)


@pytest.mark.parametrize("lam, limit", [(4.0, 0.06), (16.0, 0.3)])
def test_alpha_minus_one_removes_in_band_motion(lam, limit):
    video = grating_video(0.3, wavelength=lam)
    out = magnify(video, FPS, -1.0, 1.5, 2.5, pyramid="riesz", temporal="ideal", sigma=0)
    assert abs(measured_gain(video, out, lam)) < limit
    half = magnify(video, FPS, -0.5, 1.5, 2.5, pyramid="riesz", temporal="ideal", sigma=0)
    assert 0.5 < measured_gain(video, half, lam) < 0.7


def test_out_of_band_motion_untouched():
    video = grating_video(0.5, freq=6.0, wavelength=8.0)  # 6 Hz motion, 1-2 Hz band
    out = magnify(video, FPS, 10.0, 1.0, 2.0, pyramid="riesz", temporal="ideal")
    assert np.abs(out.astype(int) - video).max() <= 2
    assert measured_gain(video, out, 8.0) == pytest.approx(1.0, abs=0.03)


def test_still_video_and_alpha_zero_are_identity(noisy_video):
    still = np.repeat(noisy_video[:1], 10, axis=0)
    assert np.array_equal(magnify(still, FPS, 20, 1, 4, pyramid="riesz"), still)
    assert np.array_equal(magnify(noisy_video, FPS, 0, 1, 4, pyramid="riesz"), noisy_video)
    assert np.array_equal(magnify(noisy_video, FPS, 0, 1, 4, pyramid="riesz", temporal="ideal"), noisy_video)


# -- against the float64 reference ------------------------------------------------------------


@pytest.mark.parametrize(
    "temporal, sigma, channels", [("butterworth", 2.0, 3), ("iir", 0.0, 3), ("ideal", 1.5, 3), ("butterworth", 3.0, 1)]
)
def test_matches_float64_reference(noisy_video, temporal, sigma, channels):
    video = noisy_video if channels == 3 else noisy_video[..., :1]
    ours = magnify(video, FPS, 8.0, 2.0, 5.0, pyramid="riesz", temporal=temporal, sigma=sigma)
    ref = naive.riesz_magnify(video, FPS, 8.0, 2.0, 5.0, sigma=sigma, temporal=temporal)
    diff = np.abs(ours.astype(int) - ref)
    assert diff.max() <= 1
    assert (diff > 0).mean() < 0.01
    assert np.abs(ours.astype(int) - video).max() > 10  # something did happen


# -- streaming, sizes, colour -----------------------------------------------------------------


@pytest.mark.parametrize("temporal", ["butterworth", "iir", "ideal"])
def test_streaming_equals_whole_clip(noisy_video, temporal):
    kw = dict(pyramid="riesz", temporal=temporal, sigma=1.0)
    whole = magnify(noisy_video, FPS, 6.0, 2.0, 5.0, **kw)
    m = Magnifier(noisy_video.shape[1:], FPS, 6.0, 2.0, 5.0, **kw)
    assert isinstance(m, PhaseMagnifier)
    one = [m.process(f) for f in noisy_video]
    one = np.concatenate([np.stack(one)] if temporal != "ideal" else [m.flush()])
    m = Magnifier(noisy_video.shape[1:], FPS, 6.0, 2.0, 5.0, **kw)
    blocks = np.concatenate([m.process(noisy_video[:5]), m.process(noisy_video[5:17]), m.process(noisy_video[17:])])
    blocks = np.concatenate([blocks, m.flush()])
    assert np.array_equal(one, whole)
    assert np.array_equal(blocks, whole)


@pytest.mark.parametrize("shape", [(5, 5), (7, 9), (13, 6), (31, 17), (64, 5)])
def test_odd_and_small_sizes(shape):
    rng = np.random.default_rng(0)
    video = rng.integers(0, 256, (12,) + shape, dtype=np.uint8)
    out = magnify(video, FPS, 5.0, 2.0, 6.0, pyramid="riesz")
    assert out.shape == video.shape and out.dtype == np.uint8
    ref = naive.riesz_magnify(video[..., None], FPS, 5.0, 2.0, 6.0, sigma=2.0)[..., 0]
    assert np.abs(out.astype(int) - ref).max() <= 1


@pytest.mark.parametrize("shape", [(1, 1), (4, 4), (1, 40), (40, 4), (3, 9)])
def test_too_small_frames_raise(shape):
    with pytest.raises(ValueError, match="Riesz pyramid"):
        Magnifier(shape, FPS, 5.0, 1.0, 3.0, pyramid="riesz")


def test_rgb_chroma_passed_through_and_gray_equals_luma(noisy_video):
    video = np.clip(noisy_video, 60, 190)  # no clipping at 0/255 after magnification
    out = magnify(video, FPS, 5.0, 2.0, 5.0, pyramid="riesz")
    # the same change in R, G and B: I and Q (and any channel difference) are unchanged
    change = out.astype(int) - video
    assert np.array_equal(change[..., 0], change[..., 1]) and np.array_equal(change[..., 1], change[..., 2])
    assert np.abs(change).max() > 5
    # gray input: the luma path itself
    gray = np.round(video @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    gray_out = magnify(gray, FPS, 5.0, 2.0, 5.0, pyramid="riesz")
    assert gray_out.shape == gray.shape
    assert np.abs(gray_out.astype(int) - gray).max() > 5


def test_quality_beats_linear_on_a_texture():
    """Ground-truth SSIM (bench_quality's protocol, small): a textured tile moved by 0.5 px, alpha 9."""
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(3)
    n, size, T = 96, 64, 40
    f = np.fft.fftfreq(n)
    spec = np.fft.fft2(rng.standard_normal((n, n))) / (np.hypot(f[:, None], f[None, :]) + 1.0 / n)
    tile = np.real(np.fft.ifft2(spec))
    tile = 128 + 40 * (tile - tile.mean()) / tile.std()
    fy, fx = f[:, None], f[None, :]

    def moved(s):
        img = np.real(np.fft.ifft2(np.fft.fft2(tile) * np.exp(-2j * np.pi * (fy + fx) * s / np.sqrt(2))))
        return img[16 : 16 + size, 16 : 16 + size]

    wave = np.sin(2 * np.pi * 3.0 * np.arange(T) / FPS)
    d, alpha = 0.5, 9.0
    video = np.clip(np.round(np.stack([moved(d * w) for w in wave])), 0, 255).astype(np.uint8)
    truth = np.stack([moved((1 + alpha) * d * w) for w in wave])

    def score(v):
        return np.mean([structural_similarity(v[t].astype(float), truth[t], data_range=255) for t in range(4, T - 4)])

    riesz = score(magnify(video, FPS, alpha, 2.5, 3.5, pyramid="riesz", temporal="ideal"))
    linear = score(magnify(video, FPS, alpha, 2.5, 3.5, temporal="ideal"))
    still = score(video)
    assert riesz > linear + 0.05
    assert riesz > still + 0.05


# -- parameters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(alpha=-1.5), "alpha"),
        (dict(alpha=float("nan")), "alpha"),
        (dict(sigma=-1.0), "sigma"),
        (dict(sigma="2"), "sigma"),
        (dict(levels=1), "levels"),
        (dict(levels=99), "levels"),
        (dict(compat="mit"), "compat"),
        (dict(temporal="fft"), "temporal"),
        (dict(low=3.0, high=1.0), "low"),
        (dict(high=20.0), "band"),
        (dict(temporal="ideal", order=2), "order"),
        (dict(temporal="iir", r1=0.4), "r1"),
        (dict(threads=0), "threads"),
    ],
)
def test_bad_parameters_raise(kwargs, match):
    args = dict(alpha=5.0, low=1.0, high=3.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        Magnifier((24, 32, 3), FPS, args.pop("alpha"), args.pop("low"), args.pop("high"), pyramid="riesz", **args)


def test_sigma_only_for_riesz():
    with pytest.raises(ValueError, match="sigma"):
        Magnifier((24, 32, 3), FPS, 5.0, 1.0, 3.0, sigma=2.0)


def test_ideal_memory_per_frame_documented():
    m = Magnifier((48, 64, 3), FPS, 5.0, 1.0, 3.0, pyramid="riesz", temporal="ideal", levels=3)
    assert m.delta_shape == (2 * (48 * 64 + 24 * 32),)


# -- file pipeline ------------------------------------------------------------------------------


@pytest.mark.parametrize("temporal", ["butterworth", "ideal"])
def test_file_pipeline(tmp_path, temporal):
    from evm.pipeline import magnify_file
    from evm.presets import MagnifyParams
    from videos import write_video

    video = grating_video(0.3, wavelength=8.0, frames=40, channels=3, height=32, width=48)
    src = write_video(tmp_path / "in.mp4", video)
    dst = tmp_path / "out.npy"
    params = MagnifyParams(alpha=4.0, low=1.0, high=3.0, pyramid="riesz", temporal=temporal, sigma=1.0)
    result = magnify_file(src, dst, params, audio=False)
    assert result.frames == 40
    out = np.load(dst)
    decoded = np.stack(list(__import__("evm.io", fromlist=["VideoReader"]).VideoReader(src)))
    expected = magnify(decoded, FPS, 4.0, 1.0, 3.0, pyramid="riesz", temporal=temporal, sigma=1.0)
    assert np.array_equal(out, expected)


# -- command line -------------------------------------------------------------------------------


def run_cli(capsys, main, *args):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_cli_magnify_batch_and_presets(tmp_path, capsys):
    from cli.evm_cli import main
    from evm.batch import read_manifest
    from evm.io import read_video
    from videos import write_video

    video = grating_video(0.2, wavelength=8.0, frames=40, channels=3, height=32, width=48)
    (tmp_path / "in").mkdir()
    src = write_video(tmp_path / "in" / "a.mp4", video)
    out = tmp_path / "out.mkv"
    code, _, err = run_cli(capsys, main, "magnify", src, "-o", out, "-q", "--mode", "phase", "--alpha", 4,
                           "--low", 1, "--high", 3, "--sigma", 1)
    assert code == 0, err
    frames, _ = read_video(out)
    decoded, _ = read_video(src)
    assert np.array_equal(frames, magnify(decoded, FPS, 4.0, 1.0, 3.0, pyramid="riesz", sigma=1.0))
    code, _, err = run_cli(capsys, main, "batch", tmp_path / "in", tmp_path / "b", "-q", "--preset", "phase-motion",
                           "--format", "npy")
    assert code == 0, err
    assert len(read_manifest(tmp_path / "b" / "manifest.jsonl")) == 1
    assert np.load(tmp_path / "b" / "a.npy").shape == video.shape
    code, out_text, _ = run_cli(capsys, main, "presets")
    assert "phase-motion" in out_text and "sigma 2" in out_text
    # a phase preset switched to linear drops its sigma; --sigma with a linear mode is an error
    code, _, err = run_cli(capsys, main, "magnify", src, "-o", tmp_path / "l.mkv", "-q", "--preset", "phase-motion",
                           "--mode", "motion")
    assert code == 0, err
    code, _, err = run_cli(capsys, main, "magnify", src, "-o", tmp_path / "m.mkv", "-q", "--mode", "motion",
                           "--sigma", 1)
    assert code != 0 and "sigma" in err


def test_params_hash_unchanged_for_linear_settings():
    from evm.presets import MagnifyParams

    assert "sigma" not in MagnifyParams().as_kwargs()
    assert MagnifyParams(pyramid="riesz", sigma=1.5).as_kwargs()["sigma"] == 1.5
    assert MagnifyParams(**MagnifyParams(pyramid="riesz", sigma=1.0).as_kwargs()).sigma == 1.0


def test_antispoof_prepare_takes_phase_options():
    """`antispoof prepare` shares the magnification options: --mode phase --sigma reach its config."""
    from click.testing import CliRunner

    from cli.antispoof_cli import main_group

    result = CliRunner().invoke(main_group, ["prepare", "--help"])
    assert "--sigma" in result.output and "phase" in result.output
    from cli.evm_cli import params_from_options

    params, _ = params_from_options({"mode": "phase", "sigma": 1.5, "alpha": -1.0})
    assert (params.pyramid, params.sigma, params.alpha) == ("riesz", 1.5, -1.0)
    Magnifier((64, 64, 3), FPS, **params.as_kwargs())  # what prepare checks before starting
