import os
from fractions import Fraction

import numpy as np
import pytest

from evm.io import VideoError, VideoReader, VideoWriter, atomic_output, probe, read_video
from videos import grating_frames, write_audio_only, write_video


@pytest.fixture
def clip(tmp_path):
    frames = grating_frames(45, 48, 64)
    return write_video(tmp_path / "clip.mp4", frames, fps=Fraction(30000, 1001), audio_seconds=1.5), frames


def test_probe_and_read(clip):
    path, frames = clip
    info = probe(path)
    assert (info.width, info.height, info.frames) == (64, 48, 45)
    assert info.fps_exact == "30000/1001" and not info.variable_frame_rate
    assert info.audio == "aac"
    video, fps = read_video(path)
    assert fps == pytest.approx(29.97, abs=1e-3)
    assert video.shape == frames.shape and video.dtype == np.uint8
    assert np.abs(video.astype(int) - frames).max() <= 2  # crf 0 yuv420p on a gray grating


def test_start_duration_scale(clip):
    path, frames = clip
    with VideoReader(path, start=0.5, duration=0.5, scale=0.5) as reader:
        out = list(reader)
    assert len(out) == 15  # frames 15..29 at 29.97 fps
    assert out[0].shape == (24, 32, 3)
    # counting decodes the same span without converting the frames
    assert VideoReader(path, start=0.5, duration=0.5).count_frames() == 15
    assert VideoReader(path, start=1.0).count_frames() == len(list(VideoReader(path, start=1.0))) == 15
    assert VideoReader(path).count_frames() == 45
    full, _ = read_video(path)
    np.testing.assert_allclose(out[0].mean(), full[15].mean(), atol=2)


def test_rotation_is_applied(tmp_path):
    frames = grating_frames(10, 48, 64)
    frames[:, :5, :5] = 255  # a marker in the top-left corner
    path = write_video(tmp_path / "rot.mp4", frames, rotation=90)
    info = probe(path)
    assert info.rotation == 90 and (info.width, info.height) == (48, 64)
    video, _ = read_video(path)
    expected = np.rot90(frames, 1, axes=(1, 2))  # 90 degrees counter-clockwise
    assert np.abs(video.astype(int) - expected).max() <= 3


def test_grayscale_source(tmp_path):
    frames = grating_frames(10, 48, 64)
    path = write_video(tmp_path / "gray.mkv", frames, codec="ffv1", pix_fmt="gray")
    video, _ = read_video(path)
    assert video.shape == (10, 48, 64, 3)
    assert np.array_equal(video[..., 0], video[..., 2])


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".npy"])
def test_writer_round_trip(tmp_path, suffix, clip):
    src, _ = clip
    frames = grating_frames(20, 31, 45)  # odd size
    out = tmp_path / f"out{suffix}"
    with VideoWriter(out, Fraction(30000, 1001), crf=0, audio_from=src if suffix != ".npy" else None) as w:
        for f in frames:
            w.write(f)
    if suffix == ".npy":
        arr = np.load(out, mmap_mode="r")
        assert np.array_equal(arr, frames)
        return
    info = probe(out)
    assert info.fps_exact == "30000/1001" and info.audio == "aac"
    video, _ = read_video(out)
    if suffix == ".mkv":  # lossless, exact size
        assert np.array_equal(video, frames)
    else:  # yuv420p: padded to even by edge replication
        assert video.shape == (20, 32, 46, 3)
        assert np.abs(video[:, :31, :45].astype(int) - frames).max() <= 3
        assert np.abs(video[:, 31].astype(int) - video[:, 30]).max() <= 3


def test_audio_trimmed_to_video(tmp_path, clip):
    src, _ = clip
    out = tmp_path / "short.mp4"
    with VideoWriter(out, 30, audio_from=src, audio_start=0.5) as w:
        w.write(grating_frames(15, 48, 64))  # 0.5 s
    import av

    with av.open(str(out)) as c:
        a = c.streams.audio[0]
        duration = sum(float(p.duration * a.time_base) for p in c.demux(a) if p.duration)
    assert 0.4 < duration < 0.65


def test_failure_leaves_no_file(tmp_path):
    out = tmp_path / "x.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(out, 30) as w:
            w.write(grating_frames(5, 48, 64))
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_atomic_output_rules(tmp_path):
    target = tmp_path / "a.txt"
    with atomic_output(target) as tmp:
        tmp.write_text("hello")
        assert not target.exists()
    assert target.read_text() == "hello"
    with pytest.raises(VideoError, match="already exists"):
        with atomic_output(target):
            pass
    with pytest.raises(VideoError, match="does not exist"):
        with atomic_output(tmp_path / "missing" / "a.txt"):
            pass


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: p / "nope.mp4", "no such file"),
        (lambda p: p, "directory"),
        (lambda p: _write(p / "empty.mp4", b""), "empty"),
        (lambda p: _write(p / "text.mp4", b"not a video\n" * 10), "not a readable video"),
    ],
)
def test_bad_inputs(tmp_path, make, match):
    with pytest.raises(VideoError, match=match):
        probe(make(tmp_path))


def test_truncated_video(tmp_path):
    path = write_video(tmp_path / "t.mp4", grating_frames(30, 48, 64))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(VideoError):
        read_video(path)
    with pytest.raises(VideoError):
        VideoReader(path).count_frames()


def test_audio_only_file(tmp_path):
    path = write_audio_only(tmp_path / "audio.m4a")
    with pytest.raises(VideoError, match="no video stream"):
        probe(path)


def test_read_ahead_order_errors_and_early_stop():
    from evm.io import read_ahead

    assert list(read_ahead(range(50), depth=3)) == list(range(50))

    def failing():
        yield 1
        raise VideoError("bad packet")

    with pytest.raises(VideoError, match="bad packet"):
        list(read_ahead(failing()))
    closed = []

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.append(True)

    for i in read_ahead(endless(), depth=2):
        if i == 5:
            break
    assert closed == [True]


def test_variable_frame_rate_detection(tmp_path):
    import av

    frames = grating_frames(60, 48, 64)
    # regular timestamps with B-frames (packets in decode order): constant rate
    regular = tmp_path / "bframes.mp4"
    with VideoWriter(regular, 30, preset="medium") as w:
        w.write(frames)
    assert not probe(regular).variable_frame_rate
    # irregular timestamps: variable rate, and the reader says so
    irregular = tmp_path / "vfr.mp4"
    with av.open(str(irregular), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.codec_context.time_base = Fraction(1, 90000)
        t = 0
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts, vf.time_base = t, Fraction(1, 90000)
            t += 3000 if i % 2 else 6000  # alternating 1/30 s and 1/15 s
            c.mux(s.encode(vf))
        c.mux(s.encode(None))
    assert probe(irregular).variable_frame_rate
    with pytest.warns(UserWarning, match="variable frame rate"):
        VideoReader(irregular)


def test_outputs_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_output(tmp_path / "a.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
