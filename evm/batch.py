"""Resumable batch processing of many files, in parallel processes or on a Dask cluster.

The runner is generic: a list of :class:`Job` (one output file each) and a
top-level (picklable) function ``fn(job) -> dict`` that writes ``job.dst``
atomically.  ``evm batch`` magnifies video trees with it; ``antispoof prepare``
builds its clip cache with it.

Guarantees
----------
* A JSON-lines manifest in the output folder records, for every job, its status,
  parameters and their hash, timings and error.  Only the parent process appends
  to it, one flushed and fsynced line at a time: ``running`` when a job is handed
  to a worker, then ``done``, ``failed`` (the job raised), ``crashed`` (the process
  running it died: segfault, out of memory) or ``interrupted`` (Ctrl-C, SIGTERM).
* Re-running skips jobs already ``done`` with the same parameter hash whose
  output still exists, retries ``failed`` and ``interrupted`` ones, and holds back
  ``crashed`` ones (with the same parameters) unless ``retry_crashed``: a file that
  kills its worker never blocks the rest of the batch, on this run or the next.
* Two jobs never write one output: clashes are reported before any work.  An
  existing output that the manifest does not show this batch wrote is left alone
  and reported, unless ``overwrite``.
* One run per output folder: a lock file (``.manifest.lock``) makes a second run
  fail at once, naming the folder and the other run's PID.
* Killing the batch at any moment loses nothing and leaves no partial outputs
  under final names: outputs are written under temporary names and renamed when
  complete.  On SIGINT/SIGTERM (turned into ``KeyboardInterrupt`` by the caller)
  the workers remove their temporary files, and the parent removes those of jobs
  in flight; after ``kill -9`` the next run (holding the lock) removes the
  temporary files of its own outputs, and nobody else's.
* One bad file never stops the batch.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import hashlib
import json
import multiprocessing
import os
import re
import signal
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import wait as wait_for
from pathlib import Path, PurePosixPath

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no locks, no clean-up of stale partial files
    fcntl = None

#: File name of the manifest inside the output folder.
MANIFEST = "manifest.jsonl"
#: Lock file beside the manifest: held (flock) by the run working on the folder.
LOCK = ".manifest.lock"

#: Video containers found by default.  ``.ts`` is an MPEG transport stream (broadcast, HLS segments);
#: in a video tree it is that and not TypeScript.  Playlists (``.m3u8``), subtitles and images are
#: not videos.  Suffixes match in any case (``B.MP4``).
VIDEO_PATTERNS = (
    "*.mp4", "*.m4v", "*.mov", "*.avi", "*.mkv", "*.webm", "*.wmv", "*.asf", "*.flv",
    "*.mpg", "*.mpeg", "*.m2v", "*.ts", "*.mts", "*.m2ts", "*.3gp", "*.3g2", "*.mxf", "*.ogv",
)  # fmt: skip

#: Seconds a worker gets to remove its temporary file after SIGTERM before it is killed.
TERMINATE_GRACE = 10.0

_INTERRUPT_SIGNALS = (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM))


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
    failed: int  # includes crashed and interrupted-worker jobs of this run
    seconds: float
    failures: list[tuple[str, str]]  # (key, error)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (key, dst): an output batch did not write
    held_back: list[tuple[str, str]] = field(default_factory=list)  # (key, error): crashed a worker before

    @property
    def ok(self) -> bool:
        return self.failed == 0 and not self.refused and not self.held_back

    def as_dict(self) -> dict:
        return asdict(self)


class BatchLocked(ValueError):
    """Another run holds the output folder's lock."""


# --------------------------------------------------------------------------------------------- inputs


def _fold_suffix(name: str) -> str:
    """``name`` with its suffix (after the last dot) in lower case: suffixes match in any case."""
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}.{suffix.lower()}" if dot and "/" not in suffix else name


def _matches(rel: PurePosixPath, pattern: str) -> bool:
    pattern = _fold_suffix(pattern)
    if "/" in pattern:  # as Path.rglob: the pattern matches the end of the relative path
        return PurePosixPath(rel.parent, _fold_suffix(rel.name)).match(pattern)
    return fnmatch.fnmatchcase(_fold_suffix(rel.name), pattern)


