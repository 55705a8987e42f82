"""benchmarks/bench_seeds.py at a tiny scale: one table row per run, mean/sd rows, a rerun that reuses all."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

import antispoof
import antispoof.data.synth
from antispoof.jsonio import read_json, write_json

pytestmark = pytest.mark.usefixtures("torch_one_thread")

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_seeds.py"
_spec = importlib.util.spec_from_file_location("bench_seeds", _PATH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

ARGV = ["--tiny", "--data-seeds", "11", "23", "--train-seeds", "0", "--workers", "1"]


def _table_rows(text: str) -> list[list[str]]:
    lines = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]  # past header, rule


def _stage_files(out: Path) -> dict[str, int]:
    names = ["data/seed-11.json", "cache/seed-23.json", "runs/d11-t0/run/best.pt", "runs/d23-t0/result.json"]
    return {name: (out / name).stat().st_mtime_ns for name in names}


def test_tiny_benchmark_table_and_rerun(tmp_path, capsys, monkeypatch):
    out = tmp_path / "seeds"
    assert bench.main([*ARGV, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    rows = _table_rows(text)
    assert [r[:2] for r in rows] == [["11", "0"], ["23", "0"], ["mean", ""], ["sd", ""]]
    values = np.array([[float(c) for c in r[2:]] for r in rows])
    assert np.isfinite(values).all()
    headers = [cell.strip() for cell in text.splitlines()[0].strip("|").split("|")][2:]
    assert headers[:3] == ["HTER %", "EER %", "AUC"] and "still accepted %" in headers
    assert any(h.startswith("APCER ") for h in headers) and headers[-4:] == [
        "generate s", "prepare s", "train s", "evaluate s"]  # fmt: skip

    # the mean and sd rows are numpy's mean and sample sd of the runs (the stored, unrounded figures)
    stored = read_json(out / "table.json")["rows"]
    assert [(r["data_seed"], r["train_seed"]) for r in stored] == [(11, 0), (23, 0)]
    for (header, value, fmt), mean, sd in zip(bench.columns(stored), values[2], values[3], strict=True):
        column = np.array([value(r) for r in stored])
        assert math.isclose(mean, float(fmt.format(np.mean(column)))), header
        assert math.isclose(sd, float(fmt.format(np.std(column, ddof=1)))), header
    hter = [r["hter"] for r in stored]
    assert values[2, 0] == pytest.approx(100 * np.mean(hter), abs=0.005)

    # a rerun regenerates, prepares, trains and evaluates nothing, and prints the same table
    before = _stage_files(out)

    def refuse(*args, **kwargs):
        raise AssertionError("a complete stage was computed again")

    monkeypatch.setattr(antispoof.data.synth, "generate", refuse)
    monkeypatch.setattr(antispoof, "prepare", refuse)
    monkeypatch.setattr(antispoof, "train", refuse)
    monkeypatch.setattr(antispoof, "evaluate", refuse)
    assert bench.main([*ARGV, "--out", str(out)]) == 0
    assert capsys.readouterr().out == text
    assert _stage_files(out) == before

    # a run stopped after training, before its result: the training is found complete, only evaluated again
    monkeypatch.undo()
    monkeypatch.setattr(antispoof.data.synth, "generate", refuse)
    monkeypatch.setattr(antispoof, "prepare", refuse)
    (out / "runs/d23-t0/result.json").unlink()
    assert bench.main([*ARGV, "--out", str(out)]) == 0
    # the same figures; only the evaluation's seconds (measured again) and the total may differ
    again = capsys.readouterr().out
    evaluate = headers.index("evaluate s") + 2
    assert [r[:evaluate] for r in _table_rows(again)] == [r[:evaluate] for r in rows]
    after = _stage_files(out)
    assert after.pop("runs/d23-t0/result.json") != before.pop("runs/d23-t0/result.json") and after == before
    assert (out / "runs/d23-t0/run/metrics.jsonl").read_text().count("\n") == 1  # one epoch, not two


def test_bad_flags_are_one_line_errors(tmp_path, capsys):
    for argv, needle in (
        (["--clients", "2"], "--clients: 3 at least"),
        (["--data-seeds", "5", "5"], "given twice"),
        (["--epochs", "0"], "--epochs"),
        (["--duration", "nan"], "--duration"),
        (["--data-seeds", "-1"], "--data-seeds"),
    ):
        assert bench.main([*argv, "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("bench_seeds: error:") and needle in err, err


def test_other_settings_in_out_are_refused(tmp_path, capsys):
    out = tmp_path / "seeds"
    (out / "data").mkdir(parents=True)
    write_json(out / "data" / "seed-11.json", {"settings": {"clients": 99}, "seconds": 1.0})
    assert bench.main([*ARGV, "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("bench_seeds: error:") and "other settings" in err
