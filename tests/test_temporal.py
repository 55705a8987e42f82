import math

import numpy as np
import pytest
import scipy.signal

import naive
from evm.temporal import (
    butterworth,
    first_order_iir,
    ideal_band_gains,
    ideal_bandpass,
    iir_rates_from_band,
)

FPS = 30.0


def steady_amplitude(filt, freq, fps=FPS, seconds=40):
    """Amplitude of the filter's output for a unit sinusoid, after the transient."""
    t = np.arange(int(seconds * fps)) / fps
    x = np.sin(2 * np.pi * freq * t).astype(np.float32)[:, None]
    filt.reset()
    y = filt.filter(x)[:, 0].astype(np.float64)
    tail = slice(len(t) // 2, None)
    s, c = np.sin(2 * np.pi * freq * t[tail]), np.cos(2 * np.pi * freq * t[tail])
    return math.hypot(2 * np.mean(y[tail] * s), 2 * np.mean(y[tail] * c))


def centre_frequency(low, high, fps=FPS):
    """Where a digital Butterworth band-pass has gain 1: tan^2(w0/2) = tan(wl/2) tan(wh/2)."""
    tl, th = math.tan(math.pi * low / fps), math.tan(math.pi * high / fps)
    return math.atan(math.sqrt(tl * th)) * fps / math.pi


@pytest.mark.parametrize("order", [1, 2, 4])
@pytest.mark.parametrize("band", [(0.4, 3.0), (0.83, 1.0), (2.0, 6.0)])
def test_butterworth_has_designed_response(order, band):
    low, high = band
    f = butterworth(low, high, FPS, order)
    assert steady_amplitude(f, low) == pytest.approx(1 / math.sqrt(2), abs=0.01)
    assert steady_amplitude(f, high) == pytest.approx(1 / math.sqrt(2), abs=0.01)
    assert steady_amplitude(f, centre_frequency(low, high)) == pytest.approx(1.0, abs=0.01)
    assert steady_amplitude(f, high * 2.5) < 0.5**order


def test_butterworth_matches_scipy_sosfilt(rng):
    x = rng.normal(size=(500, 7)).astype(np.float32)
    f = butterworth(0.5, 3.0, FPS, 2)
    sos = scipy.signal.butter(2, [0.5, 3.0], btype="bandpass", fs=FPS, output="sos")
    zi = scipy.signal.sosfilt_zi(sos)[:, :, None] * x[0].astype(np.float64)
    ref = scipy.signal.sosfilt(sos, x.astype(np.float64), axis=0, zi=zi)[0]
    np.testing.assert_allclose(f.filter(x), ref, atol=2e-4)


def test_mit_butterworth_is_normalised_by_fps():
    low, high = 1.0, 4.0
    f = butterworth(low, high, FPS, compat="mit")
    # MIT designs butter(1, f/fs): each low-pass is at -3 dB at f/2, not at f.
    bh, ah = scipy.signal.butter(1, high / FPS)
    bl, al = scipy.signal.butter(1, low / FPS)
    for freq in [0.3, 0.5, 1.0, 2.0, 5.0]:
        z = np.exp(-2j * np.pi * freq / FPS)
        high_lp = np.polyval(bh[::-1], z) / np.polyval(ah[::-1], z)
        low_lp = np.polyval(bl[::-1], z) / np.polyval(al[::-1], z)
        expected = abs(high_lp - low_lp)
        assert steady_amplitude(f, freq) == pytest.approx(expected, abs=0.01)
        assert abs(f.frequency_response([freq], FPS)[0]) == pytest.approx(expected, rel=1e-6)
    _, h = scipy.signal.freqz(bh, ah, worN=[high / 2], fs=FPS)
    assert abs(h[0]) == pytest.approx(1 / math.sqrt(2), rel=1e-6)


def test_mit_butterworth_equals_mit_update_loop(rng):
    x = rng.normal(size=(200, 5))
    x[0] = rng.normal(size=5)
    f = butterworth(0.4, 3.0, FPS, compat="mit")
    np.testing.assert_allclose(f.filter(x.astype(np.float32)), naive.mit_butter_filter(x, 0.4, 3.0, FPS), atol=1e-4)


def test_iir_equals_mit_loop_and_rates(rng):
    x = rng.normal(size=(300, 4))
    f = first_order_iir(0.4, 0.05)
    np.testing.assert_allclose(f.filter(x.astype(np.float32)), naive.mit_iir_filter(x, 0.4, 0.05), atol=1e-4)
    r1, r2 = iir_rates_from_band(0.5, 3.0, FPS)
    for r, freq in [(r1, 3.0), (r2, 0.5)]:
        z = np.exp(-2j * np.pi * freq / FPS)
        assert abs(r / (1 - (1 - r) * z)) == pytest.approx(1 / math.sqrt(2), rel=1e-9)


@pytest.mark.parametrize("make", [lambda: butterworth(0.5, 3, FPS, 3), lambda: first_order_iir(0.4, 0.05)])
def test_blocks_equal_frame_by_frame_equal_whole(make, rng):
    x = rng.normal(size=(97, 6, 5)).astype(np.float32)
    whole = make().filter(x)
    f = make()
    steps = np.stack([f.step(frame) for frame in x])
    f = make()
    blocks = np.concatenate([f.filter(x[a:b]) for a, b in [(0, 1), (1, 13), (13, 14), (14, 60), (60, 97)]])
    np.testing.assert_array_equal(steps, whole)
    np.testing.assert_array_equal(blocks, whole)


def test_still_input_gives_zero_from_first_frame(rng):
    frame = rng.random((4, 4)).astype(np.float32) * 200
    f = butterworth(0.5, 3, FPS)
    out = f.filter(np.repeat(frame[None], 20, axis=0))
    assert np.abs(out).max() < 1e-3


def test_state_shape_mismatch_is_an_error():
    f = butterworth(0.5, 3, FPS)
    f.step(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="reset"):
        f.step(np.zeros((5, 4), np.float32))


def test_ideal_passes_in_band_tone_exactly():
    n = 120  # resolution 0.25 Hz
    t = np.arange(n) / FPS
    inside = np.sin(2 * np.pi * 2.0 * t)
    outside = 0.7 * np.sin(2 * np.pi * 5.0 * t)
    x = (inside + outside + 3.0)[:, None].astype(np.float32)
    y = ideal_bandpass(x, FPS, 1.5, 2.5)[:, 0]
    np.testing.assert_allclose(y, inside, atol=1e-5)
    y_mit = ideal_bandpass(x, FPS, 1.5, 2.5, compat="mit")[:, 0]
    np.testing.assert_allclose(y_mit, 0.5 * inside, atol=1e-5)


def test_ideal_edges_inclusive_by_default_strict_for_mit():
    gains = ideal_band_gains(120, FPS, 1.0, 2.0)  # bins at 1.0 and 2.0 Hz sit on the edges
    freqs = np.arange(61) * FPS / 120
    assert gains[freqs == 1.0] == 1 and gains[freqs == 2.0] == 1
    mit = ideal_band_gains(120, FPS, 1.0, 2.0, compat="mit")
    assert mit[freqs == 1.0] == 0 and mit[freqs == 1.5] == 0.5


def test_ideal_matches_naive(rng):
    x = rng.normal(size=(64, 3, 3))
    for mit in (False, True):
        ours = ideal_bandpass(x, FPS, 0.8, 4.0, compat="mit" if mit else None)
        np.testing.assert_allclose(ours, naive.ideal_filter(x, 0.8, 4.0, FPS, mit), atol=1e-5)


def test_ideal_in_place_and_chunked(rng):
    x = rng.normal(size=(50, 40)).astype(np.float32)
    ref = ideal_bandpass(x, FPS, 1, 5)
    y = x.copy()
    ideal_bandpass(y, FPS, 1, 5, out=y, chunk_bytes=1000)
    np.testing.assert_allclose(y, ref, atol=1e-6)


def test_ideal_and_butterworth_agree_on_a_centred_tone():
    low, high = 1.0, 3.0
    f0 = centre_frequency(low, high)
    n = 900
    t = np.arange(n) / FPS
    periods = math.floor(f0 * n / FPS)
    f0 = periods * FPS / n  # put the tone on an FFT bin
    x = (np.sin(2 * np.pi * f0 * t) + 1)[:, None].astype(np.float32)
    ideal = ideal_bandpass(x, FPS, low, high)[:, 0]
    butter = butterworth(low, high, FPS).filter(x)[:, 0]
    tail = slice(n // 2, None)
    assert np.abs(ideal[tail] - butter[tail]).max() < 0.02


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: butterworth(0.5, 16, 30), "Nyquist"),
        (lambda: butterworth(3, 1, 30), "below"),
        (lambda: butterworth(0, 1, 30), "inside"),
        (lambda: butterworth("a", 1, 30), "number"),
        (lambda: butterworth(1, 2, 30, order=0), "order"),
        (lambda: butterworth(1, 2, 30, order=2, compat="mit"), "first order"),
        (lambda: butterworth(1, 2, float("nan")), "finite"),
        (lambda: first_order_iir(0.05, 0.4), "r2 < r1"),
        (lambda: ideal_band_gains(30, 30, 0.83, 0.95), "resolution"),
        (lambda: ideal_band_gains(1, 30, 1, 2), "at least 2"),
    ],
)
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(
    "low, high, fps", [(0.4, 3.0, 30.0), (0.83, 1.0, 30.0), (72.0, 92.0, 600.0), (0.05, 14.9, 30.0)]
)
def test_closed_form_designs_equal_scipy(low, high, fps):
    from evm.temporal import _bandpass1, _lowpass1, sos_steady_state

    np.testing.assert_allclose(
        _bandpass1(low, high, fps), scipy.signal.butter(1, [low, high], "bandpass", fs=fps, output="sos"), atol=1e-14
    )
    for wn in (low / fps, high / fps):
        for ours, ref in zip(_lowpass1(wn), scipy.signal.butter(1, wn)):
            np.testing.assert_allclose(ours, ref, atol=1e-14)
    for order in (1, 2, 4):
        sos = scipy.signal.butter(order, [low, high], "bandpass", fs=fps, output="sos")
        np.testing.assert_allclose(sos_steady_state(sos), scipy.signal.sosfilt_zi(sos), atol=1e-12)


def test_causal_path_does_not_import_scipy_signal():
    """scipy.signal costs ~80 MB and most of a second to import: the file pipeline's default
    (first-order Butterworth) and MIT's IIR filter stay without it."""
    import subprocess
    import sys

    code = (
        "import sys, evm, evm.pipeline, evm.yuv; from evm.temporal import butterworth, first_order_iir; "
        "butterworth(0.4, 3, 30); butterworth(0.4, 3, 30, compat='mit'); first_order_iir(0.4, 0.05); "
        "print('scipy.signal' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
