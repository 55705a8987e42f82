import numpy as np
import pytest

from antispoof import metrics as M

# --------------------------------------------------------------------------------- FAR / FRR / HTER


def test_far_frr_conventions_on_the_threshold():
    bonafide = [0.2, 0.5, 0.8, 0.9]
    attack = [0.1, 0.5, 0.6]
    # t = 0.5: the attack at 0.5 is a false accept, the bona fide at 0.5 is accepted.
    assert M.far_frr(bonafide, attack, 0.5) == (2 / 3, 1 / 4)
    assert M.hter(bonafide, attack, 0.5) == pytest.approx((2 / 3 + 1 / 4) / 2)
    assert M.far_frr(bonafide, attack, 0.55) == (1 / 3, 2 / 4)
    assert M.accuracy(bonafide, attack, 0.55) == pytest.approx(4 / 7)  # 0.8, 0.9 accepted; 0.1, 0.5 rejected
    assert M.far_frr(bonafide, attack, 2.0) == (0.0, 1.0)
    assert M.far_frr(bonafide, attack, -1.0) == (1.0, 0.0)


# ------------------------------------------------------------------------------- EER threshold (bob)


def test_eer_threshold_with_ties_hand_traced():
    # Sorted attacks (negatives) .1 .5 .5 .7, bona fide (positives) .5 .7 .7 .9; far=1, frr=0, t=.1.
    #   |1-0|=1 at t=.1; pass attack .1 -> far .75; t=(.1+.5)/2=.3
    #   |.75-0| at t=.3; pass .5: both attacks at .5 (far .25) and the bona fide .5 (frr .25); t=(.5+.7)/2=.6
    #   |.25-.25|=0 at t=.6 (best); pass .7: last attack and both bona fide .7; attacks exhausted.
    bonafide, attack = [0.9, 0.7, 0.5, 0.7], [0.5, 0.1, 0.7, 0.5]
    assert M.eer_threshold(bonafide, attack) == 0.6
    assert M.far_frr(bonafide, attack, 0.6) == (0.25, 0.25)
    assert M.eer(bonafide, attack) == (0.25, 0.6)


def test_eer_threshold_ties_go_to_the_later_threshold():
    # attacks .4 .6, bona fide .1 .1 .1 .8:
    #   t=.1 -> |1-0|; pass the three .1 bona fide (frr .75), t=.25 -> |1-.75|=.25
    #   pass attack .4 (far .5), t=.5 -> |.5-.75|=.25: equal, and "<=" keeps the later t=.5
    bonafide, attack = [0.1, 0.1, 0.1, 0.8], [0.4, 0.6]
    assert M.eer_threshold(bonafide, attack) == 0.5
    assert M.far_frr(bonafide, attack, 0.25) == (1.0, 0.75)
    assert M.far_frr(bonafide, attack, 0.5) == (0.5, 0.75)


def test_eer_threshold_final_candidate_needs_a_strict_improvement():
    # attack .5, bona fide .1 .9: t=.1 -> 1; pass .1 (frr .5), t=.3 -> .5; pass .5 (far 0), t=.7;
    # the loop ends and the final |0-.5| = .5 is not < .5, so t stays at .3 (no interpolation).
    assert M.eer_threshold([0.1, 0.9], [0.5]) == 0.3


def test_eer_threshold_midpoint_and_degenerate_cases():
    assert M.eer_threshold([0.8, 0.9], [0.1, 0.2]) == 0.5  # separable: midpoint of .2 and .8
    assert M.eer([0.8, 0.9], [0.1, 0.2]) == (0.0, 0.5)
    assert M.eer_threshold([0.5, 0.5], [0.5]) == 0.5  # all equal: t on the tie, attack accepted
    assert M.far_frr([0.5, 0.5], [0.5], 0.5) == (1.0, 0.0)
    # Reversed polarity (attacks above bona fide): the best is still a data-driven midpoint.
    t = M.eer_threshold([0.1, 0.2], [0.8, 0.9])
    far, frr = M.far_frr([0.1, 0.2], [0.8, 0.9], t)
    assert abs(far - frr) == min(
        abs(f - r) for f, r in (M.far_frr([0.1, 0.2], [0.8, 0.9], c) for c in (0.0, 0.15, 0.5, 0.85, 1.0))
    )


