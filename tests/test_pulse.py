"""Heart rate from video (evm.pulse): methods against references, synthetic clips with known rates."""

import math

import numpy as np
import pytest
import scipy.signal

from evm.pulse import (
    MIN_SNR_DB,
    PROJECTION_WINDOW,
    HeartRateTracker,
    PulseMeter,
    PulseSignal,
    RegionMean,
    estimate_pulse,
    spectral_snr,
)
from evm.synthetic import pulse_clip

FPS = 30.0


@pytest.fixture(scope="module")
def moderate():
    """20 s at 72 bpm, 320x240: sensor noise 3 grey levels, 0.3% flicker, 0.3 px head motion."""
    return pulse_clip(600, FPS, bpm=72.0, height=240, width=320, noise=3.0, flicker=0.003, motion=0.3, seed=1)


# --------------------------------------------------------------------------------------------------
# Synthetic clips with a known heart rate


@pytest.mark.parametrize("method", ["pos", "chrom", "green", "evm"])
def test_each_method_finds_the_rate_within_2_bpm_at_moderate_noise(moderate, method):
    result = estimate_pulse(moderate.video, FPS, method=method, roi=moderate.roi)
    assert abs(result.bpm - 72.0) < 2.0
    assert len(result.times) == 11  # 10 s windows, 1 s hop, over 20 s
    if method != "evm":
        assert np.all(np.abs(result.window_bpm - 72.0) < 3.0)
    # EVM's I channel sees a tenth of the pulse the green channel sees (docs/pulse.md): right, but not sure
    assert result.reliable == (method != "evm")


def test_a_rate_changing_from_60_to_90_bpm_is_tracked():
    t = np.arange(900) / FPS
    truth = np.interp(t, [0, 10, 20, 30], [60, 60, 90, 90])
    clip = pulse_clip(900, FPS, bpm=truth, noise=3.0, seed=3)
    for method in ("pos", "chrom"):
        result = estimate_pulse(clip.video, FPS, method=method, roi=clip.roi)
        expected = np.array([truth[int(round((c - 5) * FPS)) : int(round((c + 5) * FPS))].mean() for c in result.times])
        assert np.all(np.abs(result.window_bpm - expected) < 4.5), method  # the ramp's windows lag a little
        assert abs(result.window_bpm[0] - 60) < 1.5 and abs(result.window_bpm[-1] - 90) < 1.5
        assert result.window_bpm[-1] - result.window_bpm[0] > 28


@pytest.mark.parametrize("method", ["pos", "chrom", "green", "evm"])
def test_a_clip_without_pulse_reports_low_quality(method):
    clip = pulse_clip(450, FPS, amplitude=0.0, noise=3.0, motion=0.3, seed=2)
    result = estimate_pulse(clip.video, FPS, method=method, roi=clip.roi)
    assert not result.reliable
    assert result.snr_db < MIN_SNR_DB
    assert "no clear pulse peak" in result.reason


