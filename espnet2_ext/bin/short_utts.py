"""Before decoding: utterances too short for the model are named, not hit mid-decode.

Stage 4 drops short utterances from the train and valid sets only (ESPnet's
``min_wav_duration``); a test utterance shorter than what the frontend's windows
(FBank's STFT window, the SSL upstream's convolutions) and the encoder's input layer
(``conv2d`` needs 7 frames, ...) need makes ESPnet's decoder raise in the middle of a
decoding job. This check, run by stage 12 before each test set is decoded, finds that
minimum for the trained model's architecture by running its encoder on silence
(:func:`min_input_samples`: growing lengths, then bisection; the weights do not
matter, so none are loaded) and lists every utterance of the set below it, with the
``utt2num_samples`` line. The minimum is cached next to the config
(``min_input_samples.json``, keyed by the config's digest).

Usage::

    python -m espnet2_ext.bin.short_utts --task st --config exp/st_x/config.yaml \\
        --data dump/raw/test
"""

import argparse
import json
import logging
from pathlib import Path
from typing import Callable, List

from espnet2_ext.fileio.kaldi_io import read_kaldi_entries
from espnet2_ext.fileio.stamp import file_digest
from espnet2_ext.utils.atomic import write_text_atomic
from espnet2_ext.utils.log import setup_logging

FS = 16000
MAX_SAMPLES = 8 * FS  # a model needing more than 8 s of audio is not searched further
MAX_SHOWN = 10


def encodes(model, num_samples: int) -> bool:
    """Whether ``model.encode`` makes at least one frame of ``num_samples`` zeros."""
    import torch

    speech = torch.zeros(1, num_samples)
    lengths = torch.tensor([num_samples])
    try:
        with torch.no_grad():
            _, out_lengths = model.encode(speech, lengths)
    except Exception:  # noqa: BLE001 - TooShortUttError, conv/STFT size errors
        return False
    return int(out_lengths[0]) >= 1


def min_input_samples(works: Callable[[int], bool], limit: int = MAX_SAMPLES) -> int:
    """The smallest ``n`` in ``[1, limit]`` with ``works(n)``, for a monotone ``works``.

    Tries 1, 2, 4, ... until one works, then bisects below it, so short minima cost
    only short inputs.

    Raises:
        ValueError: nothing up to ``limit`` works.
    """
    hi = 1
    while not works(hi):
        if hi >= limit:
            raise ValueError(f"the model encodes no input of up to {limit} samples")
        hi = min(2 * hi, limit)
    lo = hi // 2  # fails (or is 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if works(mid):
            hi = mid
        else:
            lo = mid
    return hi


def model_min_samples(task: str, config: Path) -> int:
    """:func:`min_input_samples` of the model built from ``config`` (cached)."""
    cache = config.parent / "min_input_samples.json"
    digest = file_digest(config)
    if cache.is_file():
        data = json.loads(cache.read_text())
        if data.get("config") == digest:
            return int(data["min_samples"])
    if task == "st":
        from espnet2_ext.tasks.st import MultiViewSTTask as Task
    else:
        from espnet2_ext.tasks.asr import MultiViewASRTask as Task
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)  # ESPnet's INFO lines about building the model
    try:
        model, _ = Task.build_model_from_file(config, None, "cpu")
    finally:
        root.setLevel(level)
    model.eval()
    found = min_input_samples(lambda n: encodes(model, n))
    write_text_atomic(
        cache, json.dumps({"config": digest, "min_samples": found}) + "\n"
    )
    return found


def too_short(data_dir: Path, min_samples: int) -> List[str]:
    """One message per utterance of ``data_dir`` with fewer than ``min_samples``."""
    path = data_dir / "utt2num_samples"
    return [
        f"{path}:{e.lineno}: '{e.key}' has {e.value} samples"
        f" ({int(e.value) / FS * 1000:.1f} ms)"
        for e in read_kaldi_entries(path)
        if int(e.value) < min_samples
    ]


def check_sets(task: str, config: Path, data_dirs: List[Path]) -> None:
    """Raises ``ValueError`` listing the utterances too short for the model.

    Raises:
        ValueError: ``path:line`` of each too-short utterance (up to ten, then a
            count), the minimum, and what to do.
    """
    need = model_min_samples(task, config)
    logging.info(
        f"the model of {config} needs at least {need} samples"
        f" ({need / FS * 1000:.1f} ms) per utterance"
    )
    problems = [p for d in data_dirs for p in too_short(d, need)]
    if problems:
        shown = problems[:MAX_SHOWN]
        more = len(problems) - len(shown)
        raise ValueError(
            f"{len(problems)} utterance(s) are shorter than the {need} samples"
            f" ({need / FS * 1000:.1f} ms) the model of {config} needs (its frontend"
            " windows and encoder input layer) and cannot be decoded - remove them"
            " from the source data dir and rerun from stage 3:\n  "
            + "\n  ".join(shown)
            + (f"\n  ... and {more} more" if more else "")
        )


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=["st", "asr"], required=True)
    parser.add_argument("--config", type=Path, required=True, help="config.yaml")
    parser.add_argument(
        "--data", type=Path, action="append", required=True, help="data dir"
    )
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    setup_logging()
    check_sets(args.task, args.config, args.data)


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
