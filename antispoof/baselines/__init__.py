"""Hand-crafted baselines of Tu et al. (section 4.2): LBP^{u2}_{8,1} + SVM and LBP-TOP + SVM; and the
pulse baseline after Li et al. 2016 (rPPG spectral features + SVM, :mod:`.pulse`).

``lbp`` holds the Numba feature kernels (checked against scikit-image), ``svm``
the classifiers.  Labels: 1 = bona fide, 0 = attack; scores: probability of
bona fide.
"""

from .lbp import (
    N_BINS,
    N_TOP_FEATURES,
    lbp_codes,
    lbp_features,
    lbp_histogram,
    lbp_top_features,
    lbp_top_histogram,
    rgb_to_gray,
)
from .pulse import PulseSVM, pulse_features
from .svm import LBPSVM, LBPTOPSVM, load_baseline

__all__ = [
    "N_BINS",
    "N_TOP_FEATURES",
    "rgb_to_gray",
    "lbp_codes",
    "lbp_histogram",
    "lbp_top_histogram",
    "lbp_features",
    "lbp_top_features",
    "LBPSVM",
    "LBPTOPSVM",
    "PulseSVM",
    "pulse_features",
    "load_baseline",
]
