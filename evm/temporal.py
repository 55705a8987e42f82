"""Temporal band-pass filters, applied independently to every pixel along time.

Three families, as in the MIT EVM code:

* ``ideal``: FFT over the whole clip, keep the bins inside the band
  (:func:`ideal_bandpass`).  Not causal: needs every frame first.
* ``butterworth``: a causal Butterworth band-pass (:func:`butterworth`).
* ``iir``: MIT's pair of first-order low-passes, ``lp1 - lp2`` with rates
  ``r1 > r2`` (:func:`first_order_iir`).

The causal filters are :class:`SOSFilter` objects (cascades of biquads in
transposed direct form II, the same recurrence as ``scipy.signal.sosfilt``) that
keep their state, so a video can be fed one frame or one block at a time and
give exactly the same output.  Their state starts at the steady state for a
constant input equal to the first frame, so a still video gives zero output
from the first frame on (MIT: "first output frame = input frame").

Convention
----------
Frequencies are in Hz; ``fps`` is the sampling rate.  Default (physical) mode:
band edges are the -3 dB points (Butterworth) or the inclusive pass band
(ideal), gain 1 in the band.  ``compat="mit"`` reproduces the MIT code: its
Butterworth is ``butter(1, f/fs)`` low-passes subtracted (normalised by ``fs``,
not Nyquist, so the real -3 dB points are at half the given frequencies) and its
ideal filter keeps only positive-frequency bins strictly inside the band, which
passes the band at half amplitude.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from . import _kernels
from .validation import integer, real

Compat = Literal["mit"] | None


def _check_compat(compat) -> None:
    if compat not in (None, "mit"):
        raise ValueError(f"compat must be None or 'mit', got {compat!r}")


def check_band(low: float, high: float, fps: float) -> tuple[float, float, float]:
    """Validate a pass band; returns ``(low, high, fps)`` as floats.

    Raises
    ------
    ValueError
        Unless ``0 < low < high < fps / 2``.
    """
    fps = real(fps, "fps")
    low = real(low, "low")
    high = real(high, "high")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps:g}")
    if low >= high:
        raise ValueError(f"low ({low:g} Hz) must be below high ({high:g} Hz)")
    if low <= 0 or high >= fps / 2:
        raise ValueError(
            f"band {low:g}-{high:g} Hz must lie inside (0, {fps / 2:g}) Hz, "
            f"below the Nyquist frequency of {fps:g} fps video"
        )
    return low, high, fps


class SOSFilter:
    """A causal filter applied to every element of an array along time, with state.

    Parameters
    ----------
    sos : ndarray, (S, 6)
        Second-order sections ``b0 b1 b2 a0 a1 a2`` (``scipy.signal`` layout).
        Coefficients are normalised so that ``a0 = 1``; the recurrence runs in
        float32.
    description : str
        Shown by ``repr``.

    Examples
    --------
    >>> import numpy as np
    >>> f = butterworth(0.5, 3.0, fps=30.0)
    >>> t = np.arange(300) / 30.0
    >>> x = np.sin(2 * np.pi * 1.2 * t)[:, None].astype(np.float32)
    >>> whole = f.filter(x)
    >>> f.reset()
    >>> blocks = np.concatenate([f.filter(x[:7]), f.filter(x[7:])])
    >>> bool(np.array_equal(whole, blocks))
    True
    """

    def __init__(self, sos: np.ndarray, description: str = "") -> None:
        sos = np.array(sos, dtype=np.float64, ndmin=2)
        if sos.ndim != 2 or sos.shape[1] != 6 or np.any(sos[:, 3] == 0):
            raise ValueError(f"sos must have shape (S, 6) with a0 != 0, got {sos.shape}")
        self.sos = sos / sos[:, 3:4]
        self._sos32 = np.ascontiguousarray(self.sos, dtype=np.float32)
        self._zi = sos_steady_state(self.sos)  # (S, 2): steady state for a unit step
        self.description = description
        self._state: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"SOSFilter({self.description or f'{len(self.sos)} sections'})"

    @property
    def initialized(self) -> bool:
        """Whether the state has been set (by :meth:`initialize` or the first sample)."""
        return self._state is not None

    def reset(self) -> None:
        """Forget the state; the next sample re-initialises it."""
        self._state = None

    def initialize(self, first: np.ndarray) -> None:
        """Set the state to the steady state for a constant input equal to ``first``."""
        first = np.ascontiguousarray(first, dtype=np.float32).reshape(-1)
        zi = self._zi.astype(np.float32)
        self._state = np.ascontiguousarray(zi[:, :, None] * first[None, None, :])

    def _ensure_state(self, sample: np.ndarray) -> None:
        if self._state is None:
            self.initialize(sample)
        elif sample.size != self._state.shape[2]:
            raise ValueError(
                f"sample has {sample.size} elements but the filter state has {self._state.shape[2]}; "
                "call reset() before filtering a different shape"
            )

    def step(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Filter one time sample.

        Parameters
        ----------
        x : ndarray, any shape, float32 (C-contiguous to avoid a copy)
        out : ndarray, optional
            float32 C-contiguous array of ``x``'s shape; may be ``x`` itself.

        Returns
        -------
        ndarray, float32, ``x.shape``
        """
        x = np.ascontiguousarray(x, dtype=np.float32)
        self._ensure_state(x)
        if out is None:
            out = np.empty_like(x)
        _kernels.sos_step(x.reshape(-1), self._sos32, self._state, out.reshape(-1), _kernels.threads())
        return out

    def filter(self, x: np.ndarray) -> np.ndarray:
        """Filter a block of samples along axis 0 and keep the state.

        Parameters
        ----------
        x : ndarray, (T, ...)
            Time first.  Any real dtype; computed in float32.

        Returns
        -------
        ndarray, float32, (T, ...)
        """
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim < 1:
            raise ValueError("x must have a time axis")
        out = np.empty_like(x)
        if x.shape[0] == 0:
            return out
        self._ensure_state(x[0])
        flat = x.reshape(x.shape[0], -1)
        _kernels.sos_block(flat, self._sos32, self._state, out.reshape(flat.shape), _kernels.threads())
        return out

    def frequency_response(self, freqs: np.ndarray, fps: float) -> np.ndarray:
        """Complex response ``H(exp(2j pi f / fps))`` at ``freqs`` (Hz)."""
        import scipy.signal

        _, h = scipy.signal.sosfreqz(self.sos, worN=np.asarray(freqs, dtype=np.float64), fs=fps)
        return h


