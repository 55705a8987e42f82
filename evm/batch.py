"""Resumable batch processing of many files, in parallel processes or on a Dask cluster.

The runner is generic: a list of :class:`Job` (one output file each) and a
top-level (picklable) function ``fn(job) -> dict`` that writes ``job.dst``
atomically.  ``evm batch`` magnifies video trees with it; ``antispoof prepare``
builds its clip cache with it.

Guarantees
----------
* A JSON-lines manifest in the output folder records, for every job, its status
  (``done``/``failed``), parameters and their hash, timings and error.  Only the
  parent process appends to it, one flushed and fsynced line per finished job.
* Re-running skips jobs already ``done`` with the same parameter hash whose
  output still exists, and retries failed ones.
* Killing the batch at any moment loses nothing and leaves no partial outputs
  under final names: outputs are written under temporary names and renamed when
  complete; stale temporary files of a killed run are removed at the next start.
* One bad file never stops the batch.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import json
import multiprocessing
import os
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: File name of the manifest inside the output folder.
MANIFEST = "manifest.jsonl"

VIDEO_PATTERNS = ("*.mp4", "*.mov", "*.avi", "*.mkv", "*.m4v", "*.webm", "*.mpg", "*.mpeg", "*.wmv", "*.flv")


@dataclass(frozen=True)
class Job:
    """One unit of work: read ``src``, write ``dst`` (atomically) with ``params``."""

    key: str  # stable identity, e.g. the input path relative to the input folder
    src: str
    dst: str
    params: dict = field(default_factory=dict)

    @property
    def params_hash(self) -> str:
        return params_hash(self.params)


def params_hash(params: dict) -> str:
    """Short stable hash of JSON-serialisable parameters."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


@dataclass
class BatchSummary:
    total: int
    skipped: int
    done: int
    failed: int
    seconds: float
    failures: list[tuple[str, str]]  # (key, error)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def as_dict(self) -> dict:
        return asdict(self)


def find_inputs(folder: str | os.PathLike, patterns: Sequence[str] = VIDEO_PATTERNS) -> list[Path]:
    """Files under ``folder`` matching any glob pattern (recursive, sorted, hidden files skipped)."""
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"{root}: not a folder")
    found = set()
    for pattern in patterns:
        for path in root.rglob(pattern):
            rel = path.relative_to(root)
            if path.is_file() and not any(part.startswith(".") for part in rel.parts):
                found.add(path)
    return sorted(found)


def read_manifest(path: str | os.PathLike) -> dict[str, dict]:
    """Last record per job key; lines cut short by a kill are ignored."""
    latest: dict[str, dict] = {}
    path = Path(path)
    if not path.exists():
        return latest
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and "key" in record:
                latest[record["key"]] = record
    return latest


