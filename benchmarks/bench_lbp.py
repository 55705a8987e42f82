"""Speed of the LBP / LBP-TOP feature kernels and of the two SVM baselines.

    python benchmarks/bench_lbp.py [--frames 32] [--size 224] [--quick]

Prints one table:

* frames/s of the per-frame LBP^{u2}_{8,1} histograms (``lbp_features``, RGB clip
  in, gray conversion included) and of scikit-image's ``local_binary_pattern``
  plus ``np.bincount`` on the same gray frames (one thread), and the ratio;
* clips/s of the LBP-TOP feature (``lbp_top_features``) and of the slice-by-slice
  scikit-image reference the tests use;
* fit and score time of ``LBPSVM`` / ``LBPTOPSVM`` on a small synthetic set.

Timings exclude Numba compilation (one warm-up call first).  Nothing is asserted.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from antispoof.baselines import LBPSVM, LBPTOPSVM, lbp  # noqa: E402


def best_of(fn, repeat: int) -> float:
    """Fastest of ``repeat`` runs, in seconds (the machine may be shared)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def make_clip(rng, frames: int, size: int, bona_fide: bool = True) -> np.ndarray:
    """(T, 3, size, size) float32 in [0, 1]: smooth shading plus texture (static for 'attacks')."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    face = 0.3 + 0.3 * np.sin(3 * xx + rng.uniform(0, 3)) * np.cos(2 * yy)
    noise = rng.standard_normal((frames if bona_fide else 1, size, size)) * (0.05 if bona_fide else 0.02)
    gray = np.clip(face + noise, 0, 1) * np.ones((frames, 1, 1))
    return np.repeat(gray[:, None], 3, axis=1).astype(np.float32)


def skimage_frames(gray: np.ndarray) -> np.ndarray:
    from skimage.feature import local_binary_pattern

    out = np.empty((len(gray), lbp.N_BINS))
    for t, g in enumerate(gray):
        codes = local_binary_pattern(g, 8, 1, method="nri_uniform")[1:-1, 1:-1].astype(np.int64)
        out[t] = np.bincount(codes.ravel(), minlength=lbp.N_BINS) / codes.size
    return out


def skimage_top(gray: np.ndarray) -> np.ndarray:
    T, H, W = gray.shape
    planes = [[gray[t] for t in range(T)], [gray[:, y, :] for y in range(H)], [gray[:, :, x] for x in range(W)]]
    return np.concatenate([skimage_frames(np.stack(p)).mean(0) for p in planes])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=32, help="frames per clip")
    ap.add_argument("--size", type=int, default=224, help="frame side (the paper resizes to 224)")
    ap.add_argument("--quick", action="store_true", help="fewer repeats, smaller SVM set")
    args = ap.parse_args()
    repeat = 2 if args.quick else 5
    rng = np.random.default_rng(0)
    clip = make_clip(rng, args.frames, args.size)
    gray = lbp.rgb_to_gray(clip)
    T, S = args.frames, args.size

    cpu = platform.processor() or platform.machine()
    print(f"# {cpu}, numba threads: {numba.get_num_threads()}, clip {T}x{S}x{S} RGB")
    rows = []

    lbp.lbp_features(clip)  # compile / load the cache
    ours = best_of(lambda: lbp.lbp_features(clip), repeat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = best_of(lambda: skimage_frames(gray), max(1, repeat // 2))
    rows.append(("LBP u2 8,1 frame histograms", f"{T / ours:9.0f} frames/s", f"{T / ref:9.0f} frames/s", ref / ours))

    lbp.lbp_top_features(clip)
    ours = best_of(lambda: lbp.lbp_top_features(clip), repeat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = best_of(lambda: skimage_top(gray), 1)
    rows.append(("LBP-TOP feature per clip", f"{1 / ours:9.1f} clips/s ", f"{1 / ref:9.2f} clips/s ", ref / ours))

    print(f"{'operation':36s} {'ours':>18s} {'scikit-image':>18s} {'speed-up':>9s}")
    for name, a, b, r in rows:
        print(f"{name:36s} {a:>18s} {b:>18s} {r:8.1f}x")

    # SVM baselines on a synthetic set (1 bona fide : 5 attacks, like Replay-Attack)
    n_bona = 4 if args.quick else 10
    small = max(3, T // 2)
    labels = np.array([1] * n_bona + [0] * 5 * n_bona)
    clips = [make_clip(rng, small, 64, bool(y)) for y in labels]
    print(f"\n# SVM baselines: {len(clips)} clips of {small}x64x64 ({n_bona} bona fide)")
    print(f"{'model':28s} {'train rows':>10s} {'fit s':>8s} {'score s':>8s}")
    for name, model in [
        ("LBPSVM rbf", LBPSVM()),
        ("LBPSVM linear", LBPSVM(kernel="linear")),
        ("LBPTOPSVM rbf", LBPTOPSVM()),
    ]:
        t0 = time.perf_counter()
        model.fit(clips, labels)
        t1 = time.perf_counter()
        model.score(clips)
        t2 = time.perf_counter()
        n_rows = len(clips) * (small if isinstance(model, LBPSVM) else 1)
        print(f"{name:28s} {n_rows:10d} {t1 - t0:8.2f} {t2 - t1:8.2f}")


if __name__ == "__main__":
    main()
