"""The paper's hand-crafted baselines: LBP^{u2}_{8,1} + SVM and LBP-TOP + SVM (Tu et al., section 4.2).

* :class:`LBPSVM`: one 59-d LBP histogram per frame (gray face crop); the SVM
  is trained on every frame of the training clips; a clip's (or video's) score
  is the mean of its frames' bona fide probabilities.
* :class:`LBPTOPSVM`: one 177-d LBP-TOP feature per clip; the SVM is trained on
  clips; a video's score is the mean of its clips' probabilities.

Classifier (both): ``StandardScaler -> SVC(kernel="rbf", class_weight="balanced")``
(or ``LinearSVC`` with ``kernel="linear"``), wrapped in scikit-learn's
``CalibratedClassifierCV(method="sigmoid", ensemble=False)``: Platt scaling of
the SVM's decision values, the probability model of LIBSVM ``-b 1`` (which
scikit-learn >= 1.9 recommends in place of ``SVC(probability=True)``).  The
sigmoid is fitted on out-of-fold decision values from folds that keep every
video (or, without video ids, every clip) whole and hold out both classes, so
near-identical frames of one video never sit on both sides of a fold, which
would make the probabilities over-confident.  The final SVM is refitted on all
training data.  ``class_weight="balanced"`` weights the errors inversely to the
class frequencies (Replay-Attack has five attacks per bona fide video).

Labels: 1 = bona fide, 0 = attack.  Scores: probability of bona fide, higher =
more bona fide.  Clips: ``(T, 3, H, W)`` or ``(T, H, W, 3)``, ``uint8`` or float
in [0, 1] (NumPy arrays or CPU torch tensors), reduced to 8-bit luma by
:func:`antispoof.baselines.lbp.rgb_to_gray`.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path

import joblib
import numpy as np
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC

from ..labels import ATTACK, BONA_FIDE
from .lbp import N_BINS, N_TOP_FEATURES, lbp_features, lbp_top_features

__all__ = ["LBPSVM", "LBPTOPSVM", "load_baseline"]

_FORMAT = "antispoof-baseline"
_FORMAT_VERSION = 1
_SETTINGS_FILE = "settings.json"
_MODEL_FILE = "model.joblib"


class _SVMBaseline:
    """Shared machinery: feature rows per clip, calibrated SVM, aggregation, persistence."""

    #: Feature length; set by the subclasses.
    n_features: int = 0

    def __init__(
        self,
        kernel: str = "rbf",
        C: float = 1.0,
        gamma: str | float = "scale",
        calibration_folds: int = 5,
        layout: str = "auto",
        cache_size: float = 500.0,
        n_jobs: int | None = None,
        random_state: int = 0,
    ):
        if kernel not in ("rbf", "linear"):
            raise ValueError(f"kernel must be 'rbf' or 'linear', got {kernel!r}")
        if not float(C) > 0:
            raise ValueError(f"C must be positive, got {C!r}")
        if not (gamma in ("scale", "auto") or (isinstance(gamma, int | float) and gamma > 0)):
            raise ValueError(f"gamma must be 'scale', 'auto' or a positive number, got {gamma!r}")
        if int(calibration_folds) < 2:
            raise ValueError(f"calibration_folds must be >= 2, got {calibration_folds!r}")
        if layout not in ("auto", "THWC", "TCHW"):
            raise ValueError(f"layout must be 'auto', 'THWC' or 'TCHW', got {layout!r}")
        self.kernel = kernel
        self.C = float(C)
        self.gamma = gamma if isinstance(gamma, str) else float(gamma)
        self.calibration_folds = int(calibration_folds)
        self.layout = layout
        self.cache_size = float(cache_size)
        self.n_jobs = n_jobs
        self.random_state = int(random_state)
        self.model_: CalibratedClassifierCV | None = None

    # -- to be provided by subclasses --------------------------------------------------------------

    def features(self, clip) -> np.ndarray:
        """Feature rows of one clip, shape (rows, n_features), float64."""
        raise NotImplementedError

    def _train_rows(self, rows: np.ndarray) -> np.ndarray:
        """Rows of one clip used for training (all by default)."""
        return rows

    # -- settings ----------------------------------------------------------------------------------

    def get_settings(self) -> dict:
        """Constructor arguments as a JSON-serialisable dict (``type(self)(**settings)`` rebuilds it)."""
        return {
            "kernel": self.kernel,
            "C": self.C,
            "gamma": self.gamma,
            "calibration_folds": self.calibration_folds,
            "layout": self.layout,
            "cache_size": self.cache_size,
            "n_jobs": self.n_jobs,
            "random_state": self.random_state,
        }

    def _estimator(self) -> Pipeline:
        if self.kernel == "rbf":
            svm = SVC(kernel="rbf", C=self.C, gamma=self.gamma, class_weight="balanced", cache_size=self.cache_size)
        else:
            # liblinear: linear in the number of frames, unlike LIBSVM's kernel solver
            svm = LinearSVC(C=self.C, class_weight="balanced", max_iter=20000, random_state=self.random_state)
        return Pipeline([("scale", StandardScaler()), ("svm", svm)])

    # -- training ----------------------------------------------------------------------------------

    def fit(self, clips: Iterable, labels, video_ids: Sequence[Hashable] | None = None):
        """Train on labelled clips.

        Parameters
        ----------
        clips : iterable of array_like, each (T, 3, H, W) or (T, H, W, 3)
            ``uint8`` or float in [0, 1]; a list, a generator (consumed once, only
            the features are kept) or an (N, T, ...) array.
        labels : array_like, shape (N,)
            1 = bona fide, 0 = attack; both classes needed.
        video_ids : sequence of hashable, length N, optional
            Video of each clip; the calibration folds keep videos whole.  Without
            it every clip is its own video.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            No clips, labels not 0/1 or of another length, one class only, fewer
            than 2 videos of a class, a video with both labels, or a bad clip.
        """
        y_clip = _labels(labels)
        blocks = self._extract(clips)
        if len(blocks) != len(y_clip):
            raise ValueError(f"got {len(blocks)} clips but {len(y_clip)} labels")
        groups = _group_index(video_ids, len(blocks))
        rows = [self._train_rows(b) for b in blocks]
        counts = np.array([len(r) for r in rows])
        X = np.concatenate(rows)
        y = np.repeat(y_clip, counts)
        model = CalibratedClassifierCV(
            self._estimator(),
            method="sigmoid",
            cv=self._folds(y_clip, groups, counts),
            ensemble=False,
            n_jobs=self.n_jobs,
        )
        model.fit(X, y)
        self.model_ = model
        return self

    def _folds(self, y_clip: np.ndarray, groups: np.ndarray, counts: np.ndarray) -> list:
        """(train_rows, test_rows) splits: whole groups, every fold holding out both classes.

        y_clip, groups (N,): label and group index of each clip; counts (N,): its training rows.
        """
        group_label: dict[int, int] = {}
        for gi, yi in zip(groups.tolist(), y_clip.tolist()):
            if group_label.setdefault(gi, yi) != yi:
                raise ValueError("a video has clips with both labels")
        per_class = [[gi for gi, yi in group_label.items() if yi == k] for k in (ATTACK, BONA_FIDE)]
        k = min(self.calibration_folds, len(per_class[0]), len(per_class[1]))
        if k < 2:
            raise ValueError(
                "need at least 2 videos of each class to calibrate the SVM probabilities, got "
                f"{len(per_class[1])} bona fide and {len(per_class[0])} attack"
            )
        # stratified group k-fold, dealt round-robin so every fold gets groups of both classes
        rng = np.random.default_rng(self.random_state)
        fold_of = {}
        for members in per_class:
            for j, gi in enumerate(rng.permutation(members).tolist()):
                fold_of[gi] = j % k
        row_fold = np.repeat([fold_of[gi] for gi in groups.tolist()], counts)
        return [(np.flatnonzero(row_fold != f), np.flatnonzero(row_fold == f)) for f in range(k)]

    # -- scoring -----------------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if self.model_ is None:
            raise NotFittedError(f"this {type(self).__name__} is not fitted: call fit() or load() first")

    def _proba(self, X: np.ndarray) -> np.ndarray:
        self._check_fitted()
        col = int(np.flatnonzero(self.model_.classes_ == BONA_FIDE)[0])
        return self.model_.predict_proba(X)[:, col]

    def score(self, clips: Iterable) -> np.ndarray:
        """Bona fide score of each clip.

        Parameters
        ----------
        clips : iterable of array_like, each (T, 3, H, W) or (T, H, W, 3)
            As for :meth:`fit`.

        Returns
        -------
        numpy.ndarray, shape (N,), float64
            Mean bona fide probability of each clip's feature rows (its frames
            for :class:`LBPSVM`, its one LBP-TOP feature for :class:`LBPTOPSVM`).
        """
        self._check_fitted()  # before the feature extraction, which may be long
        blocks = self._extract(clips)
        p = self._proba(np.concatenate(blocks))
        bounds = np.cumsum([0] + [len(b) for b in blocks])
        return np.array([p[a:b].mean() for a, b in zip(bounds[:-1], bounds[1:])])

    def score_videos(self, clips: Iterable, video_ids: Sequence[Hashable]) -> tuple[list, np.ndarray]:
        """Bona fide score of each video: the mean over all feature rows of its clips.

        Parameters
        ----------
        clips : iterable of array_like, each (T, 3, H, W) or (T, H, W, 3)
        video_ids : sequence of hashable, length N
            Video of each clip (strings or ints; a torch tensor works too).

        Returns
        -------
        ids : list
            The distinct video ids, in order of first appearance.
        scores : numpy.ndarray, shape (len(ids),), float64
            :class:`LBPSVM`: mean probability over all frames of the video's
            clips; :class:`LBPTOPSVM`: mean over the video's clips.
        """
        self._check_fitted()
        ids = _id_list(video_ids)
        blocks = self._extract(clips)
        if len(ids) != len(blocks):
            raise ValueError(f"got {len(blocks)} clips but {len(ids)} video ids")
        p = self._proba(np.concatenate(blocks))
        order: dict = {}
        sums: list[float] = []
        counts: list[int] = []
        start = 0
        for vid, b in zip(ids, blocks):
            j = order.setdefault(vid, len(order))
            if j == len(sums):
                sums.append(0.0)
                counts.append(0)
            sums[j] += float(p[start : start + len(b)].sum())
            counts[j] += len(b)
            start += len(b)
        return list(order), np.asarray(sums) / np.asarray(counts)

    # -- features ----------------------------------------------------------------------------------

    def _extract(self, clips: Iterable) -> list[np.ndarray]:
        if isinstance(clips, str | bytes) or getattr(clips, "ndim", 5) != 5:
            # an array (or tensor) of clips is (N, T, ...); a single 4-D clip is a common slip
            raise ValueError("clips must be an iterable of clips or an (N, T, ...) array, not a single clip")
        blocks = []
        for i, clip in enumerate(clips):
            try:
                rows = self.features(clip)
            except ValueError as e:
                raise ValueError(f"clip {i}: {e}") from e
            blocks.append(rows)
        if not blocks:
            raise ValueError("no clips given")
        return blocks

    # -- persistence -------------------------------------------------------------------------------

    def save(self, path) -> Path:
        """Write the fitted model to the directory ``path`` (created if needed).

        Writes ``settings.json`` (format tag, model class, constructor settings,
        feature length, scikit-learn version) and ``model.joblib`` (the fitted
        calibrated pipeline).  Returns the directory.
        """
        self._check_fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "model": type(self).__name__,
            "n_features": self.n_features,
            "sklearn_version": sklearn.__version__,
            "settings": self.get_settings(),
        }
        joblib.dump(self.model_, folder / _MODEL_FILE)
        (folder / _SETTINGS_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        return folder

    @classmethod
    def load(cls, path):
        """Load a model written by :meth:`save` (only load files you trust: joblib runs pickle).

        Raises
        ------
        ValueError
            ``path`` is not such a directory, its settings are not this class's,
            or ``model.joblib`` is missing, unreadable or not a matching model.
        """
        meta = _read_meta(path)
        if meta["model"] != cls.__name__:
            raise ValueError(f"{path} holds a {meta['model']} model, not a {cls.__name__}")
        return _restore(cls, meta, Path(path))


class LBPSVM(_SVMBaseline):
    """LBP^{u2}_{8,1} + SVM: per-frame 59-bin LBP histograms, video score = mean frame probability.

    Parameters
    ----------
    kernel : {"rbf", "linear"}
        ``"rbf"`` (default): LIBSVM ``SVC`` with the RBF kernel, as in the LBP
        anti-spoofing work the paper cites (Maatta et al.); training cost grows
        quadratically with the frame count.  ``"linear"``: liblinear ``LinearSVC``.
    C : float
        SVM penalty.
    gamma : "scale", "auto" or float
        RBF width (on standardised features; ``"scale"`` = 1 / (59 var(X))).
    calibration_folds : int
        Folds (whole videos, both classes) for the Platt sigmoid; lowered to the
        number of videos of the smaller class when there are fewer.
    train_frame_step : int
        Train on every ``train_frame_step``-th frame of each clip; 1 (default,
        the paper: all frames).  Scoring always uses every frame.
    layout : {"auto", "THWC", "TCHW"}
        Channel axis of the clips (see :func:`antispoof.baselines.lbp.rgb_to_gray`).
    cache_size : float
        LIBSVM kernel cache in MB.
    n_jobs : int or None
        Parallel calibration folds (joblib).
    random_state : int
        Seeds the fold assignment (and liblinear).
    """

    n_features = N_BINS

    def __init__(self, kernel="rbf", C=1.0, gamma="scale", calibration_folds=5, train_frame_step=1, **kwargs):
        super().__init__(kernel=kernel, C=C, gamma=gamma, calibration_folds=calibration_folds, **kwargs)
        if int(train_frame_step) < 1:
            raise ValueError(f"train_frame_step must be >= 1, got {train_frame_step!r}")
        self.train_frame_step = int(train_frame_step)

    def get_settings(self) -> dict:
        return {**super().get_settings(), "train_frame_step": self.train_frame_step}

    def features(self, clip) -> np.ndarray:
        """(T, 59) float64: LBP histogram of each frame (:func:`~antispoof.baselines.lbp.lbp_features`)."""
        return lbp_features(clip, self.layout)

    def _train_rows(self, rows: np.ndarray) -> np.ndarray:
        return rows[:: self.train_frame_step]


class LBPTOPSVM(_SVMBaseline):
    """LBP-TOP + SVM: one 177-d LBP-TOP feature per clip, video score = mean clip probability.

    Parameters are those of :class:`LBPSVM` without ``train_frame_step``;
    clips need at least 3 frames.
    """

    n_features = N_TOP_FEATURES

    def features(self, clip) -> np.ndarray:
        """(1, 177) float64: the clip's LBP-TOP feature (:func:`~antispoof.baselines.lbp.lbp_top_features`)."""
        return lbp_top_features(clip, self.layout)[None, :]


