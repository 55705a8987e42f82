"""RGB <-> YIQ (NTSC) colour conversion, as MATLAB's ``rgb2ntsc`` / ``ntsc2rgb``.

Y carries luminance; I and Q carry chroma, which EVM attenuates separately.
"""

from __future__ import annotations

from dataclasses import dataclass
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


# -- Y'CbCr (the planes of a decoded video) ------------------------------------------------------

#: Luma weights (Kr, Kb) of the Y'CbCr matrices a video stream can name (Kg = 1 - Kr - Kb).
YCBCR_LUMA = {
    "bt601": (0.299, 0.114),  # BT.470BG / SMPTE 170M: the luma row of YIQ
    "bt709": (0.2126, 0.0722),
    "bt2020": (0.2627, 0.0593),
    "smpte240m": (0.212, 0.087),
    "fcc": (0.30, 0.11),
}


def ycbcr_matrix(matrix: str = "bt601", full_range: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The 8-bit Y'CbCr encoding of RGB as an affine map: ``code = M @ rgb + offset``.

    Parameters
    ----------
    matrix : {"bt601", "bt709", "bt2020", "smpte240m", "fcc"}
        Luma weights (:data:`YCBCR_LUMA`); chroma is ``Cb = (B - Y) / (2 (1 - Kb))``,
        ``Cr = (R - Y) / (2 (1 - Kr))``.
    full_range : bool
        ``True``: Y' in 0..255, chroma 128 +- 127.5 ("JPEG" range); ``False``: Y' in
        16..235, chroma in 16..240 ("MPEG"/TV range, what video streams usually carry).

    Returns
    -------
    M : ndarray, float64, (3, 3)
        Rows Y', Cb, Cr; columns R, G, B in 0..255 units.
    offset : ndarray, float64, (3,)
        ``(0, 128, 128)`` full range, ``(16, 128, 128)`` limited range.

    Examples
    --------
    >>> M, off = ycbcr_matrix("bt601", full_range=True)
    >>> (M @ [255.0, 255.0, 255.0] + off).round(6).tolist()
    [255.0, 128.0, 128.0]
    """
    if matrix not in YCBCR_LUMA:
        raise ValueError(f"matrix must be one of {', '.join(YCBCR_LUMA)}, got {matrix!r}")
    kr, kb = YCBCR_LUMA[matrix]
    kg = 1.0 - kr - kb
    y = np.array([kr, kg, kb])
    m = np.stack(
        [y, (np.array([0.0, 0.0, 1.0]) - y) / (2 * (1 - kb)), (np.array([1.0, 0.0, 0.0]) - y) / (2 * (1 - kr))]
    )
    if full_range:
        return m, np.array([0.0, 128.0, 128.0])
    return m * np.array([[219.0 / 255.0], [224.0 / 255.0], [224.0 / 255.0]]), np.array([16.0, 128.0, 128.0])


#: FFmpeg's ``AVColorSpace`` codes and the matrix each names; unspecified (2) and reserved (3) are
#: read as BT.601, as FFmpeg's converter (and so the RGB path) does.
AV_COLORSPACES = {1: "bt709", 2: "bt601", 3: "bt601", 4: "fcc", 5: "bt601", 6: "bt601", 7: "smpte240m",
                  9: "bt2020", 10: "bt2020"}  # fmt: skip
#: Decoded pixel formats the planes are taken from as they are (8-bit 4:2:0; ``yuvj420p`` is full range).
PLANAR_FORMATS = ("yuv420p", "yuvj420p")


@dataclass(frozen=True)
class YUVFormat:
    """How a stream's 8-bit Y'CbCr planes encode colour, and its tags to copy to the output.

    Attributes
    ----------
    matrix : str
        A key of :data:`evm.color.YCBCR_LUMA`.
    full_range : bool
        Full ("JPEG") range, else limited ("MPEG"/TV) range.
    colorspace, color_range, color_primaries, color_trc : int
        FFmpeg's codes as the stream carries them (2/0: unspecified), written to the output
        unchanged so that players decode it as they decoded the input.
    """

    matrix: str = "bt601"
    full_range: bool = False
    colorspace: int = 2
    color_range: int = 0
    color_primaries: int = 2
    color_trc: int = 2

    def __post_init__(self) -> None:
        if self.matrix not in YCBCR_LUMA:
            raise ValueError(f"matrix must be one of {', '.join(YCBCR_LUMA)}, got {self.matrix!r}")

    @classmethod
    def from_frame(cls, frame) -> YUVFormat | None:
        """The format of a decoded PyAV ``VideoFrame``; None when its planes are not 8-bit
        Y'CbCr 4:2:0 in a matrix this module knows (such streams take the RGB path)."""
        name = frame.format.name
        matrix = AV_COLORSPACES.get(int(frame.colorspace))
        if name not in PLANAR_FORMATS or matrix is None:
            return None
        full = name == "yuvj420p" or int(frame.color_range) == 2
        return cls(matrix, full, int(frame.colorspace), int(frame.color_range), int(frame.color_primaries),
                   int(frame.color_trc))  # fmt: skip

    @property
    def limits(self) -> tuple[int, int, int, int]:
        """Nominal code range ``(luma low, luma high, chroma low, chroma high)``."""
        return (0, 255, 0, 255) if self.full_range else (16, 235, 16, 240)
