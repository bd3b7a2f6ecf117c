"""The ML-SUPERB benchmark report: every cell of the matrix in one table.

Reads ``<expdir>/superb/matrix.json`` (written by
:mod:`espnet2_ext.recipes.ml_superb.bench`) and, per cell, the ML-SUPERB scores of its
dev and test decodings (``score_superb/result.json``), its training statistics
(ESPnet's reporter in ``checkpoint.pth``) and its averaged model. Writes
``<out>.md``, ``<out>.csv``, ``<out>.json`` and the plots
``<out>_cer_per_language.png``, ``<out>_curves.png`` and,
when a cell learned layer weights, ``<out>_layer_weights.png``.

Columns per cell: dev and test CER (the mean of the per-language CERs), the test CER
of the 15 worst languages and the standard deviation across languages (ML-SUPERB
2.0), test LID accuracy (LID tracks), the SUPERB_s score against the FBank baseline
of the same job, epochs and training time, and what the frontend learned: the
softmax layer weights of a weighted sum (top three layers) or the GSGN gate's mean
in the last training epoch.

SUPERB_s (:func:`espnet2_ext.scoring.ml_superb.superb_score`) is ML-SUPERB's
``1000/T sum_t 1/|I_t| sum_i (s_ti(u) - s_ti(FBANK)) / (s_ti(SOTA) - s_ti(FBANK))``,
on test scores, where per track (task) t: the metrics I_t are the CER (and the LID
accuracy on a LID track); FBANK is the ``fbank`` cell whose learning rate has the
lowest dev CER (ML-SUPERB tunes each model's learning rate on dev); SOTA is the best
test value of any cell of the job. A cell's column uses its own track; the summary
below the table gives each frontend's SUPERB_s over all tracks, with each track's
learning rate chosen by dev CER. 0 is the FBank baseline, 1000 the best of the job.

Usage::

    python -m espnet2_ext.recipes.ml_superb.report --matrix exp/superb/matrix.json \\
        --out exp/superb/report
"""

import argparse
import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from espnet2_ext.recipes.ml_superb.matrix import (
    INFERENCE_MODEL,
    Cell,
    Track,
    score_path,
)
from espnet2_ext.scoring.ml_superb import WORST_K, superb_score, superb_score_by_track
from espnet2_ext.stages.provenance import environment, environment_lines
from espnet2_ext.stages.report import read_reporter
from espnet2_ext.utils.atomic import write_text_atomic

#: The state-dict key ending of a weighted-sum interface's layer weights.
WEIGHTS_KEY = "frontend.interface.weights"


@dataclass
class CellResult:
    """What the report shows of one cell (None where it has not run)."""

    tag: str
    track: str
    lid: bool
    frontend: str
    lr: float
    dev: Optional[dict] = None
    test: Optional[dict] = None
    epochs: Optional[int] = None
    train_seconds: Optional[float] = None
    valid_loss: List[float] = field(default_factory=list)
    layer_weights: Optional[List[float]] = None
    gate_mean: Optional[float] = None
    superb: Optional[float] = None

    @property
    def done(self) -> bool:
        return self.dev is not None and self.test is not None


def _seconds(value) -> float:
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


def read_layer_weights(model: Path) -> Optional[List[float]]:
    """Softmax of a weighted-sum frontend's layer weights in ``model``, or None."""
    import torch

    if not model.exists():
        return None
    state = torch.load(model, map_location="cpu", weights_only=True)
    for key, value in state.items():
        if key.endswith(WEIGHTS_KEY):
            return torch.softmax(value.float(), dim=0).tolist()
    return None


def read_cell(entry: dict) -> CellResult:
    """The scores, statistics and learned weights of one matrix entry."""
    exp = Path(entry["exp"])
    result = CellResult(
        entry["tag"], entry["track"], entry["lid"], entry["frontend"], entry["lr"]
    )
    cell = Cell(Track.parse(entry["track"]), entry["frontend"], entry["lr"])
    for part, dset in (("dev", cell.track.dev_set), ("test", cell.track.test_set)):
        path = score_path(cell, dset, exp.parent)
        if path.exists():
            setattr(result, part, json.loads(path.read_text(encoding="utf-8")))
    if (exp / "checkpoint.pth").exists():
        stats = read_reporter(exp)
        result.epochs = max(stats) if stats else 0
        result.train_seconds = sum(
            _seconds(s.get(p, {}).get("time", 0.0))
            for s in stats.values()
            for p in ("train", "valid")
        )
        result.valid_loss = [
            float(stats[e]["valid"]["loss"])
            for e in sorted(stats)
            if "valid" in stats[e]
        ]
        last = stats[max(stats)].get("train", {}) if stats else {}
        if "gate_mean" in last:
            result.gate_mean = float(last["gate_mean"])
    result.layer_weights = read_layer_weights(exp / INFERENCE_MODEL)
    return result


