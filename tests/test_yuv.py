"""The planar (Y'CbCr 4:2:0) path against the RGB path, colour metadata, and the file pipeline on it.

Tolerance of the planar path against the RGB path (decode to RGB, magnify, encode back), on
synthetic clips: at most 3 code values on any plane and PSNR >= 48 dB per plane (measured: 1-2
values, 53-58 dB); exact for a grey full-range BT.601 clip against the gray magnifier.  Two
things widen the gap, both from the RGB path's round trip: ``chroma_attenuation=1`` (the RGB
path low-passes the chroma delta twice, expanding it to full size and subsampling it again;
the planar path adds it at the chroma's own resolution: up to 5-7 values, 46-48 dB, at 24-pixel
chroma wavelengths) and large gains on the colour mode (the RGB path magnifies the rounding of
its uint8 RGB frames: 4-5 values at alpha 30).
"""

from __future__ import annotations

import threading

import av
import numpy as np
import pytest

from evm import Magnifier
from evm.color import YUVFormat, ycbcr_matrix
from evm.io import VideoReader, VideoWriter, WriteBehind, probe, read_video
from evm.pipeline import magnify_file, planar_path
from evm.presets import MagnifyParams
from evm.yuv import empty_planes, planar_magnifier, rgb_to_ycbcr_planes, ycbcr_to_rgb_planes

FPS = 30.0
BT601_FULL, BT601_TV, BT709_TV = (
    YUVFormat("bt601", True, 5, 2),
    YUVFormat("bt601", False, 6, 1),
    YUVFormat("bt709", False, 1, 1),
)


@pytest.fixture(scope="module")
def colour_clip():
    """A smooth colourful texture swaying sideways at 1.5 Hz, (T, H, W, 3) float RGB in 0..255."""
    rng = np.random.default_rng(0)
    T, H, W = 36, 48, 64
    y, x = np.mgrid[0:H, 0:W].astype(float)
    phases = rng.random((3, 3)) * 2 * np.pi
    frames = []
    for t in range(T):
        shift = 0.6 * np.sin(2 * np.pi * 1.5 * t / FPS)
        xs = x - shift
        channels = [
            128 + 45 * np.sin(2 * np.pi * xs / (24 + 4 * c) + phases[c, 0]) * np.cos(2 * np.pi * y / 34 + phases[c, 1])
            for c in range(3)
        ]
        frames.append(np.stack(channels, -1))
    return np.stack(frames)


