"""Property-based tests (hypothesis): any frame size, any parameters, either a result that holds the
invariants or a ValueError; never a crash, an out-of-bounds access or another exception type."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from evm import Magnifier, collapse_laplacian, gaussian_pyramid, laplacian_pyramid, magnify
from evm.pyramid import level_shapes, max_pyramid_levels

sizes = st.integers(min_value=1, max_value=40)


@st.composite
def images(draw):
    h, w, c = draw(sizes), draw(sizes), draw(st.sampled_from([None, 1, 3]))
    shape = (h, w) if c is None else (h, w, c)
    seed = draw(st.integers(0, 2**16))
    return np.random.default_rng(seed).uniform(0, 255, shape).astype(np.float32)


@given(images())
def test_laplacian_pyramid_reconstructs_any_size(image):
    pyr = laplacian_pyramid(image)
    assert [p.shape[:2] for p in pyr] == level_shapes(image.shape, len(pyr))
    np.testing.assert_allclose(collapse_laplacian(pyr), image, atol=2e-3)


@given(images())
def test_gaussian_levels_halve_and_keep_the_mean(image):
    pyr = gaussian_pyramid(image)
    for finer, coarser in zip(pyr, pyr[1:]):
        assert coarser.shape[:2] == ((finer.shape[0] + 1) // 2, (finer.shape[1] + 1) // 2)
        assert finer.min() - 1e-3 <= coarser.min() and coarser.max() <= finer.max() + 1e-3  # a blur: no overshoot


HOSTILE = {
    "fps": [0.0, -30.0, float("nan"), float("inf"), 5.0],
    "alpha": [-1.0, float("nan"), float("inf"), -float("inf")],
    "low": [0.0, -1.0, float("nan"), 20.0],
    "high": [0.1, 20.0, float("inf"), float("nan")],
    "pyramid": ["bogus", None],
    "temporal": ["fft", None],
    "levels": [-1, 0, 1, 50, 2.5, True],
    "lambda_c": [0.0, -1.0, float("nan"), float("inf")],
    "chroma_attenuation": [-0.5, float("nan")],
    "order": [0, 9, 100000, 1.5],
}


@st.composite
def settings_and_clip(draw, hostile: bool):
    """A clip and settings that work (any size from 10x10, where a Laplacian pyramid has its 3 levels),
    or, with ``hostile``, any size from 1x1 and one setting replaced by a hostile value."""
    least = 1 if hostile else 10
    h, w = draw(st.integers(least, 40)), draw(st.integers(least, 40))
    gray = draw(st.booleans())
    temporal = draw(st.sampled_from(["butterworth", "iir", "ideal"]))
    frames = draw(st.integers(3 if temporal == "ideal" else 2, 9))  # 3 frames: a bin at 10 Hz
    seed = draw(st.integers(0, 2**16))
    shape = (frames, h, w) if gray else (frames, h, w, 3)
    clip = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    pyramid = draw(st.sampled_from(["laplacian", "gaussian"]))
    top = max_pyramid_levels((h, w))
    levels = draw(
        st.one_of(st.none(), st.integers(3, max(3, top)) if pyramid == "laplacian" else st.integers(1, max(1, top - 1)))
    )
    kwargs = dict(
        fps=30.0,
        alpha=draw(st.floats(0, 150)),
        low=draw(st.sampled_from([0.5, 1.0, 2.0])),
        high=14.9 if temporal == "ideal" else draw(st.sampled_from([3.0, 6.0, 14.9])),
        pyramid=pyramid,
        temporal=temporal,
        levels=levels,
        lambda_c=draw(st.floats(1, 1000)),
        chroma_attenuation=draw(st.floats(0, 1)),
        order=draw(st.integers(1, 3)) if temporal == "butterworth" else 1,
    )
    if hostile:
        key = draw(st.sampled_from(sorted(HOSTILE)))
        kwargs[key] = draw(st.sampled_from(HOSTILE[key]))
    split = draw(st.integers(1, frames - 1))
    return clip, kwargs, split


def _run(clip, kwargs, split):
    """``magnify`` on the whole clip and a Magnifier fed in two blocks; both must agree, in their
    result or in refusing with ValueError."""
    kwargs = dict(kwargs)
    fps = kwargs.pop("fps")
    if kwargs["temporal"] != "butterworth" and kwargs["order"] == 1:
        kwargs.pop("order")  # order applies to the Butterworth filter only
    try:
        whole = magnify(clip, fps, **kwargs)
    except ValueError:
        try:
            m = Magnifier(clip.shape[1:], fps, **kwargs)
            m.process(clip)
            m.flush()
        except ValueError:
            return None
        raise AssertionError("magnify refused settings that Magnifier accepted") from None
    assert whole.shape == clip.shape and whole.dtype == np.uint8
    m = Magnifier(clip.shape[1:], fps, **kwargs)
    parts = [m.process(clip[:split]), m.process(clip[split:]), m.flush()]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    return whole


@given(settings_and_clip(hostile=False))
def test_streaming_equals_whole_clip_for_any_size(case):
    assert _run(*case) is not None


@given(settings_and_clip(hostile=True))
def test_hostile_parameters_give_value_error_or_a_result(case):
    _run(*case)