#: Highest Butterworth order accepted (the state per pixel grows with it).
MAX_BUTTERWORTH_ORDER = 8


def butterworth(low: float, high: float, fps: float, order: int = 1, *, compat: Compat = None) -> SOSFilter:
    """Butterworth band-pass for ``low``-``high`` Hz at ``fps`` frames per second.

    Parameters
    ----------
    low, high : float
        Band edges in Hz, ``0 < low < high < fps / 2``.
    fps : float
        Sampling rate (frames per second).
    order : int
        Butterworth order of the low-pass prototype (the band-pass has twice as
        many poles).  Default 1.
    compat : {None, "mit"}
        ``None``: ``scipy.signal.butter(order, [low, high], "bandpass", fs=fps)``:
        -3 dB at ``low`` and ``high``, gain 1 at the band's centre.
        ``"mit"``: the MIT code's filter, ``butter(1, high/fps) - butter(1, low/fps)``
        low-passes (``order`` must be 1).

    Returns
    -------
    SOSFilter
    """
    _check_compat(compat)
    low, high, fps = check_band(low, high, fps)
    # Above order 8 the band-pass's state per pixel grows for no benefit a user could see.
    order = integer(order, "order", minimum=1, maximum=MAX_BUTTERWORTH_ORDER)
    if compat == "mit":
        if order != 1:
            raise ValueError("compat='mit' Butterworth is first order only")
        bh, ah = _lowpass1(high / fps)
        bl, al = _lowpass1(low / fps)
        # lowpass(high) - lowpass(low) over a common denominator: one biquad.
        b = np.polysub(np.polymul(bh, al), np.polymul(bl, ah))
        a = np.polymul(ah, al)
        b = np.concatenate([np.zeros(3 - len(b)), b]) if len(b) < 3 else b
        sos = np.concatenate([b, a])[None, :]
        desc = f"MIT butterworth {low:g}-{high:g} Hz @ {fps:g} fps (normalised by fps)"
        return SOSFilter(sos, desc)
    if order == 1:
        sos = _bandpass1(low, high, fps)
    else:
        import scipy.signal  # ~80 MB and most of a second to import: only for what needs it

        sos = scipy.signal.butter(int(order), [low, high], btype="bandpass", fs=fps, output="sos")
    return SOSFilter(sos, f"butterworth order {order}, {low:g}-{high:g} Hz @ {fps:g} fps")


