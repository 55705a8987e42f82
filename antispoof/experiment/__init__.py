"""Experiment runner: the intra- and cross-database tables of Tu et al. (Tables 1 and 2) in one call.

A study is a TOML file (see ``docs/experiments.md`` and ``docs/paper-study.toml``)::

    [study]
    methods = ["LBP", "LBP-TOP", "CNN", "CNN-LSTM", "CNN-LSTM^M", "CNN-LSTM^A", "CNN-LSTM^AM"]
    intra = ["replay-controlled", "replay-adverse", "msu"]
    cross = [["replay-adverse", "replay-controlled"], ["replay-adverse", "msu"], ["msu", "replay-controlled"]]
    seeds = [0]

    [datasets]
    replay-attack = "/data/replayattack"
    msu-mfsd = "/data/MSU-MFSD"

    [prepare]   # PrepareConfig fields; [prepare.magnify] holds the magnification of the ^M variants
    [model]     # ModelConfig fields of the CNN and CNN-LSTM (trunk, weights, hidden_size ...)
    [train]     # TrainConfig fields (epochs, batch_size, lr ...) but the seed, plus augment and threads
    [baselines] # LBPSVM / LBPTOPSVM settings (kernel, C ...)

How it runs
-----------
* **Cells.** One cell = one method x one protocol (intra) or train/test pair (cross) x one seed; it is
  one entry of Table 1 or Table 2. Cells run in plan order: every intra cell, then every cross cell.
* **Trainings are shared.** A cell's training depends only on (method, training protocol, seed): the
  cross cell ``A -> B`` reuses the model (and the dev threshold) of the intra cell on ``A``, so Table 2
  costs evaluations only when its training sides are in Table 1.
* **Caches are shared.** Each dataset is prepared at most twice (with and without magnification) by
  :func:`antispoof.cache.prepare` into ``<cache>/<key>``, the key being the hash of the dataset root and
  the :class:`~antispoof.cache.PrepareConfig`; ``antispoof prepare`` with the same settings writes the
  same folder, and every method and protocol reads it.
* **Resumable.** A finished cell writes ``cells/<id>/result.json`` atomically (after its full report),
  a finished training ``runs/<method>/<protocol>/seed<k>/done.json``; an interrupted study, rerun
  with the same command, skips what is done and continues at the first unfinished cell (a
  half-trained network continues from its last epoch, see :func:`antispoof.training.train`). A stored
  result made with other settings is refused, naming the setting, rather than mixed into the tables.

Outputs in the study folder: ``table1-intra.{md,csv}``, ``table2-cross.{md,csv}`` (ours beside the
paper's published numbers) and ``experiment.json`` (the resolved configuration, caches, every cell
with its metrics, threshold, training summary and times, the tables, the wall time).

Method semantics
----------------
``LBP`` / ``LBP-TOP``: :class:`~antispoof.baselines.LBPSVM` (frame level) / :class:`~antispoof.baselines.LBPTOPSVM`
(clip level) fitted on the training clips of the cache; video score = mean. ``Pulse`` (not the paper's):
:class:`~antispoof.baselines.PulseSVM` on the nine rPPG features of each video's pulse trace (stored in the
plain cache beside the clips, :func:`antispoof.cache.read_trace`), one row per video. ``CNN``: the frame-level
CNN (``architecture="frame_cnn"``). ``CNN-LSTM``: the CNN-LSTM without attention (last hidden state);
``^A``: with the paper's attention. ``^M``: on the magnified cache; without it, on the cache prepared
with ``magnify=None``. The decision threshold is always the EER threshold of the training side's dev
set (video scores); HTER and ACC are taken on the test set at that threshold.

Modules: ``methods`` (methods, protocols, the paper's numbers), ``config`` (study files), ``cells`` (the plan),
``runner`` (:func:`run_experiment`), ``tables`` (Tables 1 and 2) and ``synthetic`` (the synthetic study);
the public names are re-exported here.
"""

from .cells import Cell, plan_cells
from .config import StudyConfig, load_config, parse_config
from .methods import METHODS, PAPER_TABLE1, PAPER_TABLE2, ConfigError, Method, ProtocolRef
from .runner import run_experiment
from .synthetic import SYNTHETIC, synthetic_study
from .tables import build_tables, table_csv, table_markdown

__all__ = [
    "METHODS",
    "PAPER_TABLE1",
    "PAPER_TABLE2",
    "SYNTHETIC",
    "Cell",
    "ConfigError",
    "Method",
    "ProtocolRef",
    "StudyConfig",
    "build_tables",
    "load_config",
    "parse_config",
    "plan_cells",
    "run_experiment",
    "synthetic_study",
    "table_csv",
    "table_markdown",
]
