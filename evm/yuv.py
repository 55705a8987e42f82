"""Magnification in the decoder's Y'CbCr 4:2:0 planes, without a round trip through RGB.

A decoded H.264 frame is three planes: luma Y' (H, W) and chroma Cb, Cr at half resolution
(ceil(H/2), ceil(W/2)).  The RGB path converts them to RGB (upsampling the chroma), magnifies,
and the encoder converts back (subsampling it again).  Here the planes are magnified as they
are and handed to the encoder.

Why the method carries over
---------------------------
Every step of linear EVM between the frame and the added delta is linear and acts on each
channel alike (:mod:`evm.magnify`), so the colour space only enters through two matrices:
from the frame's channels to YIQ (where the chroma is attenuated) and back.  Y'CbCr is an
affine map of RGB (:func:`evm.color.ycbcr_matrix`, ``code = M rgb + offset``), so with
``A = RGB_TO_YIQ M^-1`` the delta in code values is ``M YIQ_TO_RGB diag(1, c, c) L(A (code -
offset))``: the same YIQ delta as the RGB path, expressed in the stream's own matrix and range
(for BT.601, where YIQ's luma row is Y', this is just ``diag(1, c, c)`` on Y', Cb, Cr; for
BT.709 the analysed luma is still YIQ's, mixed from all three planes).

The finest pyramid level never has a gain (the MIT rule gives it 0; the colour mode works at a
coarser level), so the work starts at level 1, which is exactly the chroma's grid: level 1 is
the reduced luma beside the chroma planes as decoded.  The delta comes back to level 1, its
luma part is expanded to full size and added to Y', its chroma parts are added to Cb and Cr at
their native resolution.  The phase method (``pyramid="riesz"``) works on the luma alone
(the RGB path adds the same change to R, G and B, which leaves Cb and Cr unchanged): it runs
on Y' and the chroma passes through.  Its analysed luma is the stream's Y' (BT.709 weights for
a BT.709 stream), not YIQ's.

What differs from the RGB path: the chroma is not upsampled and subsampled again (no blur,
no rounding to RGB), level 1 of the chroma is the encoder's subsampling rather than the
binomial filter's, and out-of-range values are clipped per plane to the nominal range of the
stream (16-235 luma and 16-240 chroma in limited range, 0-255 in full range) rather than per
RGB channel.  docs/method.md gives the measured distance (PSNR) on the sample clips.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import _kernels
from .color import YUVFormat, ycbcr_matrix
from .magnify import Magnifier
from .pyramid import _rows


def plane_shapes(height: int, width: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Shapes of the luma plane and of each chroma plane of a 4:2:0 frame (odd sizes round up)."""
    return (height, width), ((height + 1) // 2, (width + 1) // 2)


def empty_planes(height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uninitialised uint8 ``(Y', Cb, Cr)`` planes of a 4:2:0 frame."""
    luma, chroma = plane_shapes(height, width)
    return np.empty(luma, np.uint8), np.empty(chroma, np.uint8), np.empty(chroma, np.uint8)


def _snap(m: np.ndarray) -> np.ndarray:
    # float64 rounding noise (~1e-17) of the matrix products becomes exact zeros, so that chroma
    # that is exactly neutral contributes exactly nothing.
    return np.where(np.abs(m) < 1e-12, 0.0, m)


def _check_planes(planes, shapes, what: str) -> None:
    if not isinstance(planes, (tuple, list)) or len(planes) != 3:
        raise ValueError(f"{what} must be three planes (Y', Cb, Cr), got {type(planes).__name__}")
    for plane, shape, name in zip(planes, (shapes[0], shapes[1], shapes[1]), ("Y'", "Cb", "Cr")):
        if not isinstance(plane, np.ndarray) or plane.dtype != np.uint8 or plane.shape != shape:
            got = f"{plane.dtype} {plane.shape}" if isinstance(plane, np.ndarray) else type(plane).__name__
            raise ValueError(f"{what} plane {name} is {got}, expected uint8 {shape}")
        if not plane.flags.c_contiguous:
            raise ValueError(f"{what} plane {name} must be C-contiguous")


class _PlanarLinear(Magnifier):
    """Linear EVM (Laplacian or Gaussian) on the planes; see the module docstring."""

    def __init__(self, size: Sequence[int], fps: float, alpha: float, low: float, high: float, *,
                 color: YUVFormat, **kwargs) -> None:  # fmt: skip
        if kwargs.get("compat") is not None:
            raise ValueError("compat='mit' is defined on RGB frames; it takes the RGB path")
        self.color = color
        self._ycbcr, offset = ycbcr_matrix(color.matrix, color.full_range)
        super().__init__((int(size[0]), int(size[1]), 3), fps, alpha, low, high, **kwargs)
        self._offset = offset.astype(np.float32)
        self._shapes_yuv = plane_shapes(*self.frame_shape[:2])
        self._split = np.empty((3,) + self._shapes[1], np.float32)
        self._chroma_delta = bool(np.any(self._mix_out[1:]))

    def _colour_mixes(self, C: int) -> tuple[np.ndarray, np.ndarray]:
        mix_in, mix_out = super()._colour_mixes(C)
        M = self._ycbcr
        return _snap(mix_in @ np.linalg.inv(M)), _snap(M @ mix_out)

    def _check_buffers(self, frame, delta=None, out=None) -> None:
        _check_planes(frame, self._shapes_yuv, "frame")
        if delta is not None and (delta.shape != self.delta_shape or delta.dtype != np.float32):
            raise ValueError(f"delta {delta.dtype} {delta.shape}, expected float32 {self.delta_shape}")
        if out is not None:
            _check_planes(out, self._shapes_yuv, "output")

    def _level_one(self, frame) -> None:
        y, u, v = frame
        _kernels.down_yuv(y, u, v, self._mix_in, self._offset, _rows(self._g[1]), self._threads())

    def _render(self, delta: np.ndarray, frame, out) -> None:
        threads = self._threads()
        src = delta
        for k in range(self._first - 1, 0, -1):
            _kernels.up(_rows(src), _rows(self._rgb[k]), 3, False, threads)
            src = self._rgb[k]
        split = self._split
        np.copyto(split, src.transpose(2, 0, 1))  # level 1: (h, w, 3) -> three planes
        _kernels.up_add_u8(split[0], frame[0], out[0], 1, False, False, threads)
        for c in (1, 2):
            if self._chroma_delta:
                _kernels.add_u8(split[c], frame[c], out[c], 1, False, threads)
            else:
                np.copyto(out[c], frame[c])
        _clip(self.color, out)

    def _passthrough(self, frame, out) -> None:
        for src, dst in zip(frame, out):
            np.copyto(dst, src)


def _clip(color: YUVFormat, out) -> None:
    if color.full_range:
        return  # the kernels round and clip to 0..255
    ylo, yhi, clo, chi = color.limits
    np.clip(out[0], ylo, yhi, out=out[0])
    np.clip(out[1], clo, chi, out=out[1])
    np.clip(out[2], clo, chi, out=out[2])


class _PlanarLuma:
    """The phase method on the luma plane; the chroma passes through (see the module docstring)."""

    def __init__(self, size: Sequence[int], fps: float, alpha: float, low: float, high: float, *,
                 color: YUVFormat, **kwargs) -> None:  # fmt: skip
        self.core = Magnifier((int(size[0]), int(size[1]), 1), fps, alpha, low, high, **kwargs)
        self.color = color
        self._shapes_yuv = plane_shapes(int(size[0]), int(size[1]))

    def __getattr__(self, name):  # temporal, fps, low, high, compat, delta_shape, _identity ...
        return getattr(self.__dict__["core"], name)

    def _magnify_one(self, frame, out) -> None:
        self._chroma(frame, out)
        self.core._magnify_one(frame[0][..., None], out[0][..., None])
        _clip(self.color, out)

    def _analyze(self, frame, delta: np.ndarray) -> None:
        _check_planes(frame, self._shapes_yuv, "frame")
        self.core._analyze(frame[0][..., None], delta)

    def _render_delta(self, delta: np.ndarray, frame, out) -> None:
        self._chroma(frame, out)
        self.core._render_delta(delta, frame[0][..., None], out[0][..., None])
        _clip(self.color, out)

    def _chroma(self, frame, out) -> None:
        _check_planes(frame, self._shapes_yuv, "frame")
        _check_planes(out, self._shapes_yuv, "output")
        np.copyto(out[1], frame[1])
        np.copyto(out[2], frame[2])


def planar_magnifier(
    size: Sequence[int], fps: float, alpha: float, low: float, high: float, *, color: YUVFormat | None = None, **kwargs
):
    """A streaming magnifier of 8-bit Y'CbCr 4:2:0 frames given as planes.

    Parameters
    ----------
    size : (H, W)
        Luma size in pixels (odd sizes allowed: the chroma planes are ``ceil(H/2) x ceil(W/2)``).
    fps, alpha, low, high, **kwargs
        As :class:`evm.magnify.Magnifier` (``threads`` included), except ``compat`` (RGB only).
    color : YUVFormat or None
        Matrix and range of the planes (:meth:`YUVFormat.from_frame` reads them from a frame);
        None: BT.601, limited range.

    Returns
    -------
    magnifier
        With ``_magnify_one(planes, out)`` (causal filters), ``_analyze(planes, delta)`` and
        ``_render_delta(delta, planes, out)`` (ideal filter, two passes) and the attributes of
        :class:`~evm.magnify.Magnifier` (``temporal``, ``delta_shape`` ...).  ``planes`` and
        ``out`` are ``(Y', Cb, Cr)`` tuples of C-contiguous uint8 arrays (:func:`empty_planes`).

    Examples
    --------
    >>> import numpy as np
    >>> m = planar_magnifier((48, 64), fps=30, alpha=10, low=0.5, high=3)
    >>> frame, out = empty_planes(48, 64), empty_planes(48, 64)
    >>> for p in frame:
    ...     p.fill(128)
    >>> m._magnify_one(frame, out)
    >>> int(out[0].max()), int(out[1].min())
    (128, 128)
    """
    color = YUVFormat() if color is None else color
    if kwargs.get("pyramid") == "riesz":
        return _PlanarLuma(size, fps, alpha, low, high, color=color, **kwargs)
    return _PlanarLinear(size, fps, alpha, low, high, color=color, **kwargs)


def ycbcr_to_rgb_planes(planes, color: YUVFormat) -> np.ndarray:
    """RGB float64 (H, W, 3), 0..255 units, of 4:2:0 planes (chroma repeated 2x2; a float reference
    for tests and measurements, not a fast converter)."""
    y, u, v = (np.asarray(p, np.float64) for p in planes)
    H, W = y.shape
    up = [np.repeat(np.repeat(c, 2, 0), 2, 1)[:H, :W] for c in (u, v)]
    M, offset = ycbcr_matrix(color.matrix, color.full_range)
    code = np.stack([y, up[0], up[1]], axis=-1) - offset
    return code @ np.linalg.inv(M).T


def rgb_to_ycbcr_planes(rgb: np.ndarray, color: YUVFormat) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rounded uint8 4:2:0 planes of RGB (H, W, 3) in 0..255 units, chroma averaged over 2x2
    (edge pixels repeated for odd sizes); the float reference of an encoder's conversion."""
    rgb = np.asarray(rgb, np.float64)
    H, W = rgb.shape[:2]
    M, offset = ycbcr_matrix(color.matrix, color.full_range)
    code = rgb @ M.T + offset
    padded = np.pad(code, ((0, H % 2), (0, W % 2), (0, 0)), mode="edge")
    chroma = padded.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2, 3).mean(axis=(1, 3))

    def u8(a):
        return np.ascontiguousarray(np.clip(np.round(a), 0, 255).astype(np.uint8))

    return u8(code[..., 0]), u8(chroma[..., 1]), u8(chroma[..., 2])


__all__ = ["YUVFormat", "empty_planes", "planar_magnifier", "plane_shapes", "rgb_to_ycbcr_planes",
           "ycbcr_to_rgb_planes"]  # fmt: skip