def find_inputs(folder: str | os.PathLike, patterns: Sequence[str] = VIDEO_PATTERNS) -> list[Path]:
    """Files under ``folder`` matching any glob pattern (recursive, sorted, hidden files skipped).

    The suffix matches in any case (``*.mp4`` finds ``B.MP4``; the rest of the name as written).
    Symbolic links to files are followed, links to folders are not (no loops).
    """
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"{root}: not a folder")
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel_dir = PurePosixPath(Path(dirpath).relative_to(root).as_posix())
        for name in filenames:
            if name.startswith("."):
                continue
            rel = rel_dir / name
            if any(_matches(rel, p) for p in patterns) and (Path(dirpath) / name).is_file():
                found.append(Path(dirpath) / name)
    return sorted(found)


def output_clashes(jobs: Iterable[Job]) -> list[tuple[str, list[Job]]]:
    """Outputs that more than one job would write: ``[(dst, jobs)]``."""
    by_dst: dict[str, list[Job]] = {}
    for job in jobs:
        by_dst.setdefault(os.path.normcase(os.path.abspath(job.dst)), []).append(job)
    return [(group[0].dst, group) for group in by_dst.values() if len(group) > 1]


def check_clashes(jobs: Iterable[Job], hint: str = "") -> None:
    """Raise ValueError naming the inputs when two jobs would write one output (``hint``: the way out)."""
    clashes = output_clashes(jobs)
    if not clashes:
        return
    dst, group = clashes[0]
    names = " and ".join(j.key for j in group)
    more = f" (and {len(clashes) - 1} more such outputs)" if len(clashes) > 1 else ""
    raise ValueError(f"{names} would both be written to {dst}{more}; nothing was done{hint}")


# ------------------------------------------------------------------------------------------- manifest


def read_manifest(path: str | os.PathLike) -> dict[str, dict]:
    """Last record per job key; lines cut short by a kill are ignored."""
    return _scan_manifest(path)[0]


def _scan_manifest(path: str | os.PathLike) -> tuple[dict[str, dict], set[tuple[str, str]]]:
    """(last record per key, the (key, output file name) pairs this batch wrote or was writing)."""
    latest: dict[str, dict] = {}
    owned: set[tuple[str, str]] = set()
    path = Path(path)
    if not path.exists():
        return latest, owned
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and isinstance(record.get("key"), str):
                latest[record["key"]] = record
                if record.get("status") in ("done", "running") and record.get("dst"):
                    owned.add((record["key"], Path(str(record["dst"])).name))
    return latest, owned


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


# -------------------------------------------------------------------------------------- locks, partials


class FolderLock:
    """Exclusive, non-blocking ``flock`` on ``out_dir/.manifest.lock``: one run per output folder.

    Raises :class:`BatchLocked` (a ValueError) naming the folder and the holder's PID when taken.
    On a file system without locks the run goes on unlocked (``held`` is False) and removes no
    stale temporary files.
    """

    def __init__(self, out_dir: str | os.PathLike) -> None:
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / LOCK
        self.held = False
        self._fd: int | None = None

    def acquire(self) -> FolderLock:
        if fcntl is None:
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                os.close(fd)  # no locks on this file system (ENOLCK, EOPNOTSUPP): go on without
                return self
            holder = _lock_holder(fd)
            os.close(fd)
            who = f" (PID {holder})" if holder else ""
            raise BatchLocked(
                f"{self.out_dir}: another batch{who} is working on this folder; wait for it to finish or stop it"
            ) from None
        self._fd, self.held = fd, True  # nothing is written to the file: a rerun that skips all changes nothing
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd, self.held = None, False

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _lock_holder(fd: int) -> int | None:
    """PID of the process holding the flock on ``fd``'s file, from Linux's /proc/locks (else None)."""
    try:
        st = os.fstat(fd)
        with open("/proc/locks", encoding="ascii", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    exact, same_inode = [], []
    for line in lines:
        parts = line.split()
        if len(parts) < 6 or parts[1] != "FLOCK" or parts[0] == "->":
            continue  # a process waiting for the lock, not holding it
        dev, _, inode = parts[5].rpartition(":")
        if inode == str(st.st_ino):
            same_inode.append(int(parts[4]))
            if dev == f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}":
                exact.append(int(parts[4]))
    holders = exact or (same_inode if len(same_inode) == 1 else [])
    return holders[0] if holders else None


