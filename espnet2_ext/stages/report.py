"""The final table of a recipe: one row per experiment, plus validation curves.

Reads, for each experiment dir ``exp/st_<tag>``: ESPnet's ``checkpoint.pth`` (the
trainer's reporter: epochs, per-epoch train/valid time, validation loss/accuracy and
any frontend statistics such as ``gate_conflict``) and the scores of stage 13
(``decode_<set>_<model>/score/result.json``), and ``config.yaml``
(``best_model_criterion``, ``keep_nbest_models``). Runs of one model with different
seeds (``<model>_seed<N>``, or ``--group REGEX``) make one row with mean ± std.

Besides scores, epochs and training time, the table shows the epoch of convergence
("conv. epoch": the last of the best epochs that ESPnet averages for decoding, see
:mod:`espnet2_ext.stages.convergence`), the first epoch whose validation score
reaches the reference model's best ("reaches ref @"; the reference is the FBank-only
model, ``fbank_only*``, or ``--reference``) and the reference's conv. epoch over the
model's ("speed-up"). Under the table: the comparison's claims as measured.

Writes ``<out>.md`` (table and claims), ``<out>.json`` (one entry per experiment),
``<out>.summary.json`` (the rows of the table with their per-run values, the
claims, and the environment that made them:
:func:`espnet2_ext.stages.provenance.environment`) and ``<out>.png`` (validation
accuracy and loss per epoch, one line per experiment), and prints the table and claims.

Usage::

    python -m espnet2_ext.stages.report exp/st_fbank_only_de exp/st_gsgn_drop_de \\
        --sets dev test --out exp/results_de [--reference fbank_only_de]
"""

import argparse
import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from espnet2_ext.stages import convergence as conv
from espnet2_ext.stages.convergence import SEED_GROUP, fmt_spread
from espnet2_ext.stages.provenance import environment, results_header
from espnet2_ext.utils.atomic import write_text_atomic


@dataclass
class ExperimentSummary:
    """What the table shows for one experiment."""

    name: str
    epochs: int
    train_seconds: float
    scores: Dict[str, Dict[str, float]] = field(default_factory=dict)  # set -> metric
    valid_curves: Dict[str, List[float]] = field(default_factory=dict)  # key -> epochs
    criterion: List[str] = field(default_factory=list)  # [phase, key, mode]
    criterion_curve: Dict[int, float] = field(default_factory=dict)  # epoch -> value
    nbest: Optional[int] = None  # keep_nbest_models (the largest)
    conv_epoch: Optional[int] = None


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


def score_file(exp: Path, dset: str) -> Optional[Path]:
    """The ``score/result.json`` of ``dset`` in the most recent decode dir, or None."""
    results = sorted(
        exp.glob(f"decode_{dset}_*/score/result.json"), key=lambda p: p.stat().st_mtime
    )
    return results[-1] if results else None


def read_scores(exp: Path, dset: str) -> Optional[Dict[str, float]]:
    """Stage 13 scores of ``dset`` (the most recent decode dir), or None."""
    result = score_file(exp, dset)
    if result is None:
        return None
    data = json.loads(result.read_text(encoding="utf-8"))
    return {k: float(data[k]) for k in METRICS if k in data}


#: The criterion in a decode dir's name: ``decode_test_valid.acc.ave_10best``.
_DECODED = re.compile(r"_(train|valid)\.(\w+?)\.ave")


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
    row = ExperimentSummary(name, len(stats), seconds, scores, curves)
    criteria, row.nbest = conv.read_training_config(exp)
    # NOTE: the criterion of the decoded model first (decode_<set>_valid.acc.ave),
    # then valid.acc (the drivers' default inference model valid.acc.ave.pth), then
    # the config's order; one the reporter lacks is skipped, as ESPnet does.
    decoded = {
        m.groups() for p in exp.glob("decode_*") if (m := _DECODED.search(p.name))
    }
    criteria.sort(key=lambda c: (c[:2] not in decoded, c[:2] != ("valid", "acc")))
    for phase, key, mode in criteria:
        values = conv.criterion_values(stats, phase, key)
        if values:
            row.criterion, row.criterion_curve = [phase, key, mode], values
            if row.nbest:
                row.conv_epoch = conv.convergence_epoch(values, mode, row.nbest)
            break
    return row


@dataclass
class ModelRow:
    """One row of the table: the runs (seeds) of one model, values per run."""

    name: str
    runs: List[str]
    scores: Dict[str, Dict[str, List[Optional[float]]]]  # set -> metric -> per run
    epochs: List[int]
    train_seconds: List[float]
    conv_epochs: List[Optional[int]]
    reaches_ref: List[Optional[int]] = field(default_factory=list)
    speed_up: Optional[float] = None

    @property
    def budget_bound(self) -> bool:
        """Still improving at the last epoch in every run (see
        :func:`convergence.is_budget_bound`)."""
        return conv.is_budget_bound(self.conv_epochs, self.epochs)


