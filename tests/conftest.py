import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# tests/naive.py is imported as a plain module by the tests.
sys.path.insert(0, str(Path(__file__).parent))

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture
def torch_one_thread():
    """One intra-op torch thread for the test, restored afterwards: the 2-core machine is shared and
    oversubscribed torch threads stall tiny training steps (1.3 s against 25 ms measured)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def shared_videos():
    folder = SHARED / "data" / "videos"
    if not folder.is_dir():
        pytest.skip("../shared/data/videos is not present")
    return folder


# Property-based tests draw their examples from a fixed seed (derandomize): the same examples on
# every run and machine, so a failure is reproducible and never a matter of luck.
settings.register_profile(
    "evm", derandomize=True, database=None, deadline=None, max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)  # fmt: skip
settings.load_profile("evm")


def default_sigint() -> None:
    """``preexec_fn`` for a child the test interrupts: a shell starts background jobs (a CI script's
    pytest among them) with SIGINT ignored, and children inherit that; Ctrl-C must reach this one."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
