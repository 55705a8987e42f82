"""LBP^{u2}_{8,1} and LBP-TOP kernels against scikit-image and hand-made patterns."""

import numpy as np
import pytest

from antispoof.baselines.lbp import (
    N_BINS,
    N_TOP_FEATURES,
    lbp_codes,
    lbp_features,
    lbp_histogram,
    lbp_top_features,
    lbp_top_histogram,
    rgb_to_gray,
)

skimage_feature = pytest.importorskip("skimage.feature")

# scikit-image warns about float input; the comparisons below are exact anyway
pytestmark = pytest.mark.filterwarnings("ignore:Applying `local_binary_pattern`")

FLAT, NON_UNIFORM = 57, 58


def sk_codes(img):
    return skimage_feature.local_binary_pattern(img, 8, 1, method="nri_uniform").astype(np.int64)


def sk_counts(images):
    """Label counts of the interior pixels of a list of 2-D images (skimage codes)."""
    codes = np.concatenate([sk_codes(np.asarray(im, np.float64))[1:-1, 1:-1].ravel() for im in images])
    return np.bincount(codes, minlength=N_BINS)


def random_image(rng, shape, kind):
    if kind == "u8-few-levels":  # many exact ties between centre and samples
        return rng.integers(0, 3, shape).astype(np.uint8)
    if kind == "u8":
        return rng.integers(0, 256, shape).astype(np.uint8)
    if kind == "f32":
        return rng.random(shape, dtype=np.float32)
    return rng.random(shape)


