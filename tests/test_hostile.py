"""Input nobody made for us: streams that change size, playlists, numbers that are not numbers,
the input as the output, signals, memory that the settings do not bound (issue 11, evm side)."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import default_sigint
from test_cli import run_cli

from evm.io import VideoError, VideoReader, probe, read_video
from evm.magnify import Magnifier
from evm.pipeline import check_ideal_memory, ideal_memory_bytes, magnify_file
from evm.presets import MagnifyParams
from videos import grating_frames, write_video

ROOT = Path(__file__).resolve().parents[1]


def write_ts(path, frames, fps=25):
    """An MPEG-TS stream (as broadcast captures and screen recorders write them)."""
    with av.open(str(path), "w", format="mpegts") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"crf": "0", "preset": "ultrafast"}
        for i, frame in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            vf.pts, vf.time_base = i, Fraction(1, fps)
            container.mux(stream.encode(vf))
        container.mux(stream.encode(None))
    return path


@pytest.fixture
def size_change(tmp_path):
    """Two .ts captures concatenated: 64x64 for 12 frames, then 256x192 for 12 frames."""
    small = write_ts(tmp_path / "a.ts", grating_frames(12, 64, 64))
    large = write_ts(tmp_path / "b.ts", grating_frames(12, 192, 256))
    joined = tmp_path / "joined.ts"
    joined.write_bytes(small.read_bytes() + large.read_bytes())
    return joined


def test_reader_scales_a_stream_whose_size_changes(size_change):
    with pytest.warns(UserWarning, match=r"frame size changes at frame 12 from 64x64 to 256x192"):
        frames, _ = read_video(size_change)
    assert frames.shape == (24, 64, 64, 3)
    # the scaled frames show the same content as the start (a grating), not garbage
    assert np.abs(frames[12:].astype(int).mean() - frames[:12].astype(int).mean()) < 20


@pytest.mark.parametrize("temporal", ["butterworth", "ideal"])
def test_magnify_survives_a_size_change(size_change, tmp_path, temporal, capsys):
    out = tmp_path / f"out-{temporal}.mp4"
    code, _, err = run_cli(capsys, "magnify", size_change, "-o", out, "--filter", temporal, "--low", 1, "--high", 4)
    assert code == 0, err
    assert "evm: warning: " in err and "frame 12" in err and "Traceback" not in err
    info = probe(out)
    assert (info.width, info.height, info.frames) == (64, 64, 24)
    assert not list(tmp_path.glob(".*partial*"))


@pytest.mark.parametrize("pyramid", ["laplacian", "riesz"])
def test_magnifier_entry_points_refuse_wrong_buffers(pyramid):
    m = Magnifier((32, 48, 3), 30, alpha=10, low=1, high=4, pyramid=pyramid)
    with pytest.raises(ValueError, match="fed to a Magnifier"):
        m._process_causal(np.zeros((1, 64, 64, 3), np.uint8), np.zeros((1, 64, 64, 3), np.uint8))
    with pytest.raises(ValueError, match="output"):
        m._process_causal(np.zeros((1, 32, 48, 3), np.uint8), np.zeros((1, 16, 48, 3), np.uint8))
    with pytest.raises(ValueError, match="delta"):
        m._analyze(np.zeros((32, 48, 3), np.uint8), np.zeros((3, 3, 3), np.float32))
    with pytest.raises(ValueError, match="fed to a Magnifier"):
        m._render_delta(np.zeros(m.delta_shape, np.float32), np.zeros((32, 48, 3), np.float32),
                        np.zeros((32, 48, 3), np.uint8))  # fmt: skip


class _Listener:
    """A TCP server on the loopback that counts the connections it is offered."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


@pytest.mark.parametrize("name", ["list.m3u8", "list.mp4"])
def test_a_playlist_in_a_tree_never_reaches_the_network(tmp_path, name):
    server = _Listener()
    try:
        playlist = tmp_path / name
        playlist.write_text(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
            f"#EXTINF:2.0,\nhttp://127.0.0.1:{server.port}/segment0.ts\n#EXT-X-ENDLIST\n"
        )
        with pytest.raises(VideoError, match="not a readable video|no video stream|no decodable"):
            probe(playlist)
        time.sleep(0.3)  # a connection, had one been attempted, would have arrived by now
    finally:
        server.close()
    assert server.connections == 0