def _model_row(name: str, runs: Sequence[ExperimentSummary]) -> ModelRow:
    sets = {d for r in runs for d in r.scores}
    metrics = {m for r in runs for s in r.scores.values() for m in s}
    return ModelRow(
        name,
        [r.name for r in runs],
        {
            d: {m: [r.scores.get(d, {}).get(m) for r in runs] for m in metrics}
            for d in sets
        },
        [r.epochs for r in runs],
        [r.train_seconds for r in runs],
        [r.conv_epoch for r in runs],
    )


def model_rows(
    rows: Sequence[ExperimentSummary],
    reference: Optional[str] = None,
    group: str = SEED_GROUP,
) -> Tuple[List[ModelRow], Optional[str]]:
    """The table's rows (runs grouped by ``group``) and the reference's name.

    The reference is the row or run named ``reference``, else the first row whose
    name starts with ``fbank_only``; its best value by its criterion (the mean over
    its runs) is what "reaches ref @" looks for in every run's validation curve of
    the same criterion.
    """
    runs_of: Dict[str, List[ExperimentSummary]] = {}
    for r in rows:
        runs_of.setdefault(conv.group_name(r.name, group), []).append(r)
    table = [_model_row(name, runs) for name, runs in runs_of.items()]
    if reference is not None:
        found = [m.name for m in table if reference == m.name or reference in m.runs]
        if not found:
            raise ValueError(
                f"--reference {reference} is none of {[m.name for m in table]}"
            )
        ref = found[0]
    else:
        ref = next((m.name for m in table if m.name.startswith("fbank_only")), None)
    if ref is None:
        return table, None
    ref_runs = [r for r in runs_of[ref] if r.criterion]
    if not ref_runs:
        return table, ref
    phase, key, mode = ref_runs[0].criterion
    bests = [
        conv.best_value(r.criterion_curve, mode)
        for r in ref_runs
        if r.criterion == ref_runs[0].criterion
    ]
    target = conv.spread(bests)[0]
    ref_row = next(m for m in table if m.name == ref)
    ref_conv = conv.spread(ref_row.conv_epochs)[0]
    for m in table:
        for r in runs_of[m.name]:
            same = r.criterion[:2] == [phase, key]
            m.reaches_ref.append(
                conv.first_epoch_reaching(r.criterion_curve, target, mode)
                if same
                else None
            )
        mean_conv = conv.spread(m.conv_epochs)[0]
        # a budget-bound epoch of convergence is a lower bound: no ratio from it
        bound = ref_row.budget_bound or m.budget_bound
        if ref_conv is not None and mean_conv and not bound:
            m.speed_up = ref_conv / mean_conv
    return table, ref


def _fmt(value: Optional[float]) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.1f}"


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}m{seconds:02d}s"


def _reaches(epochs: Sequence[Optional[int]]) -> str:
    """Mean ± std of the runs that reach the reference, ``(k/n)`` if not all do."""
    reached = [e for e in epochs if e is not None]
    if not reached:
        return "-"
    text = fmt_spread(reached, 0)
    return (
        text
        if len(reached) == len(epochs)
        else f"{text} ({len(reached)}/{len(epochs)})"
    )


def conv_epoch_cell(row: ModelRow) -> str:
    """The conv. epoch of a row; ``≥N`` when still improving at its last epoch N
    (N bounds it from below)."""
    return ("≥" if row.budget_bound else "") + fmt_spread(row.conv_epochs, 0)


def speed_up_cell(row: ModelRow, reference: Optional[str]) -> str:
    """``1.50x``; ``ref`` for the reference itself, ``-`` where not computed."""
    if row.name == reference:
        return "ref"
    return "-" if row.speed_up is None else f"{row.speed_up:.2f}x"


