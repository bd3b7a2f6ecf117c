"""The ML-SUPERB benchmark driver: runs every cell of the matrix as a recipe run.

Run from an ASR recipe directory (``egs2/ml_superb/asr1``, ``egs2/mini_superb/asr1``)
that has ``asr.sh`` and a ``local/data.sh`` taking the options of
:mod:`espnet2_ext.recipes.ml_superb.data_prep`. For each track of the matrix
(:mod:`espnet2_ext.recipes.ml_superb.matrix`):

1. ``./asr.sh --stage 1 --stop_stage 10``: data, format, filter, char tokens (with the
   language tags as single tokens on a LID track) and shape files, shared by the
   track's cells;
2. each cell: ``./asr.sh --stage 11 --stop_stage 12`` (training through ESPnet's
   launcher, so ``--ngpu``, ``--num_nodes`` and ``cmd.sh``'s backends apply; greedy
   CTC decoding of dev and test with the model averaged over the best validation
   losses), then the ML-SUPERB scores of dev and test
   (:mod:`espnet2_ext.scoring.ml_superb`) into
   ``<exp>/decode_<set>_<model>/score_superb/result.json``;
3. the report (:mod:`espnet2_ext.recipes.ml_superb.report`) over the whole matrix.

A finished cell leaves ``<exp>/.superb.done``, a stamp of its config, data and
options (:mod:`espnet2_ext.fileio.stamp`): a re-run skips it, so adding a learning
rate or a frontend to the matrix runs only the new cells; a cell whose inputs changed
runs again (``asr.sh`` says what changed). ``--parallel N`` runs N cells at once (each
cell's jobs go through ``cmd.sh``, so on a cluster they run side by side; their output
then goes to ``<expdir>/superb/logs/<tag>.log``).

Usage::

    python -m espnet2_ext.recipes.ml_superb.bench --tracks multi_lid_10min \\
        --frontends fbank weighted_sum hconv --lrs 1e-4 1e-3 --upstreams hubert \\
        --model_config conf/model/ml_superb_asr.yaml --ngpu 1
"""

import argparse
import json
import logging
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import yaml

from espnet2_ext.fileio.stamp import check_stamp, make_stamp, write_stamp
from espnet2_ext.recipes.ml_superb.matrix import (
    INFERENCE_MODEL,
    Cell,
    Track,
    cell_config,
    decode_dir,
    plan,
    score_path,
)
from espnet2_ext.recipes.ml_superb.report import write_report
from espnet2_ext.scoring.ml_superb import score_files
from espnet2_ext.stages.compose_config import compose
from espnet2_ext.utils.atomic import write_text_atomic
from espnet2_ext.utils.log import setup_logging

logger = logging.getLogger(__name__)
#: Where the configs, the matrix, the logs and the report go, under the expdir.
BENCH_DIR = "superb"


@dataclass
class RunOptions:
    """What every ``asr.sh`` call of the job shares.

    Attributes:
        expdir: Experiments folder (``asr.sh --expdir``).
        dumpdir: Formatted data folder (``asr.sh --dumpdir``).
        asr_opts: Further ``asr.sh`` options (``--ngpu 1 --nj 8`` ...).
        inference_config: Decoding config.
    """

    expdir: Path = Path("exp")
    dumpdir: Path = Path("dump")
    asr_opts: List[str] = field(default_factory=list)
    inference_config: Optional[str] = None

    def common(self, track: Track) -> List[str]:
        """``asr.sh`` options naming the track's data and tokens."""
        opts = ["--expdir", str(self.expdir), "--dumpdir", str(self.dumpdir)]
        opts += ["--lang", track.name, "--token_type", "char"]
        opts += ["--train_set", track.train_set, "--valid_set", track.dev_set]
        opts += ["--test_sets", f"{track.dev_set} {track.test_set}"]
        opts += ["--local_data_opts", shlex.join(track.data_opts())]
        opts += ["--nlsyms_txt", track.nlsyms or "none"]
        opts += ["--inference_asr_model", INFERENCE_MODEL]
        if self.inference_config:
            opts += ["--inference_config", self.inference_config]
        return opts + list(self.asr_opts)


