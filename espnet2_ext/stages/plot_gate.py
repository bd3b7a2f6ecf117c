"""Plots GSGN gate diagnostics and validation curves from ESPnet training logs.

Reads ``EXP_DIR/train.log`` (or a log file given directly) of one or more experiments
and draws, one line per experiment, what the paper (arXiv 2501.08057) shows in Fig. 3
and Fig. 4 plus the curves needed to read them:

- mean ``cos(theta)`` between the per-view gradients (``gate_cos``, Fig. 3 left),
- share of conflicting elements, ``cos < 0`` (``gate_conflict``, Fig. 3 right),
- mean FBank gate ``g_f`` (``gate_mean``, Fig. 4) and the share of ``g_f > 1``
  (``gate_above1``),
- the gate loss ``loss_gate``, the training loss, and validation loss and accuracy.

Two kinds of ESPnet log lines are read (the ``[host] date (module:line) INFO:`` prefix
is optional)::

    1epoch:train:1-2batch: iter_time=0.002, forward_time=0.04, loss=18.9, gate_cos=...
    1epoch results: [train] loss=21.6, ..., total_count=2, [valid] loss=25.7, acc=...

Per-batch lines are averages over ``--log_interval`` steps; the x axis is then the
global training step (batches are counted from the start of the log, using the
``total_count`` of the epoch summaries where available). Logs without per-batch lines
(or ``--x epoch``) are plotted per epoch from the summaries. ESPnet sometimes drops
the comma between two timing entries (``iter_time=0.002forward_time=0.04``); the
parser does not depend on it. Gate statistics are NaN on steps without a fused
utterance and (lagging one step) on the first step; such points are gaps.

Usage::

    python -m espnet2_ext.stages.plot_gate exp/st_gsgn exp/st_gsgn_drop --out gate.png
"""

import argparse
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

#: ``key=value`` with a number, ``nan`` or ``inf`` value (no comma needed after it).
_NUMBER = r"[-+]?(?:nan|inf|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
_STAT = re.compile(rf"([A-Za-z_]\w*)=({_NUMBER})")
_BATCH = re.compile(r"(\d+)epoch:(\w+):(\d+)-(\d+)batch:\s?(.*)$")
_EPOCH = re.compile(r"(\d+)epoch results:\s?(.*)$")
_SECTION = re.compile(r"\[(\w+)\]")

#: Panels: (phase, stat, title, y scale factor, reference line).
PANELS: Tuple[Tuple[str, str, str, float, Optional[float]], ...] = (
    ("train", "gate_cos", "mean cos(θ) of the view gradients", 1.0, 0.0),
    ("train", "gate_conflict", "conflicting elements, cos(θ) < 0 (%)", 100.0, None),
    ("train", "gate_mean", "mean FBank gate g_f", 1.0, 1.0),
    ("train", "gate_above1", "gates g_f > 1 (%)", 100.0, None),
    ("train", "loss_gate", "gate loss L_gate", 1.0, None),
    ("train", "loss", "training loss", 1.0, None),
    ("valid", "loss", "validation loss", 1.0, None),
    ("valid", "acc", "validation accuracy", 1.0, None),
)


@dataclass
class LogRecord:
    """Statistics of one ESPnet log line (or one phase of an epoch summary).

    Attributes:
        kind: ``batch`` (a per-interval line) or ``epoch`` (an epoch summary).
        epoch: ESPnet's 1-based epoch.
        phase: ``train``, ``valid`` (or another section of the summary, e.g.
            ``att_plot``).
        stats: Values by name, as floats (NaN kept).
        first_batch: First batch of the interval (batch records).
        last_batch: Last batch of the interval (batch records).
        step: Global training step at the end of the record: for batch records the
            last batch counted from the start of the log; for epoch records the
            training steps up to the end of that epoch.
    """

    kind: str
    epoch: int
    phase: str
    stats: Dict[str, float] = field(default_factory=dict)
    first_batch: Optional[int] = None
    last_batch: Optional[int] = None
    step: Optional[int] = None


