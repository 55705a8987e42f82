import numpy as np
import pytest

from evm import rgb_to_yiq, yiq_to_rgb


def test_white_and_primaries():
    np.testing.assert_allclose(rgb_to_yiq(np.array([255, 255, 255], np.uint8)), [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(rgb_to_yiq(np.array([1.0, 0, 0])), [0.299, 0.596, 0.211], atol=1e-6)


def test_round_trip(rng):
    rgb = rng.random((7, 9, 3)).astype(np.float32)
    np.testing.assert_allclose(yiq_to_rgb(rgb_to_yiq(rgb)), rgb, atol=1e-6)


def test_octave_inverse_values():
    # ntsc2rgb's printed coefficients
    rgb = yiq_to_rgb(np.eye(3, dtype=np.float32))
    np.testing.assert_allclose(rgb[1], [0.95617, -0.27269, -1.10374], atol=1e-5)
    np.testing.assert_allclose(rgb[2], [0.62143, -0.64681, 1.70062], atol=1e-5)


def test_mit_gamut_is_hue_preserving():
    # An out-of-gamut pixel: plain inverse gives r > 1 and b < 0.
    yiq = rgb_to_yiq(np.array([1.2, 0.6, -0.1]))
    plain = yiq_to_rgb(yiq)
    np.testing.assert_allclose(plain, [1.2, 0.6, -0.1], atol=1e-6)
    mit = yiq_to_rgb(yiq, compat="mit")
    np.testing.assert_allclose(mit, [1.0, 0.5, 0.0], atol=1e-6)  # negatives to 0, then / max


def test_errors():
    with pytest.raises(ValueError, match="3 channels"):
        rgb_to_yiq(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="compat"):
        yiq_to_rgb(np.zeros(3), compat="matlab")