def _lowpass1(wn: float) -> tuple[np.ndarray, np.ndarray]:
    """``scipy.signal.butter(1, wn)`` in closed form (``wn`` in units of the Nyquist frequency):
    ``H(s) = 1 / (1 + s)`` prewarped to ``k = tan(pi wn / 2)``, bilinear transform."""
    k = math.tan(math.pi * wn / 2.0)
    return np.array([k, k]) / (1.0 + k), np.array([1.0, (k - 1.0) / (k + 1.0)])


def _bandpass1(low: float, high: float, fps: float) -> np.ndarray:
    """``scipy.signal.butter(1, [low, high], "bandpass", fs=fps, output="sos")`` in closed form, (1, 6).

    The analog band-pass ``H(s) = B s / (s^2 + B s + W^2)`` with the edges prewarped as scipy does
    (``w = 4 tan(pi f / fps)``, ``B = w2 - w1``, ``W^2 = w1 w2``), through the bilinear transform
    ``s = c (z - 1) / (z + 1)``, ``c = 4``: zeros at 1 and -1, gain 1 at the centre.
    """
    w1, w2 = 4.0 * math.tan(math.pi * low / fps), 4.0 * math.tan(math.pi * high / fps)
    bw, w0sq, c = w2 - w1, w1 * w2, 4.0
    d0 = c * c + bw * c + w0sq
    g = bw * c / d0
    return np.array([[g, 0.0, -g, 1.0, (2.0 * w0sq - 2.0 * c * c) / d0, (c * c - bw * c + w0sq) / d0]])


def sos_steady_state(sos: np.ndarray) -> np.ndarray:
    """Initial state of each section for a unit step input held forever (``scipy.signal.sosfilt_zi``).

    Parameters
    ----------
    sos : ndarray, (S, 6)
        Sections with ``a0 = 1``.

    Returns
    -------
    ndarray, float64, (S, 2)
        Transposed direct form II state; scale it by the first sample to start a filter in the
        steady state of a constant signal.
    """
    zi = np.empty((len(sos), 2))
    scale = 1.0
    for k, (b0, b1, b2, _, a1, a2) in enumerate(np.asarray(sos, dtype=np.float64)):
        # lfilter_zi: (I - A^T) zi = b[1:] - a[1:] b0 with A the companion matrix of (1, a1, a2).
        zi[k] = scale * np.linalg.solve([[1.0 + a1, -1.0], [a2, 1.0]], [b1 - a1 * b0, b2 - a2 * b0])
        scale *= (b0 + b1 + b2) / (1.0 + a1 + a2)
    return zi


def iir_rates_from_band(low: float, high: float, fps: float) -> tuple[float, float]:
    """Rates ``(r1, r2)`` of two exponential moving averages with -3 dB at ``high`` and ``low``.

    An average ``y += r (x - y)`` has ``|H|^2 = 1/2`` at angular frequency ``w``
    when ``1 - r = (2 - cos w) - sqrt((2 - cos w)^2 - 1)``.
    """
    low, high, fps = check_band(low, high, fps)

    def rate(f: float) -> float:
        c = 2.0 - math.cos(2.0 * math.pi * f / fps)
        return 1.0 - (c - math.sqrt(c * c - 1.0))

    return rate(high), rate(low)


