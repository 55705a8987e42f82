"""Gaussian and Laplacian image pyramids (binomial 5-tap filter, reflect-101 edges).

Pyramids are plain Python lists of float32 arrays, finest level first.  The
Laplacian pyramid's last entry is the low-pass residual.

Convention
----------
Sizes: each level halves the previous one rounding up (``ceil(n / 2)``), so odd
sizes are exact and never cropped.  Edges: mirrored without repeating the border
sample (MATLAB pyrTools ``reflect1``, OpenCV ``BORDER_REFLECT_101``, scipy
``mode="mirror"``).  Normalisation:

* ``normalization="unit"`` (default): the filter sums to one, so every level is
  in image units and a Laplacian band is ``G_k - expand(G_{k+1})``; the Gaussian
  levels equal iterated ``cv2.pyrDown``.
* ``normalization="mit"``: matlabPyrTools' ``binom5 = sqrt(2) * [1 4 6 4 1] / 16``
  used by the MIT EVM code; Laplacian band ``k`` is then ``2**k`` times the unit
  band and equals pyrtools' ``LaplacianPyramid(im, 'auto', 'binom5', 'reflect1')``.

``collapse_laplacian`` inverts either form exactly (to float32 rounding).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from . import _kernels

Normalization = Literal["unit", "mit"]

#: Length of the binomial filter; an axis shorter than this is not reduced further.
FILTER_TAPS = 5


def max_pyramid_levels(shape: Sequence[int]) -> int:
    """Number of levels of MIT's ``'auto'`` pyramid height for a frame size.

    Equals ``1 + maxPyrHt(size, 5)`` of matlabPyrTools: the number of times both
    axes can be halved (rounding down) while still at least 5 samples long, plus
    one for the residual. An image with an axis shorter than 5 pixels, a single row or
    column included, has one level.

    Parameters
    ----------
    shape : sequence of int
        ``(H, W)`` or ``(H, W, C)``; only the first two entries are used.

    Returns
    -------
    int
        At least 1.

    Examples
    --------
    >>> max_pyramid_levels((120, 160)), max_pyramid_levels((240, 320))
    (6, 7)
    """
    h, w = int(shape[0]), int(shape[1])
    if h < 1 or w < 1:
        raise ValueError(f"image size must be positive, got {h}x{w}")
    # matlabPyrTools treats a single row or column as a 1-D signal and halves it; the kernels here
    # blur both axes, and a 5-tap blur cannot reflect on an axis of 1 pixel (it read out of
    # bounds), so such an image has one level, like any image with an axis under 5 pixels.
    height = 0
    while h >= FILTER_TAPS and w >= FILTER_TAPS:
        height += 1
        h, w = h // 2, w // 2
    return height + 1


def level_shapes(shape: Sequence[int], levels: int) -> list[tuple[int, int]]:
    """``(H, W)`` of each pyramid level, finest first (``ceil`` halving)."""
    h, w = int(shape[0]), int(shape[1])
    out = [(h, w)]
    for _ in range(levels - 1):
        h, w = (h + 1) // 2, (w + 1) // 2
        out.append((h, w))
    return out


def _as_hwc(image: np.ndarray, name: str = "image") -> tuple[np.ndarray, bool]:
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"{name} must be 2-D (H, W) or 3-D (H, W, C), got shape {image.shape}")
    if image.size == 0:
        raise ValueError(f"{name} is empty (shape {image.shape})")
    if not (np.issubdtype(image.dtype, np.floating) or np.issubdtype(image.dtype, np.integer)):
        raise ValueError(f"{name} must be numeric, got dtype {image.dtype}")
    squeeze = image.ndim == 2
    arr = np.ascontiguousarray(image[..., None] if squeeze else image, dtype=np.float32)
    return arr, squeeze


def _check_levels(shape: tuple[int, ...], levels: int | None) -> int:
    top = max_pyramid_levels(shape)
    if levels is None:
        return top
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)):
        raise ValueError(f"levels must be an integer or None, got {levels!r}")
    if levels < 1:
        raise ValueError(f"levels must be >= 1, got {levels}")
    if levels > top:
        raise ValueError(
            f"levels={levels} is too deep for a {shape[0]}x{shape[1]} image "
            f"(at most {top}: every reduced axis must keep >= {FILTER_TAPS} samples)"
        )
    return int(levels)


def _rows(a: np.ndarray) -> np.ndarray:
    """(H, W, C) -> (H, W*C) view, the layout the kernels take."""
    return a.reshape(a.shape[0], -1)


def _check_normalization(normalization: str) -> None:
    if normalization not in ("unit", "mit"):
        raise ValueError(f"normalization must be 'unit' or 'mit', got {normalization!r}")


def pyr_down(image: np.ndarray) -> np.ndarray:
    """Blur with the binomial filter and keep every other sample.

    Parameters
    ----------
    image : ndarray, (H, W) or (H, W, C)
        Any real dtype; computed in float32.  Both axes must be >= 3.

    Returns
    -------
    ndarray, float32, (ceil(H/2), ceil(W/2)[, C])
        Equal to ``cv2.pyrDown`` (unit normalisation).
    """
    src, squeeze = _as_hwc(image)
    H, W = src.shape[:2]
    if H < 3 or W < 3:
        raise ValueError(f"pyr_down needs both axes >= 3, got {H}x{W}")
    dst = np.empty(((H + 1) // 2, (W + 1) // 2, src.shape[2]), np.float32)
    _kernels.down(_rows(src), _rows(dst), src.shape[2], _kernels.threads())
    return dst[..., 0] if squeeze else dst


def pyr_up(image: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Expand to ``shape`` (MIT/pyrTools ``upConv`` edges, unit normalisation).

    Parameters
    ----------
    image : ndarray, (m, q) or (m, q, C)
        Coarse level; both axes >= 2.
    shape : (n, p)
        Target size with ``ceil(n/2) == m`` and ``ceil(p/2) == q``.

    Returns
    -------
    ndarray, float32, (n, p[, C])
    """
    src, squeeze = _as_hwc(image)
    n, p = int(shape[0]), int(shape[1])
    m, q = src.shape[:2]
    if (n + 1) // 2 != m or (p + 1) // 2 != q:
        raise ValueError(f"cannot expand {m}x{q} to {n}x{p}: need ceil(n/2)=m and ceil(p/2)=q")
    if m < 2 or q < 2:
        raise ValueError(f"pyr_up needs both axes >= 2, got {m}x{q}")
    dst = np.empty((n, p, src.shape[2]), np.float32)
    _kernels.up(_rows(src), _rows(dst), src.shape[2], False, _kernels.threads())
    return dst[..., 0] if squeeze else dst


