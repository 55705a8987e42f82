"""Cells: one method x one protocol (or train/test pair) x one seed, in plan order."""

from __future__ import annotations

from dataclasses import dataclass

from .config import (
    StudyConfig,
)
from .methods import (
    Method,
    ProtocolRef,
)

# ------------------------------------------------------------------------------------------------- cells


@dataclass(frozen=True)
class Cell:
    """One table entry for one seed.

    Attributes
    ----------
    method : Method
    train : ProtocolRef
        Training and dev (threshold) side.
    test : ProtocolRef
        Test side; equal to ``train`` for an intra cell.
    seed : int
    """

    method: Method
    train: ProtocolRef
    test: ProtocolRef
    seed: int

    @property
    def kind(self) -> str:
        return "intra" if self.train == self.test else "cross"

    @property
    def id(self) -> str:
        """Folder name: ``intra-msu-cnn-lstm-am-seed0``, ``cross-replay-adverse-to-msu-lbp-seed0``."""
        where = self.train.slug if self.kind == "intra" else f"{self.train.slug}-to-{self.test.slug}"
        return f"{self.kind}-{where}-{self.method.slug}-seed{self.seed}"

    @property
    def run_id(self) -> str:
        """The training this cell uses: ``<method>/<train protocol>/seed<k>``."""
        return f"{self.method.slug}/{self.train.slug}/seed{self.seed}"

    def describe(self) -> str:
        where = self.train.key if self.kind == "intra" else f"{self.train.key} -> {self.test.key}"
        return f"{self.kind} {where} {self.method.name} seed {self.seed}"


def plan_cells(config: StudyConfig) -> list[Cell]:
    """Every cell of the study: intra rows, then cross rows; per row the methods in order; per method the seeds."""
    cells = [Cell(m, p, p, s) for p in config.intra for m in config.methods for s in config.seeds]
    cells += [Cell(m, a, b, s) for a, b in config.cross for m in config.methods for s in config.seeds]
    return cells