KINDS = ["u8-few-levels", "u8", "f32", "f64"]
SHAPES = [(3, 3), (3, 8), (7, 3), (5, 6), (16, 16), (31, 20), (64, 57)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_codes_match_skimage_everywhere_including_border(rng, kind, shape):
    img = random_image(rng, shape, kind)
    ours = lbp_codes(img)
    assert ours.shape == shape and ours.dtype == np.uint8
    np.testing.assert_array_equal(ours, sk_codes(img))


def test_codes_match_skimage_at_large_coordinates(rng):
    # the interpolation fractions depend (by rounding) on the row/column index
    img = rng.integers(0, 4, (3, 1500)).astype(np.uint8)
    np.testing.assert_array_equal(lbp_codes(img), sk_codes(img))
    np.testing.assert_array_equal(lbp_codes(img.T.copy()), sk_codes(img.T.copy()))


# Positions of samples 0..7 around the centre of a 3x3 image (right, then counter-clockwise).
RING = [(1, 2), (0, 2), (0, 1), (0, 0), (1, 0), (2, 0), (2, 1), (2, 2)]


def pattern_image(code):
    """3x3 image whose centre has LBP code ``code``: centre 0.5, ring pixels 1 (bit set) or 0.

    A diagonal sample is 0.5 corner + 0.207 each adjacent axis pixel + 0.086 centre,
    so it is >= 0.5 exactly when its corner is 1: the 8 bits are independent.
    """
    img = np.zeros((3, 3))
    img[1, 1] = 0.5
    for i, (r, c) in enumerate(RING):
        if code >> i & 1:
            img[r, c] = 1.0
    return img


def test_all_256_patterns_labelled_like_skimage():
    ours = np.array([lbp_codes(pattern_image(code))[1, 1] for code in range(256)])
    theirs = np.array([sk_codes(pattern_image(code))[1, 1] for code in range(256)])
    np.testing.assert_array_equal(ours, theirs)
    # u2 structure: 58 uniform patterns with distinct labels 0..57, the other 198 share 58
    assert sorted(set(ours[ours != NON_UNIFORM].tolist())) == list(range(58))
    assert (ours != NON_UNIFORM).sum() == 58 and (ours == NON_UNIFORM).sum() == 198
    assert ours[0] == 0 and ours[255] == FLAT
    # a run of k ones starting at sample s gets 1 + 8 (k - 1) + (-s mod 8)
    assert ours[0b00000001] == 1 and ours[0b10000000] == 2 and ours[0b00000011] == 9
    assert ours[0b10000011] == 1 + 8 * 2 + 1  # run 7, 0, 1
    assert ours[0b00000101] == NON_UNIFORM and ours[0b01010101] == NON_UNIFORM


@pytest.mark.parametrize("value", [0, 1, 7, 100, 255, 0.3, 0.7])
def test_flat_image_has_one_code(value):
    img = np.full((6, 9), value, dtype=np.uint8 if isinstance(value, int) else np.float64)
    assert (lbp_codes(img)[1:-1, 1:-1] == FLAT).all()
    expected = np.zeros(N_BINS)
    expected[FLAT] = 1.0
    np.testing.assert_array_equal(lbp_histogram(img), expected)


def test_vertical_edge():
    img = np.zeros((6, 8), np.uint8)
    img[:, 4:] = 10
    codes = lbp_codes(img)[1:-1, 1:-1]  # interior columns 1..6
    # a dark pixel sees no darker sample: flat code.  The bright pixel right of the edge
    # sees darker samples at 3 (up-left, interpolated with the dark column), 4 (left) and
    # 5 (down-left): bits 6, 7, 0, 1, 2 set, a run of 5 from sample 6: 1 + 8*4 + 2 = 35.
    expected = np.full((4, 6), FLAT)
    expected[:, 3] = 35
    np.testing.assert_array_equal(codes, expected)
    np.testing.assert_array_equal(lbp_codes(img), sk_codes(img))


def test_single_bright_pixel():
    img = np.zeros((5, 5), np.uint8)
    img[2, 2] = 10
    codes = lbp_codes(img)
    assert codes[2, 2] == 0  # every sample darker than the centre
    assert (np.delete(codes.ravel(), 12) == FLAT).all()  # all others see >= samples
    hist = lbp_histogram(img)  # 3x3 interior: 8 flat pixels and the peak
    assert hist[0] == pytest.approx(1 / 9) and hist[FLAT] == pytest.approx(8 / 9)
    assert hist.sum() == pytest.approx(1.0)


def test_single_dark_pixel_codes_of_its_neighbours():
    img = np.full((5, 5), 10, np.uint8)
    img[2, 2] = 0
    codes = lbp_codes(img)
    assert codes[2, 2] == FLAT
    # the neighbour on each side has the dark pixel in its samples facing it, plus
    # the two interpolated diagonals beside that: a run of 5 ones opposite them
    assert codes[2, 1] == 1 + 32 + 6  # left neighbour: bits 2..6, run from 2
    assert codes[2, 3] == 1 + 32 + 2  # right neighbour: bits 6, 7, 0, 1, 2
    assert codes[1, 2] == 1 + 32 + 0  # above: bits 0..4
    assert codes[3, 2] == 1 + 32 + 4  # below: bits 4..7, 0
    # diagonal neighbour: only its interpolated sample towards the dark pixel drops
    assert codes[1, 1] == 1 + 48 + 0  # up-left of it: bit 7 clear, run 0..6
    np.testing.assert_array_equal(codes[1:4, 1:4], sk_codes(img)[1:4, 1:4])


def test_diagonal_samples_are_interpolated_not_corner_pixels():
    # corner pixel brighter than the centre, but the interpolated sample is darker:
    # 0.5 * 11 + 0.086 * 10 = 6.4 < 10.  The 3x3 square neighbourhood would set bit 1.
    img = np.array([[0, 0, 11], [0, 10, 0], [0, 0, 0]], np.uint8)
    assert lbp_codes(img)[1, 1] == 0 == sk_codes(img)[1, 1]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", [(3, 3), (4, 9), (17, 23), (48, 40)])
def test_histogram_matches_skimage_interior_counts(rng, kind, shape):
    img = random_image(rng, shape, kind)
    hist = lbp_histogram(img)
    assert hist.shape == (N_BINS,) and hist.dtype == np.float64
    counts = sk_counts([img])
    np.testing.assert_allclose(hist * (shape[0] - 2) * (shape[1] - 2), counts, atol=1e-9)
    assert hist.sum() == pytest.approx(1.0)


def test_histogram_of_a_stack_is_per_image(rng):
    stack = rng.integers(0, 4, (7, 20, 13)).astype(np.uint8)
    hist = lbp_histogram(stack)
    assert hist.shape == (7, N_BINS)
    for img, h in zip(stack, hist):
        np.testing.assert_array_equal(h, lbp_histogram(img))
        np.testing.assert_allclose(h * 18 * 11, sk_counts([img]), atol=1e-9)
    np.testing.assert_allclose(hist.sum(1), 1.0)


def lbp_top_reference(clip):
    """skimage's LBP on every XY, XT (fix y) and YT (fix x) slice, interior counts summed."""
    T, H, W = clip.shape
    xy = sk_counts([clip[t] for t in range(T)])
    xt = sk_counts([clip[:, y, :] for y in range(H)])
    yt = sk_counts([clip[:, :, x] for x in range(W)])
    return np.concatenate([xy / xy.sum(), xt / xt.sum(), yt / yt.sum()]), (xy.sum(), xt.sum(), yt.sum())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", [(3, 3, 3), (3, 10, 7), (9, 5, 12), (12, 20, 16)])
def test_lbp_top_matches_slice_reference(rng, kind, shape):
    clip = random_image(rng, shape, kind)
    ours = lbp_top_histogram(clip)
    ref, sums = lbp_top_reference(clip)
    T, H, W = shape
    assert sums == (T * (H - 2) * (W - 2), H * (T - 2) * (W - 2), W * (T - 2) * (H - 2))
    assert ours.shape == (N_TOP_FEATURES,) and ours.dtype == np.float64
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    np.testing.assert_allclose(ours.reshape(3, N_BINS).sum(1), 1.0)


def test_lbp_top_planes(rng):
    clip = rng.integers(0, 3, (6, 9, 11)).astype(np.uint8)
    feat = lbp_top_histogram(clip).reshape(3, N_BINS)
    # the XY block is the mean of the per-frame histograms (all frames the same size)
    np.testing.assert_allclose(feat[0], lbp_histogram(clip).mean(0), atol=1e-12)
    # swapping x and y swaps the XT and YT planes exactly
    swapped = lbp_top_histogram(clip.transpose(0, 2, 1)).reshape(3, N_BINS)
    np.testing.assert_allclose(swapped[1], feat[2], atol=1e-12)
    np.testing.assert_allclose(swapped[2], feat[1], atol=1e-12)


def test_lbp_top_of_flat_and_static_clips(rng):
    flat = lbp_top_histogram(np.full((4, 6, 5), 3, np.uint8)).reshape(3, N_BINS)
    assert (flat[:, FLAT] == 1.0).all()
    # a static clip: in the XT/YT planes every pixel equals its neighbours above and below (t +- 1)
    frame = rng.integers(0, 256, (8, 8)).astype(np.uint8)
    static = lbp_top_histogram(np.repeat(frame[None], 5, 0)).reshape(3, N_BINS)
    moving = lbp_top_histogram(rng.integers(0, 256, (5, 8, 8)).astype(np.uint8)).reshape(3, N_BINS)
    np.testing.assert_allclose(static[0], lbp_histogram(frame), atol=1e-12)
    # samples 1, 2, 3 (row t-1) and 5, 6, 7 (row t+1) equal the column's own values, so
    # samples 2 and 6 are always set: labels with both bits set cover everything
    labels_with_2_and_6 = {int(lbp_codes(pattern_image(c))[1, 1]) for c in range(256) if c & 0b01000100 == 0b01000100}
    others = [k for k in range(N_BINS) if k not in labels_with_2_and_6]
    assert static[1:, others].sum() == 0 and moving[1:, others].sum() > 0.1


# -- colour conversion and clip features ---------------------------------------------------------


def test_gray_is_bt601_luma_rounded():
    colours = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [0, 0, 0], [10, 200, 30]], np.uint8)
    gray = rgb_to_gray(colours[None, None])  # (1, 1, 6, 3)
    expected = np.rint(colours @ np.array([0.299, 0.587, 0.114]))  # 76.2, 149.7, 29.1, 255, 0, 123.8
    np.testing.assert_array_equal(gray[0, 0], expected)
    assert gray.dtype == np.uint8 and gray.shape == (1, 1, 6)
    # exact ties round up: 0.114 * 250 = 28.5
    assert rgb_to_gray(np.array([[[[0, 0, 250]]]], np.uint8))[0, 0, 0] == 29
    assert rgb_to_gray(np.array([[[[0, 0, 250 / 255]]]], np.float32))[0, 0, 0] == 29