def gaussian_pyramid(image: np.ndarray, levels: int | None = None) -> list[np.ndarray]:
    """Gaussian pyramid, finest (the image itself, as float32) first.

    Parameters
    ----------
    image : ndarray, (H, W) or (H, W, C)
        Any size, odd included.  Any real dtype; computed in float32.
    levels : int or None
        Number of levels including the image itself; ``None`` is MIT's ``'auto'``
        height (:func:`max_pyramid_levels`), which is also the maximum.

    Returns
    -------
    list of ndarray, float32
        ``levels`` arrays; level ``k`` has shape ``(ceil(H/2**k), ceil(W/2**k)[, C])``.

    Examples
    --------
    >>> import numpy as np
    >>> [g.shape for g in gaussian_pyramid(np.zeros((15, 22)), 3)]
    [(15, 22), (8, 11), (4, 6)]
    """
    src, squeeze = _as_hwc(image)
    levels = _check_levels(src.shape, levels)
    pyr = [src.copy() if np.shares_memory(src, image) else src]
    for h, w in level_shapes(src.shape, levels)[1:]:
        dst = np.empty((h, w, src.shape[2]), np.float32)
        _kernels.down(_rows(pyr[-1]), _rows(dst), src.shape[2], _kernels.threads())
        pyr.append(dst)
    return [p[..., 0] for p in pyr] if squeeze else pyr


