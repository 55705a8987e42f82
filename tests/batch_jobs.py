"""Cheap top-level job functions for the batch runner tests (spawned workers import this module).

:func:`write_job` writes ``job.dst`` through :func:`evm.io.atomic_output`, as real jobs do: the
bytes ``half `` and then the input's bytes.  ``job.params`` (or the environment, for jobs whose
parameters a command builds) says what to do with which file:

* ``crash``: {key: "exit" | "kill" | "kill-mid"}: ``os._exit(1)`` or SIGKILL itself instead of writing
  (or once its temporary file is half written), while the file ``crash_flag`` exists (always when no
  flag is given).
* ``block`` (or ``$BATCH_TEST_BLOCK``): key whose job writes half its temporary file, then waits until
  the file ``release`` (``$BATCH_TEST_RELEASE``) exists: the test interrupts the batch meanwhile.
  With ``$BATCH_TEST_STUBBORN`` set it ignores SIGINT and SIGTERM while it waits.
* ``fail``: key that raises ValueError.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from evm.io import atomic_output


def write_job(job) -> dict:
    params = job.params
    how = params.get("crash", {}).get(job.key)
    flag = params.get("crash_flag")
    crash = how and (flag is None or Path(flag).exists())
    if crash and how != "kill-mid":
        if how == "exit":
            os._exit(1)
        os.kill(os.getpid(), signal.SIGKILL)
    if params.get("fail") == job.key:
        raise ValueError(f"{job.src}: bad input")
    block = params.get("block", os.environ.get("BATCH_TEST_BLOCK"))
    release = params.get("release", os.environ.get("BATCH_TEST_RELEASE"))
    data = Path(job.src).read_bytes()
    with atomic_output(job.dst, overwrite=True) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(b"half ")
            fh.flush()
            if crash:  # "kill-mid": dies with its temporary file half written
                os.kill(os.getpid(), signal.SIGKILL)
            if block == job.key:
                if os.environ.get("BATCH_TEST_STUBBORN"):  # a worker deaf to signals: the parent must clean up
                    for sig in (signal.SIGINT, signal.SIGTERM):
                        signal.signal(sig, signal.SIG_IGN)
                while not Path(release).exists():  # the test sends its signal while this file is half written
                    time.sleep(0.01)
            fh.write(data)
    # the fields antispoof.cache.write_index reads, so that antispoof prepare can run this job too
    return {"pid": os.getpid(), "video_id": job.key, "frames_decoded": 1, "fps": 25.0, "clip_starts": [0],
            "frames_stored": 1, "box": [0.0, 0.0, 1.0, 1.0], "bytes": len(data) + 5}  # fmt: skip