@contextlib.contextmanager
def _writing_in(folder: str | os.PathLike):
    """Shared ``flock`` on a destination folder while a job writes there: tells a clean-up in
    another run (an output folder nested in this one) that temporary files there are alive."""
    fd = None
    if fcntl is not None:
        with contextlib.suppress(OSError):
            fd = os.open(folder, os.O_RDONLY)
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)


def _nobody_writing_in(folder: Path) -> bool:
    """True when no job of any run is writing in ``folder`` now (see :func:`_writing_in`)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # releases the lock


_PARTIAL = re.compile(r"^\.(?P<stem>.+)\.[A-Za-z0-9_]+\.partial(?P<suffix>(\.[^.]*)?)$")


def remove_partials(dsts: Iterable[str | os.PathLike]) -> int:
    """Delete the temporary files of these outputs (``.<stem>.<random>.partial<suffix>`` beside each,
    as :func:`evm.io.atomic_output` names them), in folders where no job is writing now.

    Only the named outputs' temporary files go: other files in the folders are not touched.
    """
    by_folder: dict[Path, set[str]] = {}
    for dst in dsts:
        dst = Path(dst)
        by_folder.setdefault(dst.parent, set()).add(dst.name)
    count = 0
    for folder, names in by_folder.items():
        if not folder.is_dir() or not _nobody_writing_in(folder):
            continue
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in entries:
                match = _PARTIAL.match(entry.name)
                if match and match["stem"] + match["suffix"] in names and entry.is_file(follow_symlinks=False):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                        count += 1
    return count


# ---------------------------------------------------------------------------------------------- plan


@dataclass
class Plan:
    """What a run will do with each job (see :func:`plan_jobs`)."""

    todo: list[Job]
    skipped: list[Job]  # done before, with the same parameters, output present
    held_back: list[tuple[Job, str]]  # crashed a worker before (with the same parameters): (job, error)
    refused: list[Job]  # the output exists and this batch did not write it


def plan_jobs(
    jobs: Iterable[Job], out_dir: str | os.PathLike, *, overwrite: bool = False, retry_crashed: bool = False
) -> Plan:
    """Sort jobs by what the manifest in ``out_dir`` and the existing outputs say."""
    latest, owned = _scan_manifest(Path(out_dir) / MANIFEST)
    plan = Plan([], [], [], [])
    for job in jobs:
        record = latest.get(job.key) or {}
        status, same = record.get("status"), record.get("params_hash") == job.params_hash
        name = Path(job.dst).name
        if status == "done" and same and Path(str(record.get("dst", ""))).name == name and Path(job.dst).exists():
            plan.skipped.append(job)
        elif (
            not retry_crashed
            and same
            and (status == "crashed" or (status == "running" and record.get("runner") == "inline"))
        ):
            plan.held_back.append((job, record.get("error") or "the batch died while processing it"))
        elif not overwrite and os.path.lexists(job.dst) and (job.key, name) not in owned:
            plan.refused.append(job)
        else:
            plan.todo.append(job)
    return plan


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


# -------------------------------------------------------------------------------------------- records


def _base_record(job: Job) -> dict:
    return {"key": job.key, "src": job.src, "dst": job.dst, "params": job.params, "params_hash": job.params_hash}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def _call(fn: Callable[[Job], dict], job: Job) -> dict:
    """Run one job; never raises but KeyboardInterrupt (errors become a failed record)."""
    t0 = time.time()
    record = _base_record(job)
    try:
        with _writing_in(Path(job.dst).parent):
            info = fn(job) or {}
        record.update(status="done", **{k: v for k, v in info.items() if k not in record})
    except BaseException as exc:  # noqa: BLE001 - one bad file never stops the batch
        if isinstance(exc, KeyboardInterrupt):
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        record.update(status="failed", error=f"{type(exc).__name__}: {message}")
        if not isinstance(exc, (ValueError, OSError)) and type(exc).__name__ != "VideoError":
            record["traceback"] = traceback.format_exc(limit=8)
    record.update(seconds=round(time.time() - t0, 3), finished=_now())
    return record


def _call_strict(fn: Callable[[Job], dict], job: Job) -> dict:
    """Like ``_call`` but raises on failure, so that a cluster can retry the job elsewhere."""
    record = _call(fn, job)
    if record["status"] != "done":
        raise RuntimeError(record.get("error", "failed"))
    return record


def _status_record(job: Job, status: str, error: str) -> dict:
    return {**_base_record(job), "status": status, "error": error, "finished": _now()}


def _failed_record(job: Job, error: str) -> dict:
    return _status_record(job, "failed", error)


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-exitcode).name}"
        return f"killed by signal {-exitcode}"
    return f"exit status {exitcode}"


# -------------------------------------------------------------------------------------------- runner


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
    overwrite: bool = False,
    retry_crashed: bool = False,
) -> BatchSummary:
    """Run ``fn`` over ``jobs``, skipping finished ones, recording everything in the manifest.

    Parameters
    ----------
    jobs : sequence of Job
        Keys and outputs must be unique (ValueError naming the inputs otherwise, before any work).
    fn : callable
        Top-level function ``fn(job) -> dict`` (extra fields for the manifest, e.g.
        frame counts); it must write ``job.dst`` atomically and overwrite it.
    out_dir : path-like
        Holds the manifest (created) and its lock: a second run on it raises :class:`BatchLocked`.
    workers : int
        Parallel processes (``executor="process"``); each gets ``cores // workers``
        Numba threads so that workers x threads = cores.  Even one worker is a child process,
        so that a file that kills it (segfault, out of memory) fails alone.
    executor : {"process", "dask", "inline"}
        ``"dask"`` submits the same ``fn`` to a Dask distributed cluster at
        ``scheduler`` (an address, or None for a local cluster), with ``retries``.
        ``"inline"`` runs the jobs one by one in this process (debugging).
    progress : bool
        tqdm bar on stderr.
    on_record : callable, optional
        Called with each finished record (in the parent).
    overwrite : bool
        Replace existing outputs that the manifest does not show this batch wrote (default: leave
        them and report them in ``refused``).
    retry_crashed : bool
        Run again the jobs whose process died in an earlier run (default: hold them back).

    Returns
    -------
    BatchSummary

    Raises
    ------
    KeyboardInterrupt
        Passed on after the workers stopped, the jobs in flight were recorded ``interrupted``
        and their temporary files removed.
    """
    keys = [j.key for j in jobs]
    if len(set(keys)) != len(keys):
        raise ValueError("job keys must be unique")
    check_clashes(jobs)
    if executor not in ("process", "dask", "inline"):
        raise ValueError(f"executor must be 'process', 'dask' or 'inline', got {executor!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with FolderLock(out_dir) as lock:
        if lock.held:  # no other run of this folder: the temporary files of its outputs are leftovers
            remove_partials(j.dst for j in jobs)
        plan = plan_jobs(jobs, out_dir, overwrite=overwrite, retry_crashed=retry_crashed)
        todo = plan.todo
        for job in todo:
            Path(job.dst).parent.mkdir(parents=True, exist_ok=True)
        t0 = time.time()
        done = failed = 0
        failures: list[tuple[str, str]] = []
        bar = None
        if progress and todo:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(todo), unit="file", desc="batch")
        runner = executor
        unfinished: list[str] = []

        with Manifest(out_dir / MANIFEST) as manifest:

            def start(job: Job) -> None:
                manifest.append({**_base_record(job), "status": "running", "runner": runner, "started": _now()})

            def finish(record: dict) -> None:
                nonlocal done, failed
                manifest.append(record)
                if record["status"] == "done":
                    done += 1
                else:
                    failed += 1
                    unfinished.append(record["dst"])
                    failures.append((record["key"], record.get("error", "")))
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(failed=failed)
                if on_record is not None:
                    on_record(record)

            def interrupted(in_flight: Iterable[Job], why: str) -> None:
                # Not the files' fault: recorded so that the next run retries them normally.
                in_flight = list(in_flight)
                for job in in_flight:
                    with contextlib.suppress(Exception):
                        manifest.append(_status_record(job, "interrupted", f"interrupted ({why})"))
                remove_partials(j.dst for j in in_flight)

            try:
                if executor == "dask":
                    _run_dask(todo, fn, scheduler, retries, start, finish, interrupted)
                elif executor == "inline":
                    _run_inline(todo, fn, start, finish, interrupted)
                elif todo:
                    _run_processes(todo, fn, workers, start, finish, interrupted)
                # Every worker has stopped: what a crashed one left behind can go now (while they ran,
                # the folders were busy and only the next run could have removed it).
                remove_partials(unfinished)
            finally:
                if bar is not None:
                    bar.close()
    return BatchSummary(
        len(jobs),
        len(plan.skipped),
        done,
        failed,
        round(time.time() - t0, 3),
        failures,
        refused=[(j.key, j.dst) for j in plan.refused],
        held_back=[(j.key, error) for j, error in plan.held_back],
    )


def _run_inline(todo: list[Job], fn, start, finish, interrupted) -> None:
    for job in todo:
        start(job)
        try:
            record = _call(fn, job)
        except KeyboardInterrupt as exc:
            interrupted([job], _why(exc))
            raise
        finish(record)


def _why(exc: BaseException) -> str:
    return exc.args[0] if exc.args and isinstance(exc.args[0], str) else type(exc).__name__


# ------------------------------------------------------------------------------------ worker processes


def _init_worker(threads: int) -> None:
    try:
        import numba

        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
        from ._kernels import skip_blas_probe

        skip_blas_probe()  # a worker is a process evm owns (see there)
    except Exception:  # noqa: BLE001 - a worker without numba still works
        pass


def _worker_signal(signum, frame) -> None:
    # The first SIGINT/SIGTERM/SIGHUP unwinds the job (atomic_output removes its temporary file);
    # later ones are ignored so that they do not cut that clean-up short.
    for sig in _INTERRUPT_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _die_with_parent(parent: int) -> None:
    """Linux: SIGTERM this worker when the batch process dies (even by SIGKILL): no orphan keeps
    writing into a folder that the next run owns."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the request
        os.kill(os.getpid(), signal.SIGTERM)


