"""evm: fast, streaming Eulerian Video Magnification (Wu et al., SIGGRAPH 2012) and its phase-based
variant on the Riesz pyramid (Wadhwa et al., ICCP 2014; ``pyramid="riesz"``, :mod:`evm.phase`).

Public API::

    gaussian_pyramid, laplacian_pyramid, collapse_laplacian, max_pyramid_levels
    rgb_to_yiq, yiq_to_rgb
    butterworth, first_order_iir, ideal_bandpass, SOSFilter      (evm.temporal)
    laplacian_gains, magnify, Magnifier, PhaseMagnifier                (evm.phase: pyramid="riesz")
    estimate_pulse, PulseMeter                                         (evm.pulse: heart rate, rPPG)

Eulerian Video Magnification, phase-based processing and the Riesz pyramid (US 9,338,331) are
covered by MIT patents for commercial use.
"""

from .color import rgb_to_yiq, yiq_to_rgb
from .magnify import Magnifier, laplacian_gains, magnify
from .phase import PhaseMagnifier
from .pyramid import (
    collapse_laplacian,
    gaussian_pyramid,
    laplacian_pyramid,
    max_pyramid_levels,
    pyr_down,
    pyr_up,
)
from .temporal import SOSFilter, butterworth, first_order_iir, ideal_bandpass

__version__ = "0.1.0"

# evm.pulse needs scipy.signal (~80 MB, most of a second to import): loaded on first use, so that
# `import evm` (every `evm magnify`) stays without it.
_LAZY = {"PulseMeter": "pulse", "estimate_pulse": "pulse"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

__all__ = [
    "Magnifier",
    "PhaseMagnifier",
    "PulseMeter",
    "SOSFilter",
    "butterworth",
    "collapse_laplacian",
    "estimate_pulse",
    "first_order_iir",
    "gaussian_pyramid",
    "ideal_bandpass",
    "laplacian_gains",
    "laplacian_pyramid",
    "magnify",
    "max_pyramid_levels",
    "pyr_down",
    "pyr_up",
    "rgb_to_yiq",
    "yiq_to_rgb",
]
