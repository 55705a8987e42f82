"""Load pretrained VGG-16 convolution weights from a local file into a :class:`~antispoof.models.vgg.ConvTrunk`.

Supported key layouts (detected automatically):

``"vggface"``
    Albanie's PyTorch conversion of VGG-Face (``vgg_face_dag``): ``conv1_1.weight`` ... ``conv5_3.bias``.
    ``fc6``/``fc7``/``fc8`` are ignored whatever their shape (some variants store fc6 as a 7x7 conv).
    Input convention: RGB 0-255 minus the mean (129.186, 104.762, 93.594).
``"torchvision"``
    ``torchvision.models.vgg16().state_dict()``: ``features.{0,2,5,...,28}.weight/bias``; ``classifier.*``
    ignored. Input convention: ImageNet mean/std on 0-1.
``"torchvision_bn"``
    ``vgg16_bn``: convolutions at ``features.{0,3,7,...,40}`` and batch norm (``weight``, ``bias``,
    ``running_mean``, ``running_var``, optional ``num_batches_tracked``) right after each.

Weights without batch norm loaded into a trunk *with* batch norm set the convolutions only; the BN
layers stay at their identity initialisation (gamma 1, beta 0) and are trained, as in the paper (VGG-Face
has no BN, the paper adds it). ``vgg16_bn`` weights into a trunk without BN are refused: the BN would be
silently dropped.

Files are read with ``torch.load(weights_only=True)``: plain state dicts, optionally wrapped in
``{"state_dict": ...}`` / ``{"model": ...}`` and with a DataParallel ``module.`` prefix.
"""

from __future__ import annotations

import os
import pickle
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from .vgg import VGG16_STAGES, ConvTrunk

#: VGG conv names in forward order.
VGG16_CONV_NAMES: tuple[str, ...] = tuple(
    f"conv{s}_{c}" for s, stage in enumerate(VGG16_STAGES, start=1) for c in range(1, len(stage) + 1)
)
#: ``features.N`` index of each conv in torchvision's ``vgg16`` (ReLU after each conv, pool after stages).
TORCHVISION_CONV_INDEX: tuple[int, ...] = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
#: ``features.N`` index of each conv in ``vgg16_bn`` (conv, BN, ReLU triples); the BN is at N + 1.
TORCHVISION_BN_CONV_INDEX: tuple[int, ...] = (0, 3, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40)

LAYOUT_NORMALIZATION = {"vggface": "vggface", "torchvision": "imagenet", "torchvision_bn": "imagenet"}
_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "weights")
_BN_STATS = ("weight", "bias", "running_mean", "running_var")


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state dict (``str -> Tensor``) from ``path`` safely (``weights_only=True``, CPU).

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file is not a PyTorch file (text, random pickle, full pickled model, ...) or holds no
        tensor dict.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    obj = load_torch_file(path, "a loadable PyTorch state dict")
    return _as_state_dict(obj, path)


def load_torch_file(path: str | os.PathLike, what: str = "an antispoof checkpoint") -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU, its failures one line: ``PATH: not WHAT (reason)``.

    Only tensors and plain containers are unpickled (never code); the message says what is wrong with the
    file and never suggests ``weights_only=False``.

    Raises
    ------
    OSError
        The file cannot be opened (missing, a directory, no permission).
    ValueError
        Not a PyTorch file, truncated, or holding objects other than tensors and plain containers.
    """
    with open(path, "rb") as f:  # a file that cannot be opened is an OSError; what torch.load raises is not
        try:
            with warnings.catch_warnings():
                # torch warns about the pickle protocol of foreign pickles just before refusing them.
                warnings.filterwarnings("ignore", message="Detected pickle protocol")
                return torch.load(f, map_location="cpu", weights_only=True)
        except Exception as error:  # UnpicklingError, RuntimeError, EOFError, OSError ... depending on the bytes
            raise ValueError(f"{path}: not {what} ({_load_failure(error)})") from None


def _load_failure(error: Exception) -> str:
    """What torch.load's error says about the file, in a few words, without its advice to unpickle code."""
    text = str(error)
    if isinstance(error, pickle.UnpicklingError) or "Weights only load failed" in text:
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
        if found:
            return f"it holds a {found.group(1)} object, refused: only tensors and plain data are loaded"
        found = re.search(r"WeightsUnpickler error:\s*([^\n]+)", text)
        detail = f": {found.group(1).strip()}" if found else ""
        return f"not a PyTorch file of tensors{detail}"
    if isinstance(error, EOFError | OSError) or "central directory" in text or "failed reading zip archive" in text:
        return "truncated or corrupt file"
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if "weights_only" in first:
        first = ""
    return f"{type(error).__name__}{': ' + first[:160] if first else ''}"


def _as_state_dict(obj: object, source: str | Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, Mapping) and not _is_tensor_dict(obj):
        for key in _WRAPPER_KEYS:
            if isinstance(obj.get(key), Mapping) and _is_tensor_dict(obj[key]):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping) or not obj or not _is_tensor_dict(obj):
        raise ValueError(
            f"{source} does not hold a state dict of tensors (got {type(obj).__name__}"
            f"{' with keys ' + repr(sorted(map(str, obj))[:5]) if isinstance(obj, Mapping) else ''})"
        )
    state = {str(k): v for k, v in obj.items()}
    if all(k.startswith("module.") for k in state):  # saved from DataParallel / DDP
        state = {k[len("module.") :]: v for k, v in state.items()}
    return state