def _worker_main(conn, fn, threads: int, parent: int) -> None:
    """A worker process: take jobs from ``conn`` one at a time, answer with their records."""
    try:
        for sig in _INTERRUPT_SIGNALS:
            if signal.getsignal(sig) is not signal.SIG_IGN:
                signal.signal(sig, _worker_signal)
        _die_with_parent(parent)
        _init_worker(threads)
        conn.send(("ready",))
        while True:
            job = conn.recv()
            if job is None:
                return
            try:
                record = _call(fn, job)
            except KeyboardInterrupt as exc:
                with contextlib.suppress(Exception):
                    conn.send(("interrupted", job.key, _why(exc)))
                return
            try:
                conn.send(("record", record))
            except (KeyboardInterrupt, OSError):
                raise
            except Exception as exc:  # noqa: BLE001 - e.g. fn returned something that does not pickle
                record = {k: record[k] for k in ("key", "src", "dst", "params", "params_hash", "seconds", "finished")}
                conn.send(("record", {**record, "status": "failed", "error": f"unusable result: {exc}"}))
    except (KeyboardInterrupt, EOFError, OSError):
        return  # stopped while idle, or the parent is gone


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: object
    ready: bool = False
    job: Job | None = None


def _start_worker(ctx, fn, threads: int) -> _Worker:
    parent_conn, child_conn = ctx.Pipe()
    process = ctx.Process(target=_worker_main, args=(child_conn, fn, threads, os.getpid()), name="evm-batch-worker")
    process.start()
    child_conn.close()
    return _Worker(process, parent_conn)


