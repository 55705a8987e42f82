"""The CNN-LSTM of Tu et al. with attention, the frame-level CNN baseline, their loss and the config factory.

Forward contract shared by every model here (kornia-style)::

    clips : (B, T, 3, H, W) float RGB in [0, 1]
    ->  ModelOutput(logits=(B, 2), frame_logits=(B, T, 2), attention=(B, T) or None)

Class index 1 is bona fide and 0 is attack, so ``output.scores = softmax(logits)[:, 1]`` is the probability
of bona fide (higher = more bona fide), the polarity used by :mod:`antispoof.metrics`.

Normalisation happens inside the model and follows the weights in use (see :class:`InputNormalization`).

Attention (``ModelConfig.attention``):

``"paper"``
    Eq. 12-13 of the paper, ``c = sum_i alpha_i h_i`` with ``alpha_i`` proportional to ``exp(W_i^T h_{i-1})``:
    one learned vector ``W_i`` per time step (so the clip length ``num_frames`` is fixed) scoring the
    *previous* hidden state, ``h_0`` being the LSTM's zero initial state. As printed, the denominator
    of Eq. 13 is ``sum_j exp(W_j^T h_{i-1})``, which makes every alpha_i a component of a *different*
    softmax, so the alphas would not sum to 1 over time although the text calls them probabilities
    over the sequence. We normalise over time, ``sum_j exp(W_j^T h_{j-1})``, which is the only reading
    under which Eq. 12 is a weighted average. The rest is exactly as written.
``"soft"``
    Standard additive attention: ``e_i = v^T tanh(U h_i + b)``, ``alpha = softmax_i(e)``.
``"none"``
    The last hidden state; the returned weights are one-hot on the last step.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from functools import partial
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from evm.validation import MAX_SIDE, integer, optional, real

from ..labels import BONA_FIDE
from ..limits import MAX_WIDTH
from .vgg import SMALL_CHANNELS, ConvTrunk, small_trunk, vgg16_trunk

ARCHITECTURES = ("cnn_lstm", "frame_cnn")
TRUNKS = ("vgg16", "small")
ATTENTIONS = ("paper", "soft", "none")
NORMALIZATIONS = ("auto", "vggface", "imagenet", "none")
WEIGHTS_LAYOUTS = ("auto", "vggface", "torchvision", "torchvision_bn")
_MAXIMA = {"num_frames": 1024, "num_layers": 64}
#: ModelConfig fields that only the CNN-LSTM has (a frame CNN built from the same settings leaves them out).
CNN_LSTM_ONLY = ("pulse_features", "motion_stream")

#: VGG-Face (Albanie's PyTorch conversion): RGB mean on the 0-255 scale, no std scaling.
VGGFACE_MEAN_255 = (129.186279296875, 104.76238250732422, 93.59396362304688)
#: torchvision ImageNet statistics on the 0-1 scale.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

NUM_CLASSES = 2  # 0 = attack, 1 = bona fide
PULSE_FEATURES = 9  # len(antispoof.baselines.pulse.FEATURE_NAMES): the classifier's extra inputs


# --------------------------------------------------------------------------------------------------- config


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model; saved as JSON in every run directory.

    Attributes
    ----------
    architecture : {"cnn_lstm", "frame_cnn"}
        The CNN-LSTM of the paper, or the frame-level CNN baseline (trunk + frame classifier).
    trunk : {"vgg16", "small"}
    batch_norm : bool
        Batch norm after every convolution (the paper uses it; default True).
    trunk_channels : tuple of int
        Channels of the small trunk's stages (ignored for vgg16).
    image_size : (int, int)
        ``(H, W)`` of the input frames; fixes the LSTM input size (C * h * w of the last pool).
    num_frames : int
        Clip length T. Required to match the input for ``attention="paper"`` (one W_i per step);
        other attentions accept any T.
    projection_dim : int or None
        If set, a learned linear map from the flattened pool features (C*h*w) to this size feeds the
        LSTM; None connects the flattened last pool directly, as in the paper.
    temporal_delta : bool
        If True the LSTM reads ``[x_t, x_t - x_{t-1}]`` (``x_0``'s difference is 0) instead of ``x_t``,
        where ``x_t`` is frame t's flattened pool (after the projection, if any): the change between
        frames as an input of its own. Not in the paper (default False). An LSTM given only ``x_t``
        has to learn to difference its inputs, which a small training set does not teach it: trained to
        tell bona fide clips from one of their frames held still (``hold_still``), the paper's model
        stayed at chance on that pair (``docs/training.md``).
    hidden_size, num_layers : int
        LSTM size.
    attention : {"paper", "soft", "none"}
    attention_dim : int
        Hidden size of the additive ("soft") attention.
    dropout : float
        Dropout before both classifiers (and between stacked LSTM layers).
    normalization : {"auto", "vggface", "imagenet", "none"}
        Input normalisation inside the model; "auto" resolves from the weights (VGG-Face -> "vggface",
        torchvision -> "imagenet") and to "imagenet" for random init. ``build_model`` stores the
        resolved value.
    weights : str or None
        Path of pretrained VGG-16 conv weights, loaded by :func:`build_model` (vgg16 trunk only).
    weights_layout : {"auto", "vggface", "torchvision", "torchvision_bn"}
        Key layout of ``weights``; resolved by :func:`build_model` when "auto".
    pulse_features : bool
        CNN-LSTM only, not in the paper (default False): the classifier also reads the video's nine rPPG
        features (:data:`antispoof.baselines.pulse.FEATURE_NAMES`, from the whole video's pulse trace),
        standardised by the training set's mean and standard deviation (buffers of the model, saved with
        it), concatenated to the attention-pooled LSTM output: ``Linear(hidden_size + 9, 2)``. The
        forward then takes ``pulse`` (B, 9).
    motion_stream : int
        CNN-LSTM only, not in the paper (default 0, none): a small CNN of this many channels reads every
        frame's difference from the previous one (``x_t - x_{t-1}`` on the 0-1 RGB input, zero for the
        first frame) and its pooled ``(motion_stream, 4, 4)`` map joins the LSTM input (the "temporal
        stream" of two-stream networks). The trunk's pool features, trained on appearance by the frame
        loss, keep differences of a few grey levels (a live face's micro-motion against a print's
        stillness) too small for the LSTM to use; the stream's batch norm scales them up.
    """

    architecture: str = "cnn_lstm"
    trunk: str = "vgg16"
    batch_norm: bool = True
    trunk_channels: tuple[int, ...] = SMALL_CHANNELS
    image_size: tuple[int, int] = (224, 224)
    num_frames: int = 16
    projection_dim: int | None = None
    temporal_delta: bool = False
    hidden_size: int = 256
    num_layers: int = 1
    attention: str = "paper"
    attention_dim: int = 128
    dropout: float = 0.5
    normalization: str = "auto"
    weights: str | None = None
    weights_layout: str = "auto"
    pulse_features: bool = False
    motion_stream: int = 0

    def __post_init__(self) -> None:
        # Normalise JSON lists back to tuples so that a round trip compares equal; an int image_size is square.
        size = self.image_size
        object.__setattr__(
            self, "image_size", _int_tuple("image_size", (size, size) if isinstance(size, int) else size)
        )
        object.__setattr__(self, "trunk_channels", _int_tuple("trunk_channels", self.trunk_channels))
        _check_choice("architecture", self.architecture, ARCHITECTURES)
        _check_choice("trunk", self.trunk, TRUNKS)
        _check_choice("attention", self.attention, ATTENTIONS)
        _check_choice("normalization", self.normalization, NORMALIZATIONS)
        _check_choice("weights_layout", self.weights_layout, WEIGHTS_LAYOUTS)
        if len(self.image_size) != 2 or min(self.image_size) < 1:
            raise ValueError(f"image_size must be (H, W) with positive sides, got {self.image_size}")
        if max(self.image_size) > MAX_SIDE:
            raise ValueError(f"image_size must have sides <= {MAX_SIDE}, got {self.image_size}")
        for name in ("num_frames", "hidden_size", "num_layers", "attention_dim", "projection_dim"):
            check = integer if name != "projection_dim" else partial(optional, integer)
            object.__setattr__(
                self, name, check(getattr(self, name), name, minimum=1, maximum=_MAXIMA.get(name, MAX_WIDTH))
            )
        if not self.trunk_channels or min(self.trunk_channels) < 1 or max(self.trunk_channels) > MAX_WIDTH:
            raise ValueError(f"trunk_channels must be in [1, {MAX_WIDTH}], got {self.trunk_channels}")
        real(self.dropout, "dropout", minimum=0.0, maximum=1.0, strict_max=True)
        if not isinstance(self.temporal_delta, bool):
            raise ValueError(f"temporal_delta must be True or False, got {self.temporal_delta!r}")
        if not isinstance(self.pulse_features, bool):
            raise ValueError(f"pulse_features must be True or False, got {self.pulse_features!r}")
        if self.pulse_features and self.architecture != "cnn_lstm":
            raise ValueError(f"pulse_features needs architecture='cnn_lstm', got {self.architecture!r}")
        object.__setattr__(self, "motion_stream", integer(self.motion_stream, "motion_stream", minimum=0,
                                                          maximum=MAX_WIDTH))  # fmt: skip
        if self.motion_stream and self.architecture != "cnn_lstm":
            raise ValueError(f"motion_stream needs architecture='cnn_lstm', got {self.architecture!r}")
        if self.weights is not None and self.trunk != "vgg16":
            raise ValueError(f"pretrained weights need trunk='vgg16', got trunk={self.trunk!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; ``ModelConfig.from_dict(cfg.to_dict()) == cfg``."""
        d = dataclasses.asdict(self)
        d["trunk_channels"] = list(self.trunk_channels)
        d["image_size"] = list(self.image_size)
        return d

    @classmethod
    def from_dict(cls, config: Mapping[str, Any] | ModelConfig) -> ModelConfig:
        """Build from a (possibly partial) dict; missing keys take the defaults, unknown keys are an error."""
        if isinstance(config, ModelConfig):
            return config
        if not isinstance(config, Mapping):
            raise ValueError(f"model config must be a dict, got {type(config).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(f"unknown model config key(s) {unknown}; known keys: {sorted(known)}")
        return cls(**dict(config))

    def replace(self, **changes: Any) -> ModelConfig:
        return dataclasses.replace(self, **changes)


def _int_tuple(name: str, values: Any) -> tuple[int, ...]:
    try:
        out = tuple(int(v) for v in values)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of ints, got {values!r}") from None
    if any(isinstance(v, bool) or float(v) != int(v) for v in values):
        raise ValueError(f"{name} must be a sequence of ints, got {values!r}")
    return out


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


# ------------------------------------------------------------------------------------------- normalisation


class InputNormalization(nn.Module):
    """Map RGB in [0, 1] to what the trunk's weights expect.

    Modes
    -----
    ``"vggface"``
        ``255 * x - mean`` with the VGG-Face RGB mean (129.186, 104.762, 93.594); no std scaling.
    ``"imagenet"``
        ``(x - mean) / std`` with torchvision's ImageNet statistics on 0-1. Also our choice for random
        init: it centres the inputs at roughly zero mean and unit variance, which suits default
        (Kaiming-uniform) initialisation, and keeps random-init runs interchangeable with ImageNet ones.
    ``"none"``
        Identity.

    Shape: ``(..., 3, H, W)`` -> same. The statistics are non-persistent buffers: the mode lives in the
    config, not in the state dict.
    """

    def __init__(self, mode: str) -> None:
        super().__init__()
        _check_choice("normalization", mode, ("vggface", "imagenet", "none"))
        self.mode = mode
        if mode == "vggface":
            mean, scale, std = VGGFACE_MEAN_255, 255.0, (1.0, 1.0, 1.0)
        elif mode == "imagenet":
            mean, scale, std = IMAGENET_MEAN, 1.0, IMAGENET_STD
        else:
            mean, scale, std = (0.0, 0.0, 0.0), 1.0, (1.0, 1.0, 1.0)
        self.scale = scale
        self.register_buffer("mean", torch.tensor(mean).view(3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.mode == "none":
            return images
        return (images * self.scale - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"


# ----------------------------------------------------------------------------------------------- attention


class PaperAttention(nn.Module):
    """Eq. 12-13 of Tu et al.: ``alpha_i = softmax_i(W_i^T h_{i-1})``, ``c = sum_i alpha_i h_i``.

    One scoring vector ``W_i`` per time step, applied to the previous hidden state (``h_0 = 0``, the
    LSTM's initial state, so ``W_1`` never changes the scores and ``alpha_1`` has a constant logit of 0).
    Normalised over time (see the module docstring for the typo in the printed denominator).
    ``W`` starts at zero, i.e. at uniform weights (mean pooling).

    Shape: ``hidden (B, T, H)`` with ``T == num_frames`` -> ``(context (B, H), alpha (B, T))``.
    """

    def __init__(self, num_frames: int, hidden_size: int) -> None:
        super().__init__()
        self.num_frames = num_frames
        self.weight = nn.Parameter(torch.zeros(num_frames, hidden_size))

    def forward(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t, _ = hidden.shape
        if t != self.num_frames:
            raise ValueError(
                f"attention='paper' has one weight vector per time step and was built for "
                f"num_frames={self.num_frames}, got clips of {t} frames"
            )
        previous = torch.cat([hidden.new_zeros(b, 1, hidden.shape[2]), hidden[:, :-1]], dim=1)  # h_{i-1}
        logits = (previous * self.weight.to(hidden.dtype)).sum(dim=-1)  # W_i^T h_{i-1}: (B, T)
        alpha = torch.softmax(logits.float(), dim=1).to(hidden.dtype)
        context = torch.einsum("bt,bth->bh", alpha, hidden)
        return context, alpha


class SoftAttention(nn.Module):
    """Additive attention: ``e_i = v^T tanh(U h_i + b)``, ``alpha = softmax_i(e)``, ``c = sum_i alpha_i h_i``.

    Shape: ``hidden (B, T, H)`` -> ``(context (B, H), alpha (B, T))``.
    """

    def __init__(self, hidden_size: int, attention_dim: int) -> None:
        super().__init__()
        self.project = nn.Linear(hidden_size, attention_dim)
        self.score = nn.Linear(attention_dim, 1, bias=False)

    def forward(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.score(torch.tanh(self.project(hidden))).squeeze(-1)  # (B, T)
        alpha = torch.softmax(logits.float(), dim=1).to(hidden.dtype)
        context = torch.einsum("bt,bth->bh", alpha, hidden)
        return context, alpha


class LastStep(nn.Module):
    """No attention: the last hidden state; weights one-hot on the last step, returned for a uniform API.

    Shape: ``hidden (B, T, H)`` -> ``(context (B, H), alpha (B, T))``.
    """

    def forward(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        alpha = torch.zeros(hidden.shape[:2], dtype=hidden.dtype, device=hidden.device)
        alpha[:, -1] = 1
        return hidden[:, -1], alpha


# ---------------------------------------------------------------------------------------------- the models


class ModelOutput(NamedTuple):
    """What every model returns.

    Attributes
    ----------
    logits : torch.Tensor
        ``(B, 2)`` clip logits (index 1 = bona fide). For the frame CNN these are log mean frame
        probabilities, so ``softmax(logits)`` is the mean of the frame probabilities.
    frame_logits : torch.Tensor
        ``(B, T, 2)`` per-frame logits of the CNN head (used by the CNN loss).
    attention : torch.Tensor or None
        ``(B, T)`` attention weights over time (sum to 1), None for the frame CNN.
    """

    logits: torch.Tensor
    frame_logits: torch.Tensor
    attention: torch.Tensor | None

    @property
    def scores(self) -> torch.Tensor:
        """``(B,)`` float32 probability of bona fide."""
        return torch.softmax(self.logits.float(), dim=-1)[:, BONA_FIDE]


class LossTerms(NamedTuple):
    """``total = lstm + lambda_cnn * cnn`` (scalars); ``lstm`` is None for the frame CNN (total = cnn)."""

    total: torch.Tensor
    lstm: torch.Tensor | None
    cnn: torch.Tensor


def frame_loss(frame_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over all ``B * T`` frames, every frame carrying its clip's label.

    ``frame_logits`` ``(B, T, 2)``, ``labels`` ``(B,)`` int -> scalar float32.
    """
    b, t, k = frame_logits.shape
    return F.cross_entropy(frame_logits.float().reshape(b * t, k), labels.long().repeat_interleave(t))


def combined_loss(
    output: ModelOutput, labels: torch.Tensor, lambda_cnn: float = 1.0, frame_labels: torch.Tensor | None = None
) -> LossTerms:
    """The paper's joint loss ``L = L_lstm + lambda_cnn * L_cnn``.

    ``L_lstm`` is the cross-entropy of the clip logits (after attention), ``L_cnn`` the mean per-frame
    cross-entropy of the CNN head (see :func:`frame_loss`). ``labels`` is ``(B,)`` int, 1 = bona fide.
    ``frame_labels`` ``(B,)``, default ``labels``: what each clip's frames are, when that differs from
    what the clip is (a bona fide frame held still is a live frame in an attack clip, see
    :func:`antispoof.training.hold_still`).
    """
    lstm = F.cross_entropy(output.logits.float(), labels.long())
    cnn = frame_loss(output.frame_logits, labels if frame_labels is None else frame_labels)
    return LossTerms(total=lstm + float(lambda_cnn) * cnn, lstm=lstm, cnn=cnn)


def _check_clips(clips: torch.Tensor, image_size: tuple[int, int] | None) -> None:
    if not isinstance(clips, torch.Tensor):
        raise ValueError(f"clips must be a torch.Tensor, got {type(clips).__name__}")
    if clips.ndim != 5 or clips.shape[2] != 3:
        raise ValueError(f"clips must have shape (B, T, 3, H, W), got {tuple(clips.shape)}")
    if not clips.is_floating_point():
        raise ValueError(f"clips must be float RGB in [0, 1], got dtype {clips.dtype}")
    if clips.shape[0] == 0 or clips.shape[1] == 0:
        raise ValueError(f"clips must have at least one clip and one frame, got {tuple(clips.shape)}")
    if image_size is not None and tuple(clips.shape[3:]) != tuple(image_size):
        raise ValueError(f"model was built for image_size {tuple(image_size)}, got frames of {tuple(clips.shape[3:])}")


class FrameHead(nn.Module):
    """Per-frame classifier on a trunk feature map: global average pool -> dropout -> linear to 2 classes.

    Shape: ``(N, C, h, w)`` -> ``(N, 2)``.
    """

    def __init__(self, channels: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, NUM_CLASSES)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(features.mean(dim=(2, 3))))


class MotionStream(nn.Module):
    """Features of the frame-to-frame differences of a clip (``ModelConfig.motion_stream``).

    Three conv (3x3) + batch norm + ReLU stages of ``channels`` channels, the first two followed by a 2x2
    max pool, then an adaptive average pool to 4 x 4. Batch norm after the first convolution puts
    differences of a few grey levels on the scale of the appearance features.

    Shape: ``clips (B, T, 3, H, W)`` -> ``(B, T, channels * 16)``; frame 0's difference is zero.
    """

    GRID = 4

    def __init__(self, channels: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for stage in range(3):
            layers += [nn.Conv2d(c_in, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU()]
            if stage < 2:
                layers.append(nn.MaxPool2d(2))
            c_in = channels
        layers.append(nn.AdaptiveAvgPool2d(self.GRID))
        self.net = nn.Sequential(*layers)
        self.out_features = channels * self.GRID * self.GRID

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        b, t = clips.shape[:2]
        diff = torch.cat([torch.zeros_like(clips[:, :1]), clips.diff(dim=1)], dim=1)
        return self.net(diff.flatten(0, 1)).view(b, t, self.out_features)


class CNNLSTM(nn.Module):
    """Tu et al.'s joint CNN-LSTM with attention and a per-frame CNN head (build with :func:`build_model`).

    Pipeline per clip: normalise -> trunk on every frame -> last pool ``(C, h, w)`` flattened C-major
    (spatial layout kept, no global pooling) -> optional linear projection -> (optionally with its
    frame-to-frame difference, ``temporal_delta``, and the :class:`MotionStream`'s features of the frame
    differences, ``motion_stream``) -> LSTM -> attention over
    the hidden states -> dropout -> linear -> 2 logits. In parallel the CNN head classifies every frame
    from the same feature map.

    Shape: ``clips (B, T, 3, H, W)`` float in [0, 1] with ``(H, W) == config.image_size`` (and
    ``T == config.num_frames`` for ``attention="paper"``) -> :class:`ModelOutput`.
    """

    def __init__(self, config: ModelConfig, trunk: ConvTrunk) -> None:
        super().__init__()
        self.config = config
        self.normalize = InputNormalization(_resolved_normalization(config))
        self.trunk = trunk
        channels, h, w = trunk.output_shape(config.image_size)
        self.feature_size = channels * h * w
        self.cnn_head = FrameHead(channels, config.dropout)
        if config.projection_dim is not None:
            self.projection = nn.Linear(self.feature_size, config.projection_dim)
            lstm_input = config.projection_dim
        else:
            self.projection = None
            lstm_input = self.feature_size
        if config.temporal_delta:
            lstm_input *= 2
        self.motion = MotionStream(config.motion_stream) if config.motion_stream else None
        if self.motion is not None:
            lstm_input += self.motion.out_features
        self.lstm = nn.LSTM(
            lstm_input,
            config.hidden_size,
            num_layers=config.num_layers,
            batch_first=True,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        if config.attention == "paper":
            self.attention = PaperAttention(config.num_frames, config.hidden_size)
        elif config.attention == "soft":
            self.attention = SoftAttention(config.hidden_size, config.attention_dim)
        else:
            self.attention = LastStep()
        self.dropout = nn.Dropout(config.dropout)
        extra = PULSE_FEATURES if config.pulse_features else 0
        if config.pulse_features:
            # the training set's statistics (set_pulse_statistics), saved and loaded with the weights
            self.register_buffer("pulse_mean", torch.zeros(PULSE_FEATURES))
            self.register_buffer("pulse_std", torch.ones(PULSE_FEATURES))
        self.classifier = nn.Linear(config.hidden_size + extra, NUM_CLASSES)

    def set_pulse_statistics(self, features) -> None:
        """Standardise the pulse features with these videos' statistics (before training).

        Parameters
        ----------
        features : array-like, (N, 9)
            The pulse features of the training videos (:func:`antispoof.baselines.pulse.trace_features`);
            N >= 2, finite. A feature with zero spread gets a standard deviation of 1.
        """
        if not self.config.pulse_features:
            raise ValueError("this model takes no pulse features (pulse_features=False)")
        x = torch.as_tensor(np.asarray(features, dtype=np.float64))
        if x.ndim != 2 or x.shape[1] != PULSE_FEATURES or len(x) < 2 or not torch.isfinite(x).all():
            raise ValueError(f"pulse statistics need finite (N >= 2, {PULSE_FEATURES}) features, got {tuple(x.shape)}")
        std = x.std(dim=0)
        self.pulse_mean.copy_(x.mean(dim=0))
        self.pulse_std.copy_(torch.where(std > 0, std, torch.ones_like(std)))

    def forward(self, clips: torch.Tensor, pulse: torch.Tensor | None = None) -> ModelOutput:
        """``clips`` (B, T, 3, H, W) in [0, 1]; ``pulse`` (B, 9) raw pulse features, exactly when
        ``config.pulse_features``. :meth:`encode` then :meth:`classify`."""
        _check_clips(clips, self.config.image_size)
        self._check_pulse(pulse, clips.shape[0])
        context, alpha, frame_logits = self.encode(clips)
        return ModelOutput(logits=self.classify(context, pulse), frame_logits=frame_logits, attention=alpha)

    def _check_pulse(self, pulse: torch.Tensor | None, b: int) -> None:
        if self.config.pulse_features:
            if pulse is None or tuple(pulse.shape) != (b, PULSE_FEATURES):
                got = None if pulse is None else tuple(pulse.shape)
                raise ValueError(
                    f"this model takes pulse features (B, {PULSE_FEATURES}) = ({b}, {PULSE_FEATURES}), got {got}"
                )
        elif pulse is not None:
            raise ValueError("this model takes no pulse features (pulse_features=False)")

    def encode(self, clips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """Everything before the classifier: ``(context (B, hidden_size), attention (B, T) or None,
        frame_logits (B, T, 2))``. A video's pulse features come from all its frames: a caller scoring a
        stream encodes its clips as they come and classifies them once the features are known."""
        _check_clips(clips, self.config.image_size)
        b, t = clips.shape[:2]
        features = self.trunk(self.normalize(clips.flatten(0, 1)))  # (B*T, C, h, w)
        frame_logits = self.cnn_head(features).view(b, t, NUM_CLASSES)
        sequence = features.flatten(1).view(b, t, self.feature_size)  # pool5 flattened C-major
        if self.projection is not None:
            sequence = self.projection(sequence)
        if self.config.temporal_delta:
            delta = torch.cat([torch.zeros_like(sequence[:, :1]), sequence.diff(dim=1)], dim=1)
            sequence = torch.cat([sequence, delta], dim=-1)
        if self.motion is not None:
            sequence = torch.cat([sequence, self.motion(clips).to(sequence.dtype)], dim=-1)
        hidden, _ = self.lstm(sequence)  # (B, T, hidden)
        context, alpha = self.attention(hidden)
        return context, alpha, frame_logits

    def classify(self, context: torch.Tensor, pulse: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, 2)`` logits from :meth:`encode`'s ``context``, with the standardised ``pulse`` (B, 9) when
        ``config.pulse_features``."""
        self._check_pulse(pulse, context.shape[0])
        if pulse is not None:
            z = (pulse.to(context.dtype) - self.pulse_mean.to(context.dtype)) / self.pulse_std.to(context.dtype)
            context = torch.cat([context, z], dim=1)
        return self.classifier(self.dropout(context))

    def loss(
        self,
        output: ModelOutput,
        labels: torch.Tensor,
        lambda_cnn: float = 1.0,
        frame_labels: torch.Tensor | None = None,
    ) -> LossTerms:
        """:func:`combined_loss`: ``L_lstm + lambda_cnn * L_cnn``."""
        return combined_loss(output, labels, lambda_cnn, frame_labels)


class FrameCNN(nn.Module):
    """Frame-level CNN baseline: trunk + per-frame classifier, no LSTM (build with :func:`build_model`).

    The clip (video) probability is the mean of the frame probabilities; ``logits`` holds their log so
    that ``ModelOutput.scores`` works unchanged. Any frame size and clip length are accepted (global
    average pooling); use ``T = 1`` for single images. Trained with the per-frame cross-entropy only.

    Shape: ``clips (B, T, 3, H, W)`` float in [0, 1] -> :class:`ModelOutput` with ``attention=None``.
    """

    def __init__(self, config: ModelConfig, trunk: ConvTrunk) -> None:
        super().__init__()
        self.config = config
        self.normalize = InputNormalization(_resolved_normalization(config))
        self.trunk = trunk
        trunk.output_shape(config.image_size)  # fail early on an image size the pools cannot take
        self.cnn_head = FrameHead(trunk.out_channels, config.dropout)

    def forward(self, clips: torch.Tensor) -> ModelOutput:
        _check_clips(clips, None)
        b, t = clips.shape[:2]
        features = self.trunk(self.normalize(clips.flatten(0, 1)))
        frame_logits = self.cnn_head(features).view(b, t, NUM_CLASSES)
        # log(mean_t p_t) computed stably from the per-frame log-probabilities.
        logits = torch.logsumexp(torch.log_softmax(frame_logits.float(), dim=-1), dim=1) - math.log(t)
        return ModelOutput(logits=logits, frame_logits=frame_logits, attention=None)

    def loss(
        self,
        output: ModelOutput,
        labels: torch.Tensor,
        lambda_cnn: float = 1.0,
        frame_labels: torch.Tensor | None = None,
    ) -> LossTerms:
        """Per-frame cross-entropy against ``frame_labels`` (default ``labels``); ``lambda_cnn`` is accepted
        for a uniform API and ignored."""
        cnn = frame_loss(output.frame_logits, labels if frame_labels is None else frame_labels)
        return LossTerms(total=cnn, lstm=None, cnn=cnn)


# ------------------------------------------------------------------------------------------------- factory


def _resolved_normalization(config: ModelConfig) -> str:
    if config.normalization != "auto":
        return config.normalization
    if config.weights is None:
        return "imagenet"
    if config.weights_layout == "auto":
        raise ValueError("normalization='auto' with weights needs a resolved weights_layout; use build_model")
    return "vggface" if config.weights_layout == "vggface" else "imagenet"


def build_model(config: Mapping[str, Any] | ModelConfig, *, load_weights: bool = True) -> CNNLSTM | FrameCNN:
    """Build a model from a config dict (see :class:`ModelConfig`; missing keys take defaults).

    When ``config["weights"]`` is set and ``load_weights`` is True the VGG-16 conv weights are loaded from
    that file. The returned model's ``.config`` is fully resolved (``weights_layout`` and
    ``normalization`` no longer "auto"), so ``build_model(model.config.to_dict(), load_weights=False)``
    rebuilds the same architecture; that is how run directories are reloaded (the trained state dict
    then replaces the weights, and the original weights file need not exist any more).
    """
    from .weights import detect_layout, load_trunk_weights, read_state_dict  # local: weights imports this module

    cfg = ModelConfig.from_dict(config)
    state = None
    if cfg.weights is not None and (load_weights or cfg.weights_layout == "auto"):
        state = read_state_dict(cfg.weights)
        if cfg.weights_layout == "auto":
            cfg = cfg.replace(weights_layout=detect_layout(state, source=cfg.weights))
    cfg = cfg.replace(normalization=_resolved_normalization(cfg))
    if cfg.trunk == "vgg16":
        trunk = vgg16_trunk(batch_norm=cfg.batch_norm)
    else:
        trunk = small_trunk(cfg.trunk_channels, batch_norm=cfg.batch_norm)
    model = CNNLSTM(cfg, trunk) if cfg.architecture == "cnn_lstm" else FrameCNN(cfg, trunk)
    if state is not None and load_weights:
        load_trunk_weights(model.trunk, state, layout=cfg.weights_layout, source=cfg.weights)
    return model