def _metrics(r: CellResult) -> Dict[str, Tuple[float, bool]]:
    """``{metric: (test value, higher is better)}`` of a finished cell."""
    out = {"cer": (r.test["macro_cer"], False)}
    if r.lid and r.test.get("lid_accuracy") is not None:
        out["lid"] = (r.test["lid_accuracy"], True)
    return out


def best_by_dev(results: Sequence[CellResult]) -> Optional[CellResult]:
    """The finished cell of ``results`` with the lowest dev CER (first on ties)."""
    done = [r for r in results if r.done]
    return min(done, key=lambda r: r.dev["macro_cer"]) if done else None


def track_references(
    results: Sequence[CellResult],
) -> Dict[str, Dict[str, Tuple[float, float]]]:
    """Per track, ``{metric: (FBank baseline, best of the job)}`` on test; tracks
    without a finished ``fbank`` cell are left out."""
    refs: Dict[str, Dict[str, Tuple[float, float]]] = {}
    for track in dict.fromkeys(r.track for r in results):
        mine = [r for r in results if r.track == track and r.done]
        baseline = best_by_dev([r for r in mine if r.frontend == "fbank"])
        if baseline is None:
            continue
        refs[track] = {}
        for metric, (value, higher) in _metrics(baseline).items():
            values = [_metrics(r)[metric][0] for r in mine if metric in _metrics(r)]
            refs[track][metric] = (value, max(values) if higher else min(values))
    return refs


def _terms(r: CellResult, refs) -> Dict[str, Tuple[float, float, float]]:
    return {
        m: (v, *refs[r.track][m])
        for m, (v, _) in _metrics(r).items()
        if m in refs.get(r.track, {})
    }


def add_superb_scores(results: Sequence[CellResult]) -> None:
    """Fills each finished cell's SUPERB_s against its track's references."""
    refs = track_references(results)
    for r in results:
        if r.done and r.track in refs:
            r.superb = superb_score(_terms(r, refs))


def frontend_summary(
    results: Sequence[CellResult],
) -> List[Tuple[str, Optional[float]]]:
    """Each frontend's SUPERB_s over the tracks (its learning rate per track chosen by
    dev CER)."""
    refs = track_references(results)
    out = []
    for frontend in dict.fromkeys(r.frontend for r in results):
        per_track = {}
        for track in refs:
            chosen = best_by_dev(
                [r for r in results if r.frontend == frontend and r.track == track]
            )
            if chosen is not None:
                per_track[track] = _terms(chosen, refs)
        out.append((frontend, superb_score_by_track(per_track) if per_track else None))
    return out