def test_min_hter_threshold():
    # attacks .3 .6, bona fide .5 .7 .9; (FAR, FRR) at the candidates .3 (1, 0), .4 (.5, 0),
    # .55 (.5, 1/3) and, after the sweep, (.6 + .7) / 2 = .65 (0, 1/3): the minimum HTER 1/6.
    t = M.min_hter_threshold([0.5, 0.7, 0.9], [0.3, 0.6])
    assert t == (0.6 + 0.7) / 2 and M.hter([0.5, 0.7, 0.9], [0.3, 0.6], t) == pytest.approx(1 / 6)
    # The EER criterion |FAR - FRR| picks another point of the same sweep: 1/6 at .55.
    assert M.eer_threshold([0.5, 0.7, 0.9], [0.3, 0.6]) == (0.5 + 0.6) / 2


def test_threshold_errors():
    with pytest.raises(ValueError, match="no attack scores"):
        M.eer_threshold([0.1, 0.2], [])
    with pytest.raises(ValueError, match="no bona fide scores"):
        M.eer_threshold([], [0.3])
    with pytest.raises(ValueError, match="NaN"):
        M.eer_threshold([0.1, np.nan], [0.3])
    with pytest.raises(ValueError, match="empty"):
        M.far_frr([0.1], [], 0.5)
    with pytest.raises(ValueError, match="1-D"):
        M.hter([[0.1, 0.2]], [0.3], 0.5)


def test_matches_bob_measure_when_installed():
    bob = pytest.importorskip("bob.measure")
    rng = np.random.default_rng(0)
    for k in range(300):
        nb, na = rng.integers(1, 15, size=2)
        levels = rng.integers(2, 6)  # few levels: many ties within and across classes
        b = rng.integers(0, levels, nb) / levels
        a = rng.integers(0, levels, na) / levels if k % 2 else rng.random(na)
        t = bob.eer_threshold(a, b)  # bob: (negatives, positives)
        assert M.eer_threshold(b, a) == t
        assert M.min_hter_threshold(b, a) == bob.min_hter_threshold(a, b)
        assert M.far_frr(b, a, t) == tuple(bob.farfrr(a, b, t))


# ------------------------------------------------------------------------------------ APCER / BPCER


def test_apcer_bpcer_acer_max_over_pais():
    bonafide = [0.9, 0.8, 0.4, 0.7]
    attacks = {"print": [0.1, 0.6, 0.2, 0.3], "replay": [0.6, 0.5, 0.7], "mask": [0.0]}
    r = M.apcer_bpcer_acer(bonafide, attacks, threshold=0.6)
    assert r["apcer_per_attack_type"] == {"print": 0.25, "replay": 2 / 3, "mask": 0.0}
    assert r["apcer"] == 2 / 3 and r["worst_attack_type"] == "replay"
    assert r["bpcer"] == 0.25  # 0.4 < 0.6
    assert r["acer"] == pytest.approx((2 / 3 + 0.25) / 2)
    with pytest.raises(ValueError, match="at least one attack type"):
        M.apcer_bpcer_acer(bonafide, {}, 0.5)
    with pytest.raises(ValueError, match="'mask'"):
        M.apcer_bpcer_acer(bonafide, {"mask": []}, 0.5)


# -------------------------------------------------------------------------------------- AUC / curves


def test_auc_counts_ties_as_half():
    # pairs (b, a): (.5,.5) tie, (.5,.1) win, (.9,.5) win, (.9,.1) win -> 3.5 / 4
    assert M.roc_auc([0.5, 0.9], [0.5, 0.1]) == 0.875
    assert M.roc_auc([0.8, 0.9], [0.1, 0.2]) == 1.0
    assert M.roc_auc([0.1], [0.9]) == 0.0
    rng = np.random.default_rng(1)
    b, a = rng.integers(0, 5, 40) / 4, rng.integers(0, 4, 30) / 4  # many ties
    pairs = b[:, None] - a[None, :]
    assert M.roc_auc(b, a) == pytest.approx(np.mean(pairs > 0) + 0.5 * np.mean(pairs == 0), abs=1e-12)