def _stop_workers(pool: list[_Worker], grace: float) -> None:
    """SIGTERM every worker (they remove their temporary files and exit), SIGKILL those still alive."""
    for w in pool:
        with contextlib.suppress(Exception):
            w.process.terminate()
    deadline = time.monotonic() + grace
    for w in pool:
        w.process.join(max(0.0, deadline - time.monotonic()))
        if w.process.is_alive():
            with contextlib.suppress(Exception):
                w.process.kill()
            w.process.join()


def spawn_context() -> multiprocessing.context.BaseContext:
    """The start method of every worker process of both packages: ``spawn``.

    ``fork`` (Linux's default) copies a parent whose OpenMP/Numba or torch threads may hold locks: the child
    can deadlock. A spawned child starts a fresh interpreter and imports what it needs.
    """
    return multiprocessing.get_context("spawn")


def process_pool(workers: int, *, initializer: Callable | None = None, initargs: tuple = ()):
    """A :class:`concurrent.futures.ProcessPoolExecutor` of ``workers`` spawned processes (:func:`spawn_context`).

    The functions submitted, and ``initializer``, must be importable module-level functions.
    """
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(workers, mp_context=spawn_context(), initializer=initializer, initargs=initargs)


def _run_processes(todo: list[Job], fn, workers: int, start, finish, interrupted) -> None:
    """Run ``todo`` in ``workers`` spawned processes, one job per process at a time.

    The parent knows which job each process holds: a process that dies fails that job alone
    (``crashed``), a new process takes its place, and the others go on.
    """
    threads = max(1, (os.cpu_count() or 1) // workers)
    ctx = spawn_context()
    pending = list(reversed(todo))
    pool: list[_Worker] = []
    try:
        while pending or any(w.job is not None for w in pool):
            while len(pool) < min(workers, len(pending) + sum(w.job is not None for w in pool)):
                pool.append(_start_worker(ctx, fn, threads))
            for w in pool:
                if w.ready and w.job is None and pending:
                    job = pending.pop()
                    start(job)
                    w.job = job
                    try:
                        w.conn.send(job)
                    except OSError:  # the process died while idle: the job goes to another one
                        w.job = None
                        pending.append(job)
            ready = wait_for([w.conn for w in pool] + [w.process.sentinel for w in pool])
            for w in list(pool):
                if w.conn in ready or w.process.sentinel in ready:
                    if not _serve(w, finish):
                        pool.remove(w)
    except BaseException as exc:
        _stop_workers(pool, TERMINATE_GRACE)
        for w in pool:  # records sent before the stop are kept: that work is finished
            with contextlib.suppress(Exception):
                while w.job is not None and w.conn.poll():
                    message = w.conn.recv()
                    if message[0] == "record":
                        w.job = None
                        finish(message[1])
        interrupted([w.job for w in pool if w.job is not None], _why(exc))
        raise
    finally:
        for w in pool:
            with contextlib.suppress(Exception):
                w.conn.send(None)  # no more work: the process exits
    for w in pool:
        w.process.join(TERMINATE_GRACE)
    _stop_workers(pool, TERMINATE_GRACE)


def _serve(w: _Worker, finish) -> bool:
    """Read what worker ``w`` sent; False once it is gone (its job, if any, recorded)."""
    try:
        while w.conn.poll():
            message = w.conn.recv()
            if message[0] == "ready":
                w.ready = True
            elif message[0] == "record":
                w.job = None
                finish(message[1])
            elif message[0] == "interrupted":  # stopped by a signal of its own: retried next run
                job, w.job = w.job, None
                finish(_status_record(job, "interrupted", f"interrupted ({message[2]})"))
    except (EOFError, OSError):
        w.process.join(TERMINATE_GRACE)  # the pipe closed: the process is ending
    if w.process.is_alive():
        return True
    w.process.join()
    code = w.process.exitcode
    if not w.ready:
        raise RuntimeError(f"a batch worker process could not start ({_death(code)}); see the messages above")
    if w.job is not None:
        job, w.job = w.job, None
        if code is not None and -code in {int(s) for s in _INTERRUPT_SIGNALS}:
            remove_partials([job.dst])  # stopped from outside: not the file's fault
            finish(_status_record(job, "interrupted", f"interrupted (worker {_death(code)})"))
        else:
            remove_partials([job.dst])
            finish(
                _status_record(
                    job,
                    "crashed",
                    f"the worker process died on this file ({_death(code)})",
                )
            )
    with contextlib.suppress(Exception):
        w.conn.close()
    return False


# ------------------------------------------------------------------------------------------------ dask


def _run_dask(todo: list[Job], fn, scheduler: str | None, retries: int, start, finish, interrupted) -> None:
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
    in_flight: dict[str, Job] = {}
    try:
        for job in todo:
            start(job)
            in_flight[job.key] = job
        futures = client.map(_call_strict, [fn] * len(todo), todo, retries=retries, pure=False)
        jobs = dict(zip(futures, todo))
        for future in as_completed(futures):
            try:
                record = future.result()
            except Exception as exc:  # noqa: BLE001 - failed after its retries
                record = _failed_record(jobs[future], " ".join(str(exc).split()) or type(exc).__name__)
            in_flight.pop(record["key"], None)
            finish(record)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            interrupted(in_flight.values(), _why(exc))
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
