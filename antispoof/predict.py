"""Score plain videos with a trained run: detect and crop the face, magnify as in training, score clips."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from antispoof import metrics
from antispoof.cache import PrepareConfig, VideoTooShortError, all_clip_starts, make_detector, open_clip_stream
from antispoof.labels import BONA_FIDE
from antispoof.limits import MAX_BATCH_SIZE
from evm.validation import integer


@dataclass
class Prediction:
    path: str
    probability: float | None = None  # video score: clip probabilities aggregated as the threshold's were (mean)
    bona_fide: bool | None = None  # decision at the run's threshold
    clips: int = 0
    clip_scores: list[float] | None = None
    seconds: float = 0.0
    error: str | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class Predictor:
    """A trained run ready to score videos.

    Parameters
    ----------
    run_dir : path-like
        Output of ``antispoof train`` (config.json with the preparation parameters,
        best.pt, threshold.json).
    detector : str or None
        YuNet .onnx model path; None uses OpenCV's Haar cascade.
    device : str
    batch_size : int
        Clips per forward pass: clips are scored as the video is decoded, ``batch_size`` at a time, so
        memory is bounded by this and the preparation settings, not by the video's length.
    """

    def __init__(self, run_dir: str | os.PathLike, *, detector: str | None = None, device: str = "cpu",
                 batch_size: int = 8) -> None:
        from antispoof.rundir import RunDir

        self.batch_size = integer(batch_size, "batch_size", minimum=1, maximum=MAX_BATCH_SIZE)
        self.run_dir = Path(run_dir)
        run = RunDir(self.run_dir)
        config = run.read_config()
        data = config.get("data") or {}
        if "prepare" not in data:
            raise ValueError(f"{run_dir}: the run does not record how its data was prepared (data.prepare)")
        self.prepare = PrepareConfig.from_dict(data["prepare"])
        threshold = run.read_threshold()
        self.threshold = float(threshold["threshold"])
        # The threshold was picked on video scores aggregated this way: score videos the same way.
        self.aggregate = threshold.get("aggregate", "mean")
        if self.aggregate not in metrics.AGGREGATES:
            raise ValueError(f"{run_dir}: threshold.json has an unknown aggregate {self.aggregate!r}")
        self.model = run.load_model(device=device)
        self.device = next(self.model.parameters()).device
        self.pulse = RunDir.takes_pulse(config)
        self.detector = make_detector(detector)

    def __call__(self, path: str | os.PathLike) -> Prediction:
        """Score one video; problems (unreadable, too short, no face) come back in ``error``."""
        from antispoof.data.annotations import NoFaceError
        from evm.io import VideoError

        t0 = time.perf_counter()
        result = Prediction(str(path))
        cfg = self.prepare
        try:
            try:
                with open_clip_stream(path, cfg, detector=self.detector, starts=all_clip_starts,
                                      trace=self.pulse) as stream:  # fmt: skip
                    scores = self._score(stream.clips) if not self.pulse else self._score_with_pulse(stream)
            except VideoTooShortError as exc:
                raise ValueError(f"video too short: {exc.n_frames} frames, one clip needs {exc.span}") from None
            except NoFaceError:
                raise ValueError("no face found") from None
        except (VideoError, ValueError, OSError) as exc:
            result.error = " ".join(str(exc).split())
        else:
            result.probability = metrics.aggregate(scores, self.aggregate)
            result.bona_fide = bool(result.probability >= self.threshold)
            result.clips = len(scores)
            result.clip_scores = [round(float(s), 6) for s in scores]
        result.seconds = round(time.perf_counter() - t0, 3)
        return result

    def _score(self, clips) -> np.ndarray:
        """Scores of a stream of uint8 ``(T, H, W, 3)`` clips, ``batch_size`` clips held at a time."""
        import torch

        from antispoof import inference

        scores, batch = [], []

        def flush() -> None:
            x = torch.from_numpy(np.stack(batch)).permute(0, 1, 4, 2, 3).float() / 255
            scores.append(inference.score_clips(self.model, x))
            batch.clear()

        with torch.inference_mode():
            for clip in clips:
                batch.append(clip)
                if len(batch) == self.batch_size:
                    flush()
            if batch:
                flush()
        return np.concatenate(scores) if scores else np.zeros(0)

    def _score_with_pulse(self, stream) -> np.ndarray:
        """Scores of a stream's clips by a model with ``pulse_features``: each batch is encoded as it comes
        (its pooled LSTM output kept, ``hidden_size`` floats a clip), and classified once the whole video's
        pulse trace, hence its features, is known."""
        import torch

        from antispoof.baselines.pulse import trace_features

        contexts, batch = [], []

        def flush() -> None:
            x = torch.from_numpy(np.stack(batch)).permute(0, 1, 4, 2, 3).float() / 255
            contexts.append(self.model.encode(x.to(self.device))[0])
            batch.clear()

        with torch.inference_mode():
            self.model.eval()
            for clip in stream.clips:
                batch.append(clip)
                if len(batch) == self.batch_size:
                    flush()
            if batch:
                flush()
            if not contexts:
                return np.zeros(0)
            features = trace_features(stream.trace, stream.fps)  # ValueError (too short) -> the result's error
            context = torch.cat(contexts)
            pulse = torch.as_tensor(features, dtype=torch.float32, device=self.device).expand(len(context), -1)
            logits = self.model.classify(context, pulse)
            return torch.softmax(logits.float(), dim=-1)[:, BONA_FIDE].double().cpu().numpy()