def write_configs(
    cells: Sequence[Cell],
    model_config: Sequence[Path],
    upstreams: Sequence[str],
    config_dir: Path,
    max_epoch: Optional[int] = None,
    feature_cache: Optional[str] = None,
) -> Dict[str, Path]:
    """Writes each distinct cell config once (``<config_dir>/<frontend>_lr<lr>.yaml``).

    ``model_config`` is the fixed model: one file, or fragments merged in order (a
    recipe's own training budget on top of the protocol's file). ``max_epoch`` and
    ``feature_cache`` go to :func:`~espnet2_ext.recipes.ml_superb.matrix.cell_config`.

    A file is rewritten only when its content changes, so the stamps of finished
    cells stay valid. Returns ``{cell tag: config path}``.
    """
    model = compose(model_config)
    paths: Dict[str, Path] = {}
    for cell in cells:
        path = Path(config_dir) / f"{cell.config_name}.yaml"
        text = yaml.safe_dump(
            cell_config(cell, model, upstreams, max_epoch, feature_cache),
            sort_keys=False,
        )
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, text)
        paths[cell.tag] = path
    return paths


def score_cell(cell: Cell, opts: RunOptions) -> Dict[str, dict]:
    """Scores the cell's dev and test decodings; returns ``{set: scores dict}``."""
    out = {}
    for dset in (cell.track.dev_set, cell.track.test_set):
        data = opts.dumpdir / "raw" / dset
        utt2lang = data / "utt2lang"
        scores = score_files(
            decode_dir(cell, dset, opts.expdir) / "text",
            data / "text",
            utt2lang if utt2lang.exists() else None,
            cell.track.lid,
        )
        path = score_path(cell, dset, opts.expdir)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(scores.to_dict(), indent=1) + "\n")
        out[dset] = scores.to_dict()
    return out


def cell_stamp(cell: Cell, config: Path, opts: RunOptions):
    """What a finished cell was made from: its config, its data and token list, and
    the shared ``asr.sh`` options."""
    raw = opts.dumpdir / "raw"
    track = cell.track
    inputs = [config] + [
        raw / dset / ".done"
        for dset in (track.train_set, track.dev_set, track.test_set)
    ]
    inputs.append(Path("data") / "token_list" / f"char_{track.name}" / ".done")
    return make_stamp(inputs, {"asr_opts": shlex.join(opts.common(track))})


def marker(cell: Cell, expdir: Path) -> Path:
    return cell.exp(expdir) / ".superb.done"


Runner = Callable[[List[str], Optional[Path]], None]


def run_command(argv: List[str], log: Optional[Path] = None) -> None:
    """Runs ``argv`` (in the recipe directory), to the terminal or into ``log``.

    Raises:
        RuntimeError: it failed; the message names the log to read.
    """
    if log is None:
        rc = subprocess.run(argv).returncode
    else:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "w", encoding="utf-8") as f:
            rc = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        where = f"; see {log}" if log else " (its output is above)"
        raise RuntimeError(f"{shlex.join(argv[:3])} ... failed with exit {rc}{where}")


def prepare_track(track: Track, config: Path, opts: RunOptions, run: Runner) -> None:
    """``asr.sh`` stages 1-10 of a track (each skipped by its own stamp when done)."""
    logger.info(f"track {track.name}: data, tokens and shapes (asr.sh stages 1-10)")
    run(
        ["./asr.sh", "--stage", "1", "--stop_stage", "10", "--asr_config", str(config)]
        + opts.common(track),
        None,
    )


def run_cell(
    cell: Cell, config: Path, opts: RunOptions, run: Runner, log: Optional[Path]
) -> str:
    """Trains, decodes and scores one cell unless its stamp says it is done.

    Returns:
        ``"skipped"`` or ``"ran"``.
    """
    stamp = cell_stamp(cell, config, opts)
    check = check_stamp(marker(cell, opts.expdir), stamp)
    if check.status == "done":
        logger.info(f"cell {cell.tag}: already done - skipping")
        return "skipped"
    if check.status == "changed":
        logger.info(f"cell {cell.tag}: {check.reason} - running it again")
    start = time.time()
    logger.info(f"cell {cell.tag}: training and decoding (asr.sh stages 11-12)")
    run(
        ["./asr.sh", "--stage", "11", "--stop_stage", "12", "--asr_config", str(config)]
        + ["--asr_tag", cell.tag]
        + opts.common(cell.track),
        log,
    )
    scores = score_cell(cell, opts)
    test = scores[cell.track.test_set]
    lid = test.get("lid_accuracy")
    logger.info(
        f"cell {cell.tag}: test CER {test['macro_cer']:.1f}"
        + (f", LID {lid:.1f}%" if lid is not None else "")
        + f" ({time.time() - start:.0f} s)"
    )
    stamp.because = check.root
    write_stamp(marker(cell, opts.expdir), stamp)
    return "ran"