class Manifest:
    """Append-only JSON-lines log, written by one process, each line flushed and fsynced."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair()
        self._fh = open(self.path, "a", encoding="utf-8")

    def _repair(self) -> None:
        # A kill during a write can leave a last line without its newline: terminate it so the
        # next record starts on a line of its own (the broken line is ignored when read).
        if self.path.exists() and self.path.stat().st_size:
            with open(self.path, "rb+") as fh:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    fh.write(b"\n")

    def append(self, record: dict) -> None:
        self._fh.write(json.dumps(record, sort_keys=True, default=str) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def remove_stale_partials(folder: str | os.PathLike) -> int:
    """Delete temporary files a killed run left behind (``.<stem>.<random>.partial<suffix>``)."""
    count = 0
    root = Path(folder)
    if not root.is_dir():
        return 0
    for path in root.rglob(".*.partial*"):
        if path.is_file():
            with contextlib.suppress(OSError):
                path.unlink()
                count += 1
    return count


def pending_jobs(jobs: Iterable[Job], manifest: dict[str, dict]) -> tuple[list[Job], list[Job]]:
    """Split jobs into (to run, already done with the same parameters and output present)."""
    todo, skipped = [], []
    for job in jobs:
        record = manifest.get(job.key)
        if (
            record is not None
            and record.get("status") == "done"
            and record.get("params_hash") == job.params_hash
            and Path(job.dst).exists()
        ):
            skipped.append(job)
        else:
            todo.append(job)
    return todo, skipped


def _call(fn: Callable[[Job], dict], job: Job) -> dict:
    """Run one job in a worker; never raises (errors become a failed record)."""
    t0 = time.time()
    record = {"key": job.key, "src": job.src, "dst": job.dst, "params": job.params, "params_hash": job.params_hash}
    try:
        info = fn(job) or {}
        record.update(status="done", **{k: v for k, v in info.items() if k not in record})
    except BaseException as exc:  # noqa: BLE001 - one bad file never stops the batch
        if isinstance(exc, KeyboardInterrupt):
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        record.update(status="failed", error=f"{type(exc).__name__}: {message}")
        if not isinstance(exc, (ValueError, OSError)) and type(exc).__name__ != "VideoError":
            record["traceback"] = traceback.format_exc(limit=8)
    record.update(seconds=round(time.time() - t0, 3), finished=time.strftime("%Y-%m-%dT%H:%M:%S"))
    return record


def _call_strict(fn: Callable[[Job], dict], job: Job) -> dict:
    """Like ``_call`` but raises on failure, so that a cluster can retry the job elsewhere."""
    record = _call(fn, job)
    if record["status"] != "done":
        raise RuntimeError(record.get("error", "failed"))
    return record


def _failed_record(job: Job, error: str) -> dict:
    return {
        "key": job.key,
        "src": job.src,
        "dst": job.dst,
        "params": job.params,
        "params_hash": job.params_hash,
        "status": "failed",
        "error": error,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def _init_worker(threads: int) -> None:
    try:
        import numba

        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    except Exception:  # noqa: BLE001 - a worker without numba still works
        pass


def run_batch(
    jobs: Sequence[Job],
    fn: Callable[[Job], dict],
    out_dir: str | os.PathLike,
    *,
    workers: int = 1,
    executor: str = "process",
    scheduler: str | None = None,
    retries: int = 0,
    progress: bool = True,
    on_record: Callable[[dict], None] | None = None,
) -> BatchSummary:
    """Run ``fn`` over ``jobs``, skipping finished ones, recording everything in the manifest.

    Parameters
    ----------
    jobs : sequence of Job
        Keys must be unique.
    fn : callable
        Top-level function ``fn(job) -> dict`` (extra fields for the manifest, e.g.
        frame counts); it must write ``job.dst`` atomically and overwrite it.
    out_dir : path-like
        Holds the manifest (created).
    workers : int
        Parallel processes (``executor="process"``); each gets ``cores // workers``
        Numba threads so that workers x threads = cores.  1 runs in this process.
    executor : {"process", "dask"}
        ``"dask"`` submits the same ``fn`` to a Dask distributed cluster at
        ``scheduler`` (an address, or None for a local cluster), with ``retries``.
    progress : bool
        tqdm bar on stderr.
    on_record : callable, optional
        Called with each finished record (in the parent).

    Returns
    -------
    BatchSummary
    """
    keys = [j.key for j in jobs]
    if len(set(keys)) != len(keys):
        raise ValueError("job keys must be unique")
    if executor not in ("process", "dask"):
        raise ValueError(f"executor must be 'process' or 'dask', got {executor!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for folder in {Path(j.dst).parent for j in jobs} | {out_dir}:
        remove_stale_partials(folder)
    todo, skipped = pending_jobs(jobs, read_manifest(out_dir / MANIFEST))
    for job in todo:
        Path(job.dst).parent.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    done = failed = 0
    failures: list[tuple[str, str]] = []
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), unit="file", desc="batch")

    with Manifest(out_dir / MANIFEST) as manifest:

        def finish(record: dict) -> None:
            nonlocal done, failed
            manifest.append(record)
            if record["status"] == "done":
                done += 1
            else:
                failed += 1
                failures.append((record["key"], record.get("error", "")))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(failed=failed)
            if on_record is not None:
                on_record(record)

        try:
            if executor == "dask":
                _run_dask(todo, fn, scheduler, retries, finish)
            elif workers == 1 or len(todo) <= 1:
                for job in todo:
                    finish(_call(fn, job))
            else:
                _run_processes(todo, fn, workers, finish)
        finally:
            if bar is not None:
                bar.close()
    return BatchSummary(len(jobs), len(skipped), done, failed, round(time.time() - t0, 3), failures)


def _run_processes(todo: list[Job], fn, workers: int, finish) -> None:
    threads = max(1, (os.cpu_count() or 1) // workers)
    ctx = multiprocessing.get_context("spawn")  # fork after OpenMP/Numba threads start is unsafe
    pool = cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(threads,))
    try:
        futures = {pool.submit(_call, fn, job): job for job in todo}
        for future in cf.as_completed(futures):
            job = futures[future]
            try:
                record = future.result()
            except Exception as exc:  # noqa: BLE001 - a worker died (e.g. out of memory)
                record = _failed_record(job, f"worker died: {type(exc).__name__}: {exc}")
            finish(record)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in list(getattr(pool, "_processes", {}).values()):
            with contextlib.suppress(Exception):
                proc.terminate()
        raise
    pool.shutdown(wait=True)


def _run_dask(todo: list[Job], fn, scheduler: str | None, retries: int, finish) -> None:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ValueError("the dask executor needs the 'dask' extra: pip install 'evm-antispoof[dask]'") from None
    cluster = None
    if scheduler:
        client = Client(scheduler, timeout="30s")
    else:
        cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
        client = Client(cluster)
    try:
        futures = client.map(_call_strict, [fn] * len(todo), todo, retries=retries, pure=False)
        jobs = dict(zip(futures, todo))
        for future in as_completed(futures):
            try:
                record = future.result()
            except Exception as exc:  # noqa: BLE001 - failed after its retries
                record = _failed_record(jobs[future], " ".join(str(exc).split()) or type(exc).__name__)
            finish(record)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
