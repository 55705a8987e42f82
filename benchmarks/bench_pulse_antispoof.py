"""The pulse as a liveness cue on generated data: PulseSVM beside LBP-TOP + SVM on the same face crops.

    python benchmarks/bench_pulse_antispoof.py [--subjects 16] [--seconds 6] [--seed 0]

Renders, for every subject, one clip of each kind (bona fide, print, screen photo, screen video) with
:func:`antispoof.data.synth.render_sample` (160x120, 25 fps, lighting and support drawn per clip; live
skin pulses, replays carry a weakened pulse, prints none: :mod:`antispoof.data.pulse_render`), cuts the
face crop (true boxes, 64 px, border 1.6) and splits the subjects into train / dev / test halves and
quarters (subject-disjoint). Each classifier is fitted on train; the threshold is the EER threshold of
dev; the test HTER is taken at it, AUC without a threshold. Rows: the pulse baseline
(:class:`antispoof.baselines.pulse.PulseSVM`, one feature row per whole clip), LBP-TOP + SVM on the
same whole clips, and the pulse baseline on bona fide vs prints only (its home ground: no pulse at
all). ``--no-pulse`` renders the same clips without any pulse: what the classifiers then still
find is not the pulse. Nothing is asserted. This is not the experiment runner's protocol (its caches hold 8-frame
clips, far too short for a pulse); see docs/pulse.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from antispoof import metrics  # noqa: E402
from antispoof.baselines import LBPTOPSVM  # noqa: E402
from antispoof.baselines.pulse import PulseSVM  # noqa: E402
from antispoof.data.faces import crop_clip  # noqa: E402
from antispoof.data.synth import render_sample  # noqa: E402

KINDS = ("bona_fide", "print", "screen_photo", "screen_video")
FPS = 25.0


def dataset(subjects: int, seconds: float, seed: int):
    """Face crops (N, T, 64, 64, 3), labels (N,), kinds (N,), subjects (N,)."""
    rng = np.random.default_rng(seed)
    clips, labels, kinds, who = [], [], [], []
    for subject in range(1, subjects + 1):
        for kind in KINDS:
            video, boxes = render_sample(
                kind, seed=seed, subject=subject, frames=int(round(seconds * FPS)), fps=FPS,
                support=str(rng.choice(["fixed", "hand"])), condition=str(rng.choice(["controlled", "adverse"])),
                device=str(rng.choice(["mobile", "highdef"])),
            )  # fmt: skip
            clips.append(crop_clip(video, boxes, size=64))
            labels.append(int(kind == "bona_fide"))
            kinds.append(kind)
            who.append(subject)
    return np.stack(clips), np.array(labels), np.array(kinds), np.array(who)


def evaluate(model, clips, labels, split) -> tuple[float, float, float]:
    """Dev EER, test HTER at the dev EER threshold, test AUC."""
    train, dev, test = split
    model.fit(clips[train], labels[train], np.flatnonzero(train))
    scores = {}
    for name, mask in (("dev", dev), ("test", test)):
        s = model.score(clips[mask])
        scores[name] = metrics.split_by_label(s, labels[mask])
    threshold = metrics.eer_threshold(*scores["dev"])
    return (
        metrics.hter(*scores["dev"], threshold),
        metrics.hter(*scores["test"], threshold),
        metrics.roc_auc(*scores["test"]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-pulse", action="store_true", help="ablation: render every clip without a pulse (what else is used?)"
    )
    args = parser.parse_args()
    if args.no_pulse:
        from antispoof.data.synth import render

        render.attach_pulse = lambda *args: None  # the generator's only pulse hook
    t0 = time.perf_counter()
    clips, labels, kinds, who = dataset(args.subjects, args.seconds, args.seed)
    rendered = time.perf_counter() - t0
    n = args.subjects
    train, dev, test = who <= n // 2, (who > n // 2) & (who <= 3 * n // 4), who > 3 * n // 4
    print(f"{len(clips)} clips of {args.seconds:g} s ({n} subjects x {len(KINDS)} kinds), rendered in {rendered:.0f} s")
    print(f"subjects: train 1-{n // 2}, dev {n // 2 + 1}-{3 * n // 4}, test {3 * n // 4 + 1}-{n}\n")
    print("| method | attacks | dev EER % | test HTER % | test AUC |")
    print("|---|---|---:|---:|---:|")
    rows = [
        ("pulse (PulseSVM)", "all", PulseSVM(fps=FPS, calibration_folds=3), np.ones(len(clips), bool)),
        ("LBP-TOP + SVM", "all", LBPTOPSVM(calibration_folds=3), np.ones(len(clips), bool)),
        ("pulse (PulseSVM)", "print only", PulseSVM(fps=FPS, calibration_folds=3), np.isin(kinds, KINDS[:2])),
    ]
    for name, attacks, model, keep in rows:
        split = (train[keep], dev[keep], test[keep])
        dev_eer, hter, auc = evaluate(model, clips[keep], labels[keep], split)
        print(f"| {name} | {attacks} | {100 * dev_eer:.1f} | {100 * hter:.1f} | {auc:.3f} |")
    print(f"\n(total {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