def write_matrix(
    cells: Sequence[Cell], configs: Dict[str, Path], expdir: Path, path: Path
) -> None:
    """The matrix the report reads: one entry per cell."""
    entries = [
        {
            "tag": c.tag,
            "track": c.track.name,
            "lid": c.track.lid,
            "frontend": c.frontend,
            "lr": c.lr,
            "config": str(configs[c.tag]),
            "exp": str(c.exp(expdir)),
        }
        for c in cells
    ]
    write_text_atomic(path, json.dumps(entries, indent=1) + "\n")


def run_matrix(
    cells: Sequence[Cell],
    configs: Dict[str, Path],
    opts: RunOptions,
    parallel: int = 1,
    run: Runner = run_command,
) -> Dict[str, str]:
    """Prepares each track once, then runs its cells (``parallel`` at a time).

    Returns:
        ``{cell tag: "ran" | "skipped"}``.

    Raises:
        RuntimeError: a cell failed (the others of its batch still finish first).
    """
    outcome: Dict[str, str] = {}
    tracks = list(dict.fromkeys(c.track for c in cells))
    for track in tracks:
        mine = [c for c in cells if c.track == track]
        prepare_track(track, configs[mine[0].tag], opts, run)
        logs = opts.expdir / BENCH_DIR / "logs"

        def one(cell: Cell) -> str:
            log = logs / f"{cell.tag}.log" if parallel > 1 else None
            return run_cell(cell, configs[cell.tag], opts, run, log)

        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            futures = {c.tag: pool.submit(one, c) for c in mine}
        errors = []
        for tag, future in futures.items():
            try:
                outcome[tag] = future.result()
            except RuntimeError as e:
                errors.append(f"cell {tag}: {e}")
        if errors:
            raise RuntimeError("\n".join(errors))
    return outcome


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--tracks", nargs="+", default=["multi_lid_10min"])
    parser.add_argument(
        "--frontends", nargs="+", default=["fbank", "weighted_sum", "hconv"]
    )
    parser.add_argument("--lrs", nargs="+", type=float, default=[1e-4])
    parser.add_argument(
        "--upstreams",
        nargs="*",
        default=["hubert"],
        help="s3prl names or converted checkpoints (*.pt, loaded as hubert_local)",
    )
    parser.add_argument(
        "--model_config",
        type=Path,
        nargs="+",
        required=True,
        help="the fixed model and training (fragments merged in order)",
    )
    parser.add_argument("--max_epoch", type=int, default=None)
    parser.add_argument(
        "--feature_cache",
        default=None,
        help="keep the frozen upstreams' hidden states of each utterance within this"
        " size (e.g. 2GB), so each waveform goes through them once",
    )
    parser.add_argument("--inference_config", default=None)
    parser.add_argument("--expdir", type=Path, default=Path("exp"))
    parser.add_argument("--dumpdir", type=Path, default=Path("dump"))
    parser.add_argument("--parallel", type=int, default=1, help="cells run at once")
    parser.add_argument(
        "--asr_opts", default="", help="further asr.sh options, e.g. '--ngpu 1 --nj 8'"
    )
    parser.add_argument(
        "--report", type=Path, default=None, help="default: <expdir>/superb/report"
    )
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    setup_logging()
    cells = plan([Track.parse(t) for t in args.tracks], args.frontends, args.lrs)
    bench = args.expdir / BENCH_DIR
    configs = write_configs(
        cells,
        args.model_config,
        args.upstreams,
        bench / "configs",
        args.max_epoch,
        args.feature_cache,
    )
    write_matrix(cells, configs, args.expdir, bench / "matrix.json")
    opts = RunOptions(
        args.expdir, args.dumpdir, shlex.split(args.asr_opts), args.inference_config
    )
    logger.info(
        f"{len(cells)} cells: {len(args.tracks)} track(s) x {len(args.frontends)} "
        f"frontend(s) x {len(args.lrs)} learning rate(s)"
    )
    outcome = run_matrix(cells, configs, opts, args.parallel)
    ran = sum(1 for v in outcome.values() if v == "ran")
    logger.info(f"{ran} cell(s) ran, {len(outcome) - ran} skipped (already done)")
    report = args.report or bench / "report"
    table = write_report(bench / "matrix.json", report)
    sys.stdout.write(table)


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