def test_gray_same_for_layouts_and_uint8_or_float(rng):
    clip = rng.integers(0, 256, (4, 9, 7, 3)).astype(np.uint8)
    g = rgb_to_gray(clip)
    assert g.shape == (4, 9, 7)
    as_float = (clip.transpose(0, 3, 1, 2) / np.float32(255)).astype(np.float32)  # the data loader's clips
    np.testing.assert_array_equal(rgb_to_gray(as_float), g)
    np.testing.assert_array_equal(rgb_to_gray(clip / 255.0), g)
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(rgb_to_gray(torch.from_numpy(as_float)), g)
    # against the float formula: within rounding
    ref = clip.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    assert np.abs(g - ref).max() <= 0.5 + 1e-9


def test_gray_layout_argument(rng):
    clip = rng.integers(0, 256, (2, 3, 5, 3)).astype(np.uint8)  # (T, 3, H, 3): ambiguous
    with pytest.raises(ValueError, match="ambiguous"):
        rgb_to_gray(clip)
    np.testing.assert_array_equal(rgb_to_gray(clip, "TCHW"), rgb_to_gray(clip.transpose(0, 2, 3, 1), "THWC"))
    with pytest.raises(ValueError, match="layout"):
        rgb_to_gray(clip, "NHWC")


def test_clip_features(rng):
    clip = rng.random((5, 3, 12, 10), dtype=np.float32)
    gray = rgb_to_gray(clip)
    feats = lbp_features(clip)
    assert feats.shape == (5, N_BINS) and feats.dtype == np.float64
    np.testing.assert_array_equal(feats, lbp_histogram(gray))
    np.testing.assert_array_equal(lbp_top_features(clip), lbp_top_histogram(gray))
    np.testing.assert_array_equal(lbp_features(clip.transpose(0, 2, 3, 1)), feats)


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "image, message",
    [
        (np.zeros((4, 4, 4)), "2 axes"),
        (np.zeros(9), "2 axes"),
        (np.zeros((2, 5)), "too small"),
        (np.zeros((5, 2), np.uint8), "too small"),
        (np.zeros((0, 0)), "too small"),
        (np.zeros((4, 4), bool), "dtype"),
        (np.zeros((4, 4), complex), "dtype"),
        (np.array([["a"] * 3] * 3), "dtype"),
        (np.full((4, 4), np.nan), "NaN"),
    ],
)
def test_codes_errors(image, message):
    with pytest.raises(ValueError, match=message):
        lbp_codes(image)