def test_a_dark_or_skinless_region_is_not_reliable():
    clip = pulse_clip(180, FPS, noise=1.0, seed=4)
    dark = (clip.video // 12).astype(np.uint8)
    result = estimate_pulse(dark, FPS, roi=clip.roi)
    assert not result.reliable and "too dark" in result.reason
    background = (0, 0, 12, 12)  # a corner of the textured, grey-blue background
    result = estimate_pulse(clip.video, FPS, roi=background, skin=True)
    assert not result.reliable and "no skin in the region in 100% of the frames" in result.reason


def test_skin_mode_finds_the_rate_in_the_whole_frame(moderate):
    result = estimate_pulse(moderate.video, FPS, skin=True)
    assert abs(result.bpm - 72.0) < 2.0 and result.reliable
    assert result.skinless_share == 0


# --------------------------------------------------------------------------------------------------
# Stages against plain references


def test_region_mean_is_the_mean_of_the_rectangle_and_of_the_skin_pixels(rng):
    frame = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    region = RegionMean(frame.shape, roi=(5, 7, 30, 20))
    np.testing.assert_allclose(region(frame), frame[7:27, 5:35].reshape(-1, 3).mean(0) / 255, rtol=1e-12)
    # the skin rule in floating point (Chai and Ngan's Cr/Cb box, luma >= 20, no saturated channel)
    r, g, b = (frame[..., c].astype(np.float64) for c in range(3))
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    skin = (cr >= 133) & (cr <= 173) & (cb >= 77) & (cb <= 127) & (luma >= 20) & (frame.max(-1) < 255)
    assert skin.sum() > 20
    region = RegionMean(frame.shape, skin=True)
    np.testing.assert_allclose(region(frame), frame[skin].mean(0) / 255, rtol=1e-12)


def test_evm_region_is_the_coarse_levels_mean_i():
    from evm.color import rgb_to_yiq
    from evm.pyramid import gaussian_pyramid

    frame = pulse_clip(1, FPS, seed=5).video[0]
    region = RegionMean(frame.shape, roi=(40, 20, 64, 64), method="evm")
    coarse = gaussian_pyramid(frame[20:84, 40:104], 5)[-1]
    assert coarse.shape == (4, 4, 3) and region.level == 4
    assert region(frame)[0] == pytest.approx(float(rgb_to_yiq(coarse / 255)[..., 1].mean()), rel=1e-6)


def _pos_reference(rgb, fps):
    """POS as the paper's Algorithm 1 (hop 1, every window added), divided by the windows per sample."""
    n, L = len(rgb), int(round(PROJECTION_WINDOW * fps))
    out, count = np.zeros(n), np.zeros(n)
    for end in range(L, n + 1):
        c = rgb[end - L : end] / rgb[end - L : end].mean(0)
        s1, s2 = c[:, 1] - c[:, 2], -2 * c[:, 0] + c[:, 1] + c[:, 2]
        h = s1 + s1.std() / s2.std() * s2
        out[end - L : end] += h - h.mean()
        count[end - L : end] += 1
    return out / count


def _band(x, fps):
    sos = scipy.signal.butter(3, [40 / 60, 180 / 60], "bandpass", fs=fps, output="sos")
    return scipy.signal.sosfilt(sos, x, zi=scipy.signal.sosfilt_zi(sos) * x[0])[0]


def test_pos_trace_streamed_in_any_blocks_equals_the_papers_algorithm(rng):
    rgb = 0.5 + 0.01 * rng.standard_normal((200, 3))
    expected = _band(_pos_reference(rgb, FPS), FPS)
    for blocks in ([200], [1] * 200, [7, 50, 3, 140]):
        signal, parts = PulseSignal(FPS, "pos"), []
        for a, b in zip(np.cumsum([0] + blocks[:-1]), np.cumsum(blocks)):
            parts.append(signal.push(rgb[a:b]))
        parts.append(signal.flush())
        trace = np.concatenate(parts)
        assert trace.shape == (200,)
        np.testing.assert_allclose(trace, expected, atol=2e-6 * np.abs(expected).max())


def test_chrom_trace_is_the_hann_overlap_add_of_de_haans_windows(rng):
    rgb = 0.5 + 0.01 * rng.standard_normal((150, 3))
    L = int(round(PROJECTION_WINDOW * FPS))
    hop, sos = L // 2, scipy.signal.butter(3, [40 / 60, 180 / 60], "bandpass", fs=FPS, output="sos")
    taper = scipy.signal.windows.hann(L, sym=False)
    acc, wsum = np.zeros(150), np.zeros(150)
    starts = list(range(0, 150 - L + 1, hop))
    tail = starts[-1] + hop  # the last window ends before the clip: one on the last L frames, for the
    starts.append(150 - L)  # samples from where a next regular window would have started (the earlier ones are out)
    for a in starts:
        c = rgb[a : a + L] / rgb[a : a + L].mean(0) - 1
        x, y = 3 * c[:, 0] - 2 * c[:, 1], 1.5 * c[:, 0] + c[:, 1] - 1.5 * c[:, 2]
        x, y = (scipy.signal.sosfiltfilt(sos, v, padlen=21) for v in (x, y))
        s = x - x.std() / y.std() * y
        keep = np.arange(a, a + L) >= (tail if a == starts[-1] else 0)
        acc[a : a + L] += keep * taper * (s - s.mean())
        wsum[a : a + L] += keep * taper
    expected = _band(np.divide(acc, wsum, out=np.zeros(150), where=wsum > 0), FPS)
    signal = PulseSignal(FPS, "chrom")
    trace = np.concatenate([signal.push(rgb[:100]), signal.push(rgb[100:]), signal.flush()])
    np.testing.assert_allclose(trace, expected, atol=2e-6 * np.abs(expected).max())


def test_meter_frame_by_frame_equals_estimate_pulse_and_traces_every_frame(moderate):
    clip = moderate.video[:240]
    pieces = []
    result = estimate_pulse(
        iter(clip), FPS, roi=moderate.roi, window=6, hop=0.5, on_trace=lambda i, s: pieces.append((i, s))
    )
    assert [i for i, _ in pieces] == list(np.cumsum([0] + [len(s) for _, s in pieces[:-1]]))
    assert sum(len(s) for _, s in pieces) == 240
    meter = PulseMeter(clip.shape[1:], FPS, roi=moderate.roi, window=6, hop=0.5)
    trace = [meter.update(frame) for frame in clip]
    tail, again = meter.finish()
    np.testing.assert_array_equal(np.concatenate(trace + [tail]), np.concatenate([s for _, s in pieces]))
    assert again.bpm == result.bpm and len(result.times) == 5  # (8 s - 6 s) / 0.5 s + 1
    np.testing.assert_allclose(result.times, [3, 3.5, 4, 4.5, 5])


def test_spectral_snr_counts_the_peak_and_its_harmonic_against_the_rest_of_the_band():
    freqs = np.arange(501) / 100  # 0.01 Hz bins
    power = np.ones_like(freqs)
    band = (0.7, 3.0)  # 231 bins
    # 1.2 Hz +- 0.105 and 2.4 Hz +- 0.105: 21 + 21 bins against the other 189
    assert spectral_snr(freqs, power, 1.2, band, 0.105) == pytest.approx(10 * math.log10(42 / 189))
    # 2 f0 outside the band: the peak alone
    assert spectral_snr(freqs, power, 2.0, band, 0.105) == pytest.approx(10 * math.log10(21 / 210))
    power[(freqs > 1.15) & (freqs < 1.25)] = 1000
    assert spectral_snr(freqs, power, 1.2, band, 0.105) == pytest.approx(10 * math.log10((9 * 1000 + 12 + 21) / 189))
    assert spectral_snr(freqs, np.zeros_like(freqs), 1.2, band) == -math.inf


def test_tracker_on_a_sinusoid_interpolates_between_bins():
    t = np.arange(600) / FPS
    tracker = HeartRateTracker(FPS)
    windows = tracker.push(np.sin(2 * np.pi * 77.3 / 60 * t))
    assert len(windows) == 11 and all(abs(w.bpm - 77.3) < 0.3 for w in windows)
    bpm, snr, _ = tracker.finish()
    assert abs(bpm - 77.3) < 0.3 and snr > 15


def test_a_clip_shorter_than_the_window_is_one_window_and_a_too_short_one_an_error():
    t = np.arange(200) / FPS  # 6.7 s
    tracker = HeartRateTracker(FPS)
    assert tracker.push(np.sin(2 * np.pi * t)) == []
    bpm, _, _ = tracker.finish()
    assert abs(bpm - 60) < 1 and len(tracker.windows) == 1
    clip = pulse_clip(120, FPS, seed=6)
    with pytest.raises(
        ValueError, match=r"clip too short for a heart rate: 120 frames = 4.0 s at 30 fps, need at least 5 s"
    ):
        estimate_pulse(clip.video, FPS, roi=clip.roi)


# --------------------------------------------------------------------------------------------------
# Hostile input: one-line ValueErrors


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(method="ica"), "method must be one of pos, chrom, green, evm, got 'ica'"),
        (dict(roi=(100, 0, 100, 50)), r"roi x=100 y=0 w=100 h=50 is not inside the 160x120 frame"),
        (dict(roi=(0, 0, 2, 2)), r"roi 2x2 is too small"),
        (dict(roi=(0, 0, 10)), r"roi must be \(x, y, w, h\)"),
        (dict(roi=(0.5, 0, 10, 10)), "roi x must be an integer"),
        (dict(band_bpm=(180, 40)), r"band low \(180 bpm\) must be below band high \(40 bpm\)"),
        (dict(band_bpm=(40, 900)), r"band high \(900 bpm\) must be below the Nyquist rate of 30 fps video \(900 bpm\)"),
        (dict(band_bpm=(float("nan"), 100)), "band low \\(bpm\\) must be a finite number"),
        (dict(window=2.0), r"window \(s\) must be >= 5"),
        (dict(hop=0), r"hop \(s\) must be > 0"),
        (dict(hop=20), r"hop \(s\) must be <= 10"),
    ],
)
def test_invalid_arguments_are_one_line_errors(kwargs, message):
    frame = np.zeros((120, 160, 3), np.uint8)
    with pytest.raises(ValueError, match=message):
        PulseMeter(frame.shape, FPS, **kwargs)