def _classes() -> dict[str, type]:
    from .pulse import PulseSVM  # imports this module: looked up when a model is loaded

    return {c.__name__: c for c in (LBPSVM, LBPTOPSVM, PulseSVM)}


def load_baseline(path) -> _SVMBaseline:
    """Load a model saved by :meth:`LBPSVM.save`, :meth:`LBPTOPSVM.save` or :meth:`PulseSVM.save`, whichever it is.

    Raises
    ------
    ValueError
        ``path`` is not a saved baseline (see :meth:`LBPSVM.load`).
    """
    meta = _read_meta(path)
    classes = _classes()
    if meta["model"] not in classes:
        raise ValueError(f"{path}: unknown model {meta['model']!r}")
    return _restore(classes[meta["model"]], meta, Path(path))


# -- helpers -----------------------------------------------------------------------------------


def _labels(labels) -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {y.shape}")
    if y.size == 0:
        raise ValueError("no labels given")
    if not np.isin(y, (ATTACK, BONA_FIDE)).all():
        raise ValueError(f"labels must be 0 (attack) or 1 (bona fide), got values {np.unique(y)[:5]}")
    y = y.astype(np.int64)
    if y.min() == y.max():
        raise ValueError("labels hold one class only: need bona fide (1) and attack (0) clips")
    return y