def _f(value: Optional[float], digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def learned(r: CellResult) -> str:
    """What the frontend learned, in a few characters."""
    if r.layer_weights:
        top = sorted(range(len(r.layer_weights)), key=lambda i: -r.layer_weights[i])
        return " ".join(f"L{i}:{r.layer_weights[i]:.2f}" for i in top[:3])
    if r.gate_mean is not None:
        return f"gate mean {r.gate_mean:.2f}"
    return ""


COLUMNS = [
    "track",
    "frontend",
    "lr",
    "dev CER",
    "test CER",
    f"worst-{WORST_K} CER",
    "CER std",
    "LID acc",
    "SUPERB_s",
    "epochs",
    "train min",
    "learned",
]


def row(r: CellResult) -> List[str]:
    test = r.test or {}
    return [
        r.track,
        r.frontend,
        f"{r.lr:g}",
        _f(r.dev["macro_cer"]) if r.dev else "–",
        _f(test.get("macro_cer")),
        _f(test.get("worst_cer")),
        _f(test.get("cer_std")),
        _f(test.get("lid_accuracy")) if r.lid else "",
        _f(r.superb, 0),
        str(r.epochs) if r.epochs is not None else "–",
        _f(r.train_seconds / 60 if r.train_seconds is not None else None),
        learned(r),
    ]


def languages_table(results: Sequence[CellResult]) -> List[str]:
    """Markdown lines: test CER per language, one row per finished cell."""
    langs = sorted(
        {lang for r in results if r.done for lang in r.test["cer_per_language"]}
    )
    if not langs:
        return []
    lines = ["| cell | " + " | ".join(langs) + " |"]
    lines.append("|---" * (len(langs) + 1) + "|")
    for r in results:
        if r.done:
            cer = r.test["cer_per_language"]
            lines.append(
                f"| {r.tag} | " + " | ".join(_f(cer.get(lang)) for lang in langs) + " |"
            )
    return lines


def markdown(results: Sequence[CellResult], env: Dict[str, str]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|---" * len(COLUMNS) + "|"]
    lines += ["| " + " | ".join(row(r)) + " |" for r in results]
    missing = [r.tag for r in results if not r.done]
    if missing:
        lines += ["", f"Not finished: {', '.join(missing)}."]
    summary = frontend_summary(results)
    if any(score is not None for _, score in summary):
        lines += ["", "SUPERB_s over the tracks (learning rate chosen by dev CER):", ""]
        lines += [f"- {frontend}: {_f(score, 0)}" for frontend, score in summary]
    elif track_references(results):
        lines += [
            "",
            "SUPERB_s: undefined, as the FBank baseline is the best cell of the job in"
            " every metric (the score's range, best - FBank, is 0).",
        ]
    else:
        lines += ["", "SUPERB_s: no finished `fbank` cell to normalise against."]
    per_lang = languages_table(results)
    if per_lang:
        lines += ["", "Test CER per language:", ""] + per_lang
    lines += [
        "",
        "CER: the mean of the per-language CERs (ML-SUPERB normalisation: no "
        "punctuation, upper case, no LID tags). SUPERB_s: 0 is the FBank baseline, "
        "1000 the best cell of this job (see espnet2_ext.recipes.ml_superb.report).",
        "",
        "Environment:",
        "",
    ]
    lines += environment_lines(env)
    return "\n".join(lines) + "\n"


def csv_text(results: Sequence[CellResult]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["tag"] + COLUMNS)
    for r in results:
        writer.writerow([r.tag] + row(r))
    return buf.getvalue()


def languages_figure(results: Sequence[CellResult]):
    """Grouped bars: test CER per language, one bar per finished cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in results if r.done]
    langs = sorted({lang for r in done for lang in r.test["cer_per_language"]})
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(langs) + 2), 3.6))
    width = 0.8 / max(1, len(done))
    for i, r in enumerate(done):
        cer = r.test["cer_per_language"]
        xs = [j + i * width for j, lang in enumerate(langs) if lang in cer]
        ax.bar(xs, [cer[lang] for lang in langs if lang in cer], width, label=r.tag)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(langs))], langs)
    ax.set_ylabel("test CER (%)")
    ax.set_title("test CER per language")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def curves_figure(results: Sequence[CellResult]):
    """Validation loss per epoch, one line per cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for r in results:
        if r.valid_loss:
            ax.plot(
                range(1, len(r.valid_loss) + 1), r.valid_loss, marker="o", label=r.tag
            )
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation CTC loss")
    ax.set_title("validation loss")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def weights_figure(results: Sequence[CellResult]):
    """Layer weights (softmax) of the weighted-sum cells, one bar group per cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [r for r in results if r.layer_weights]
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    width = 0.8 / max(1, len(cells))
    for i, r in enumerate(cells):
        xs = [j + i * width for j in range(len(r.layer_weights))]
        ax.bar(xs, r.layer_weights, width, label=r.tag)
    ax.set_xlabel("layer (0: CNN output)")
    ax.set_ylabel("softmax weight")
    ax.set_title("learned layer weights")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(matrix: Path, out: Path) -> str:
    """Writes the report of ``matrix`` to ``out.{md,csv,json}`` and its plots.

    Returns:
        The Markdown table (also written to ``out.md``).
    """
    entries = json.loads(Path(matrix).read_text(encoding="utf-8"))
    results = [read_cell(e) for e in entries]
    add_superb_scores(results)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = markdown(results, environment())
    write_text_atomic(out.with_suffix(".md"), text)
    write_text_atomic(out.with_suffix(".csv"), csv_text(results))
    data = {
        "cells": [r.__dict__ for r in results],
        "summary": dict(frontend_summary(results)),
    }
    write_text_atomic(out.with_suffix(".json"), json.dumps(data, indent=1) + "\n")
    if any(r.done for r in results):
        _save(languages_figure(results), Path(f"{out}_cer_per_language.png"))
    if any(r.valid_loss for r in results):
        _save(curves_figure(results), Path(f"{out}_curves.png"))
    if any(r.layer_weights for r in results):
        _save(weights_figure(results), Path(f"{out}_layer_weights.png"))
    return text


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--matrix", type=Path, default=Path("exp/superb/matrix.json"))
    parser.add_argument("--out", type=Path, default=Path("exp/superb/report"))
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    print(write_report(args.matrix, args.out), end="")


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