def parse_stats(text: str) -> Dict[str, float]:
    """``key=value`` pairs of a log fragment as floats (later keys win)."""
    return {key: float(value) for key, value in _STAT.findall(text)}


def parse_train_log(path: Union[str, Path]) -> List[LogRecord]:
    """Reads the per-batch and per-epoch statistics of an ESPnet training log.

    Args:
        path: ``train.log`` (ESPnet's stderr, as written by ``run.pl --log``), or an
            experiment directory that contains one.

    Returns:
        Records in log order: one per per-batch line and one per phase of each
        ``Nepoch results:`` line, with ``step`` filled in (see :class:`LogRecord`).
    """
    path = Path(path)
    if path.is_dir():
        path = path / "train.log"
    records: List[LogRecord] = []
    offset = 0  # training steps before the current epoch
    pending: Optional[Tuple[int, int]] = None  # (epoch, last batch) not yet summed
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            match = _BATCH.search(line)
            if match:
                epoch, phase = int(match.group(1)), match.group(2)
                first, last = int(match.group(3)), int(match.group(4))
                if pending is not None and pending[0] != epoch:  # no summary seen
                    offset += pending[1]
                    pending = None
                if phase == "train":
                    pending = (epoch, max(pending[1] if pending else 0, last))
                records.append(
                    LogRecord(
                        kind="batch",
                        epoch=epoch,
                        phase=phase,
                        stats=parse_stats(match.group(5)),
                        first_batch=first,
                        last_batch=last,
                        step=offset + last,
                    )
                )
                continue
            match = _EPOCH.search(line)
            if not match:
                continue
            epoch = int(match.group(1))
            sections = _SECTION.split(match.group(2))
            phases = {
                name: parse_stats(text)
                for name, text in zip(sections[1::2], sections[2::2])
            }
            total = phases.get("train", {}).get("total_count", math.nan)
            if math.isfinite(total):
                offset = int(total)  # ESPnet's cumulative count of training steps
            elif pending is not None:
                offset += pending[1]
            pending = None
            for name, stats in phases.items():
                records.append(LogRecord("epoch", epoch, name, stats, step=offset))
    return records


def series(
    records: Sequence[LogRecord], phase: str, stat: str, x: str = "step"
) -> Tuple[List[float], List[float]]:
    """One statistic over training.

    Args:
        records: Output of :func:`parse_train_log`.
        phase: ``train`` or ``valid``.
        stat: Statistic name, e.g. ``gate_conflict``.
        x: ``step``: per-batch records (at their global step) when the phase has
            any, else epoch summaries at the step where their epoch ends;
            ``epoch``: epoch summaries at their epoch number.

    Returns:
        x values and y values (NaN where a record lacks ``stat``).
    """
    batch = [r for r in records if r.kind == "batch" and r.phase == phase]
    if x == "step" and any(stat in r.stats for r in batch):
        chosen = batch
    else:
        chosen = [r for r in records if r.kind == "epoch" and r.phase == phase]
    chosen = [r for r in chosen if stat in r.stats]
    xs = [float(r.epoch if x == "epoch" else r.step) for r in chosen]
    return xs, [r.stats[stat] for r in chosen]


def _smooth(values: List[float], window: int) -> List[float]:
    """Trailing moving average over the finite values of the last ``window``."""
    if window <= 1:
        return values
    out = []
    for i in range(len(values)):
        finite = [v for v in values[max(0, i - window + 1) : i + 1] if math.isfinite(v)]
        out.append(sum(finite) / len(finite) if finite else math.nan)
    return out


def _label(paths: Sequence[Path]) -> List[str]:
    names = [p.name if p.name != "train.log" else p.parent.name for p in paths]
    if len(set(names)) == len(names):
        return names
    return [str(p) for p in paths]


