"""Tables 1 and 2: our results beside the paper's, as Markdown and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .config import (
    StudyConfig,
)
from .methods import (
    PAPER_TABLE1,
    PAPER_TABLE2,
)

# ------------------------------------------------------------------------------------------------ tables


def _stats(values: list[float]) -> dict:
    arr = np.asarray(values, dtype=np.float64) * 100.0
    return {
        "mean": float(arr.mean()),
        "sd": float(arr.std(ddof=1)) if arr.size > 1 else None,
        "n": int(arr.size),
        "values": [float(v) for v in arr],
    }


def build_tables(config: StudyConfig, results: Sequence[Mapping[str, Any]]) -> dict:
    """Table 1 (intra) and Table 2 (cross) from cell results: one row per protocol (pair) and metric.

    Returns
    -------
    dict
        ``{"table1": T, "table2": T}``; ``T = {"title", "kind", "methods", "rows"}``, each row
        ``{"train", "test", "label", "metric", "values": {method: {"mean", "sd", "n", "values"} or None},
        "paper": {method: str or None}}`` in percent. A configured cell without a result yet is None.
    """
    by_key: dict[tuple, list[Mapping]] = {}
    for r in results:
        by_key.setdefault((r["train"], r["test"], r["method"]), []).append(r)
    methods = [m.name for m in config.methods]

    def rows(pairs, paper_lookup):
        out = []
        for a, b in pairs:
            paper = paper_lookup(a, b) if config.paper_numbers else {}
            for metric in ("hter", "acc"):
                values = {}
                for m in methods:
                    found = [
                        r["metrics"][metric]
                        for r in by_key.get((a.key, b.key, m), [])
                        if r["metrics"].get(metric) is not None
                    ]
                    values[m] = _stats(found) if found else None
                out.append(
                    {
                        "train": a.key,
                        "test": b.key,
                        "label": a.label if a == b else f"{a.label} -> {b.label}",
                        "train_label": a.label,
                        "test_label": b.label,
                        "metric": metric,
                        "values": values,
                        "paper": {m: (paper.get(m) or {}).get(metric) for m in methods},
                    }
                )
        return out

    note = "percent; HTER at the EER threshold of the training side's dev set, ACC at the same threshold"
    return {
        "table1": {
            "title": "Table 1: intra-database tests (train, dev and test from the same protocol)",
            "kind": "intra",
            "note": note,
            "synthetic": config.source == "synthetic",
            "methods": methods,
            "rows": rows([(p, p) for p in config.intra], lambda a, b: PAPER_TABLE1.get(a.key, {})),
        },
        "table2": {
            "title": "Table 2: cross-database tests (train and dev from the first dataset, test on the second)",
            "kind": "cross",
            "note": note,
            "synthetic": config.source == "synthetic",
            "methods": methods,
            "rows": rows(config.cross, lambda a, b: PAPER_TABLE2.get((a.key, b.key), {})),
        },
    }


_METRIC_LABEL = {"hter": "HTER (%)", "acc": "ACC (%)"}


def _ours(v: Mapping | None) -> str:
    if v is None:
        return "–"
    return f"{v['mean']:.2f}" + (f" ± {v['sd']:.2f}" if v["sd"] is not None else "")


def table_markdown(table: Mapping[str, Any]) -> str:
    """A table as Markdown, laid out like the paper's: methods across, datasets and metrics down.

    Each entry is ours (mean ± standard deviation over seeds) with the paper's value in parentheses
    where the paper has one; "–" marks a configured cell without a result yet.
    """
    methods = table["methods"]
    cross = table["kind"] == "cross"
    head = ["Train", "Test"] if cross else ["Dataset"]
    lines = [f"**{table['title']}**", ""]
    if table.get("synthetic"):
        lines += [
            "*Synthetic data: these numbers check the pipeline; they are not anti-spoofing results and not "
            "comparable with the paper's values in parentheses.*",
            "",
        ]
    lines += [
        "| " + " | ".join(head + ["Metric"] + methods) + " |",
        "|" + "---|" * (len(head) + 1 + len(methods)),
    ]
    previous = None
    for row in table["rows"]:
        first = (row["train"], row["test"]) != previous
        previous = (row["train"], row["test"])
        where = [row["train_label"], row["test_label"]] if cross else [row["label"]]
        cells = []
        for m in methods:
            text = _ours(row["values"][m])
            if row["paper"].get(m) is not None:
                text += f" ({row['paper'][m]})"
            cells.append(text)
        lines.append(
            "| " + " | ".join((where if first else [""] * len(where)) + [_METRIC_LABEL[row["metric"]]] + cells) + " |"
        )
    shown = any(v is not None for row in table["rows"] for v in row["paper"].values())
    lines += ["", table["note"] + ("; in parentheses: the paper's published value." if shown else ".")]
    return "\n".join(lines) + "\n"


def table_csv(table: Mapping[str, Any]) -> str:
    """A table as CSV: per method three columns, ours (mean over seeds), its standard deviation, the paper's."""
    methods = table["methods"]
    cross = table["kind"] == "cross"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    head = ["train", "test"] if cross else ["dataset"]
    writer.writerow(head + ["metric"] + [c for m in methods for c in (m, f"{m} sd", f"{m} paper")])
    for row in table["rows"]:
        out = [row["train_label"], row["test_label"]] if cross else [row["label"]]
        out.append(_METRIC_LABEL[row["metric"]])
        for m in methods:
            v = row["values"][m]
            out += [
                "" if v is None else f"{v['mean']:.4f}",
                "" if v is None or v["sd"] is None else f"{v['sd']:.4f}",
                row["paper"].get(m) or "",
            ]
        writer.writerow(out)
    return buf.getvalue()
