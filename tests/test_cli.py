import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cli.evm_cli import main
from evm.batch import read_manifest
from evm.io import probe, read_video
from evm.synthetic import grating_displacement
from videos import grating_frames, write_audio_only, write_video

ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.fixture
def clip(tmp_path):
    frames = grating_frames(60, 48, 64, amplitude=0.25, frequency=1.5)
    return write_video(tmp_path / "in.mp4", frames, audio_seconds=2.0)


def test_magnify_defaults(clip, capsys):
    code, _, err = run_cli(capsys, "magnify", clip, "--alpha", 8, "--lambda-c", 8, "-q")
    assert code == 0, err
    out = clip.with_name("in-magnified.mp4")
    info, src = probe(out), probe(clip)
    assert (info.frames, info.width, info.height, info.fps_exact) == (60, 64, 48, src.fps_exact)
    assert info.audio == "aac"
    before = np.ptp(grating_displacement(read_video(clip)[0], 16)[20:])
    after = np.ptp(grating_displacement(read_video(out)[0], 16)[20:])
    assert after > 3 * before


def test_evm_command_skips_numbas_blas_probe(clip, tmp_path):
    """`evm` does not load scipy.linalg, which Numba imports at the first kernel call only to probe
    for BLAS (0.13 s and ~16 MB of every run); scipy.linalg and Numba's np.dot work afterwards."""
    out = tmp_path / "out.mp4"
    code = (
        "import sys\n"
        "from cli.evm_cli import main\n"
        "try:\n"
        f"    main(['magnify', {str(clip)!r}, '-o', {str(out)!r}, '-q'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "print('scipy.linalg' in sys.modules)\n"
        "import numba, numpy as np, scipy.linalg\n"
        "dot = numba.njit(lambda a: np.dot(a, a))\n"
        "print(dot(np.array([3.0, 4.0])), scipy.linalg.norm([3.0, 4.0]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "25.0", "5.0"]
    assert probe(out).frames == 60


def test_magnify_side_by_side_and_options(clip, tmp_path, capsys):
    out = tmp_path / "sbs.mp4"
    code, _, err = run_cli(capsys, "magnify", clip, "-o", out, "--side-by-side", "--no-audio", "--filter", "ideal",
                           "--low", 1, "--high", 2, "--start", 0.5, "--duration", 1, "-q")
    assert code == 0, err
    info = probe(out)
    assert (info.width, info.height, info.frames, info.audio) == (128, 48, 30, None)
    video, _ = read_video(out)
    original, _ = read_video(clip, start=0.5, duration=1)
    assert np.abs(video[:, :, :64].astype(int) - original).mean() < 2  # left half: the input


@pytest.mark.parametrize("extra", [["--mode", "color", "--levels", 2], ["--compat", "mit", "--filter", "iir"],
                                   ["--preset", "subtle"], ["--scale", 0.5]])
def test_magnify_variants(clip, tmp_path, capsys, extra):
    out = tmp_path / "v.mkv"
    code, _, err = run_cli(capsys, "magnify", clip, "-o", out, "-q", *extra)
    assert code == 0, err
    assert probe(out).frames == 60 and probe(out).codec == "ffv1"


def test_info_and_presets(clip, capsys):
    code, out, _ = run_cli(capsys, "info", clip, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["frames"] == 60 and data["fps"] == 30 and data["audio"] == "aac"
    code, out, _ = run_cli(capsys, "presets")
    for name in ("pulse", "breathing", "motion", "subtle", "baby", "guitar"):
        assert name in out


def test_spectrum_finds_flicker(tmp_path, capsys):
    t = np.arange(150) / 30.0
    frames = (120 + 6 * np.sin(2 * np.pi * 1.2 * t))[:, None, None, None] * np.ones((1, 32, 32, 3))
    frames[:, :8] = 40  # a dark band outside the roi
    path = write_video(tmp_path / "flicker.mp4", np.rint(frames).astype(np.uint8))
    plot = tmp_path / "spec.png"
    code, out, err = run_cli(capsys, "spectrum", path, "--roi", "0,10,32,20", "-o", plot, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["dominant_hz"] == pytest.approx(1.2, abs=0.05)
    assert result["dominant_per_minute"] == pytest.approx(72, abs=3)
    assert plot.stat().st_size > 1000


def test_slice_dimensions(clip, tmp_path, capsys):
    png = tmp_path / "xt.png"
    code, _, err = run_cli(capsys, "slice", clip, "--row", 10, "--compare", clip, "-o", png)
    assert code == 0, err
    import imageio.v3 as iio

    assert iio.imread(png).shape == (60, 64 * 2 + 4, 3)
    code, _, err = run_cli(capsys, "slice", clip, "--col", 5, "-o", tmp_path / "yt.png")
    assert code == 0 and iio.imread(tmp_path / "yt.png").shape == (48, 60, 3)


def one_frame(tmp_path):
    return write_video(tmp_path / "one.mp4", grating_frames(1, 48, 64))


def truncated(tmp_path):
    path = write_video(tmp_path / "trunc.mp4", grating_frames(60, 48, 64))
    path.write_bytes(path.read_bytes()[:600])
    return path


def audio_only(tmp_path):
    return write_audio_only(tmp_path / "audio.mp4")


def text_file(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    return path


def empty_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    return path


BAD_INPUTS = {
    "missing": (lambda p, c: ["magnify", p / "missing.mp4"], "no such file"),
    "directory": (lambda p, c: ["magnify", p], "directory"),
    "text": (lambda p, c: ["magnify", text_file(p)], "not a readable video"),
    "empty": (lambda p, c: ["magnify", empty_file(p)], "empty"),
    "truncated": (lambda p, c: ["magnify", truncated(p)], ""),
    "no video stream": (lambda p, c: ["magnify", audio_only(p)], "no video stream"),
    "one frame": (lambda p, c: ["magnify", one_frame(p)], "at least 2"),
    "above nyquist": (lambda p, c: ["magnify", c, "--low", 1, "--high", 20], "Nyquist"),
    "low >= high": (lambda p, c: ["magnify", c, "--low", 3, "--high", 2], "below"),
    "alpha not a number": (lambda p, c: ["magnify", c, "--alpha", "ten"], "alpha"),
    "missing out dir": (lambda p, c: ["magnify", c, "-o", p / "nowhere" / "o.mp4"], "does not exist"),
    "unwritable out": (lambda p, c: ["magnify", c, "-o", "/proc/evm-test-output.mp4"], ""),
    "existing output": (lambda p, c: ["magnify", c, "-o", write_video(p / "existing.mp4", grating_frames(4, 8, 8))],
                        "already exists"),
    "output is the input": (lambda p, c: ["magnify", c, "-o", c, "--overwrite"], "is the input file"),
    "unknown preset": (lambda p, c: ["magnify", c, "--preset", "nope"], "unknown preset"),
    "band too narrow for ideal": (lambda p, c: ["magnify", c, "--filter", "ideal", "--low", 1.1, "--high", 1.2],
                                  "resolution"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_one_line_no_output(case, tmp_path, capsys):
    work = tmp_path / "work"
    work.mkdir()
    clip = write_video(work / "ok.mp4", grating_frames(40, 48, 64))
    make, match = BAD_INPUTS[case]
    before = set(os.listdir(work))
    args = make(work, clip)
    code, out, err = run_cli(capsys, *args)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evm: error:"), err
    assert match.lower() in lines[0].lower()
    assert "Traceback" not in err
    created = set(os.listdir(work)) - before
    # only inputs the case itself wrote may appear, never an output (final or partial)
    assert not any("magnified" in name or "partial" in name or name == "o.mp4" for name in created), created
    assert not Path("/proc/evm-test-output.mp4").exists()


def make_tree(root: Path, n: int = 3, bad: bool = True) -> list[Path]:
    paths = []
    for i in range(n):
        folder = root / ("a" if i % 2 else "b") / "sub"
        folder.mkdir(parents=True, exist_ok=True)
        paths.append(write_video(folder / f"v{i}.mp4", grating_frames(30 + i, 48, 64)))
    if bad:
        (root / "b" / "broken.mp4").write_text("not a video")
    return paths


def test_batch_mirrors_tree_and_resumes(tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    paths = make_tree(src)
    code, _, err = run_cli(capsys, "batch", src, out, "-q", "--alpha", 5)
    assert code == 1  # the broken file failed ...
    assert "broken.mp4" in err
    for i, p in enumerate(paths):  # ... but every other file was done
        target = out / p.relative_to(src)
        assert probe(target).frames == 30 + i
    manifest = read_manifest(out / "manifest.jsonl")
    assert {k: r["status"] for k, r in manifest.items()} == {
        **{str(p.relative_to(src)): "done" for p in paths}, "b/broken.mp4": "failed"}
    assert "not a readable video" in manifest["b/broken.mp4"]["error"]
    # a re-run skips what is done and retries the failure
    code, _, err = run_cli(capsys, "batch", src, out, "-q", "--alpha", 5)
    assert code == 1 and "0 done, 3 skipped" in err and "1 failed" in err
    # other parameters: everything is redone
    (src / "b" / "broken.mp4").unlink()
    code, _, err = run_cli(capsys, "batch", src, out, "-q", "--alpha", 6, "--format", "npy")
    assert code == 0 and "3 done, 0 skipped" in err
    assert np.load(out / "a" / "sub" / "v1.npy", mmap_mode="r").shape == (31, 48, 64, 3)


def test_batch_dry_run_and_bad_settings(tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    make_tree(src, 2, bad=False)
    code, stdout, err = run_cli(capsys, "batch", src, out, "--dry-run")
    assert code == 0 and stdout.count("would magnify") == 2 and not out.exists()
    code, _, err = run_cli(capsys, "batch", src, out, "--low", 1, "--high", 40)
    assert code != 0 and "Nyquist" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(capsys, "batch", tmp_path / "none", out)
    assert code != 0 and "not a folder" in err


def test_batch_killed_then_resumed(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    paths = make_tree(src, 6, bad=False)
    cmd = [sys.executable, "-c", "from cli.evm_cli import main; main()", "batch", str(src), str(out), "-q",
           "--alpha", "5", "--crf", "30"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:
        if sum(r["status"] == "done" for r in read_manifest(out / "manifest.jsonl").values()) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = [k for k, r in read_manifest(out / "manifest.jsonl").items() if r["status"] == "done"]
    assert 2 <= len(done_before) < 6
    finals = [p for p in out.rglob("*.mp4") if not p.name.startswith(".")]
    assert len(finals) >= 2
    for p in finals:  # whatever carries a final name decodes completely
        assert len(read_video(p)[0]) >= 30
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    manifest = read_manifest(out / "manifest.jsonl")
    assert all(r["status"] == "done" for r in manifest.values()) and len(manifest) == 6
    for i, p in enumerate(paths):
        assert len(read_video(out / p.relative_to(src))[0]) == 30 + i
    assert not list(out.rglob(".*partial*"))
    assert f"{len(done_before)} skipped" in result.stderr


def test_batch_dask_executor(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    src, out = tmp_path / "in", tmp_path / "out"
    make_tree(src, 2)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        code, _, err = run_cli(capsys, "batch", src, out, "-q", "--executor", "dask", "--scheduler",
                               cluster.scheduler_address, "--retries", 0)
    assert code == 1 and "2 done" in err and "1 failed" in err
    assert len(read_manifest(out / "manifest.jsonl")) == 3


@pytest.mark.parametrize("temporal", ["ideal", "butterworth"])
def test_file_pipeline_equals_in_memory_magnify(clip, tmp_path, temporal):
    from evm import magnify
    from evm.pipeline import magnify_file
    from evm.presets import MagnifyParams

    out = tmp_path / f"{temporal}.mkv"  # lossless: the pixels must be exactly evm.magnify's
    params = MagnifyParams(alpha=8, low=1.0, high=2.0, temporal=temporal, lambda_c=8)
    magnify_file(clip, out, params, audio=False)
    frames, fps = read_video(clip)
    expected = magnify(frames, fps, **params.as_kwargs())
    np.testing.assert_array_equal(read_video(out)[0], expected)
