"""Hostile input for the batch runner (issue 11): no crash, no hang, no lost file.

Runner-level cases use the cheap job of ``tests/batch_jobs.py``; CLI cases magnify tiny clips.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from batch_jobs import write_job
from conftest import default_sigint

from cli.evm_cli import main
from evm.batch import (
    LOCK,
    MANIFEST,
    VIDEO_PATTERNS,
    BatchLocked,
    FolderLock,
    Job,
    find_inputs,
    read_manifest,
    run_batch,
)
from evm.io import probe
from videos import write_video

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


def run_cli(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def tiny_clip(path: Path, seed: int = 0) -> Path:
    """A 32x32, 10-frame clip: enough for the magnifier, cheap to encode."""
    frames = np.random.default_rng(seed).integers(0, 256, (10, 32, 32, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_video(path, frames, 30)


def partials(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob(".*partial*"))


def make_jobs(tmp_path: Path, n: int = 4, **params) -> tuple[list[Job], Path]:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir(exist_ok=True)
    jobs = []
    for i in range(n):
        path = src / f"f{i}.bin"
        path.write_bytes(f"input {i}".encode())
        jobs.append(Job(path.name, str(path), str(out / f"f{i}.out"), params))
    return jobs, out


# ----------------------------------------------------------------------------------- finding inputs


def test_suffixes_match_in_any_case_and_playlists_are_not_videos(tmp_path):
    for name in ["a.mp4", "B.MP4", "c.Mov", "d.ts", "e.MTS", "f.m2ts", "g.3gp", "h.mpeg", "list.m3u8",
                 "notes.txt", "sub/i.MKV", ".hidden.mp4", ".cache/j.mp4"]:  # fmt: skip
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in find_inputs(tmp_path)]
    assert found == ["B.MP4", "a.mp4", "c.Mov", "d.ts", "e.MTS", "f.m2ts", "g.3gp", "h.mpeg", "sub/i.MKV"]
    assert not any(p.endswith(".m3u8") for p in VIDEO_PATTERNS)
    # a user's pattern: the suffix in any case, the rest of the name as written
    assert [p.name for p in find_inputs(tmp_path, ["*.mp4"])] == ["B.MP4", "a.mp4"]
    assert [p.name for p in find_inputs(tmp_path, ["*.MKV"])] == ["i.MKV"]
    assert [p.name for p in find_inputs(tmp_path, ["b.*"])] == []
    assert [p.name for p in find_inputs(tmp_path, ["sub/*.mkv"])] == ["i.MKV"]


def test_upper_case_suffix_is_magnified(tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    tiny_clip(src / "B.MP4")
    code, _, err = run_cli(capsys, "batch", src, out, "-q", "--alpha", 5)
    assert code == 0, err
    assert probe(out / "B.mp4").frames == 10


# ---------------------------------------------------------------------------------- output clashes


def test_two_inputs_never_write_one_output(tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    tiny_clip(src / "a.mp4", 1)
    tiny_clip(src / "a.mov", 2)
    tiny_clip(src / "b.mp4", 3)
    code, _, err = run_cli(capsys, "batch", src, out, "-q", "--alpha", 5)
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert "a.mov" in err and "a.mp4" in err and "--keep-suffix" in err
    assert not out.exists()  # nothing was done
    code, _, err = run_cli(capsys, "batch", src, out, "-q", "--alpha", 5, "--keep-suffix")
    assert code == 0, err
    assert sorted(p.name for p in out.glob("*.mp4")) == ["a.mov.mp4", "a.mp4.mp4", "b.mp4.mp4"]
    assert sorted(read_manifest(out / MANIFEST)) == ["a.mov", "a.mp4", "b.mp4"]
    with pytest.raises(ValueError, match="a.mov and a.mp4 would both be written to"):
        run_batch([Job("a.mov", "a.mov", str(out / "a.mp4")), Job("a.mp4", "a.mp4", str(out / "a.mp4"))],
                  write_job, out, progress=False)  # fmt: skip


# ---------------------------------------------------------------------------------- foreign outputs


def test_an_output_batch_did_not_write_is_left_alone(tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    tiny_clip(src / "a.mp4", 1)
    tiny_clip(src / "b.mp4", 2)
    out.mkdir()
    (out / "a.mp4").write_bytes(b"someone else's file")
    code, _, err = run_cli(capsys, "batch", src, out, "-q", "--alpha", 5)
    assert code == 1
    assert (out / "a.mp4").read_bytes() == b"someone else's file"
    assert probe(out / "b.mp4").frames == 10  # the rest is done
    assert "1 done" in err and "1 refused" in err
    assert f"refused: {out / 'a.mp4'}: exists and this batch did not write it (--overwrite replaces it)" in err
    assert "a.mp4" not in read_manifest(out / MANIFEST)
    code, stdout, err = run_cli(capsys, "batch", src, out, "--alpha", 5, "--dry-run")
    assert code == 0 and stdout == "" and "refused: " in err
    # what the batch wrote itself it redoes with other parameters; the foreign file only with --overwrite
    code, _, err = run_cli(capsys, "batch", src, out, "-q", "--alpha", 6)
    assert code == 1 and "1 done" in err and "1 refused" in err
    code, _, err = run_cli(capsys, "batch", src, out, "-q", "--alpha", 6, "--overwrite")
    assert code == 0, err
    assert "1 done, 1 skipped" in err and probe(out / "a.mp4").frames == 10


# ----------------------------------------------------------------------------------- worker deaths


@pytest.mark.parametrize("workers, how", [(1, "exit"), (2, "kill-mid")])
def test_a_worker_that_dies_fails_only_its_file(tmp_path, workers, how):
    flag = tmp_path / "crash-flag"
    flag.touch()
    jobs, out = make_jobs(tmp_path, 5, crash={"f1.bin": how}, crash_flag=str(flag))
    summary = run_batch(jobs, write_job, out, workers=workers, progress=False)
    assert (summary.done, summary.failed) == (4, 1)
    assert summary.failures[0][0] == "f1.bin" and "worker process died" in summary.failures[0][1]
    manifest = read_manifest(out / MANIFEST)
    assert {k: r["status"] for k, r in manifest.items()} == {**{j.key: "done" for j in jobs}, "f1.bin": "crashed"}
    for job in jobs:
        if job.key != "f1.bin":
            assert Path(job.dst).read_bytes() == b"half " + Path(job.src).read_bytes()
    assert not Path(jobs[1].dst).exists() and partials(out) == []
    # the rerun does not try it again (it would kill the run again) ...
    again = run_batch(jobs, write_job, out, workers=workers, progress=False)
    assert (again.done, again.skipped, again.failed) == (0, 4, 0) and not again.ok
    assert [k for k, _ in again.held_back] == ["f1.bin"] and "died" in again.held_back[0][1]
    # ... unless asked to (here the cause is gone)
    flag.unlink()
    retried = run_batch(jobs, write_job, out, workers=workers, progress=False, retry_crashed=True)
    assert (retried.done, retried.skipped, retried.failed) == (1, 4, 0) and retried.ok
    assert read_manifest(out / MANIFEST)["f1.bin"]["status"] == "done"


def test_ordinary_failures_are_retried_on_rerun(tmp_path):
    jobs, out = make_jobs(tmp_path, 3, fail="f2.bin")
    first = run_batch(jobs, write_job, out, workers=2, progress=False)
    assert (first.done, first.failed) == (2, 1) and "bad input" in first.failures[0][1]
    again = run_batch(jobs, write_job, out, progress=False)
    assert (again.done, again.skipped, again.failed, again.held_back) == (0, 2, 1, [])


# --------------------------------------------------------------------------------------------- lock


def test_one_run_per_output_folder(tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    tiny_clip(src / "a.mp4")
    out.mkdir()
    jobs, _ = make_jobs(tmp_path, 2)
    with FolderLock(out) as held:  # another run holds the folder
        assert held.held
        code, _, err = run_cli(capsys, "batch", src, out, "-q", "--alpha", 5)
        assert code == 1 and len(err.strip().splitlines()) == 1, err
        assert str(out) in err and f"PID {os.getpid()}" in err and "another batch" in err
        with pytest.raises(BatchLocked, match="another batch"):
            run_batch(jobs, write_job, out, progress=False)
        assert not (out / MANIFEST).exists() and not (out / "a.mp4").exists()
    code, _, err = run_cli(capsys, "batch", src, out, "-q", "--alpha", 5)
    assert code == 0, err
    assert (out / LOCK).exists()


def test_stale_partials_go_only_when_they_are_this_batchs(tmp_path):
    jobs, out = make_jobs(tmp_path, 2)
    out.mkdir()
    ours = out / ".f0.abc123_x.partial.out"  # a run killed by SIGKILL left it
    theirs = out / ".other.abc123_x.partial.out"  # not one of this batch's outputs
    nested = out / ".f0.out.abc123_x.partial.mp4"  # f0.out.mp4's, another output
    for p in (ours, theirs, nested):
        p.write_bytes(b"x")
    run_batch(jobs, write_job, out, progress=False)
    assert not ours.exists() and theirs.exists() and nested.exists()


# ------------------------------------------------------------------------------------------ signals

EVM_SCRIPT = """
import sys
import batch_jobs, evm.pipeline
evm.pipeline.magnify_job = batch_jobs.write_job  # a job that can be held half-written
from cli.evm_cli import main
main(sys.argv[1:])
"""

PREPARE_SCRIPT = """
import sys
from pathlib import Path
from types import SimpleNamespace
import antispoof.cache as cache, batch_jobs
from antispoof.data.records import VideoRecord
from cli.common import exit_status, handle_signals
cache.prepare_video = batch_jobs.write_job
handle_signals()
src = Path(sys.argv[1])
records = [VideoRecord("replay-attack", p.stem, p, 1, None, "001", "train") for p in sorted(src.glob("*.mp4"))]
try:
    r = cache.prepare(SimpleNamespace(root=src), sys.argv[2], cache.PrepareConfig(), records=records,
                      workers=int(sys.argv[3]), progress=False)
