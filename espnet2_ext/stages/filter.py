"""Stage 4: keeps utterances of usable length with non-empty transcripts.

Reads a formatted data dir (``wav.scp``, ``utt2num_samples``, the ``--text`` files,
optionally ``utt2spk``) and writes the same files restricted to the kept utterances,
plus ``spk2utt``; logs how many were dropped and why. The input is checked with
``data_checks.check_kaldi_files`` first (every file has exactly the ids of ``wav.scp``;
errors name ``file:line`` and the id). ``.done`` records what the output was made from
(:mod:`espnet2_ext.fileio.stamp`: the input files, stage 3's stamp and the options); a
re-run with the same inputs is skipped, one with changed inputs filters again and says
what changed.

Usage::

    python -m espnet2_ext.stages.filter dump/raw/org/train dump/raw/train \\
        --text text.en --text text.de --min_duration 0.1 --max_duration 30
"""

import argparse
import logging
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional

from espnet2_ext.fileio.data_checks import DataDirError, validate_data_dir
from espnet2_ext.fileio.kaldi_io import read_kaldi_map, write_kaldi_map
from espnet2_ext.fileio.stamp import check_stamp, log_check, make_stamp, write_stamp
from espnet2_ext.utils.log import setup_logging

FS = 16000


def select_utterances(
    num_samples: Dict[str, str],
    texts: Dict[str, Dict[str, str]],
    min_duration: Optional[float],
    max_duration: Optional[float],
) -> (List[str], Counter):
    """Ids to keep (in ``num_samples`` order) and the count dropped per reason."""
    dropped: Counter = Counter()
    keep = []
    for utt, n in num_samples.items():
        seconds = int(n) / FS
        if min_duration is not None and seconds < min_duration:
            dropped[f"shorter than {min_duration} s"] += 1
        elif max_duration is not None and seconds > max_duration:
            dropped[f"longer than {max_duration} s"] += 1
        elif any(not t[utt].strip() for t in texts.values()):
            dropped["empty transcript"] += 1
        else:
            keep.append(utt)
    return keep, dropped


def filter_dir(
    src: Path,
    dst: Path,
    text_names: List[str],
    min_duration: Optional[float] = None,
    max_duration: Optional[float] = None,
) -> int:
    """Writes the filtered copy of ``src`` to ``dst``; returns the number kept.

    Raises:
        DataDirError: (a ValueError) listing the problems of the Kaldi files of
            ``src`` (``data_checks.check_kaldi_files``; stage 3 has run the same
            checks on the user's data dir, so this only fires on a hand-made dir).
        ValueError: for a missing input file or when no utterance is kept.
    """
    validate_data_dir(src)
    for name in ["utt2num_samples"] + text_names:
        if not (src / name).is_file():
            raise ValueError(f"{src / name}: not found - was stage 3 run on {src}?")
    names = [".done", "wav.scp", "utt2num_samples", *text_names, "utt2spk"]
    options = dict(text=" ".join(text_names), min=min_duration, max=max_duration)
    stamp = make_stamp([src / n for n in names if (src / n).is_file()], options)
    check = check_stamp(dst / ".done", stamp)
    log_check(check, dst, "already filtered", "filtering again")
    if check.status == "done":
        return len(read_kaldi_map(dst / "wav.scp"))
    wav = read_kaldi_map(src / "wav.scp")
    num_samples = read_kaldi_map(src / "utt2num_samples")
    texts = {name: read_kaldi_map(src / name) for name in text_names}
    keep, dropped = select_utterances(
        {u: num_samples[u] for u in wav}, texts, min_duration, max_duration
    )
    if not keep:
        raise ValueError(f"no utterance of {src} survived filtering: {dict(dropped)}")
    dst.mkdir(parents=True, exist_ok=True)
    files = {"wav.scp": wav, "utt2num_samples": num_samples, **texts}
    if (src / "utt2spk").exists():
        files["utt2spk"] = read_kaldi_map(src / "utt2spk")
    for name, mapping in files.items():
        write_kaldi_map(dst / name, {u: mapping[u] for u in keep})
    if "utt2spk" in files:
        spk2utt: Dict[str, List[str]] = {}
        for utt in sorted(keep):
            spk2utt.setdefault(files["utt2spk"][utt], []).append(utt)
        write_kaldi_map(dst / "spk2utt", {s: " ".join(u) for s, u in spk2utt.items()})
    reasons = ", ".join(f"{n} {why}" for why, n in dropped.items()) or "none"
    logging.info(
        f"{dst}: kept {len(keep)} of {len(wav)} utterances (dropped: {reasons})"
    )
    stamp.because = check.root
    write_stamp(dst / ".done", stamp)
    return len(keep)


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path)
    parser.add_argument("--text", action="append", default=[], required=True)
    parser.add_argument("--min_duration", type=float, default=None)
    parser.add_argument("--max_duration", type=float, default=None)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    setup_logging()
    try:
        filter_dir(args.src, args.dst, args.text, args.min_duration, args.max_duration)
    except DataDirError as e:
        logging.error(str(e))
        sys.exit(f"{args.src}: {len(e.problems)} problem(s), nothing filtered")


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
