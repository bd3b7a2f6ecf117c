"""Decodes a ``wav.scp`` with the exporter cascade, the MT reading the ASR 1-best as
tokens (``--mode onebest``) or as exported vectors (``--mode exporter``).

Usage::

    python -m espnet2_ext.bin.cascade_inference \\
        --train_config exp/cascade/config.yaml --model_file exp/cascade/model.pth \\
        --wav_scp dump/raw/test/wav.scp --mode exporter --beam_size 5 \\
        --output_dir exp/cascade/decode_test_exporter

Writes, in ``wav.scp``'s order, ``<output_dir>/text`` (the detokenised translation),
``token`` (its target tokens) and ``onebest`` (the ASR 1-best tokens the MT read).
"""

import argparse
from pathlib import Path
from typing import List, Optional

import numpy as np
import torch
from tqdm import tqdm

from espnet2_ext.cascade.inference import MODES, CascadeTranslator
from espnet2_ext.fileio.audio_io import read_audio
from espnet2_ext.fileio.kaldi_io import read_kaldi_map
from espnet2_ext.tasks.cascade import ExporterCascadeTask
from espnet2_ext.utils.atomic import write_text_atomic
from espnet2_ext.utils.deps import run_cli


def get_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train_config", type=Path, required=True)
    parser.add_argument("--model_file", type=Path, required=True)
    parser.add_argument("--wav_scp", type=Path, required=True)
    parser.add_argument("--output_dir", type=Path, required=True)
    parser.add_argument("--mode", choices=MODES, default="exporter")
    parser.add_argument("--beam_size", type=int, default=5)
    parser.add_argument("--penalty", type=float, default=0.0)
    parser.add_argument("--maxlenratio", type=float, default=0.0)
    parser.add_argument("--minlenratio", type=float, default=0.0)
    return parser.parse_args(argv)


def mono(samples: np.ndarray) -> torch.Tensor:
    """(S, C) samples as a (S,) float32 tensor, channels averaged."""
    return torch.from_numpy(samples.mean(axis=1).astype(np.float32))


def main(argv: Optional[List[str]] = None) -> None:
    from espnet2.text.build_tokenizer import build_tokenizer
    from espnet2.text.token_id_converter import TokenIDConverter

    args = get_args(argv)
    for path in (args.train_config, args.model_file, args.wav_scp):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
    model, train_args = ExporterCascadeTask.build_model_from_file(
        args.train_config, args.model_file, "cpu"
    )
    translator = CascadeTranslator(
        model, args.beam_size, args.penalty, args.maxlenratio, args.minlenratio
    )
    target = TokenIDConverter(train_args.token_list)
    source = TokenIDConverter(train_args.src_token_list)
    tokenizer = build_tokenizer(train_args.token_type, train_args.bpemodel)
    texts, tokens, onebests = [], [], []
    entries = read_kaldi_map(args.wav_scp)
    for utt, entry in tqdm(entries.items(), desc=f"decode ({args.mode})", unit="utt"):
        samples, _ = read_audio(entry)
        result = translator(mono(samples), mode=args.mode)
        words = target.ids2tokens(result.translation)
        texts.append(f"{utt} {tokenizer.tokens2text(words)}".rstrip())
        tokens.append(f"{utt} {' '.join(words)}".rstrip())
        onebests.append(f"{utt} {' '.join(source.ids2tokens(result.onebest))}".rstrip())
    args.output_dir.mkdir(parents=True, exist_ok=True)
    for name, lines in (("text", texts), ("token", tokens), ("onebest", onebests)):
        write_text_atomic(args.output_dir / name, "".join(f"{x}\n" for x in lines))


if __name__ == "__main__":
    run_cli(main, input_errors=True)
