"""Numba kernels of :mod:`evm.pulse`: one pass over a frame region, sums and skin weights.

The public wrappers in :mod:`evm.pulse` validate the frame and the region; these kernels trust
their arguments (a C-contiguous ``(H, W, 3)`` uint8 frame and a region inside it).

Skin rule: a pixel is skin when its BT.601 full-range chroma lies in Chai and Ngan's box
(IEEE TCSVT 1999) ``133 <= Cr <= 173`` and ``77 <= Cb <= 127``, it is not too dark (luma >= 20)
and no channel is saturated (255: a clipped pixel cannot carry the pulse).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# The rule in 16-bit fixed point (coefficients times 65536, rounded), so the test is integer arithmetic:
# Cr - 128 = (32768 R - 27439 G - 5329 B) / 65536 in [5, 45]; Cb - 128 = (-11058 R - 21710 G + 32768 B) / 65536
# in [-51, -1]; luma = (19595 R + 38470 G + 7471 B) / 65536 >= 20.
_ONE = 65536


@njit(cache=True, inline="always")
def _is_skin(r, g, b):
    if r >= 255 or g >= 255 or b >= 255:
        return False
    if 19595 * r + 38470 * g + 7471 * b < 20 * _ONE:
        return False
    cr = 32768 * r - 27439 * g - 5329 * b
    if cr < 5 * _ONE or cr > 45 * _ONE:
        return False
    cb = -11058 * r - 21710 * g + 32768 * b
    return -51 * _ONE <= cb <= -1 * _ONE


@njit(cache=True)
def region_sums(frame, y0, y1, x0, x1, skin, out):
    """Sums of R, G, B over the pixels of ``frame[y0:y1, x0:x1]`` (only skin pixels if ``skin``).

    ``out`` (float64, 4) receives ``sum R, sum G, sum B, count`` (grey levels, pixels).
    """
    sr = 0
    sg = 0
    sb = 0
    n = 0
    for y in range(y0, y1):
        for x in range(x0, x1):
            r = np.int64(frame[y, x, 0])
            g = np.int64(frame[y, x, 1])
            b = np.int64(frame[y, x, 2])
            if skin and not _is_skin(r, g, b):
                continue
            sr += r
            sg += g
            sb += b
            n += 1
    out[0] = sr
    out[1] = sg
    out[2] = sb
    out[3] = n


@njit(cache=True)
def skin_weights(frame, y0, y1, x0, x1, out):
    """``out[i, j] = 1`` where ``frame[y0 + i, x0 + j]`` is skin, else 0 (float32, (y1 - y0, x1 - x0))."""
    for y in range(y0, y1):
        for x in range(x0, x1):
            r = np.int64(frame[y, x, 0])
            g = np.int64(frame[y, x, 1])
            b = np.int64(frame[y, x, 2])
            out[y - y0, x - x0] = 1.0 if _is_skin(r, g, b) else 0.0
