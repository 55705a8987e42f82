"""Presentation-attack-detection metrics with bob.measure's conventions.

Polarity: scores are "higher = more bona fide". Bona fide samples are bob's *positives*, attacks its
*negatives*. At a threshold ``t`` a sample is accepted as bona fide iff ``score >= t``, so

* an attack with ``score >= t`` is a false accept (FAR = APCER),
* a bona fide sample with ``score < t`` is a false reject (FRR = BPCER).

Note the argument order: this module takes ``(bonafide, attack)`` everywhere, whereas bob.measure takes
``(negatives, positives)``.

:func:`eer_threshold` is a line-by-line port of ``bob.measure._library._minimizing_threshold`` with the
``"absolute-difference"`` criterion (sorted sweep, midpoints between consecutive distinct scores, ties
to the later threshold inside the sweep, no ROC interpolation, FAR/FRR accumulated by repeated
subtraction/addition exactly as bob does so floating-point ties resolve identically).

All score arguments are 1-D array-likes of finite floats; empty or non-finite inputs raise ValueError.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from .labels import BONA_FIDE

AGGREGATES = ("mean", "median", "max", "min")
_REDUCERS = {"mean": np.mean, "median": np.median, "max": np.max, "min": np.min}
#: The attack type of every attack when none are given.
ATTACK_GROUP = "attack"


def _scores(values: Any, name: str, allow_empty: bool = False) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise ValueError(f"{name} scores must be 1-D, got shape {array.shape}")
    if array.size == 0 and not allow_empty:
        raise ValueError(f"{name} scores are empty")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} scores contain NaN or infinite values")
    return array


def _threshold(value: Any) -> float:
    t = float(value)
    if math.isnan(t):
        raise ValueError("threshold is NaN")
    return t


# ---------------------------------------------------------------------------------------- error rates


def _share(mask: np.ndarray) -> float:
    """The fraction of ``True`` in a boolean array (count / size, as bob computes its rates)."""
    return float(np.count_nonzero(mask) / mask.size)


def far_frr(bonafide: Any, attack: Any, threshold: float) -> tuple[float, float]:
    """``(FAR, FRR)`` at ``threshold``: FAR = mean(attack >= t), FRR = mean(bonafide < t).

    An attack exactly on the threshold is a false accept; a bona fide sample exactly on it is accepted.
    """
    b = _scores(bonafide, "bona fide")
    a = _scores(attack, "attack")
    t = _threshold(threshold)
    return _share(a >= t), _share(b < t)


def hter(bonafide: Any, attack: Any, threshold: float) -> float:
    """Half total error rate ``(FAR + FRR) / 2`` at ``threshold`` (take ``threshold`` from the dev set)."""
    far, frr = far_frr(bonafide, attack, threshold)
    return (far + frr) / 2


def accuracy(bonafide: Any, attack: Any, threshold: float) -> float:
    """Fraction of all samples classified correctly at ``threshold`` (bona fide >= t, attack < t)."""
    b = _scores(bonafide, "bona fide")
    a = _scores(attack, "attack")
    t = _threshold(threshold)
    return _share(np.concatenate([b >= t, a < t]))


def apcer(attacks_by_type: Mapping[str, Any], threshold: float) -> tuple[dict[str, float], float, str]:
    """APCER of each attack type (presentation attack instrument) at ``threshold``, the largest and its type.

    Returns
    -------
    per_type : dict[str, float]
        Fraction of each type's attacks accepted (score >= threshold), in the order given.
    apcer : float
        The largest (the OULU convention of ISO/IEC 30107-3's APCER).
    worst : str
        Its type (the first in order on ties).
    """
    if not attacks_by_type:
        raise ValueError("attacks_by_type is empty: need at least one attack type")
    t = _threshold(threshold)
    per_type = {
        str(name): _share(_scores(scores, f"attack type {name!r}") >= t) for name, scores in attacks_by_type.items()
    }
    worst = max(per_type, key=per_type.__getitem__)
    return per_type, per_type[worst], worst


def apcer_bpcer_acer(bonafide: Any, attacks_by_type: Mapping[str, Any], threshold: float) -> dict[str, Any]:
    """ISO/IEC 30107-3 style rates at ``threshold`` with the OULU convention APCER = max over attack types.

    Parameters
    ----------
    bonafide : array-like
        Bona fide scores.
    attacks_by_type : dict[str, array-like]
        Attack scores per attack type (presentation attack instrument); every entry must be non-empty.
    threshold : float

    Returns
    -------
    dict
        ``apcer_per_attack_type`` (dict), ``apcer`` (max), ``worst_attack_type`` (its name; first in order on
        ties), ``bpcer`` (= FRR), ``acer = (apcer + bpcer) / 2``: the names of the evaluation reports.
    """
    if not attacks_by_type:
        raise ValueError("attacks_by_type is empty: need at least one attack type")
    t = _threshold(threshold)
    b = _scores(bonafide, "bona fide")
    per_type, worst_rate, worst = apcer(attacks_by_type, t)
    bpcer = _share(b < t)
    return {
        "apcer_per_attack_type": per_type,
        "apcer": worst_rate,
        "worst_attack_type": worst,
        "bpcer": bpcer,
        "acer": (worst_rate + bpcer) / 2,
    }


def pad_metrics(
    scores: Any, labels: Any, threshold: float, attack_types: Sequence[str] | None = None
) -> dict[str, Any]:
    """Every PAD metric of scores at a threshold: the ``test`` table of evaluation reports.

    Parameters
    ----------
    scores : array-like
        ``(N,)`` scores (video level in the reports), higher = more bona fide.
    labels : array-like
        ``(N,)`` int, :data:`BONA_FIDE` or :data:`ATTACK`.
    threshold : float
        The decision threshold (from a development set).
    attack_types : sequence of str, optional
        The attack type of each attack, in the order of the attacks in ``scores``; without it all attacks
        form one type, :data:`ATTACK_GROUP`.

    Returns
    -------
    dict
        ``n_videos``, ``n_bonafide``, ``n_attack``, ``threshold``, ``far``, ``frr``, ``hter``, ``acc``, ``eer``
        and ``eer_threshold`` (of these scores: optimistic), ``auc``, ``apcer_per_attack_type``, ``apcer``,
        ``worst_attack_type``, ``bpcer``, ``acer``. Metrics that need a class absent from the set are None
        (e.g. FRR of an attack-only set).
    """
    bonafide, attack = split_by_label(scores, labels)
    t = _threshold(threshold)
    both = bonafide.size > 0 and attack.size > 0
    far = _share(attack >= t) if attack.size else None
    frr = _share(bonafide < t) if bonafide.size else None
    n = bonafide.size + attack.size
    out: dict[str, Any] = {
        "n_videos": int(n),
        "n_bonafide": int(bonafide.size),
        "n_attack": int(attack.size),
        "threshold": float(threshold),
        "far": far,
        "frr": frr,
        "hter": (far + frr) / 2 if both else None,
        "acc": _share(np.concatenate([bonafide >= t, attack < t])) if n else None,
    }
    if both:
        out["eer"], out["eer_threshold"] = eer(bonafide, attack)
        out["auc"] = roc_auc(bonafide, attack)
    else:
        out["eer"] = out["eer_threshold"] = out["auc"] = None
    if attack.size:
        names = list(attack_types) if attack_types is not None else [ATTACK_GROUP] * attack.size
        groups: dict[str, list[float]] = {}
        for name, s in zip(names, attack, strict=True):
            groups.setdefault(name, []).append(float(s))
        per_type, worst_rate, worst = apcer({name: groups[name] for name in sorted(groups)}, t)
        out.update(apcer_per_attack_type=per_type, apcer=worst_rate, worst_attack_type=worst)
    else:
        out.update(apcer_per_attack_type={}, apcer=None, worst_attack_type=None)
    out["bpcer"] = frr
    out["acer"] = (out["apcer"] + frr) / 2 if both else None
    return out


# ----------------------------------------------------------------------------------------- thresholds


def _minimizing_threshold(negatives: np.ndarray, positives: np.ndarray, criterion: str, cost: float = 0.5) -> float:
    """bob.measure's data-driven threshold sweep on *sorted* negatives (attacks) and positives (bona fide)."""

    def predicate(far: float, frr: float) -> float:
        if criterion == "absolute-difference":
            return abs(far - frr)
        return cost * far + (1.0 - cost) * frr

    max_neg, max_pos = len(negatives), len(positives)
    far_decrease, frr_increase = 1.0 / max_neg, 1.0 / max_pos
    far, frr = 1.0, 0.0
    min_predicate = 1e8
    min_threshold = 1e8
    pos_it = neg_it = 0
    current_threshold = min(negatives[0], positives[0])

    while pos_it < max_pos and neg_it < max_neg:
        current_predicate = predicate(far, frr)
        if current_predicate <= min_predicate:  # "<=": ties go to the later (larger) threshold
            min_predicate = current_predicate
            min_threshold = current_threshold
        if positives[pos_it] >= negatives[neg_it]:
            current_threshold = negatives[neg_it]
            neg_it += 1
            far -= far_decrease
        else:
            current_threshold = positives[pos_it]
            pos_it += 1
            frr += frr_increase
        # Step over every score equal to the one just passed, in both lists.
        while neg_it < max_neg and current_threshold == negatives[neg_it]:
            neg_it += 1
            far -= far_decrease
        while pos_it < max_pos and current_threshold == positives[pos_it]:
            pos_it += 1
            frr += frr_increase
        # Next candidate: the midpoint to the next smallest remaining score.
        if neg_it < max_neg or pos_it < max_pos:
            if neg_it < max_neg and pos_it < max_pos:
                current_threshold += min(negatives[neg_it], positives[pos_it])
            elif neg_it < max_neg:
                current_threshold += negatives[neg_it]
            else:
                current_threshold += positives[pos_it]
            current_threshold /= 2

    current_predicate = predicate(far, frr)
    if current_predicate < min_predicate:  # strict here, as in bob
        min_predicate = current_predicate
        min_threshold = current_threshold

    # Finally, a threshold above every score (accept nothing): FAR 0, FRR 1.
    if neg_it < max_neg or pos_it < max_pos:
        if neg_it < max_neg:
            last_threshold = np.nextafter(negatives[-1], negatives[-1] + 1)
        else:
            last_threshold = np.nextafter(positives[-1], positives[-1] + 1)
        if predicate(0.0, 1.0) < min_predicate:
            min_threshold = last_threshold
    return float(min_threshold)


def _threshold_inputs(bonafide: Any, attack: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    b = _scores(bonafide, "bona fide", allow_empty=True)
    a = _scores(attack, "attack", allow_empty=True)
    if b.size == 0 or a.size == 0:
        missing = "bona fide" if b.size == 0 else "attack"
        raise ValueError(f"cannot compute the {what} threshold: no {missing} scores (need both classes)")
    return np.sort(a), np.sort(b)


def eer_threshold(bonafide: Any, attack: Any) -> float:
    """Threshold where FAR and FRR are closest: bob.measure's ``eer_threshold`` (no interpolation).

    Raises ValueError when either class is empty (e.g. a single-class dev set).
    """
    neg, pos = _threshold_inputs(bonafide, attack, "EER")
    return _minimizing_threshold(neg, pos, "absolute-difference")


def min_hter_threshold(bonafide: Any, attack: Any) -> float:
    """Threshold minimising ``(FAR + FRR) / 2`` on these scores: bob's ``min_hter_threshold`` (cost 0.5)."""
    neg, pos = _threshold_inputs(bonafide, attack, "minimum-HTER")
    return _minimizing_threshold(neg, pos, "weighted-error", 0.5)


def eer(bonafide: Any, attack: Any) -> tuple[float, float]:
    """``(eer, threshold)``: the EER as bob tools report it, ``(FAR + FRR) / 2`` at :func:`eer_threshold`."""
    t = eer_threshold(bonafide, attack)
    return hter(bonafide, attack, t), t


# ----------------------------------------------------------------------------------------- curves, AUC


def roc_auc(bonafide: Any, attack: Any) -> float:
    """Area under the ROC: ``P(bona fide > attack) + P(bona fide == attack) / 2`` (Mann-Whitney, exact ties)."""
    b = _scores(bonafide, "bona fide")
    a = np.sort(_scores(attack, "attack"))
    below = np.searchsorted(a, b, side="left")  # attacks strictly below each bona fide score
    ties = np.searchsorted(a, b, side="right") - below
    return float((below.sum() + 0.5 * ties.sum()) / (b.size * a.size))


def roc_curve(bonafide: Any, attack: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every distinct operating point of the ROC.

    Returns
    -------
    far, tpr, thresholds : np.ndarray
        float64 arrays of equal length ``K + 1`` for ``K`` distinct scores; ``thresholds[0] = +inf``
        (accept nothing: FAR 0, TPR 0) followed by the distinct scores in decreasing order;
        ``far[k] = mean(attack >= thresholds[k])``, ``tpr[k] = 1 - FRR = mean(bonafide >= thresholds[k])``.
        ``far`` and ``tpr`` are non-decreasing and end at 1.
    """
    b = _scores(bonafide, "bona fide")
    a = _scores(attack, "attack")
    thresholds = np.concatenate([[np.inf], np.unique(np.concatenate([a, b]))[::-1]])
    b_sorted, a_sorted = np.sort(b), np.sort(a)
    # count(x >= t) = n - count(x < t) = n - searchsorted(x, t, "left")
    tpr = (b.size - np.searchsorted(b_sorted, thresholds, side="left")) / b.size
    far = (a.size - np.searchsorted(a_sorted, thresholds, side="left")) / a.size
    return far.astype(np.float64), tpr.astype(np.float64), thresholds


def det_curve(bonafide: Any, attack: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(far, frr, thresholds)`` at every distinct operating point (see :func:`roc_curve`); ``frr = 1 - tpr``.

    Plot on normal-deviate axes (``scipy.stats.norm.ppf``) for a DET figure.
    """
    far, tpr, thresholds = roc_curve(bonafide, attack)
    return far, 1.0 - tpr, thresholds


# ------------------------------------------------------------------------------------- video aggregation


def aggregate_by_video(
    video_ids: Sequence[Hashable],
    scores: Any,
    labels: Any | None = None,
    how: str = "mean",
) -> tuple[list, np.ndarray, np.ndarray | None]:
    """Combine clip (or frame) scores into one score per video.

    Parameters
    ----------
    video_ids : sequence
        Video id of every clip, length N.
    scores : array-like
        ``(N,)`` clip scores.
    labels : array-like, optional
        ``(N,)`` int labels; every clip of a video must carry the same label.
    how : {"mean", "median", "max", "min"}

    Returns
    -------
    ids, video_scores, video_labels
        Videos in order of first appearance; ``video_scores`` float64 ``(V,)``; ``video_labels`` int64
        ``(V,)`` or None.
    """
    if how not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}, got {how!r}")
    s = _scores(scores, "clip")
    ids = list(video_ids)
    if len(ids) != s.size:
        raise ValueError(f"got {len(ids)} video ids for {s.size} scores")
    lab = None if labels is None else np.asarray(labels, dtype=np.int64).reshape(-1)
    if lab is not None and lab.size != s.size:
        raise ValueError(f"got {lab.size} labels for {s.size} scores")
    groups: dict[Hashable, list[int]] = {}
    for i, vid in enumerate(ids):
        groups.setdefault(vid, []).append(i)
    reduce = _REDUCERS[how]
    out_ids = list(groups)
    out_scores = np.array([reduce(s[idx]) for idx in groups.values()], dtype=np.float64)
    out_labels = None
    if lab is not None:
        out_labels = np.empty(len(out_ids), dtype=np.int64)
        for k, (vid, idx) in enumerate(groups.items()):
            if np.any(lab[idx] != lab[idx[0]]):
                raise ValueError(f"video {vid!r} has clips with different labels {sorted(set(lab[idx].tolist()))}")
            out_labels[k] = lab[idx[0]]
    return out_ids, out_scores, out_labels


def aggregate(scores: Any, how: str = "mean") -> float:
    """One video's score from its clip scores, as :func:`aggregate_by_video` combines them."""
    if how not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {AGGREGATES}, got {how!r}")
    return float(_REDUCERS[how](np.asarray(scores, dtype=np.float64)))


def split_by_label(scores: Any, labels: Any, bonafide_label: int = BONA_FIDE) -> tuple[np.ndarray, np.ndarray]:
    """``(bonafide_scores, attack_scores)`` from scores and int labels (:data:`BONA_FIDE`, anything else attack)."""
    s = _scores(scores, "all", allow_empty=True)
    lab = np.asarray(labels).reshape(-1)
    if lab.size != s.size:
        raise ValueError(f"got {lab.size} labels for {s.size} scores")
    is_bonafide = lab == bonafide_label
    return s[is_bonafide], s[~is_bonafide]