def test_frame_count_comes_from_the_video_stream(tmp_path):
    # a 60-frame Matroska file whose audio runs a second longer: no header count, and the duration
    # is the audio's (PyAV 19 estimated 61 frames from it)
    path = write_video(tmp_path / "long-audio.mkv", grating_frames(60, 48, 64), audio_seconds=3.0)
    info = probe(path)
    assert info.frames == 60 and info.frames_exact
    with VideoReader(path) as reader:
        assert reader.expected_frames == reader.count_frames() == 60


@pytest.fixture
def clip(tmp_path):
    return write_video(tmp_path / "in.mp4", grating_frames(40, 48, 64))


def test_the_input_is_never_the_output(clip, capsys):
    before = clip.read_bytes()
    for extra in ([], ["--overwrite"]):
        code, _, err = run_cli(capsys, "magnify", clip, "-o", clip, *extra)
        assert code == 1 and err.startswith("evm: error:") and "is the input file" in err, err
        assert clip.read_bytes() == before
    link = clip.with_name("link.mp4")
    os.link(clip, link)  # the same file under another name
    code, _, err = run_cli(capsys, "magnify", clip, "-o", link, "--overwrite")
    assert code == 1 and "is the input file" in err and clip.read_bytes() == before


@pytest.mark.parametrize(
    "args, option",
    [
        (["--fps", "0"], "--fps"),
        (["--fps", "nan"], "--fps"),
        (["--duration", "inf"], "--duration"),
        (["--start", "nan"], "--start"),
        (["--alpha", "nan"], "--alpha"),
        (["--alpha", "inf"], "--alpha"),
        (["--low", "-inf"], "--low"),
        (["--scale", "1e9"], "--scale"),
        (["--lambda-c", "0"], "--lambda-c"),
        (["--r1", "2", "--r2", "0.1", "--filter", "iir"], "--r1"),
    ],
)
def test_numbers_that_are_not_numbers(clip, capsys, args, option):
    code, out, err = run_cli(capsys, "magnify", clip, "-o", clip.with_name("out.mp4"), *args)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and option in lines[0] and "Traceback" not in err, err
    assert not clip.with_name("out.mp4").exists()


def test_butterworth_order_is_bounded(clip, capsys):
    code, _, err = run_cli(capsys, "magnify", clip, "-o", clip.with_name("o.mp4"), "--order", "100000")
    assert code == 1 and "order must be <= 8" in err


def test_ideal_filter_refuses_what_will_not_fit(clip, tmp_path, monkeypatch):
    monkeypatch.setattr("evm.pipeline.available_memory", lambda: 10 << 20)
    params = MagnifyParams(temporal="ideal", low=1, high=4)
    with pytest.raises(VideoError, match=r"ideal filter holds the whole clip.*--filter butterworth"):
        magnify_file(clip, tmp_path / "o.mp4", params)
    assert not (tmp_path / "o.mp4").exists()
    # the estimate is the working level of every frame, float32, and the FFT chunks
    assert ideal_memory_bytes(1000, (60, 80, 3)) == 1000 * 60 * 80 * 3 * 4 + (3 << 26)
    monkeypatch.undo()
    check_ideal_memory(clip, 10, (8, 8, 3))  # fits: no error


def _partial_files(folder):
    return [p for p in Path(folder).iterdir() if p.name.startswith(".") and ".partial" in p.name]


@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_removes_the_partial_output(tmp_path, signum, status):
    src = write_video(tmp_path / "long.mp4", grating_frames(900, 144, 192))
    dst = tmp_path / "long-magnified.mp4"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-c", "from cli.evm_cli import main; main()", "magnify", str(src), "-o", str(dst),
           "--encoder-preset", "slow", "-q"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)
    try:
        deadline = time.monotonic() + 120
        while not _partial_files(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, "finished before the signal could be sent"
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == status, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and ("terminated" in lines[0] or "interrupted" in lines[0]), err
    assert not dst.exists() and not _partial_files(tmp_path)
    assert probe(src).frames == 900  # the input untouched
