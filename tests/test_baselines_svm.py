"""LBP + SVM and LBP-TOP + SVM baselines on a tiny generated dataset."""

import json

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from antispoof.baselines import LBPSVM, LBPTOPSVM, load_baseline
from antispoof.baselines.lbp import lbp_features

T, SIZE = 6, 20


def make_clip(rng, bona_fide):
    """(T, 3, SIZE, SIZE) float32 in [0, 1], like the data loader's clips.

    Both classes share a smooth random "face".  Bona fide: fine skin-like texture
    that changes from frame to frame (sensor noise, micro-motion).  Attack: a
    recaptured print or screen: the textured face blurred once and then static,
    up to faint sensor noise.
    """
    face = gaussian_filter(rng.random((SIZE, SIZE)), 3)
    face = 0.25 + 0.5 * (face - face.min()) / (np.ptp(face) + 1e-9)
    if bona_fide:
        gray = face + 0.06 * rng.standard_normal((T, SIZE, SIZE))
    else:
        printed = gaussian_filter(face + 0.06 * rng.standard_normal((SIZE, SIZE)), 1.2)
        gray = printed[None] + 0.003 * rng.standard_normal((T, SIZE, SIZE))
    tint = rng.uniform(0.8, 1.0, 3)[None, :, None, None]
    return np.clip(gray[:, None] * tint, 0, 1).astype(np.float32)


def make_set(rng, n_bona, n_attack, clips_per_video=2, tag=""):
    clips, labels, videos = [], [], []
    for v, label in enumerate([1] * n_bona + [0] * n_attack):
        for _ in range(clips_per_video):
            clips.append(make_clip(rng, label == 1))
            labels.append(label)
            videos.append(f"{tag}{v}")
    return clips, np.array(labels), videos


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    train = make_set(rng, 4, 10, tag="train")  # attacks outnumber bona fide, as in Replay-Attack
    test = make_set(rng, 5, 5, tag="test")
    return train, test


@pytest.fixture(scope="module")
def fitted(data):
    (clips, labels, videos), _ = data
    return {
        "lbp": LBPSVM().fit(clips, labels, videos),
        "lbptop": LBPTOPSVM().fit(clips, labels, videos),
    }


@pytest.mark.parametrize("name", ["lbp", "lbptop"])
def test_separates_held_out_videos(data, fitted, name):
    _, (clips, labels, videos) = data
    model = fitted[name]
    scores = model.score(clips)
    assert scores.shape == (len(clips),) and scores.dtype == np.float64
    assert ((scores >= 0) & (scores <= 1)).all()
    assert roc_auc_score(labels, scores) > 0.9  # higher = more bona fide
    ids, video_scores = model.score_videos(clips, videos)
    assert ids == list(dict.fromkeys(videos))
    video_labels = [labels[videos.index(v)] for v in ids]
    assert roc_auc_score(video_labels, video_scores) > 0.9


def test_linear_kernel_and_frame_step_also_separate(data):
    (clips, labels, videos), (test_clips, test_labels, _) = data
    model = LBPSVM(kernel="linear", train_frame_step=2).fit(clips, labels, videos)
    assert roc_auc_score(test_labels, model.score(test_clips)) > 0.9


def test_lbp_clip_score_is_mean_frame_probability(data, fitted):
    _, (clips, _, _) = data
    model = fitted["lbp"]
    feats = lbp_features(clips[0])
    frame_p = model.model_.predict_proba(feats)[:, list(model.model_.classes_).index(1)]
    assert model.score(clips[:1])[0] == pytest.approx(frame_p.mean())
    assert frame_p.std() > 0  # a real mean over distinct frame probabilities


@pytest.mark.parametrize("name", ["lbp", "lbptop"])
def test_video_score_is_mean_over_its_clips(data, fitted, name):
    _, (clips, _, _) = data
    model = fitted[name]
    # uneven videos: "a" has clips 0, 1, 3; "b" has clip 2 (all clips have T frames)
    subset = clips[:4]
    per_clip = model.score(subset)
    ids, scores = model.score_videos(subset, ["a", "a", "b", "a"])
    assert ids == ["a", "b"]
    np.testing.assert_allclose(scores, [per_clip[[0, 1, 3]].mean(), per_clip[2]])


def test_inputs_as_uint8_thwc_array_and_generator_give_same_scores(data, fitted):
    _, (clips, _, _) = data
    model = fitted["lbptop"]
    as_u8 = np.stack([np.rint(c * 255).astype(np.uint8).transpose(0, 2, 3, 1) for c in clips[:4]])  # (N, T, H, W, 3)
    np.testing.assert_allclose(model.score(as_u8), model.score(clips[:4]))
    np.testing.assert_allclose(model.score(c for c in clips[:4]), model.score(clips[:4]))


