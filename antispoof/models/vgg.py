"""Convolutional trunks: the VGG-16 feature extractor (FC layers removed) and a small CPU-friendly trunk.

Both trunks are a stack of *stages*; a stage is one or more 3x3 convolutions (stride 1, padding 1), each
followed by optional batch norm and ReLU, and ends in a 2x2/2 max pool (``ceil_mode=False``, as in VGG).
A trunk maps ``(N, 3, H, W)`` to ``(N, C, H // 2**S, W // 2**S)`` where ``S`` is the number of stages
(``floor`` at every pool), so VGG-16 at 224x224 gives pool5 = ``(N, 512, 7, 7)``.

The convolutions are named like the VGG-Face conversion (``conv1_1`` ... ``conv5_3``) so that
:mod:`antispoof.models.weights` can map pretrained keys onto them one to one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

#: Output channels of every VGG-16 convolution, grouped by stage (13 convolutions, 5 pools).
VGG16_STAGES: tuple[tuple[int, ...], ...] = (
    (64, 64),
    (128, 128),
    (256, 256, 256),
    (512, 512, 512),
    (512, 512, 512),
)

#: Default channels of the small trunk: one convolution per stage, four stages (a 16x reduction).
SMALL_CHANNELS: tuple[int, ...] = (32, 64, 128, 128)


class ConvUnit(nn.Module):
    """``Conv2d(3x3, padding 1)`` -> optional ``BatchNorm2d`` -> ``ReLU``.

    The convolution keeps its bias even with batch norm so that pretrained VGG weights (which all
    have biases) load without any change of parametrisation.

    Parameters
    ----------
    in_channels, out_channels : int
    batch_norm : bool
    """

    def __init__(self, in_channels: int, out_channels: int, batch_norm: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=True)
        self.bn = nn.BatchNorm2d(out_channels) if batch_norm else None
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return self.relu(x)


class ConvTrunk(nn.Module):
    """A VGG-style convolutional feature extractor without fully connected layers.

    Parameters
    ----------
    stages : sequence of sequence of int
        Output channels of each convolution, grouped by stage; every stage ends in a 2x2/2 max pool.
    in_channels : int
        Input channels (3 for RGB).
    batch_norm : bool
        Insert ``BatchNorm2d`` after every convolution.
    name : str
        ``"vgg16"`` or ``"small"``; recorded so that weight loading can refuse a non-VGG trunk.

    Shape
    -----
    - Input: ``(N, in_channels, H, W)`` float.
    - Output: ``(N, out_channels, H // 2**S, W // 2**S)`` with ``S = len(stages)``.
    """

    def __init__(
        self, stages: Sequence[Sequence[int]], in_channels: int = 3, batch_norm: bool = True, name: str = "custom"
    ) -> None:
        super().__init__()
        if not stages or any(len(stage) == 0 for stage in stages):
            raise ValueError(f"every trunk stage needs at least one convolution, got stages={stages!r}")
        if any(int(c) <= 0 for stage in stages for c in stage):
            raise ValueError(f"trunk channels must be positive, got stages={stages!r}")
        self.name = name
        self.batch_norm = bool(batch_norm)
        blocks = []
        channels = in_channels
        for s, stage in enumerate(stages, start=1):
            layers: OrderedDict[str, nn.Module] = OrderedDict()
            for c, out in enumerate(stage, start=1):
                layers[f"conv{s}_{c}"] = ConvUnit(channels, int(out), batch_norm)
                channels = int(out)
            layers["pool"] = nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=False)
            blocks.append(nn.Sequential(layers))
        self.stages = nn.ModuleList(blocks)
        self.in_channels = in_channels
        self.out_channels = channels
        self.num_stages = len(blocks)

    def conv_units(self) -> list[tuple[str, ConvUnit]]:
        """The convolution units in forward order, with their VGG names (``conv1_1``, ...)."""
        return [(name, m) for stage in self.stages for name, m in stage.named_children() if isinstance(m, ConvUnit)]

    def output_shape(self, image_size: tuple[int, int]) -> tuple[int, int, int]:
        """``(C, h, w)`` of the feature map for an input of ``image_size = (H, W)``.

        Raises ``ValueError`` if the image is too small to survive all the pools.
        """
        h, w = int(image_size[0]), int(image_size[1])
        for _ in range(self.num_stages):
            h, w = h // 2, w // 2
        if h < 1 or w < 1:
            raise ValueError(
                f"image_size {tuple(image_size)} is too small for a trunk with {self.num_stages} 2x2 pools "
                f"(needs at least {2**self.num_stages} pixels per side)"
            )
        return self.out_channels, h, w

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Feature map of a batch of (already normalised) images.

        Parameters
        ----------
        images : torch.Tensor
            ``(N, C_in, H, W)`` float.

        Returns
        -------
        torch.Tensor
            ``(N, C_out, H // 2**S, W // 2**S)``, same dtype.
        """
        if images.ndim != 4 or images.shape[1] != self.in_channels:
            raise ValueError(f"trunk expects (N, {self.in_channels}, H, W) images, got shape {tuple(images.shape)}")
        x = images
        for stage in self.stages:
            x = stage(x)
        return x


def vgg16_trunk(batch_norm: bool = True) -> ConvTrunk:
    """VGG-16 convolutional trunk: 13 conv 3x3 + ReLU (+ BN), 5 max pools; 512x7x7 at 224x224."""
    return ConvTrunk(VGG16_STAGES, batch_norm=batch_norm, name="vgg16")


def small_trunk(channels: Sequence[int] = SMALL_CHANNELS, batch_norm: bool = True) -> ConvTrunk:
    """A lightweight trunk, one conv per stage, for CPU training and tests.

    With the default ``(32, 64, 128, 128)`` a 112x112 crop gives a 128x7x7 map and a 64x64 crop 128x4x4.
    """
    channels = tuple(int(c) for c in channels)
    if not channels:
        raise ValueError("small trunk needs at least one stage")
    return ConvTrunk([(c,) for c in channels], batch_norm=batch_norm, name="small")