def psnr(a, b) -> float:
    mse = np.mean((np.asarray(a, float) - b) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def run_both(clip, color, **params):
    """Planar output planes and the RGB path's output converted to planes (the old pipeline)."""
    H, W = clip.shape[1:3]
    rgb_m = Magnifier((H, W, 3), FPS, **params)
    yuv_m = planar_magnifier((H, W), FPS, color=color, **params)
    ours, ref = [], []
    for frame in clip:
        planes = rgb_to_ycbcr_planes(frame, color)
        decoded = np.clip(np.round(ycbcr_to_rgb_planes(planes, color)), 0, 255).astype(np.uint8)
        out_rgb = np.empty_like(decoded)
        rgb_m._magnify_one(decoded, out_rgb)
        out = empty_planes(H, W)
        yuv_m._magnify_one(planes, out)
        ours.append(out)
        ref.append(rgb_to_ycbcr_planes(out_rgb, color))
    return ours, ref


def test_ycbcr_matrices_standard_values():
    M, off = ycbcr_matrix("bt709", full_range=False)
    assert np.round(M @ [255, 0, 0] + off).tolist() == [63, 102, 240]  # BT.709 red, TV range
    M, off = ycbcr_matrix("bt601", full_range=False)
    assert np.round(M @ [255, 0, 0] + off).tolist() == [81, 90, 240]  # BT.601 red, TV range
    assert np.round(M @ [0, 0, 0] + off).tolist() == [16, 128, 128]
    with pytest.raises(ValueError, match="matrix must be one of"):
        ycbcr_matrix("bt2100")


@pytest.mark.parametrize("color", [BT601_FULL, BT601_TV, BT709_TV], ids=["601-full", "601-tv", "709-tv"])
@pytest.mark.parametrize("params", [dict(alpha=8, low=1.0, high=3.0, lambda_c=8),
                                    dict(alpha=10, low=1.0, high=3.0, pyramid="gaussian", levels=2)],
                         ids=["laplacian", "gaussian"])  # fmt: skip
def test_planar_path_equals_rgb_path_within_tolerance(colour_clip, color, params):
    ours, ref = run_both(colour_clip, color, **params)
    magnified = max(
        np.abs(o[0].astype(int) - rgb_to_ycbcr_planes(f, color)[0]).max() for o, f in zip(ours, colour_clip)
    )
    assert magnified >= 6  # the comparison is about a visible change
    for p in range(3):
        a, b = np.stack([o[p] for o in ours]), np.stack([r[p] for r in ref])
        assert np.abs(a.astype(int) - b).max() <= 3
        assert psnr(a, b) >= 48


def test_grey_clip_is_exact(colour_clip):
    """Neutral chroma: the planar path is the gray magnifier on Y', bit for bit, chroma untouched."""
    grey = colour_clip[..., 1]
    for params in (dict(alpha=8, low=1.0, high=3.0, lambda_c=8), dict(alpha=30, low=1.0, high=3.0, pyramid="gaussian")):
        gray_m = Magnifier(grey.shape[1:], FPS, **params)
        yuv_m = planar_magnifier(grey.shape[1:], FPS, color=BT601_FULL, **params)
        rgb_m = Magnifier(grey.shape[1:] + (3,), FPS, **params)
        changed = 0
        for frame in np.round(grey).astype(np.uint8):
            planes = rgb_to_ycbcr_planes(np.repeat(frame[..., None], 3, -1), BT601_FULL)
            assert np.array_equal(planes[0], frame) and (planes[1] == 128).all()
            out = empty_planes(*frame.shape)
            yuv_m._magnify_one(planes, out)
            expected = gray_m.process(frame)
            assert np.array_equal(out[0], expected)
            assert (out[1] == 128).all() and (out[2] == 128).all()
            rgb = rgb_m.process(np.repeat(frame[..., None], 3, -1))  # the RGB path: float32 mixing noise only
            assert np.abs(rgb.astype(int) - out[0][..., None]).max() <= 1
            changed += int(np.abs(out[0].astype(int) - frame).max() > 0)
        assert changed > 20


def test_phase_mode_magnifies_the_luma_and_passes_chroma(colour_clip):
    color = BT601_TV
    params = dict(alpha=4, low=1.0, high=3.0, pyramid="riesz", sigma=1.0)
    yuv_m = planar_magnifier(colour_clip.shape[1:3], FPS, color=color, **params)
    gray_m = Magnifier(colour_clip.shape[1:3], FPS, **params)
    for frame in colour_clip:
        planes = rgb_to_ycbcr_planes(frame, color)
        out = empty_planes(*frame.shape[:2])
        yuv_m._magnify_one(planes, out)
        assert np.array_equal(out[0], np.clip(gray_m.process(planes[0]), 16, 235))
        assert np.array_equal(out[1], planes[1]) and np.array_equal(out[2], planes[2])


def test_bt709_matrix_is_honoured(colour_clip):
    """Luma-only magnification of a colourful BT.709 clip: the planar path told the stream's matrix
    matches the RGB path; told BT.601 instead, it is measurably further away."""
    params = dict(alpha=20, low=1.0, high=3.0, lambda_c=8, chroma_attenuation=0.0)
    right, ref = run_both(colour_clip, BT709_TV, **params)
    H, W = colour_clip.shape[1:3]
    wrong_m = planar_magnifier((H, W), FPS, color=BT601_TV, **params)
    wrong = []
    for frame in colour_clip:
        out = empty_planes(H, W)
        wrong_m._magnify_one(rgb_to_ycbcr_planes(frame, BT709_TV), out)
        wrong.append(out)
    y_ref = np.stack([r[0] for r in ref])
    good, bad = psnr(np.stack([o[0] for o in right]), y_ref), psnr(np.stack([o[0] for o in wrong]), y_ref)
    assert good >= 45 and good > bad + 3


def test_range_sets_the_clip_limits():
    """Limited range clips to 16-235 (luma) like the RGB path's 0-255; full range to 0-255."""
    H, W = 32, 48
    x = np.arange(W)[None, :]
    for color, (lo, hi) in ((BT601_TV, (16, 235)), (BT601_FULL, (0, 255))):
        m = planar_magnifier((H, W), FPS, alpha=50, low=1.0, high=3.0, lambda_c=4, chroma_attenuation=0, color=color)
        seen = []
        for t in range(30):
            y = np.clip(lo + (hi - lo) * (0.5 + 0.5 * np.sin(2 * np.pi * (x - np.sin(2 * np.pi * 2 * t / FPS)) / 8)),
                        lo, hi).repeat(H, 0).astype(np.uint8)  # fmt: skip
            planes = (np.ascontiguousarray(y), np.full((16, 24), 128, np.uint8), np.full((16, 24), 128, np.uint8))
            out = empty_planes(H, W)
            m._magnify_one(planes, out)
            seen.append(out[0])
        seen = np.stack(seen)
        assert seen.min() == lo and seen.max() == hi  # magnified into the limits and clipped there


# -- files ------------------------------------------------------------------------------------------


def write_planar(path, clip, color, fps=30, crf=0):
    """Encode RGB float frames as 4:2:0 planes in ``color`` (tagged) with libx264."""
    with VideoWriter(path, fps, crf=crf, preset="ultrafast", yuv=color) as w:
        for frame in clip:
            w.write_planes(rgb_to_ycbcr_planes(frame, color))
    return path


@pytest.mark.parametrize("color", [BT601_FULL, BT709_TV], ids=["601-full", "709-tv"])
def test_file_keeps_colour_metadata_and_equals_in_memory(tmp_path, colour_clip, color):
    src = write_planar(tmp_path / "in.mp4", colour_clip, color)
    info = probe(src)
    assert info.yuv == color  # written with the tags, read back from the stream
    dst = tmp_path / "out.mp4"
    params = MagnifyParams(alpha=8, low=1.0, high=3.0, lambda_c=8)
    result = magnify_file(src, dst, params, crf=0, audio=False)
    assert result.frames == len(colour_clip)
    assert probe(dst).yuv == color
    with av.open(str(dst)) as c:  # the tags are in the stream as well as on the frames
        cc = c.streams.video[0].codec_context
        assert (cc.colorspace, cc.color_range) == (color.colorspace, color.color_range)
    # crf 0 is lossless: the file holds exactly what the planar magnifier makes of the decoded planes
    m = planar_magnifier((info.height, info.width), FPS, color=color, **params.as_kwargs())
    for planes, written in zip(VideoReader(src).planes(), VideoReader(dst).planes(), strict=True):
        out = empty_planes(info.height, info.width)
        m._magnify_one(planes, out)
        for a, b in zip(out, written):
            assert np.array_equal(a, b)


def test_file_odd_size_and_rotation_match_the_rgb_path(tmp_path, colour_clip):
    """Odd sizes (from --scale) and a rotated source: the RGB path's output size (padded to even for
    yuv420p) and the same luma within the tolerance (the luma does not depend on how either path
    resamples the chroma)."""
    src = write_planar(tmp_path / "in.mp4", colour_clip, BT601_TV)
    rotated = tmp_path / "rot.mp4"
    with av.open(str(src)) as inp, av.open(str(rotated), "w") as out:  # remux with a display rotation
        s_in = inp.streams.video[0]
        s_out = out.add_stream_from_template(s_in)
        s_out.set_display_rotation(90)
        for packet in inp.demux(s_in):
            if packet.dts is not None:
                packet.stream = s_out
                out.mux(packet)
    params = MagnifyParams(alpha=8, low=1.0, high=3.0, lambda_c=8)
    M, offset = ycbcr_matrix("bt601", full_range=False)
    for path, scale, (h, w) in ((src, 0.73, (35, 47)), (rotated, 1.0, (64, 48))):
        planar, rgb = tmp_path / "p.mp4", tmp_path / "r.mkv"
        magnify_file(path, planar, params, scale=scale, crf=0, audio=False, overwrite=True)
        magnify_file(path, rgb, params, scale=scale, audio=False, overwrite=True)
        assert probe(planar).yuv == BT601_TV
        ours = np.stack([p[0] for p in VideoReader(planar).planes()])
        ref = read_video(rgb)[0] @ M[0] + offset[0]
        assert ref.shape[1:3] == (h, w) and ours.shape[1:3] == (h + h % 2, w + w % 2)
        if h % 2:
            assert np.array_equal(ours[:, h], ours[:, h - 1])  # the padding repeats the edge
        assert np.abs(ours[:, :h, :w] - ref).max() <= 6 and psnr(ours[:, :h, :w], ref) >= 40


def test_planar_path_choice(tmp_path, colour_clip):
    src = write_planar(tmp_path / "in.mp4", colour_clip[:4], BT601_TV)
    reader = VideoReader(src)
    p = MagnifyParams()
    assert planar_path(reader, p, "o.mp4", None, False) and planar_path(reader, p, "o.mkv", "libx264", True)
    assert not planar_path(reader, p, "o.mkv", None, False)  # lossless FFV1 stores RGB
    assert not planar_path(reader, p, "o.npy", None, False)
    assert not planar_path(reader, MagnifyParams(compat="mit"), "o.mp4", None, False)
    small = VideoReader(src, scale=0.484)  # 31 pixels wide: a side by side would split a chroma sample
    assert small.width % 2 and not planar_path(small, p, "o.mp4", None, True)


def test_write_behind_order_errors_and_abort():
    seen = []
    with WriteBehind(seen.append, depth=2) as w:
        for i in range(50):
            w.put(i)
    assert seen == list(range(50))

    def fail(item):
        if item == 3:
            raise OSError("disk full")
        seen.append(item)

    seen.clear()
    with pytest.raises(OSError, match="disk full"), WriteBehind(fail, depth=1) as w:
        for i in range(1000):
            w.put(i)
    assert seen == [0, 1, 2]
    release = threading.Event()
    with pytest.raises(KeyboardInterrupt), WriteBehind(lambda item: release.wait(5), depth=1) as w:
        w.put(0)
        release.set()
        raise KeyboardInterrupt
    assert not any(t.name == "evm-write-behind" for t in threading.enumerate())


@pytest.mark.parametrize("pyramid", ["laplacian", "riesz"])
def test_file_ideal_filter_two_passes_on_planes(tmp_path, colour_clip, pyramid):
    """The ideal filter's two passes (analyse every frame, filter, render) on planes, linear and phase."""
    from evm.temporal import ideal_bandpass

    src = write_planar(tmp_path / "in.mp4", colour_clip, BT601_TV)
    params = MagnifyParams(alpha=6, low=1.0, high=3.0, lambda_c=8, temporal="ideal", pyramid=pyramid)
    magnify_file(src, tmp_path / "out.mp4", params, crf=0, audio=False)
    H, W = colour_clip.shape[1:3]
    m = planar_magnifier((H, W), FPS, color=BT601_TV, **params.as_kwargs())
    frames = list(VideoReader(src).planes())
    stack = np.empty((len(frames),) + m.delta_shape, np.float32)
    for planes, delta in zip(frames, stack):
        m._analyze(planes, delta)
    ideal_bandpass(stack, FPS, 1.0, 3.0, out=stack)
    changed = 0
    for planes, delta, written in zip(frames, stack, VideoReader(tmp_path / "out.mp4").planes(), strict=True):
        out = empty_planes(H, W)
        m._render_delta(delta, planes, out)
        assert all(np.array_equal(a, b) for a, b in zip(out, written))
        changed += int(np.abs(out[0].astype(int) - planes[0]).max() > 1)
    assert changed > len(frames) // 2
