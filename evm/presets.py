"""Named parameter sets for common uses, with where each comes from.

Sources: Wu et al. 2012, Table 1 (alpha, lambda_c, band) and MIT's
``reproduceResults.m`` (filter choice, levels, chroma attenuation).  Phase
presets (``phase-*``): the bands of the same examples, the smoothing ``sigma = 2``
of Wadhwa et al. 2014 (Riesz pyramids), and factors chosen in this project
(``benchmarks/bench_quality.py``); the MIT phase code's own factors were not
available to check when they were written.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace


@dataclass(frozen=True)
class MagnifyParams:
    """Everything :func:`evm.magnify` takes besides the frames and the frame rate."""

    alpha: float = 10.0
    low: float = 0.4
    high: float = 3.0
    pyramid: str = "laplacian"
    temporal: str = "butterworth"
    levels: int | None = None
    lambda_c: float = 16.0
    chroma_attenuation: float = 0.1
    r1: float | None = None
    r2: float | None = None
    order: int = 1
    compat: str | None = None
    sigma: float | None = None  # phase smoothing (pyramid="riesz"); None: the method's default

    def as_kwargs(self) -> dict:
        """Keyword arguments of :func:`evm.magnify` / :class:`evm.Magnifier`.

        ``sigma`` is left out while it is None, so the dictionary (and the batch and
        clip-cache hashes made from it) of every linear or colour setting is what it
        was before the phase method existed.
        """
        d = asdict(self)
        if d["sigma"] is None:
            del d["sigma"]
        return d

    def updated(self, **changes) -> MagnifyParams:
        """A copy with the given fields replaced (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


@dataclass(frozen=True)
class Preset:
    name: str
    params: MagnifyParams
    description: str
    source: str
    fps: float | None = None  # sampling rate to assume (high-speed footage), None: the file's
    notes: tuple[str, ...] = field(default_factory=tuple)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            "pulse",
            MagnifyParams(
                alpha=50, low=0.8, high=2.0, pyramid="gaussian", temporal="ideal", levels=4, chroma_attenuation=1.0
            ),
            "colour: skin colour change with the heart beat, 48-120 bpm",
            "MIT reproduceResults.m face (Gdown + ideal, alpha 50, level 4, chroma 1) with a band widened to"
            " adult resting heart rates",
        ),
        Preset(
            "face",
            MagnifyParams(
                alpha=50, low=50 / 60, high=1.0, pyramid="gaussian", temporal="ideal", levels=4, chroma_attenuation=1.0
            ),
            "colour: MIT's face example exactly (50-60 bpm)",
            "MIT reproduceResults.m face (Gdown + ideal, alpha 50, level 4, 50/60-60/60 Hz, chroma 1); paper Table 1"
            " lists alpha 100, lambda_c 1000",
        ),
        Preset(
            "breathing",
            MagnifyParams(alpha=15, low=0.2, high=0.7, lambda_c=16, chroma_attenuation=0.1),
            "motion: chest and shoulders while breathing, 12-42 breaths/min",
            "band from adult/infant respiration rates; alpha and lambda_c as the paper's baby example (Table 1)",
        ),
        Preset(
            "baby",
            MagnifyParams(
                alpha=10, low=0.4, high=3.0, temporal="iir", lambda_c=16, r1=0.4, r2=0.05, chroma_attenuation=0.1
            ),
            "motion: MIT's baby example (first-order IIR)",
            "MIT reproduceResults.m baby (Laplacian + IIR, alpha 10, lambda_c 16, r1 0.4, r2 0.05, chroma 0.1);"
            " paper Table 1: baby 10, 16, 0.4-3 Hz",
        ),
        Preset(
            "motion",
            MagnifyParams(alpha=30, low=0.4, high=3.0, lambda_c=16, chroma_attenuation=0.1),
            "motion: general small body motion 0.4-3 Hz (MIT's baby/wrist Butterworth settings)",
            "MIT reproduceResults.m baby/wrist (Laplacian + Butterworth, alpha 30, lambda_c 16, 0.4-3 Hz, chroma 0.1)",
        ),
        Preset(
            "wrist",
            MagnifyParams(alpha=10, low=0.4, high=3.0, lambda_c=80, chroma_attenuation=0.1),
            "motion: pulse in the wrist; a long cutoff wavelength keeps noise down",
            "paper Table 1: wrist alpha 10, lambda_c 80, 0.4-3 Hz",
        ),
        Preset(
            "subtle",
            MagnifyParams(alpha=8, low=0.4, high=3.0, lambda_c=20, chroma_attenuation=0.0),
            "motion: gentle luminance-only magnification with few artefacts, a safe first try",
            "this project: alpha below the paper's range so (1 + alpha) delta stays well under lambda / 8",
        ),
        Preset(
            "guitar",
            MagnifyParams(alpha=50, low=72, high=92, temporal="ideal", lambda_c=10, chroma_attenuation=0.0),
            "motion: vibrating low-E string in 600 fps footage",
            "MIT reproduceResults.m guitar (Laplacian + ideal, alpha 50, lambda_c 10, 72-92 Hz, fs 600, chroma 0)",
            fps=600.0,
        ),
        Preset(
            "phase-motion",
            MagnifyParams(alpha=20, low=0.4, high=3.0, pyramid="riesz", temporal="butterworth"),
            "phase: small body motion 0.4-3 Hz, large factors without linear EVM's clipping and noise",
            "band: MIT's baby/wrist examples (paper Table 1); sigma 2: Wadhwa et al. 2014; alpha 20: this project"
            " ((1 + alpha) d stays a motion up to about half a level's wavelength)",
        ),
        Preset(
            "phase-baby",
            MagnifyParams(alpha=10, low=0.4, high=3.0, pyramid="riesz", temporal="iir", r1=0.4, r2=0.05),
            "phase: MIT's baby example's settings with the phase method (first-order IIR)",
            "alpha, band, r1/r2: MIT reproduceResults.m baby (linear); sigma 2: Wadhwa et al. 2014",
        ),
        Preset(
            "phase-still",
            MagnifyParams(alpha=-1, low=0.4, high=3.0, pyramid="riesz", temporal="butterworth"),
            "phase: remove small motion in 0.4-3 Hz (alpha -1: motion attenuation, e.g. camera shake)",
            "motion attenuation as in Wadhwa et al. 2013/2014; band: this project",
        ),
        Preset(
            "phase-guitar",
            MagnifyParams(alpha=25, low=72, high=92, pyramid="riesz", temporal="ideal"),
            "phase: vibrating low-E string in 600 fps footage",
            "band and fs: MIT reproduceResults.m guitar; sigma 2: Wadhwa et al. 2014; alpha 25: this project",
            fps=600.0,
        ),
    ]
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}") from None
