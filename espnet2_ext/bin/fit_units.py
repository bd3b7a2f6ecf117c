"""Fits the k-means codebook of the ``units`` view on one SSL layer.

Runs an s3prl upstream over (up to ``--max_utts``) utterances of a Kaldi-style
``wav.scp`` (16 kHz mono; one ``utt_id path`` per line, or ``utt_id cmd |`` /
``utt_id file.ark:offset`` read with kaldiio), takes hidden state ``--layer`` (an index
into s3prl's list of hidden states, negative counts from the end), draws up to
``--max_frames`` frames (seeded), fits ``--num_units`` centroids with scikit-learn's
``MiniBatchKMeans`` (HuBERT's settings) and writes a codebook file for
:class:`espnet2_ext.frontend.units.UnitsView`.

Usage::

    python -m espnet2_ext.bin.fit_units --wav_scp dump/raw/train/wav.scp \\
        --upstream hubert_local --path_or_url exp/upstream/hubert.pt \\
        --layer 6 --num_units 500 --output exp/units/hubert_l6_km500.pt

All hidden frames of the chosen utterances are held in memory before subsampling, so
``--max_utts`` bounds the memory used.
"""

import argparse
import logging
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import numpy as np

from espnet2_ext.recipe.audio_io import read_audio
from espnet2_ext.utils.log import setup_logging

SAMPLE_RATE = 16000


def get_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--wav_scp", type=Path, required=True, help="Kaldi wav.scp")
    parser.add_argument("--output", type=Path, required=True, help="codebook file")
    parser.add_argument(
        "--upstream", default="hubert_local", help="s3prl upstream name"
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
    return parser.parse_args(argv)


def read_wav_scp(path: Path) -> List[Tuple[int, str, str]]:
    """Entries ``(line_number, utt_id, location)`` of a wav.scp; blank lines skipped."""
    if not path.is_file():
        raise FileNotFoundError(f"wav.scp '{path}' does not exist")
    entries = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            line = line.strip()
            if not line:
                continue
            parts = line.split(maxsplit=1)
            if len(parts) != 2:
                raise ValueError(
                    f"{path}:{lineno}: expected 'utt_id path'; got {line!r}"
                )
            entries.append((lineno, parts[0], parts[1]))
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
    for lineno, utt_id, location in entries:
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
    if args.output.exists() and not args.overwrite:
        logging.info(f"{args.output} already exists - skipping (use --overwrite)")
        return None
    if args.num_units < 1 or args.max_frames < args.num_units:
        raise ValueError(
            f"need 1 <= --num_units <= --max_frames; got {args.num_units} and "
            f"{args.max_frames}"
        )
    read_wav_scp(args.wav_scp)  # fail on a missing wav.scp before loading a model

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
    )
    save_codebook(args.output, centroids, meta)
    logging.info(f"wrote {args.output}")
    return args.output


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main)
