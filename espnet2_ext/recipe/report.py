"""The final table of a recipe: one row per experiment, plus validation curves.

Reads, for each experiment dir ``exp/st_<tag>``: ESPnet's ``checkpoint.pth`` (the
trainer's reporter: epochs, per-epoch train/valid time, validation loss/accuracy and
any frontend statistics such as ``gate_conflict``) and the scores of stage 13
(``decode_<set>_<model>/score/result.json``). Writes ``<out>.md`` (the table),
``<out>.json`` and ``<out>.png`` (validation accuracy and loss per epoch, one line per
experiment), and prints the table.

Usage::

    python -m espnet2_ext.recipe.report exp/st_fbank_only_de exp/st_gsgn_drop_de \\
        --sets dev test --out exp/results_de
"""

import argparse
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence


@dataclass
class ExperimentSummary:
    """What the table shows for one experiment."""

    name: str
    epochs: int
    train_seconds: float
    scores: Dict[str, Dict[str, float]] = field(default_factory=dict)  # set -> metric
    valid_curves: Dict[str, List[float]] = field(default_factory=dict)  # key -> epochs


def _seconds(value) -> float:
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


def read_reporter(exp: Path) -> Dict[int, Dict[str, Dict[str, float]]]:
    """Per-epoch statistics ``{epoch: {"train"|"valid": {key: value}}}``."""
    import torch
    from espnet2.train.reporter import Reporter

    checkpoint = exp / "checkpoint.pth"
    if not checkpoint.exists():
        raise FileNotFoundError(f"{checkpoint} not found: has {exp} been trained?")
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    reporter = Reporter()
    reporter.load_state_dict(state["reporter"])
    return {e: reporter.stats[e] for e in sorted(reporter.stats)}


METRICS = ("bleu", "chrf", "ter", "wer", "cer")
METRIC_NAMES = {
    "bleu": "BLEU",
    "chrf": "chrF",
    "ter": "TER",
    "wer": "WER",
    "cer": "CER",
}


def read_scores(exp: Path, dset: str) -> Optional[Dict[str, float]]:
    """Stage 13 scores of ``dset`` (the most recent decode dir), or None."""
    results = sorted(
        exp.glob(f"decode_{dset}_*/score/result.json"), key=lambda p: p.stat().st_mtime
    )
    if not results:
        return None
    data = json.loads(results[-1].read_text(encoding="utf-8"))
    return {k: float(data[k]) for k in METRICS if k in data}


def summarize_experiment(exp: Path, sets: Sequence[str]) -> ExperimentSummary:
    stats = read_reporter(exp)
    seconds = sum(
        _seconds(s.get(part, {}).get("time", 0.0))
        for s in stats.values()
        for part in ("train", "valid")
    )
    curves: Dict[str, List[float]] = {}
    for key in ("acc", "loss"):
        curves[key] = [
            float(s.get("valid", {}).get(key, math.nan)) for s in stats.values()
        ]
    for key in ("gate_conflict", "gate_mean"):
        values = [float(s.get("train", {}).get(key, math.nan)) for s in stats.values()]
        if not all(math.isnan(v) for v in values):
            curves[f"train_{key}"] = values
    scores = {d: s for d in sets if (s := read_scores(exp, d)) is not None}
    name = exp.name
    for prefix in ("st_", "asr_"):
        name = name[len(prefix) :] if name.startswith(prefix) else name
    return ExperimentSummary(name, len(stats), seconds, scores, curves)


def _fmt(value: Optional[float]) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.1f}"


def markdown_table(
    rows: Sequence[ExperimentSummary],
    sets: Sequence[str],
    metrics: Sequence[str] = ("bleu", "chrf"),
) -> str:
    """The table: one row per experiment, ``metrics`` per set, epochs, train time."""
    header = ["model"]
    for d in sets:
        header += [f"{d} {METRIC_NAMES[m]}" for m in metrics]
    header += ["epochs", "train time"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [r.name]
        for d in sets:
            s = r.scores.get(d, {})
            cells += [_fmt(s.get(m)) for m in metrics]
        minutes, seconds = divmod(int(round(r.train_seconds)), 60)
        cells += [str(r.epochs), f"{minutes}m{seconds:02d}s"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_curves(rows: Sequence[ExperimentSummary], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    panels = [("acc", "validation accuracy"), ("loss", "validation loss")]
    if any("train_gate_conflict" in r.valid_curves for r in rows):
        panels.append(("train_gate_conflict", "share of conflicting gate elements"))
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6))
    # One colour per experiment in every panel, also where it has no curve.
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (key, title) in zip(axes, panels):
        for i, r in enumerate(rows):
            values = r.valid_curves.get(key)
            if values:
                ax.plot(
                    range(1, len(values) + 1),
                    values,
                    marker="o",
                    label=r.name,
                    color=colours[i % len(colours)],
                )
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exps", type=Path, nargs="+")
    parser.add_argument("--sets", nargs="+", default=["dev", "test"])
    parser.add_argument(
        "--metrics",
        nargs="+",
        default=["bleu", "chrf"],
        choices=METRICS,
        help="score columns per set (ASR: wer cer)",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="prefix of .md/.json/.png"
    )
    args = parser.parse_args(argv)
    rows = [summarize_experiment(e, args.sets) for e in args.exps]
    table = markdown_table(rows, args.sets, args.metrics)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(table, encoding="utf-8")
    args.out.with_suffix(".json").write_text(
        json.dumps([asdict(r) for r in rows], indent=2), encoding="utf-8"
    )
    plot_curves(rows, args.out.with_suffix(".png"))
    print(table, end="")
    print(f"(table, curves: {args.out}.md / .json / .png)")


if __name__ == "__main__":
    main()