def _id_list(video_ids) -> list:
    # tolist() turns numpy arrays and torch tensors into hashable Python scalars
    ids = video_ids.tolist() if hasattr(video_ids, "tolist") else list(video_ids)
    if not isinstance(ids, list):
        raise ValueError("video_ids must be a sequence")
    return ids


def _group_index(video_ids, n: int) -> np.ndarray:
    if video_ids is None:
        return np.arange(n)
    ids = _id_list(video_ids)
    if len(ids) != n:
        raise ValueError(f"got {n} clips but {len(ids)} video ids")
    index: dict = {}
    return np.array([index.setdefault(v, len(index)) for v in ids], dtype=np.int64)


def _read_meta(path) -> dict:
    folder = Path(path)
    settings = folder / _SETTINGS_FILE
    if not folder.is_dir() or not settings.is_file():
        raise ValueError(f"{path} is not a saved baseline model (a directory with {_SETTINGS_FILE} and {_MODEL_FILE})")
    try:
        meta = json.loads(settings.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{settings} is not valid JSON: {e}") from e
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise ValueError(f"{settings} is not an {_FORMAT} settings file")
    if meta.get("format_version") != _FORMAT_VERSION:
        raise ValueError(f"{settings}: unsupported format version {meta.get('format_version')!r}")
    if not isinstance(meta.get("settings"), dict) or "model" not in meta:
        raise ValueError(f"{settings} lacks the model name or its settings")
    return meta


def _restore(cls, meta: dict, folder: Path):
    try:
        obj = cls(**meta["settings"])
    except TypeError as e:
        raise ValueError(f"{folder / _SETTINGS_FILE}: settings do not fit {cls.__name__}: {e}") from e
    try:
        model = joblib.load(folder / _MODEL_FILE)
    except Exception as e:  # a truncated or foreign file can fail in many ways
        raise ValueError(f"cannot read {folder / _MODEL_FILE}: {e}") from e
    if not isinstance(model, CalibratedClassifierCV) or getattr(model, "n_features_in_", None) != cls.n_features:
        raise ValueError(f"{folder / _MODEL_FILE} is not a fitted {cls.__name__} classifier")
    if sorted(np.asarray(model.classes_).tolist()) != [0, 1]:
        raise ValueError(f"{folder / _MODEL_FILE} was not trained on labels 0/1")
    obj.model_ = model
    return obj
