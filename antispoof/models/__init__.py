"""Models: VGG-16 / small conv trunks, the CNN-LSTM with attention (Tu et al.) and the frame-level CNN baseline.

Public API::

    build_model(config_dict, *, load_weights=True) -> CNNLSTM | FrameCNN
    ModelConfig, ModelOutput, LossTerms, combined_loss, frame_loss
    CNNLSTM, FrameCNN, InputNormalization, PaperAttention, SoftAttention, LastStep
    ConvTrunk, vgg16_trunk, small_trunk                         (antispoof.models.vgg)
    read_state_dict, detect_layout, load_trunk_weights          (antispoof.models.weights)
"""

from .cnn_lstm import (
    CNNLSTM,
    FrameCNN,
    InputNormalization,
    LastStep,
    LossTerms,
    ModelConfig,
    ModelOutput,
    PaperAttention,
    SoftAttention,
    build_model,
    combined_loss,
    frame_loss,
)
from .vgg import ConvTrunk, small_trunk, vgg16_trunk
from .weights import detect_layout, load_trunk_weights, read_state_dict

__all__ = [
    "CNNLSTM",
    "ConvTrunk",
    "FrameCNN",
    "InputNormalization",
    "LastStep",
    "LossTerms",
    "ModelConfig",
    "ModelOutput",
    "PaperAttention",
    "SoftAttention",
    "build_model",
    "combined_loss",
    "detect_layout",
    "frame_loss",
    "load_trunk_weights",
    "read_state_dict",
    "small_trunk",
    "vgg16_trunk",
]