except KeyboardInterrupt as exc:
    print("interrupted", file=sys.stderr)
    sys.exit(exit_status(exc))
print(r.done, r.skipped, r.failed)
"""


def _interrupt_when_held(cmd, env, manifest_glob: str, blocked: str, sig: int, root: Path):
    """Start ``cmd``; once one job is done and ``blocked`` is half written, send ``sig``."""
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            manifests = list(root.glob(manifest_glob))
            text = manifests[0].read_text() if manifests else ""
            if '"status": "done"' in text and any(p.name.startswith(f".{blocked}.") for p in partials(root)):
                proc.send_signal(sig)
                break
            time.sleep(0.01)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out, err


@pytest.mark.parametrize("workers, sig", [(1, signal.SIGTERM), (2, signal.SIGINT)])
def test_evm_batch_interrupted_keeps_finished_work_and_leaves_no_partial(tmp_path, workers, sig):
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(4):
        tiny_clip(src / f"v{i}.mp4", i)
    release = tmp_path / "release"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS)]), "BATCH_TEST_BLOCK": "v1.mp4",
           "BATCH_TEST_RELEASE": str(release)}  # fmt: skip
    cmd = [sys.executable, "-c", EVM_SCRIPT, "batch", str(src), str(out), "-q", "--workers", str(workers)]
    code, _, err = _interrupt_when_held(cmd, env, MANIFEST, "v1", sig, out)
    assert code == 128 + sig, err
    assert len(err.strip().splitlines()) == 1 and "finished work kept" in err and "Traceback" not in err
    assert partials(out) == []
    manifest = read_manifest(out / MANIFEST)
    assert manifest["v1.mp4"]["status"] == "interrupted" and not (out / "v1.mp4").exists()
    done = [k for k, r in manifest.items() if r["status"] == "done"]
    assert done and "v1.mp4" not in done
    for key in done:  # finished outputs are intact
        assert (out / key).read_bytes() == b"half " + (src / key).read_bytes()
    release.touch()
    result = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"{4 - len(done)} done, {len(done)} skipped" in result.stderr
    assert all(r["status"] == "done" for r in read_manifest(out / MANIFEST).values())
    for i in range(4):
        assert (out / f"v{i}.mp4").read_bytes() == b"half " + (src / f"v{i}.mp4").read_bytes()
    assert partials(out) == []


RUNNER_SCRIPT = """
import sys
from pathlib import Path
import batch_jobs, evm.batch
from cli.common import exit_status, handle_signals
evm.batch.TERMINATE_GRACE = 0.5
handle_signals()
src, out = Path(sys.argv[1]), Path(sys.argv[2])
jobs = [evm.batch.Job(p.name, str(p), str(out / p.name), {}) for p in sorted(src.iterdir())]
try:
    evm.batch.run_batch(jobs, batch_jobs.write_job, out, workers=2, progress=False)