def test_histogram_and_top_errors():
    with pytest.raises(ValueError, match="too small"):
        lbp_histogram(np.zeros((0, 5, 5)))  # empty stack
    with pytest.raises(ValueError, match="too small"):
        lbp_histogram(np.zeros((3, 2, 5)))
    with pytest.raises(ValueError, match=r"\(H, W\) or \(N, H, W\)"):
        lbp_histogram(np.zeros((2, 3, 4, 5)))
    with pytest.raises(ValueError, match="too small"):
        lbp_top_histogram(np.zeros((2, 8, 8)))  # needs 3 frames
    with pytest.raises(ValueError, match="3 axes"):
        lbp_top_histogram(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="NaN"):
        lbp_top_histogram(np.full((3, 4, 4), np.inf))


@pytest.mark.parametrize(
    "clip, message",
    [
        (np.zeros((4, 4, 3), np.uint8), "got shape"),
        (np.zeros((2, 4, 4, 4), np.uint8), "RGB"),
        (np.zeros((0, 4, 4, 3), np.uint8), "empty"),
        (np.zeros((2, 4, 4, 3), np.uint16), "dtype"),
        (np.full((2, 4, 4, 3), 2.0), r"\[0, 1\]"),
        (np.full((2, 4, 4, 3), -0.1), r"\[0, 1\]"),
        (np.full((2, 4, 4, 3), np.nan), "NaN"),
    ],
)
def test_gray_errors(clip, message):
    with pytest.raises(ValueError, match=message):
        rgb_to_gray(clip)


def test_feature_errors_on_small_frames():
    with pytest.raises(ValueError, match="too small"):
        lbp_features(np.zeros((3, 2, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="too small"):
        lbp_top_features(np.zeros((2, 8, 8, 3), np.uint8))
