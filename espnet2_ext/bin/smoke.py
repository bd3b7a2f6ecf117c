"""Smoke job: train, decode and score FBank-only, SSL-only and GSGN+Drop on a toy set.

Builds the synthetic toy ST set (:mod:`espnet2_ext.synth.toy_st`) and a
random-weight HuBERT (:mod:`espnet2_ext.upstream.random_weights`), then for each model
runs ESPnet's own trainer (``espnet2_ext.bin.st_train``), ESPnet's ``st_inference`` and
sacreBLEU, and prints one table. Each finished step leaves its outputs and is skipped
on a re-run. It proves the whole path works on a CPU in minutes; the scores mean
nothing (random upstream, 24 utterances). The embedded ``mini_st`` recipe is the
main job.

Usage::

    python -m espnet2_ext.bin.smoke --outdir exp/demo [--epochs 3]
"""

import argparse
import logging
import time
from pathlib import Path
from typing import Dict, List, Optional

import yaml

from espnet2_ext.stages.compose_config import deep_merge
from espnet2_ext.utils.log import setup_logging

#: name -> frontend_conf overrides of the models compared.
MODELS: Dict[str, dict] = {
    "fbank_only": {"fusion": "fbank"},
    "ssl_only": {"fusion": "ssl"},
    "gsgn_drop": {
        "fusion": "gsgn",
        "fusion_conf": {"branch_dropout": [[1, 0.3, 0.0], [3, 0.5, 0.3]]},
    },
}


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outdir", type=Path, default=Path("exp/demo"))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--n_train", type=int, default=48)
    parser.add_argument("--n_valid", type=int, default=12)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    return parser.parse_args(argv)


def _config(upstream: Path, overrides: dict) -> dict:
    from espnet2_ext.synth.toy_st import tiny_st_config

    frontend_conf = deep_merge(
        {
            "upstreams": [{"name": "hubert_local", "path_or_url": str(upstream)}],
            "interface": "hconv",
            "dim": 32,
        },
        overrides,
    )
    return tiny_st_config("multiview", frontend_conf)


def train(name: str, data: dict, upstream: Path, outdir: Path, epochs: int) -> float:
    """Trains one model unless its last checkpoint exists; returns seconds spent."""
    from espnet2_ext.bin.st_train import main as st_train
    from espnet2_ext.synth.toy_st import st_train_args

    exp = outdir / name
    if (exp / f"{epochs}epoch.pth").exists():
        logging.info(f"{exp} already trained - skipping")
        return float("nan")
    exp.mkdir(parents=True, exist_ok=True)
    config = exp / "train_config.yaml"
    config.write_text(yaml.safe_dump(_config(upstream, MODELS[name])))
    start = time.time()
    st_train(
        st_train_args(data, exp, config, max_epoch=epochs, extra=["--resume", "true"])
    )
    return time.time() - start


def decode(name: str, data: dict, outdir: Path, epochs: int) -> Path:
    """Decodes the validation set with the last checkpoint; returns the hypotheses."""
    from espnet2_ext.bin.st_inference import main as st_inference

    exp = outdir / name
    out = exp / "decode_valid"
    hyp = out / "1best_recog" / "text"
    if hyp.exists():
        return hyp
    st_inference(
        [
            "--output_dir", str(out),
            "--ngpu", "0",
            "--batch_size", "1",
            "--beam_size", "3",
            "--data_path_and_name_and_type",
            f"{data['valid'] / 'wav.scp'},speech,sound",
            "--st_train_config", str(exp / "config.yaml"),
            "--st_model_file", str(exp / f"{epochs}epoch.pth"),
        ]  # fmt: skip
    )
    return hyp


def score(hyp: Path, ref: Path) -> Dict[str, float]:
    """Corpus BLEU and chrF of ``hyp`` against ``ref`` (stage 13's scorer)."""
    from espnet2_ext.scoring.st import score_files

    result = score_files(hyp, ref)
    return dict(bleu=result.bleu, chrf=result.chrf)


def main(argv: Optional[List[str]] = None) -> None:
    args = get_args(argv)
    setup_logging()
    from espnet2_ext.synth.toy_st import make_toy_st
    from espnet2_ext.upstream.random_weights import write_dummy_hubert

    data = make_toy_st(args.outdir / "data", args.n_train, args.n_valid)
    upstream = args.outdir / "upstream" / "hubert_tiny.pt"
    if not upstream.exists():
        write_dummy_hubert(upstream)
    rows = []
    for name in args.models:
        seconds = train(name, data, upstream, args.outdir, args.epochs)
        hyp = decode(name, data, args.outdir, args.epochs)
        scores = score(hyp, data["valid"] / "text.de")
        rows.append((name, scores["bleu"], scores["chrf"], args.epochs, seconds))
    table = [
        "| model | valid BLEU | valid chrF | epochs | train s |",
        "|---|---|---|---|---|",
    ] + [f"| {n} | {b:.1f} | {c:.1f} | {e} | {s:.0f} |" for n, b, c, e, s in rows]
    (args.outdir / "results.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))
    print(f"(written to {args.outdir / 'results.md'}; random upstream, toy data)")


if __name__ == "__main__":
    main()
