import numpy as np
import pytest

import naive
from evm import collapse_laplacian, gaussian_pyramid, laplacian_pyramid, max_pyramid_levels, pyr_down, pyr_up

SIZES = [(5, 5), (7, 5), (9, 13), (11, 13), (16, 16), (17, 9), (31, 40), (33, 65), (64, 63), (80, 80), (120, 160)]


@pytest.mark.parametrize("shape", SIZES)
def test_levels_match_mit_auto_height(shape):
    assert max_pyramid_levels(shape) == naive.max_levels(*shape)


def test_known_auto_heights():
    assert max_pyramid_levels((120, 160)) == 6
    assert max_pyramid_levels((240, 320)) == 7
    assert max_pyramid_levels((4, 100)) == 1


@pytest.mark.parametrize("shape", SIZES)
@pytest.mark.parametrize("channels", [None, 3])
def test_gaussian_matches_naive(shape, channels, rng):
    img = rng.random(shape + ((channels,) if channels else ())) * 255
    ours = gaussian_pyramid(img)
    ref = naive.gaussian(img, naive.max_levels(*shape))
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        assert a.shape == b.shape and a.dtype == np.float32
        np.testing.assert_allclose(a, b, atol=2e-4)


@pytest.mark.parametrize("shape", SIZES)
def test_gaussian_matches_cv2_pyrdown(shape, rng):
    cv2 = pytest.importorskip("cv2")
    img = rng.random(shape).astype(np.float32)
    ours = gaussian_pyramid(img)
    x = img
    for level in ours[1:]:
        x = cv2.pyrDown(x, borderType=cv2.BORDER_REFLECT101)
        np.testing.assert_allclose(level, x, atol=1e-6)


@pytest.mark.parametrize("shape", SIZES)
@pytest.mark.parametrize("normalization", ["unit", "mit"])
def test_laplacian_matches_naive_and_inverts(shape, normalization, rng):
    img = rng.random(shape + (3,)).astype(np.float32)
    mit = normalization == "mit"
    ours = laplacian_pyramid(img, normalization=normalization)
    ref = naive.laplacian(img.astype(np.float64), naive.max_levels(*shape), mit_edges=mit)
    for k, (a, b) in enumerate(zip(ours, ref)):
        scale = 2.0**k if mit else 1.0
        np.testing.assert_allclose(a, b * scale, atol=1e-5 * scale)
    rec = collapse_laplacian(ours, normalization=normalization)
    np.testing.assert_allclose(rec, img, atol=1e-5)


@pytest.mark.parametrize("shape", SIZES)
def test_mit_normalization_equals_pyrtools(shape, rng):
    pt = pytest.importorskip("pyrtools")
    img = rng.random(shape)
    ref = pt.pyramids.LaplacianPyramid(img, height="auto", downsample_filter_name="binom5", edge_type="reflect1")
    ours = laplacian_pyramid(img.astype(np.float32), normalization="mit")
    assert len(ours) == len(ref.pyr_coeffs)
    for k, band in enumerate(ours):
        np.testing.assert_allclose(band, ref.pyr_coeffs[(k, 0)], atol=1e-5 * 2**k)
    np.testing.assert_allclose(collapse_laplacian(ours, normalization="mit"), ref.recon_pyr(), atol=1e-5)


def test_unit_edges_differ_from_mit_only_on_five_sample_axes(rng):
    img = rng.random((80, 80)).astype(np.float32)  # 80 -> 40 -> 20 -> 10 -> 5 -> 3
    unit = laplacian_pyramid(img)
    mit = laplacian_pyramid(img, normalization="mit")
    diff = [np.abs(u * 2**k - m).max() for k, (u, m) in enumerate(zip(unit, mit))]
    assert max(diff[:-2]) < 1e-4  # finer levels never expand to a 5-long axis
    assert diff[-2] > 1e-3  # the 5x5 level does: pyrTools drops a tap there


@pytest.mark.parametrize("levels", [1, 2, 3])
def test_explicit_levels(levels, rng):
    img = rng.random((40, 30)).astype(np.float32)
    pyr = laplacian_pyramid(img, levels)
    assert len(pyr) == levels
    assert pyr[-1].shape == gaussian_pyramid(img, levels)[-1].shape
    np.testing.assert_allclose(collapse_laplacian(pyr), img, atol=1e-5)


def test_constant_image_has_empty_bands():
    img = np.full((33, 47, 3), 0.7, np.float32)
    pyr = laplacian_pyramid(img)
    for band in pyr[:-1]:
        assert np.abs(band).max() < 1e-6
    np.testing.assert_allclose(pyr[-1], 0.7, atol=1e-6)


def test_pyr_down_up_helpers(rng):
    img = rng.random((15, 22)).astype(np.float32)
    small = pyr_down(img)
    assert small.shape == (8, 11)
    big = pyr_up(small, (15, 22))
    np.testing.assert_allclose(big, naive.apply2(naive.up_matrix(15), naive.up_matrix(22), small), atol=1e-6)


def test_input_not_modified_and_dtype(rng):
    img = rng.random((20, 20)).astype(np.float32)
    copy = img.copy()
    pyr = gaussian_pyramid(img)
    pyr[0][:] = 0
    np.testing.assert_array_equal(img, copy)
    assert laplacian_pyramid(np.zeros((20, 20), np.uint8))[0].dtype == np.float32


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: gaussian_pyramid(np.zeros((20, 20)), 5), "too deep"),
        (lambda: gaussian_pyramid(np.zeros((20, 20)), 0), ">= 1"),
        (lambda: laplacian_pyramid(np.zeros((2, 3, 4, 5))), "2-D"),
        (lambda: laplacian_pyramid(np.zeros((0, 5))), "empty"),
        (lambda: laplacian_pyramid(np.zeros((9, 9)), normalization="bad"), "normalization"),
        (lambda: collapse_laplacian([np.zeros((10, 10)), np.zeros((3, 3))]), "not half"),
        (lambda: collapse_laplacian([]), "empty"),
        (lambda: pyr_up(np.zeros((4, 4)), (10, 8)), "cannot expand"),
        (lambda: gaussian_pyramid(np.zeros((9, 9)), 2.5), "integer"),
    ],
)
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
