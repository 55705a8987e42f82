"""MATLAB ``imresize(..., 'bicubic')`` for enlarging, used only by ``compat="mit"``.

MATLAB's cubic kernel has ``a = -0.5`` (Keys), maps pixel centres
(``u = x / s + (1 - 1/s) / 2``), mirrors indices symmetrically at the borders and
normalises each output's weights to sum to one.  ``cv2.resize(INTER_CUBIC)`` uses
``a = -0.75`` and differs.
"""

from __future__ import annotations

import numpy as np


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * (
        (ax > 1) & (ax <= 2)
    )


def bicubic_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Dense ``(n_out, n_in)`` float64 matrix of MATLAB's bicubic resampling along one axis."""
    scale = n_out / n_in
    x = np.arange(1, n_out + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    width = 4.0 if scale >= 1 else 4.0 / scale
    kernel_scale = 1.0 if scale >= 1 else scale  # MATLAB antialiases when shrinking
    left = np.floor(u - width / 2)
    taps = int(np.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]
    w = kernel_scale * _cubic(kernel_scale * (u[:, None] - idx))
    w /= w.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(n_in), np.arange(n_in - 1, -1, -1)])
    cols = mirror[np.mod(idx.astype(np.int64) - 1, 2 * n_in)]
    mat = np.zeros((n_out, n_in))
    np.add.at(mat, (np.repeat(np.arange(n_out), taps), cols.ravel()), w.ravel())
    return mat


def imresize_bicubic(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize an (h, w, C) array to ``shape`` (H, W) like MATLAB; returns float32 (H, W, C)."""
    rows = bicubic_matrix(image.shape[0], shape[0])
    cols = bicubic_matrix(image.shape[1], shape[1])
    tmp = np.tensordot(rows, image.astype(np.float64), axes=(1, 0))  # (H, w, C)
    out = np.einsum("xw,hwc->hxc", cols, tmp, optimize=True)
    return np.ascontiguousarray(out, dtype=np.float32)