def markdown_table(
    rows: Sequence[ExperimentSummary],
    sets: Sequence[str],
    metrics: Sequence[str] = ("bleu", "chrf"),
    reference: Optional[str] = None,
    group: str = SEED_GROUP,
) -> str:
    """The table: one row per model, ``metrics`` per set, epochs, train time.

    Where any experiment has an epoch of convergence (a ``config.yaml``), three
    columns follow: conv. epoch, reaches ref @, speed-up (see :func:`model_rows`).
    A model still improving at its last epoch shows ``≥N`` and no speed-up; the
    reference row shows ``ref`` in the last two.
    A row of several runs (seeds) shows mean ± sample std and ``(n=N)``.
    """
    table, ref = model_rows(rows, reference, group)
    show_conv = any(r.conv_epoch is not None for r in rows)
    header = ["model"]
    for d in sets:
        header += [f"{d} {METRIC_NAMES[m]}" for m in metrics]
    header += ["epochs", "train time"]
    if show_conv:
        header += ["conv. epoch", "reaches ref @", "speed-up"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in table:
        n = len(r.runs)
        cells = [r.name if n == 1 else f"{r.name} (n={n})"]
        for d in sets:
            s = r.scores.get(d, {})
            cells += [fmt_spread(s.get(m, [])) for m in metrics]
        cells += [fmt_spread(r.epochs, 0), _clock(sum(r.train_seconds) / n)]
        if show_conv:
            # the reference against itself says nothing
            reaches = "ref" if r.name == ref else _reaches(r.reaches_ref)
            cells += [conv_epoch_cell(r), reaches, speed_up_cell(r, ref)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def table_claims(
    rows: Sequence[ExperimentSummary],
    sets: Sequence[str],
    reference: Optional[str] = None,
    group: str = SEED_GROUP,
) -> List[str]:
    """:func:`convergence.claims` of these runs (BLEU of ``test``, else last set)."""
    table, ref = model_rows(rows, reference, group)
    test_set = "test" if "test" in sets else sets[-1]
    groups = {
        r.name: {
            "conv": r.conv_epochs,
            "epochs": r.epochs,
            "bleu": r.scores.get(test_set, {}).get("bleu", [None]),
        }
        for r in table
    }
    return conv.claims(groups, ref, test_set) + conv.budget_bound(groups)


def plot_curves(rows: Sequence[ExperimentSummary], out: Path) -> None:
    """Writes :func:`curves_figure` of ``rows`` to ``out`` (PNG)."""
    import matplotlib.pyplot as plt

    fig = curves_figure(rows)
    fig.savefig(out, dpi=120)
    plt.close(fig)


def curves_figure(rows: Sequence[ExperimentSummary]):
    """Validation accuracy and loss per epoch (and, when logged, the share of
    conflicting gate elements), one panel each, one line per experiment.

    Returns:
        The ``matplotlib.figure.Figure``; close it with ``plt.close(fig)``.
    """
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
    return fig


def results_md(
    table: str, env: Dict[str, str], command: Optional[str], out: Path
) -> str:
    """The table and its claims as a ``RESULTS.md``: ESPnet's environment header,
    the command that made the experiments, and the files the numbers come from."""
    lines = results_header(env, "python -m espnet2_ext.stages.report --results_md")
    lines += [f"## {command or 'the experiments'}", ""]
    lines += [
        f"From `{out.name}.md` and `{out.name}.summary.json` (per-run values,"
        " environment), written by the same report.",
        "",
    ]
    return "\n".join(lines) + "\n" + table


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
    parser.add_argument(
        "--reference",
        help="the model the others are compared with (default: fbank_only*)",
    )
    parser.add_argument(
        "--group",
        default=SEED_GROUP,
        help="regex whose group 1 is the model of a run (default: %(default)s)",
    )
    parser.add_argument(
        "--results_md",
        type=Path,
        help="also write the table as a RESULTS.md (ESPnet's header: environment)",
    )
    parser.add_argument(
        "--command",
        default=None,
        help="the command that made the experiments, named in --results_md",
    )
    args = parser.parse_args(argv)
    rows = [summarize_experiment(e, args.sets) for e in args.exps]
    table = markdown_table(rows, args.sets, args.metrics, args.reference, args.group)
    claims = table_claims(rows, args.sets, args.reference, args.group)
    text = table + "".join(f"\n- {c}" for c in claims) + ("\n" if claims else "")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(text, encoding="utf-8")
    args.out.with_suffix(".json").write_text(
        json.dumps([asdict(r) for r in rows], indent=2), encoding="utf-8"
    )
    table_rows, ref = model_rows(rows, args.reference, args.group)
    env = environment()
    summary = {
        "reference": ref,
        "rows": [asdict(r) for r in table_rows],
        "claims": claims,
        "environment": env,
    }
    args.out.with_suffix(".summary.json").write_text(
        json.dumps(summary, indent=2), encoding="utf-8"
    )
    plot_curves(rows, args.out.with_suffix(".png"))
    if args.results_md is not None:
        write_text_atomic(
            args.results_md, results_md(text, env, args.command, args.out)
        )
    print(text, end="")
    print(f"(table, curves: {args.out}.md / .json / .summary.json / .png)")


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