except KeyboardInterrupt as exc:
    sys.exit(exit_status(exc))
"""


def test_a_worker_deaf_to_signals_is_killed_and_its_partial_removed(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i in range(3):
        (src / f"f{i}.bin").write_bytes(b"x")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS)]), "BATCH_TEST_BLOCK": "f1.bin",
           "BATCH_TEST_RELEASE": str(tmp_path / "never"), "BATCH_TEST_STUBBORN": "1"}  # fmt: skip
    cmd = [sys.executable, "-c", RUNNER_SCRIPT, str(src), str(out)]
    code, _, err = _interrupt_when_held(cmd, env, MANIFEST, "f1", signal.SIGTERM, out)
    assert code == 128 + signal.SIGTERM, err
    assert partials(out) == [] and read_manifest(out / MANIFEST)["f1.bin"]["status"] == "interrupted"


def test_antispoof_prepare_interrupted_the_same_way(tmp_path):
    src, cache = tmp_path / "in", tmp_path / "cache"
    src.mkdir()
    for i in range(3):
        (src / f"v{i}.mp4").write_bytes(f"video {i}".encode())
    release = tmp_path / "release"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS)]), "BATCH_TEST_BLOCK": "v1",
           "BATCH_TEST_RELEASE": str(release)}  # fmt: skip
    cmd = [sys.executable, "-c", PREPARE_SCRIPT, str(src), str(cache), "2"]
    code, _, err = _interrupt_when_held(cmd, env, f"*/{MANIFEST}", "v1", signal.SIGTERM, cache)
    assert code == 128 + signal.SIGTERM, err
    (cache_dir,) = cache.iterdir()
    assert partials(cache_dir) == [] and not (cache_dir / "videos" / "v1.npy").exists()
    assert read_manifest(cache_dir / MANIFEST)["v1"]["status"] == "interrupted"
    release.touch()
    result = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[2] == "0"  # nothing failed
    assert sorted(p.name for p in (cache_dir / "videos").iterdir()) == ["v0.npy", "v1.npy", "v2.npy"]
    assert partials(cache_dir) == []


def test_prepare_takes_the_lock_too(tmp_path):
    from antispoof.cache import PrepareConfig, prepare
    from antispoof.data.records import VideoRecord

    src = tmp_path / "in"
    src.mkdir()
    (src / "v0.mp4").write_bytes(b"x")
    records = [VideoRecord("replay-attack", "v0", src / "v0.mp4", 1, None, "001", "train")]
    dataset = SimpleNamespace(root=src)
    config = PrepareConfig()
    first = prepare(dataset, tmp_path / "cache", config, records=records, progress=False)  # fails: not a video
    assert first.failed == 1
    with FolderLock(first.cache_dir), pytest.raises(BatchLocked, match=str(first.cache_dir)):
        prepare(dataset, tmp_path / "cache", config, records=records, progress=False)
