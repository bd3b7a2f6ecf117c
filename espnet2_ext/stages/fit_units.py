"""Fits the k-means codebook of the ``units`` view on one SSL layer.

Runs an s3prl upstream over (up to ``--max_utts``) utterances of a Kaldi-style
``wav.scp`` (16 kHz mono; one ``utt_id path`` per line, or ``utt_id cmd |`` /
``utt_id file.ark:offset`` read with kaldiio), takes hidden state ``--layer`` (an index
into s3prl's list of hidden states, negative counts from the end), draws up to
``--max_frames`` frames (seeded), fits ``--num_units`` centroids with scikit-learn's
``MiniBatchKMeans`` (HuBERT's settings) and writes a codebook file for
:class:`espnet2_ext.frontend.units.UnitsView`.

Beside the codebook, ``.<name>.done`` (:mod:`espnet2_ext.fileio.stamp`) records what
decided it: the digests of the wav.scp, of a local upstream checkpoint and of
``--config``, and the arguments (also kept in the codebook's ``meta["args"]``). A
re-run from the same stamp skips the work ("already fitted with these arguments -
skipping"); one with other arguments or changed inputs, or whose codebook is missing
or unreadable, refits and says why. ``--config`` takes the upstream from a training
config (``frontend_conf.upstreams[0]``), so the codebook is fitted on the upstream the
``units`` view will run.

Usage::

    python -m espnet2_ext.stages.fit_units --wav_scp dump/raw/train/wav.scp \\
        --upstream hubert_local --path_or_url exp/upstream/hubert.pt \\
        --layer 6 --num_units 500 --output exp/units/hubert_l6_km500.pt
    python -m espnet2_ext.stages.fit_units --wav_scp dump/raw/train/wav.scp \
        --config exp/configs/units.yaml --layer 3 --num_units 100 \
        --output exp/units/km100_layer3.pt

All hidden frames of the chosen utterances are held in memory before subsampling, so
``--max_utts`` bounds the memory used.
"""

import argparse
import logging
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np

from espnet2_ext.fileio.audio_io import read_audio
from espnet2_ext.fileio.kaldi_io import KaldiEntry, read_kaldi_entries
from espnet2_ext.fileio.stamp import (
    Check,
    Stamp,
    check_stamp,
    log_check,
    make_stamp,
    write_stamp,
)
from espnet2_ext.utils.log import setup_logging

SAMPLE_RATE = 16000
#: Arguments that decide the codebook: options of its stamp, and its meta["args"].
FIT_ARGS = (
    "upstream",
    "path_or_url",
    "layer",
    "num_units",
    "max_utts",
    "max_frames",
    "seed",
    "batch_size",
    "max_iter",
    "n_init",
)
DEFAULT_UPSTREAM = "hubert_local"