def test_roc_and_det_points():
    far, tpr, thresholds = M.roc_curve([0.5, 0.9], [0.1, 0.5, 0.7])
    np.testing.assert_array_equal(thresholds, [np.inf, 0.9, 0.7, 0.5, 0.1])
    np.testing.assert_allclose(far, [0, 0, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1])
    far2, frr, _ = M.det_curve([0.5, 0.9], [0.1, 0.5, 0.7])
    np.testing.assert_allclose(far2, far)
    np.testing.assert_allclose(frr, 1 - tpr)
    # Every ROC point is far_frr at its threshold.
    for f, t, th in zip(far[1:], tpr[1:], thresholds[1:]):
        assert M.far_frr([0.5, 0.9], [0.1, 0.5, 0.7], th) == (f, 1 - t)


# ---------------------------------------------------------------------------------------- aggregation


def test_aggregate_by_video():
    ids = ["b", "a", "b", "c", "a"]
    scores = [0.2, 0.9, 0.4, 0.5, 0.5]
    labels = [0, 1, 0, 1, 1]
    out_ids, s, lab = M.aggregate_by_video(ids, scores, labels, "mean")
    assert out_ids == ["b", "a", "c"]  # order of first appearance
    np.testing.assert_allclose(s, [0.3, 0.7, 0.5])
    np.testing.assert_array_equal(lab, [0, 1, 1])
    np.testing.assert_allclose(M.aggregate_by_video(ids, scores, how="max")[1], [0.4, 0.9, 0.5])
    np.testing.assert_allclose(M.aggregate_by_video(ids, scores, how="min")[1], [0.2, 0.5, 0.5])
    with pytest.raises(ValueError, match="video 'a' has clips with different labels"):
        M.aggregate_by_video(ids, scores, [0, 1, 0, 1, 0])
    with pytest.raises(ValueError, match="aggregate must be one of"):
        M.aggregate_by_video(ids, scores, how="sum")
    b, a = M.split_by_label([0.1, 0.2, 0.3], [1, 0, 1])
    np.testing.assert_array_equal(b, [0.1, 0.3])
    np.testing.assert_array_equal(a, [0.2])


def test_pad_metrics_are_the_rates_of_this_module():
    b, a = [0.9, 0.8, 0.4, 0.7], [0.1, 0.6, 0.2, 0.6, 0.5]
    r = M.pad_metrics(b + a, [1] * 4 + [0] * 5, 0.6, ["print", "print", "replay", "replay", "mask"])
    assert (r["n_videos"], r["n_bonafide"], r["n_attack"], r["threshold"]) == (9, 4, 5, 0.6)
    assert (r["far"], r["frr"]) == M.far_frr(b, a, 0.6) == (0.4, 0.25)
    assert r["hter"] == M.hter(b, a, 0.6) and r["acc"] == M.accuracy(b, a, 0.6) == 6 / 9
    assert (r["eer"], r["eer_threshold"]) == M.eer(b, a) and r["auc"] == M.roc_auc(b, a)
    rates = M.apcer_bpcer_acer(b, {"mask": [0.5], "print": [0.1, 0.6], "replay": [0.2, 0.6]}, 0.6)
    assert {k: r[k] for k in rates} == rates and r["worst_attack_type"] == "print"  # ties: first by name
    only = M.pad_metrics([0.1, 0.7], [0, 0], 0.6)  # an attack-only set: what needs bona fide is None
    assert (only["far"], only["acc"], only["apcer_per_attack_type"]) == (0.5, 0.5, {"attack": 0.5})
    assert only["frr"] is only["hter"] is only["eer"] is only["bpcer"] is only["acer"] is None
