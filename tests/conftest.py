import sys
from pathlib import Path

import numpy as np
import pytest

# tests/naive.py is imported as a plain module by the tests.
sys.path.insert(0, str(Path(__file__).parent))

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def shared_videos():
    folder = SHARED / "data" / "videos"
    if not folder.is_dir():
        pytest.skip("../shared/data/videos is not present")
    return folder