def test_calibration_folds_keep_videos_whole_and_hold_out_both_classes():
    model = LBPSVM(calibration_folds=3)
    y_clip = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    groups = np.array([0, 0, 1, 2, 3, 3, 4, 5, 6, 7, 8, 9])  # clips 0, 1 (and 4, 5) share a video
    counts = np.full(12, 4)  # four frames per clip
    row_group = np.repeat(groups, counts)
    row_label = np.repeat(y_clip, counts)
    folds = model._folds(y_clip, groups, counts)
    assert len(folds) == 3
    seen = np.concatenate([test for _, test in folds])
    np.testing.assert_array_equal(np.sort(seen), np.arange(48))  # each row held out exactly once
    for train, test in folds:
        assert not set(row_group[train]) & set(row_group[test])
        assert set(row_label[test]) == {0, 1} and set(row_label[train]) == {0, 1}


def test_save_load_round_trip(data, fitted, tmp_path):
    _, (clips, _, _) = data
    for name, cls in [("lbp", LBPSVM), ("lbptop", LBPTOPSVM)]:
        model = fitted[name]
        folder = model.save(tmp_path / name)
        meta = json.loads((folder / "settings.json").read_text())
        assert meta["model"] == cls.__name__ and meta["settings"] == model.get_settings()
        for loaded in (cls.load(folder), load_baseline(folder)):
            assert type(loaded) is cls and loaded.get_settings() == model.get_settings()
            np.testing.assert_array_equal(loaded.score(clips), model.score(clips))


def test_load_rejects_wrong_files(fitted, tmp_path):
    with pytest.raises(ValueError, match="not a saved baseline"):
        LBPSVM.load(tmp_path / "missing")
    plain = tmp_path / "model.pkl"
    plain.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a saved baseline"):
        load_baseline(plain)
    folder = fitted["lbp"].save(tmp_path / "lbp")
    with pytest.raises(ValueError, match="holds a LBPSVM model, not a LBPTOPSVM"):
        LBPTOPSVM.load(folder)
    (folder / "model.joblib").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="cannot read"):
        LBPSVM.load(folder)
    # a valid joblib file that holds the other model's classifier
    other = fitted["lbptop"].save(tmp_path / "top")
    (folder / "model.joblib").write_bytes((other / "model.joblib").read_bytes())
    with pytest.raises(ValueError, match="not a fitted LBPSVM"):
        LBPSVM.load(folder)
    (folder / "settings.json").write_text("{broken")
    with pytest.raises(ValueError, match="not valid JSON"):
        LBPSVM.load(folder)
    (folder / "settings.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ValueError, match="settings file"):
        load_baseline(folder)


def test_fit_and_score_errors(data):
    (clips, labels, videos), _ = data
    model = LBPTOPSVM()
    with pytest.raises(NotFittedError):  # a ValueError subclass
        model.score(clips)
    with pytest.raises(NotFittedError):
        model.score_videos(clips, videos)
    with pytest.raises(NotFittedError):
        model.save("unused")
    with pytest.raises(ValueError, match="no labels"):
        model.fit([], [])
    with pytest.raises(ValueError, match="no clips"):
        model.fit([], [1, 0])
    with pytest.raises(ValueError, match="3 clips but 2 labels"):
        model.fit(clips[:3], [1, 0])
    with pytest.raises(ValueError, match="one class"):
        model.fit(clips[:2], [1, 1])
    with pytest.raises(ValueError, match="0 \\(attack\\) or 1"):
        model.fit(clips[:2], [1, 2])
    with pytest.raises(ValueError, match="at least 2 videos of each class"):
        model.fit(clips[:4], [1, 1, 0, 0], ["a", "a", "b", "b"])  # one video per class
    with pytest.raises(ValueError, match="at least 2 videos of each class"):
        model.fit(clips[:3], [1, 0, 0])
    with pytest.raises(ValueError, match="both labels"):
        model.fit(clips[:4], [1, 0, 1, 0], ["a", "a", "b", "b"])
    with pytest.raises(ValueError, match="4 clips but 3 video ids"):
        model.fit(clips[:4], [1, 0, 1, 0], ["a", "b", "c"])
    with pytest.raises(ValueError, match="single clip"):
        model.fit(clips[0], [1, 0])
    with pytest.raises(ValueError, match="clip 1: .*too small"):
        model.fit([clips[0], clips[1][:2]], [1, 0])  # LBP-TOP needs 3 frames
    with pytest.raises(ValueError, match="clip 0: .*dtype"):
        LBPSVM().fit([(clips[0] * 255).astype(np.uint16), clips[1]], [1, 0])
    with pytest.raises(ValueError, match="clip 0: .*RGB"):
        LBPSVM().fit([np.zeros((4, 5, 8, 8), np.uint8), clips[0]], [1, 0])


def test_constructor_errors():
    with pytest.raises(ValueError, match="kernel"):
        LBPSVM(kernel="poly")
    with pytest.raises(ValueError, match="C must be positive"):
        LBPSVM(C=0)
    with pytest.raises(ValueError, match="gamma"):
        LBPTOPSVM(gamma=-1.0)
    with pytest.raises(ValueError, match="calibration_folds"):
        LBPSVM(calibration_folds=1)
    with pytest.raises(ValueError, match="train_frame_step"):
        LBPSVM(train_frame_step=0)
    with pytest.raises(ValueError, match="layout"):
        LBPTOPSVM(layout="HWC")