def _is_tensor_dict(obj: Mapping) -> bool:
    return bool(obj) and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def detect_layout(state: Mapping[str, torch.Tensor], source: str | Path = "state dict") -> str:
    """``"vggface"``, ``"torchvision"`` or ``"torchvision_bn"`` from the keys; ValueError otherwise."""
    if "conv1_1.weight" in state:
        return "vggface"
    if "features.0.weight" in state:
        return "torchvision_bn" if "features.1.running_mean" in state else "torchvision"
    sample = sorted(state)[:4]
    raise ValueError(
        f"{source}: unrecognised weights layout, expected VGG-Face keys (conv1_1.weight ...) or torchvision "
        f"keys (features.0.weight ...), found {sample}"
    )


def _source_keys(layout: str) -> list[dict[str, str]]:
    """Per conv (forward order): trunk-relative parameter name -> key in the file."""
    mapping = []
    for i, name in enumerate(VGG16_CONV_NAMES):
        if layout == "vggface":
            entry = {"conv.weight": f"{name}.weight", "conv.bias": f"{name}.bias"}
        elif layout == "torchvision":
            n = TORCHVISION_CONV_INDEX[i]
            entry = {"conv.weight": f"features.{n}.weight", "conv.bias": f"features.{n}.bias"}
        else:
            n = TORCHVISION_BN_CONV_INDEX[i]
            entry = {"conv.weight": f"features.{n}.weight", "conv.bias": f"features.{n}.bias"}
            entry.update({f"bn.{stat}": f"features.{n + 1}.{stat}" for stat in _BN_STATS})
        mapping.append(entry)
    return mapping


def _check_no_foreign_convs(state: Mapping[str, torch.Tensor], layout: str, expected: set[str], source) -> None:
    # A VGG-19 or other VGG variant shares the key pattern but not the positions: refuse it loudly.
    pattern = re.compile(r"^conv\d+_\d+\." if layout == "vggface" else r"^features\.\d+\.")
    for key in sorted(state):
        if pattern.match(key) and key not in expected and not key.endswith("num_batches_tracked"):
            raise ValueError(f"{source}: unexpected key {key!r} for a VGG-16 {layout} layout (another VGG depth?)")


def load_trunk_weights(
    trunk: ConvTrunk,
    weights: str | Path | Mapping[str, torch.Tensor],
    *,
    layout: str = "auto",
    source: str | Path | None = None,
) -> str:
    """Copy pretrained VGG-16 conv (and BN) parameters into ``trunk`` in place.

    Parameters
    ----------
    trunk : ConvTrunk
        A VGG-16 trunk (:func:`~antispoof.models.vgg.vgg16_trunk`).
    weights : path or state dict
    layout : {"auto", "vggface", "torchvision", "torchvision_bn"}
    source : str, optional
        Name used in error messages (defaults to the path).

    Returns
    -------
    str
        The layout used.

    Raises
    ------
    ValueError
        Not a VGG-16 trunk; a missing conv key; a key whose shape differs from the trunk's (message names
        the key and both shapes); an unknown layout; BN weights into a trunk without BN.
    """
    if trunk.name != "vgg16" or [n for n, _ in trunk.conv_units()] != list(VGG16_CONV_NAMES):
        raise ValueError(f"pretrained VGG-16 weights need the vgg16 trunk, got the {trunk.name!r} trunk")
    if isinstance(weights, (str, Path)):
        source = source or weights
        state = read_state_dict(weights)
    else:
        state = _as_state_dict(weights, source or "state dict")
    source = source or "state dict"
    if layout == "auto":
        layout = detect_layout(state, source)
    if layout not in LAYOUT_NORMALIZATION:
        raise ValueError(f"layout must be one of {sorted(LAYOUT_NORMALIZATION)} or 'auto', got {layout!r}")
    if layout == "torchvision_bn" and not trunk.batch_norm:
        raise ValueError(f"{source}: vgg16_bn weights need a trunk with batch_norm=True")

    mapping = _source_keys(layout)
    expected = {key for entry in mapping for key in entry.values()}
    _check_no_foreign_convs(state, layout, expected, source)

    # Validate everything before copying anything, so a bad file leaves the trunk untouched.
    copies: list[tuple[torch.Tensor, torch.Tensor]] = []
    for (_, unit), entry in zip(trunk.conv_units(), mapping, strict=True):
        targets = dict(unit.named_parameters())
        targets.update(dict(unit.named_buffers()))
        for target_name, key in entry.items():
            target = targets[target_name]
            if key not in state:
                raise ValueError(f"{source}: missing key {key!r} (expected shape {tuple(target.shape)})")
            value = state[key]
            if tuple(value.shape) != tuple(target.shape):
                raise ValueError(
                    f"{source}: key {key!r} has shape {tuple(value.shape)}, expected {tuple(target.shape)}"
                )
            if not value.is_floating_point():
                raise ValueError(f"{source}: key {key!r} has dtype {value.dtype}, expected a float tensor")
            copies.append((target, value))
    with torch.no_grad():
        for target, value in copies:
            target.copy_(value.to(dtype=target.dtype))
    return layout
