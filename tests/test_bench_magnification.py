"""benchmarks/bench_magnification.py: a tiny end-to-end run (one level, one dataset), the table's figures
against numpy, and a rerun that computes nothing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import antispoof
import antispoof.data.synth
from antispoof.cache import open_cache
from antispoof.jsonio import read_json

pytestmark = pytest.mark.usefixtures("torch_one_thread")

_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(_DIR))
_spec = importlib.util.spec_from_file_location("bench_magnification", _DIR / "bench_magnification.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_tiny_run_trains_both_variants_on_one_tree_and_reruns_nothing(tmp_path, capsys, monkeypatch):
    out = tmp_path / "mag"
    argv = ["--tiny", "--levels", "0.25", "--data-seeds", "3", "--workers", "1", "--out", str(out)]
    assert bench.main(argv) == 0
    text = capsys.readouterr().out
    rows = read_json(out / "table.json")["rows"]
    assert {(r["variant"], r["model"]) for r in rows} == {(v, m) for v in bench.VARIANTS for m in bench.MODELS}
    assert all(r["level"] == 0.25 and r["data_seed"] == 3 and 0 <= r["hter"] <= 1 for r in rows)
    # one generated tree at that level, prepared twice: magnified with the profile's alpha, and not
    base = out / "live-0.25"
    assert read_json(base / "data" / "seed-3.json")["settings"]["live_motion"] == 0.25
    magnified = open_cache(base / "magnified" / "cache" / "seed-3")[1]["config"]
    plain = open_cache(base / "plain" / "cache" / "seed-3")[1]["config"]
    assert magnified["magnify"]["alpha"] == bench.seeds.TINY["prepare"]["alpha"] and plain["magnify"] is None
    assert {k: v for k, v in magnified.items() if k != "magnify"} == {k: v for k, v in plain.items() if k != "magnify"}
    for r in rows:
        name = r["model"] + ("^M" if r["variant"] == "magnified" else "")
        line = next(x for x in text.splitlines() if x.startswith(f"| 0.25 | {name} |"))
        assert f"| {100 * r['hter']:.2f} | {100 * r['hter']:.2f} ± 0.00 | {r['auc']:.4f} |" in line

    def refuse(*args, **kwargs):
        raise AssertionError("a complete stage was computed again")

    for name in ("prepare", "train", "evaluate"):
        monkeypatch.setattr(antispoof, name, refuse)
    monkeypatch.setattr(antispoof.data.synth, "generate", refuse)
    monkeypatch.setattr("antispoof.baselines.LBPTOPSVM.fit", refuse)
    assert bench.main(argv) == 0 and capsys.readouterr().out == text


def test_table_gives_mean_and_sample_sd_per_level_and_model():
    rows = [{"level": level, "data_seed": seed, "variant": variant, "model": model, "hter": h, "auc": a}
            for level, seed, variant, model, h, a in (
                (1.0, 5, "magnified", "CNN-LSTM", 0.10, 0.9), (1.0, 6, "magnified", "CNN-LSTM", 0.20, 0.8),
                (1.0, 5, "plain", "CNN-LSTM", 0.30, 0.7), (0.0, 5, "plain", "LBP-TOP", 0.05, 0.99))]  # fmt: skip
    lines = bench.table(rows).splitlines()
    assert lines[0] == "| live motion | model | HTER % seed 5 | HTER % seed 6 | HTER % mean ± sd | AUC mean |"
    sd = np.std([10.0, 20.0], ddof=1)
    assert lines[2] == f"| 1 | CNN-LSTM^M | 10.00 | 20.00 | 15.00 ± {sd:.2f} | 0.8500 |"
    assert lines[3] == "| 1 | CNN-LSTM | 30.00 |  | 30.00 ± 0.00 | 0.7000 |"
    assert lines[4] == "| 0 | LBP-TOP | 5.00 |  | 5.00 ± 0.00 | 0.9900 |" and len(lines) == 5


def test_bad_flags_are_one_line_errors(tmp_path, capsys):
    for argv, needle in ((["--levels", "11"], "--levels"), (["--levels", "nan"], "--levels"),
                         (["--levels", "1", "1"], "given twice"), (["--clients", "2"], "3 at least")):  # fmt: skip
        assert bench.main([*argv, "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("bench_magnification: error:") and needle in err, err
    assert not (tmp_path / "o").exists()