def laplacian_pyramid(
    image: np.ndarray, levels: int | None = None, *, normalization: Normalization = "unit"
) -> list[np.ndarray]:
    """Laplacian pyramid: band-pass levels finest first, low-pass residual last.

    Parameters
    ----------
    image : ndarray, (H, W) or (H, W, C)
        Any size, odd included.  Any real dtype; computed in float32.
    levels : int or None
        Number of entries including the residual; ``None`` is MIT's ``'auto'``
        height (:func:`max_pyramid_levels`), which is also the maximum.
    normalization : {"unit", "mit"}
        ``"unit"``: bands in image units.  ``"mit"``: matlabPyrTools ``binom5``
        scaling (band ``k`` is ``2**k`` times the unit band), equal to pyrtools'
        ``LaplacianPyramid(image, 'auto', 'binom5', 'reflect1')``.

    Returns
    -------
    list of ndarray, float32
        Same shapes as :func:`gaussian_pyramid`.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.random.default_rng(0).random((31, 40), dtype=np.float32)
    >>> pyr = laplacian_pyramid(img)
    >>> bool(np.allclose(collapse_laplacian(pyr), img, atol=1e-5))
    True
    """
    _check_normalization(normalization)
    gauss = gaussian_pyramid(image, levels)
    squeeze = gauss[0].ndim == 2
    g = [x[..., None] for x in gauss] if squeeze else gauss
    bands = []
    for k in range(len(g) - 1):
        expanded = np.empty_like(g[k])
        _kernels.up(_rows(g[k + 1]), _rows(expanded), g[k].shape[2], normalization == "mit", _kernels.threads())
        bands.append(g[k] - expanded)
    bands.append(g[-1].copy() if len(g) == 1 else g[-1])
    if normalization == "mit":
        bands = [b * np.float32(2.0**k) for k, b in enumerate(bands)]
    return [b[..., 0] for b in bands] if squeeze else bands


def collapse_laplacian(pyramid: Sequence[np.ndarray], *, normalization: Normalization = "unit") -> np.ndarray:
    """Rebuild the image from a Laplacian pyramid (inverse of :func:`laplacian_pyramid`).

    Parameters
    ----------
    pyramid : sequence of ndarray
        Bands finest first, residual last, with the shapes that
        :func:`laplacian_pyramid` produces (each ``ceil`` half of the previous).
    normalization : {"unit", "mit"}
        Must match the one the pyramid was built with.

    Returns
    -------
    ndarray, float32, the shape of ``pyramid[0]``
    """
    _check_normalization(normalization)
    if len(pyramid) == 0:
        raise ValueError("pyramid is empty")
    levels = [_as_hwc(b, f"pyramid[{k}]") for k, b in enumerate(pyramid)]
    squeeze = levels[0][1]
    bands = [b for b, _ in levels]
    for k in range(len(bands) - 1):
        n, p = bands[k].shape[:2]
        m, q = bands[k + 1].shape[:2]
        if (n + 1) // 2 != m or (p + 1) // 2 != q or bands[k].shape[2] != bands[k + 1].shape[2]:
            raise ValueError(f"pyramid level {k + 1} has shape {bands[k + 1].shape}, not half of {bands[k].shape}")
    if normalization == "mit":
        bands = [b / np.float32(2.0**k) for k, b in enumerate(bands)]
    out = bands[-1].copy()
    for k in range(len(bands) - 2, -1, -1):
        finer = np.empty_like(bands[k])
        _kernels.up_add(
            _rows(out),
            _rows(finer),
            out.shape[2],
            _rows(bands[k]),
            np.float32(1.0),
            normalization == "mit",
            _kernels.threads(),
        )
        out = finer
    return out[..., 0] if squeeze else out
