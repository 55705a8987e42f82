"""Validators for numbers that come from users (arguments, CLI options, config files).

One place for both packages: each returns the value in its canonical type or raises
``ValueError`` with one line that names the parameter, so that the CLI can print it as is.
NaN, infinities, booleans posing as numbers and absurd sizes are refused before anything
is allocated.
"""

from __future__ import annotations

import math
import numbers

#: Upper bound for pixel sizes (a frame side, a crop side): 16K video is 15360 px wide.
MAX_SIDE = 16384


def real(
    value,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict: bool = False,
    strict_max: bool = False,
) -> float:
    """A finite real number in ``[minimum, maximum]`` (``strict``: minimum excluded; ``strict_max``: maximum excluded).

    Raises
    ------
    ValueError
        Not a number (``bool`` included), NaN or infinite, or out of range.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum:g}, got {value:g}")
    if maximum is not None and (value >= maximum if strict_max else value > maximum):
        raise ValueError(f"{name} must be {'<' if strict_max else '<='} {maximum:g}, got {value:g}")
    return value


def positive(value, name: str, *, maximum: float | None = None) -> float:
    """A finite number > 0 (and <= ``maximum``)."""
    return real(value, name, minimum=0.0, strict=True, maximum=maximum)


def integer(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer (a float with an integral value is accepted) in ``[minimum, maximum]``."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, numbers.Integral):
        value = int(value)
    elif isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
        value = int(value)
    else:
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def optional(check, value, name: str, **bounds):
    """``None`` stays ``None``; anything else goes through ``check(value, name, **bounds)``."""
    return None if value is None else check(value, name, **bounds)