def test_invalid_frames_and_rates_are_errors():
    with pytest.raises(ValueError, match="fps must be > 0"):
        PulseMeter((120, 160), 0.0)
    meter = PulseMeter((120, 160), FPS)
    with pytest.raises(ValueError, match=r"a frame must be RGB uint8 \(H, W, 3\), got float64"):
        meter.update(np.zeros((120, 160, 3)))
    with pytest.raises(ValueError, match="frame is 100x120, expected 160x120"):
        meter.update(np.zeros((120, 100, 3), np.uint8))
    with pytest.raises(ValueError, match="no frames"):
        estimate_pulse([], FPS)


def test_face_box_is_the_median_of_a_pluggable_detectors_best_boxes_and_skin_region_its_middle():
    from evm.face import face_box, median_box, skin_region

    calls = []

    def detector(frame):  # best first; frame 10 has none
        calls.append(int(frame[0, 0, 0]))
        i = calls[-1]
        return [] if i == 10 else [(10 + i, 20, 40, 50, 9.0), (0, 0, 5, 5, 1.0)]

    frames = [np.full((100, 120, 3), i, np.uint8) for i in range(30)]
    assert face_box(frames, detector, max_frames=21, stride=5) == (20.0, 20.0, 40.0, 50.0)  # x: 10, 15, 20, 25 + 10
    assert calls == [0, 5, 10, 15, 20]
    assert np.isnan(median_box([[np.nan, 0, 1, 1], [0, 0, 0, 5]])).all()
    assert skin_region((20, 20, 40, 50), (100, 120)) == (28, 25, 24, 40)
    assert skin_region((-20, 80, 40, 50), (100, 120)) == (0, 85, 12, 15)  # clipped to the frame
    with pytest.raises(ValueError, match=r"no face found in 3 frames \(the first 3\)"):
        face_box(frames, lambda frame: [], max_frames=3, stride=1)
