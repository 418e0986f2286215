"""The evaluation's outputs: the Markdown table, ``results.json``, ``report.md`` and the PNG plots."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from recommender.offline.metrics import COVERAGE_K, NDCG_KS, RECALL_KS

log = logging.getLogger(__name__)


def _fmt(v: float) -> str:
    return f"{v:.4f}"


def results_table(results: Mapping[str, Any]) -> str:
    """One Markdown row per method: every metric to four decimals, fit and ranking times, users."""
    cols = [f"recall@{k}" for k in RECALL_KS] + [f"ndcg@{k}" for k in NDCG_KS] + [f"coverage@{COVERAGE_K}"]
    head = "| method | " + " | ".join(cols) + " | fit s | rank ms median / p90 | users |"
    sep = "|---" * (len(cols) + 4) + "|"
    lines = [head, sep]
    for name, m in results["methods"].items():
        row = [name] + [_fmt(m[c]) for c in cols]
        row += [f"{m['fit_seconds']:.1f}", f"{m['rank_ms_median']:.2f} / {m['rank_ms_p90']:.2f}", str(m["n_users"])]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def write_outputs(results: Mapping[str, Any], out_dir: str | Path, *, command: str = "") -> dict[str, Path]:
    """Write ``results.json``, ``report.md`` and the PNG plots into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    per_user = results.get("_per_user_recall", {})
    clean = {k: v for k, v in results.items() if not k.startswith("_")}
    paths = {"results": out / "results.json", "report": out / "report.md"}
    with open(paths["results"], "w", encoding="utf-8") as fh:
        json.dump(clean, fh, indent=2, sort_keys=False)
        fh.write("\n")
    plots = _plots(clean, per_user, out)
    paths.update(plots)
    with open(paths["report"], "w", encoding="utf-8") as fh:
        fh.write("\n".join(_report_lines(clean, plots, command)))
    return paths


def _report_lines(results: Mapping[str, Any], plots: Mapping[str, Path], command: str) -> list[str]:
    lines = [
        f"# Evaluation: {results['dataset']}, P={results['P']}",
        "",
        f"Users evaluated: {results['n_users_evaluated']} (of {results['n_users_with_test_items']} with test "
        f"items); every method ranks all {results['n_items_ranked']} items, training items excluded.",
        f"Text fields feeding the text models: {', '.join(results['text_fields'])}.",
    ]
    if command:
        lines += ["", "Command:", "", f"    {command}"]
    lines += ["", results_table(results), ""]
    for name, m in results["methods"].items():
        if m.get("notes"):
            lines.append(f"- `{name}`: {m['notes']}")
    lines.append("")
    for key, p in plots.items():
        lines += [f"![{key}]({p.name})", ""]
    return lines


def _plots(results: Mapping[str, Any], per_user: Mapping[str, Any], out: Path) -> dict[str, Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # plots are optional (matplotlib is an extra)
        log.warning("matplotlib not installed: no plots")
        return {}
    paths = {"recall_curves": out / "recall_at_k.png", "per_user_recall": out / "per_user_recall.png"}
    for key, draw in (("recall_curves", _draw_recall_curves), ("per_user_recall", _draw_per_user_recall)):
        fig, ax = plt.subplots(figsize=(6, 4))
        draw(ax, results, per_user)
        fig.tight_layout()
        fig.savefig(paths[key], dpi=110)
        plt.close(fig)
    return paths


def _draw_recall_curves(ax: Any, results: Mapping[str, Any], per_user: Mapping[str, Any]) -> None:
    """Recall@K against K, one line per method."""
    for name, m in results["methods"].items():
        ax.plot(RECALL_KS, [m[f"recall@{k}"] for k in RECALL_KS], marker="o", label=name)
    ax.set_xlabel("K")
    ax.set_ylabel("Recall@K")
    ax.set_xscale("log")
    ax.set_xticks(RECALL_KS, [str(k) for k in RECALL_KS])
    ax.set_title(f"{results['dataset']} P={results['P']}: Recall@K")
    ax.grid(alpha=0.3)
    ax.legend()


def _draw_per_user_recall(ax: Any, results: Mapping[str, Any], per_user: Mapping[str, Any]) -> None:
    """The distribution of per-user Recall@100, one outline per method."""
    bins = np.linspace(0, 1, 21)
    for name, rec in per_user.items():
        if 100 in rec:
            ax.hist(rec[100], bins=bins, histtype="step", linewidth=1.5, label=name)
    ax.set_xlabel("per-user Recall@100")
    ax.set_ylabel("users")
    ax.set_title(f"{results['dataset']} P={results['P']}: per-user Recall@100")
    ax.legend()