def get_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--wav_scp", type=Path, required=True, help="Kaldi wav.scp")
    parser.add_argument("--output", type=Path, required=True, help="codebook file")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="training config: take the upstream from frontend_conf.upstreams[0]",
    )
    parser.add_argument(
        "--upstream",
        default=None,
        help=f"s3prl upstream name (default {DEFAULT_UPSTREAM}; not with --config)",
    )
    parser.add_argument(
        "--path_or_url", default=None, help="checkpoint of *_local upstreams"
    )
    parser.add_argument(
        "--layer", type=int, required=True, help="hidden-state index (0 = CNN output)"
    )
    parser.add_argument("--num_units", type=int, default=500)
    parser.add_argument(
        "--max_utts", type=int, default=None, help="first N utterances (all if unset)"
    )
    parser.add_argument("--max_frames", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch_size", type=int, default=10000, help="k-means batch")
    parser.add_argument("--max_iter", type=int, default=100)
    parser.add_argument("--n_init", type=int, default=20)
    parser.add_argument("--device", default="cpu", help="e.g. cpu or cuda")
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument(
        "--log_level",
        default="INFO",
        choices=("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"),
    )
    args = parser.parse_args(argv)
    if args.config is not None:
        if args.upstream is not None or args.path_or_url is not None:
            parser.error("give either --config or --upstream/--path_or_url")
        args.upstream, args.path_or_url = upstream_from_config(args.config)
    elif args.upstream is None:
        args.upstream = DEFAULT_UPSTREAM
    return args


def upstream_from_config(path: Path) -> Tuple[str, Optional[str]]:
    """``(name, path_or_url)`` of a training config's ``frontend_conf.upstreams[0]``."""
    import yaml

    with open(path, encoding="utf-8") as f:
        config = yaml.safe_load(f) or {}
    upstreams = (config.get("frontend_conf") or {}).get("upstreams") or []
    if not upstreams or "name" not in upstreams[0]:
        raise ValueError(
            f"config '{path}' has no frontend_conf.upstreams[0].name to fit units on"
        )
    first = upstreams[0]
    return first["name"], first.get("path_or_url")


def fit_args(args: argparse.Namespace) -> Dict[str, Any]:
    """The arguments that decide a codebook (plain values, the wav.scp as given)."""
    record: Dict[str, Any] = {key: getattr(args, key) for key in FIT_ARGS}
    record["wav_scp"] = str(args.wav_scp)
    return record


def stamp_path(output: Path) -> Path:
    """The stamp of a codebook: ``.<name>.done`` in its folder."""
    return output.with_name(f".{output.name}.done")


def fit_stamp(args: argparse.Namespace) -> Stamp:
    """The stamp of the inputs and arguments that decide the codebook.

    Its inputs are the wav.scp, the upstream checkpoint when it is a local file and
    the ``--config`` it came from; its options are :func:`fit_args`.
    """
    inputs = [args.wav_scp]
    if args.path_or_url is not None and Path(args.path_or_url).is_file():
        inputs.append(Path(args.path_or_url))
    if args.config is not None:
        inputs.append(args.config)
    return make_stamp(inputs, fit_args(args))


def up_to_date(check: Check, codebook: Path) -> bool:
    """Whether ``codebook`` can be kept: its stamp is done and the file loads.

    Logs the decision: skipping, or refitting and why (what changed since it was
    fitted, or what is wrong with the file).
    """
    from espnet2_ext.frontend.units import load_codebook

    if check.status == "done":
        try:
            load_codebook(codebook)
        except (FileNotFoundError, ValueError) as e:
            logging.warning(f"{codebook} cannot be used ({e}) - refitting")
            return False
    log_check(check, codebook, "is already fitted with these arguments", "refitting")
    return check.status == "done"


def read_wav_scp(path: Path) -> List[KaldiEntry]:
    """The entries of a wav.scp (``lineno``, ``key`` = utt id, ``value`` = location).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: a malformed line (naming ``path:line``), or no entries.
    """
    if not path.is_file():
        raise FileNotFoundError(f"wav.scp '{path}' does not exist")
    entries = read_kaldi_entries(path)
    if not entries:
        raise ValueError(f"wav.scp '{path}' lists no utterances")
    return entries


def load_waveforms(
    wav_scp: Path, max_utts: Optional[int]
) -> Iterator[Tuple[str, np.ndarray]]:
    """Yields ``(utt_id, samples (S,))`` of the first ``max_utts`` utterances.

    Raises:
        ValueError: Unreadable audio (names wav.scp, the line and the file), a sample
            rate other than 16 kHz or more than one channel (names the file).
    """
    entries = read_wav_scp(wav_scp)
    if max_utts is not None:
        entries = entries[:max_utts]
    for entry in entries:
        lineno, utt_id, location = entry.lineno, entry.key, entry.value
        where = f"{wav_scp}:{lineno} ('{utt_id}', file '{location}')"
        try:
            samples, rate = read_audio(location)
        except Exception as e:
            raise ValueError(
                f"cannot read the audio of {where}: {type(e).__name__}: {e}"
            ) from e
        if rate != SAMPLE_RATE:
            raise ValueError(
                f"'{location}' ({wav_scp}:{lineno}) has sample rate {rate} Hz; the SSL "
                f"upstreams need {SAMPLE_RATE} Hz audio: resample it first"
            )
        if samples.shape[1] != 1:
            raise ValueError(
                f"'{location}' ({wav_scp}:{lineno}) has {samples.shape[1]} channels; "
                "expected mono audio"
            )
        yield utt_id, samples[:, 0].astype(np.float32)


def collect_frames(
    upstream,
    wav_scp: Path,
    layer: int,
    max_utts: Optional[int],
    device: str,
) -> Tuple[np.ndarray, int]:
    """Runs the upstream utterance by utterance and gathers one layer's frames.

    Returns:
        Frames (N, D) float32 and the normalised (non-negative) layer index.
    """
    import torch
    from tqdm import tqdm

    chunks: List[np.ndarray] = []
    num_utts = len(read_wav_scp(wav_scp))
    if max_utts is not None:
        num_utts = min(num_utts, max_utts)
    resolved = None
    with torch.no_grad():
        for utt_id, wav in tqdm(
            load_waveforms(wav_scp, max_utts), total=num_utts, desc="upstream"
        ):
            speech = torch.from_numpy(wav).to(device)[None]
            lens = torch.tensor([speech.size(1)], device=device)
            hs, hs_lens = upstream(speech, lens)
            if resolved is None:
                if not -len(hs) <= layer < len(hs):
                    raise ValueError(
                        f"--layer {layer} is out of range: the upstream returns "
                        f"{len(hs)} hidden states"
                    )
                resolved = layer % len(hs)
            n = int(hs_lens[resolved][0])
            if n == 0:
                logging.warning(f"'{utt_id}' is too short for one frame - skipped")
                continue
            chunks.append(hs[resolved][0, :n].float().cpu().numpy())
    if not chunks:
        raise ValueError(f"no frames were extracted from '{wav_scp}'")
    return np.concatenate(chunks, axis=0), resolved


def main(argv: Optional[List[str]] = None) -> Optional[Path]:
    """Fits and writes the codebook; returns its path (None when skipped)."""
    args = get_args(argv)
    setup_logging(args.log_level)
    if args.num_units < 1 or args.max_frames < args.num_units:
        raise ValueError(
            f"need 1 <= --num_units <= --max_frames; got {args.num_units} and "
            f"{args.max_frames}"
        )
    read_wav_scp(args.wav_scp)  # fail on a missing wav.scp before loading a model
    marker = stamp_path(args.output)
    stamp = fit_stamp(args)
    check = check_stamp(marker, stamp)
    if not args.overwrite and up_to_date(check, args.output):
        return None

    from espnet2_ext.frontend.units import fit_codebook, save_codebook
    from espnet2_ext.frontend.upstreams import load_upstream

    # load_upstream restores the caller's RNG states (S3PRLUpstream reseeds them);
    # everything random below uses its own generator seeded with --seed.
    upstream = load_upstream({"name": args.upstream, "path_or_url": args.path_or_url})
    upstream.to(args.device).eval()
    frames, layer = collect_frames(
        upstream, args.wav_scp, args.layer, args.max_utts, args.device
    )
    total = frames.shape[0]
    if total > args.max_frames:
        rng = np.random.default_rng(args.seed)
        frames = frames[np.sort(rng.choice(total, args.max_frames, replace=False))]
    logging.info(
        f"fitting {args.num_units} units on {frames.shape[0]} of {total} frames "
        f"(layer {layer}, width {frames.shape[1]})"
    )
    if frames.shape[0] < args.num_units:
        raise ValueError(
            f"only {frames.shape[0]} frames were extracted; fewer than --num_units "
            f"{args.num_units}"
        )
    centroids = fit_codebook(
        frames,
        args.num_units,
        seed=args.seed,
        batch_size=args.batch_size,
        max_iter=args.max_iter,
        n_init=args.n_init,
    )
    meta = dict(
        upstream=args.upstream,
        path_or_url=None if args.path_or_url is None else str(args.path_or_url),
        layer=layer,
        num_layers=int(upstream.num_layers),
        num_units=args.num_units,
        dim=int(frames.shape[1]),
        seed=args.seed,
        num_frames=int(frames.shape[0]),
        num_frames_seen=int(total),
        wav_scp=str(args.wav_scp),
        args=fit_args(args),
    )
    save_codebook(args.output, centroids, meta)
    stamp.because = check.root
    write_stamp(marker, stamp)
    logging.info(f"wrote {args.output}")
    return args.output


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
