"""RGB <-> YIQ (NTSC) colour conversion, as MATLAB's ``rgb2ntsc`` / ``ntsc2rgb``.

Y carries luminance; I and Q carry chroma, which EVM attenuates separately.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

#: ``rgb2ntsc`` matrix; rows are Y, I, Q, columns R, G, B.
RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], dtype=np.float64)
#: Exact inverse (Octave's ``ntsc2rgb`` values: 0.95617, 0.62143 / -0.27269, -0.64681 / -1.10374, 1.70062).
YIQ_TO_RGB = np.linalg.inv(RGB_TO_YIQ)


def _as_float(image: np.ndarray, name: str) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim < 1 or image.shape[-1] != 3:
        raise ValueError(f"{name} must have 3 channels in its last axis, got shape {image.shape}")
    if np.issubdtype(image.dtype, np.integer):
        return image.astype(np.float32) / np.float32(np.iinfo(image.dtype).max)
    if not np.issubdtype(image.dtype, np.floating):
        raise ValueError(f"{name} must be numeric, got dtype {image.dtype}")
    return image.astype(np.float32, copy=False)


def rgb_to_yiq(rgb: np.ndarray) -> np.ndarray:
    """Convert RGB to YIQ.

    Parameters
    ----------
    rgb : ndarray, (..., 3)
        Integer input is scaled to [0, 1] by its dtype's maximum (uint8: /255);
        float input is used as it is (the map is linear, any scale works).

    Returns
    -------
    ndarray, float32, (..., 3)
        Y in the input's scale (in [0, 1] for integer input), I in about
        [-0.596, 0.596], Q in about [-0.523, 0.523] for [0, 1] input.

    Examples
    --------
    >>> import numpy as np
    >>> rgb_to_yiq(np.array([255, 255, 255], np.uint8)).round(6)
    array([1., 0., 0.], dtype=float32)
    """
    x = _as_float(rgb, "rgb")
    return (x @ RGB_TO_YIQ.T.astype(np.float32)).astype(np.float32, copy=False)


def yiq_to_rgb(yiq: np.ndarray, *, compat: Literal["mit"] | None = None) -> np.ndarray:
    """Convert YIQ to RGB (float32, same scale as the input).

    Parameters
    ----------
    yiq : ndarray, (..., 3)
    compat : {None, "mit"}
        ``None``: the exact linear inverse, unclipped.  ``"mit"``: Octave's
        ``ntsc2rgb`` gamut handling for [0, 1] data, which the MIT code relies on:
        negative channels become 0, then a pixel whose largest channel exceeds 1
        is divided by that channel (hue kept, not clipped per channel).

    Returns
    -------
    ndarray, float32, (..., 3)
    """
    if compat not in (None, "mit"):
        raise ValueError(f"compat must be None or 'mit', got {compat!r}")
    x = _as_float(yiq, "yiq")
    rgb = (x @ YIQ_TO_RGB.T.astype(np.float32)).astype(np.float32, copy=False)
    if compat == "mit":
        rgb = np.maximum(rgb, 0)
        peak = rgb.max(axis=-1, keepdims=True)
        rgb = np.where(peak > 1, rgb / np.maximum(peak, 1), rgb).astype(np.float32)
    return rgb