def first_order_iir(r1: float, r2: float) -> SOSFilter:
    """MIT's IIR band-pass: ``lp1 = (1-r1) lp1 + r1 x``, ``lp2`` likewise, output ``lp1 - lp2``.

    Parameters
    ----------
    r1, r2 : float
        Rates in (0, 1] with ``r1 > r2`` (``r1`` sets the upper cutoff).  MIT's
        baby example uses ``r1=0.4, r2=0.05``.

    Returns
    -------
    SOSFilter
        One biquad: ``(r1 - r2)(1 - z^-1) / ((1 - (1-r1) z^-1)(1 - (1-r2) z^-1))``.
    """
    r1 = real(r1, "r1")
    r2 = real(r2, "r2")
    if not (0 < r2 < r1 <= 1):
        raise ValueError(f"IIR rates need 0 < r2 < r1 <= 1, got r1={r1:g}, r2={r2:g}")
    p1, p2 = 1.0 - r1, 1.0 - r2
    sos = np.array([[r1 - r2, -(r1 - r2), 0.0, 1.0, -(p1 + p2), p1 * p2]])
    return SOSFilter(sos, f"first-order IIR r1={r1:g}, r2={r2:g}")


def ideal_band_gains(n: int, fps: float, low: float, high: float, *, compat: Compat = None) -> np.ndarray:
    """Per-bin gains of the ideal filter on the ``rfft`` bins of an ``n``-sample clip.

    Returns
    -------
    ndarray, float32, (n // 2 + 1,)
        1 inside ``[low, high]`` (0.5 strictly inside ``(low, high)`` with
        ``compat="mit"``), 0 elsewhere.

    Raises
    ------
    ValueError
        If no bin falls in the band: the clip is too short for the band
        (frequency resolution ``fps / n``).
    """
    _check_compat(compat)
    low, high, fps = check_band(low, high, fps)
    if n < 2:
        raise ValueError(f"the ideal filter needs at least 2 frames, got {n}")
    freqs = np.arange(n // 2 + 1) * (fps / n)
    if compat == "mit":
        gains = np.where((freqs > low) & (freqs < high), 0.5, 0.0)
    else:
        # A relative tolerance keeps a bin that sits exactly on an edge.
        eps = 1e-9 * fps
        gains = np.where((freqs >= low - eps) & (freqs <= high + eps), 1.0, 0.0)
    if not gains.any():
        raise ValueError(
            f"no frequency bin of a {n}-frame clip at {fps:g} fps lies in {low:g}-{high:g} Hz "
            f"(resolution {fps / n:.4g} Hz): widen the band or use more frames"
        )
    return gains.astype(np.float32)


def ideal_bandpass(
    x: np.ndarray,
    fps: float,
    low: float,
    high: float,
    *,
    compat: Compat = None,
    out: np.ndarray | None = None,
    chunk_bytes: int = 64 << 20,
) -> np.ndarray:
    """Ideal (FFT) band-pass along axis 0.

    Parameters
    ----------
    x : ndarray, (T, ...)
        Time first; computed in float32.
    fps, low, high : float
        Sampling rate and band in Hz.
    compat : {None, "mit"}
        See :func:`ideal_band_gains`.
    out : ndarray, optional
        float32 C-contiguous array of ``x``'s shape; may be ``x`` itself (in place).
    chunk_bytes : int
        Working memory for the spectra; pixels are processed in column chunks.

    Returns
    -------
    ndarray, float32, (T, ...)
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    import scipy.fft  # imported here: the causal filters never need it

    T = x.shape[0]
    gains = ideal_band_gains(T, fps, low, high, compat=compat)[:, None]
    if out is None:
        out = np.empty_like(x)
    flat_in = x.reshape(T, -1)
    flat_out = out.reshape(T, -1)
    P = flat_in.shape[1]
    step = max(1, chunk_bytes // (8 * (T // 2 + 1)))
    for j in range(0, P, step):
        spec = scipy.fft.rfft(flat_in[:, j : j + step], axis=0, workers=-1)
        spec *= gains
        flat_out[:, j : j + step] = scipy.fft.irfft(spec, n=T, axis=0, workers=-1)
    return out