def plot_gate(
    logs: Sequence[Union[str, Path]],
    out: Union[str, Path],
    labels: Optional[Sequence[str]] = None,
    x: str = "auto",
    smooth: int = 1,
    title: Optional[str] = None,
) -> Path:
    """Draws the gate diagnostics of several experiments into one PNG (or PDF/SVG).

    Args:
        logs: Experiment directories (with ``train.log``) or log files.
        out: Output image; the format follows the suffix.
        labels: Legend entries (default: the experiment directory names).
        x: ``step``, ``epoch`` or ``auto`` (``step`` when every log has per-batch
            gate statistics).
        smooth: Moving-average window over the plotted points (1: none).
        title: Figure title.

    Returns:
        The written path.
    """
    import matplotlib.pyplot as plt

    fig = gate_figure(logs, labels, x, smooth, title)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def gate_figure(
    logs: Sequence[Union[str, Path]],
    labels: Optional[Sequence[str]] = None,
    x: str = "auto",
    smooth: int = 1,
    title: Optional[str] = None,
):
    """The figure :func:`plot_gate` saves: one panel per entry of ``PANELS``, one
    line per experiment that logged the statistic (arguments as there).

    Returns:
        The ``matplotlib.figure.Figure``; close it with ``plt.close(fig)``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    paths = [Path(p) for p in logs]
    labels = list(labels) if labels else _label(paths)
    if len(labels) != len(paths):
        raise ValueError(f"{len(labels)} labels for {len(paths)} experiments")
    runs = [parse_train_log(p) for p in paths]
    if x == "auto":
        per_batch = all(
            any(r.kind == "batch" and "gate_mean" in r.stats for r in run)
            for run in runs
        )
        x = "step" if per_batch else "epoch"
    if x not in ("step", "epoch"):
        raise ValueError(f"x must be step, epoch or auto; got {x!r}")

    cols = 4
    rows = math.ceil(len(PANELS) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.3 * rows))
    axes = axes.ravel()
    for ax, (phase, stat, name, factor, ref) in zip(axes, PANELS):
        drawn = False
        for index, (run, label) in enumerate(zip(runs, labels)):
            xs, ys = series(run, phase, stat, x)
            if not xs or not any(math.isfinite(v) for v in ys):
                continue
            ys = _smooth([v * factor for v in ys], smooth if phase == "train" else 1)
            many = len(xs) > 30
            ax.plot(
                xs,
                ys,
                color=f"C{index % 10}",  # one colour per experiment in every panel
                label=label,
                marker=None if many else "o",
                ms=3,
                lw=1.2,
            )
            drawn = True
        if ref is not None and drawn:
            ax.axhline(ref, color="0.6", lw=0.8, ls="--")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("training step" if x == "step" else "epoch")
        ax.grid(True, alpha=0.3)
        if not drawn:
            ax.text(
                0.5,
                0.5,
                "not logged",
                ha="center",
                va="center",
                transform=ax.transAxes,
                color="0.5",
            )
    for ax in axes[len(PANELS) :]:
        ax.set_visible(False)
    handles = [
        Line2D([], [], color=f"C{index % 10}", marker="o", ms=3, lw=1.2)
        for index in range(len(labels))
    ]
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4))
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.03 + 0.04 * math.ceil(len(labels) / 4), 1, 1))
    return fig


def get_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "exp_dirs", nargs="+", type=Path, help="experiment dirs or train.log files"
    )
    parser.add_argument("--out", type=Path, default=Path("gate.png"), help="image")
    parser.add_argument("--labels", nargs="+", default=None, help="legend entries")
    parser.add_argument("--x", choices=("auto", "step", "epoch"), default="auto")
    parser.add_argument("--smooth", type=int, default=1, help="moving-average window")
    parser.add_argument("--title", default=None)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = get_args(argv)
    for path in args.exp_dirs:
        log = path / "train.log" if path.is_dir() else path
        if not log.is_file():
            raise SystemExit(f"plot_gate: error: no training log at {log}")
    out = plot_gate(
        args.exp_dirs,
        args.out,
        labels=args.labels,
        x=args.x,
        smooth=args.smooth,
        title=args.title,
    )
    print(out)


if __name__ == "__main__":
    main()
