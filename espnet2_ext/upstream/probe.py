"""Linear CTC phone probes on every hidden layer of a frozen upstream, and on FBank.

Usage::

    python -m espnet2_ext.upstream.probe \\
        --upstream exp/upstream/hubert_mini_trained.pt \\
        --train_dir data/ssl_speech/train --test_dir data/ssl_speech/test \\
        --out_json exp/upstream/probe.json [--max_train_utts 400] [--epochs 30]

For each hidden state of the ``hubert_local`` upstream (s3prl's list: the input of
each transformer layer, then the last output) and for 80-dim Kaldi FBank of the same
utterances, one linear layer is trained with CTC on espeak-ng phonemes
(:mod:`~espnet2_ext.upstream.phonemes`), same utterances, epochs and learning rate,
once on the features as they are and once standardised with their training mean and
variance (:data:`NORMS`). The phone error rate (greedy decoding) is measured on
``--test_dir``, whose utterances are other sentences spoken by held-out voices.
Prints ``features | PER, as is | PER, standardised`` and writes the JSON, also to
``<cache>/probe/`` (:func:`~espnet2_ext.utils.cache_dir.cache_root`): a re-run, or
another clone on the same checkpoint and speech, prints it without probing again.
"""

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch

from espnet2_ext.fileio.stamp import file_digest, make_stamp
from espnet2_ext.upstream import phonemes
from espnet2_ext.upstream.ctc import ctc_loss, error_rate, greedy_decode
from espnet2_ext.upstream.speech_data import Utterance, dir_digest, load_dir, pad
from espnet2_ext.utils.atomic import write_text_atomic
from espnet2_ext.utils.cache_dir import cache_root
from espnet2_ext.utils.log import setup_logging
from espnet2_ext.utils.ssl_checkpoint import validate_converted_checkpoint

logger = logging.getLogger(__name__)

FBANK = "fbank"
AS_IS = "as is"
STANDARDISED = "standardised"
#: Each feature set is probed twice: as the upstream gives it (SUPERB's downstreams
#: take it so) and scaled to zero mean and unit variance per dimension (as FBank is
#: usually given to a model). A linear layer can express both, but its training is
#: not invariant to the scaling.
NORMS = (AS_IS, STANDARDISED)
#: Part of the cache key: results of an older probe method are not reused.
METHOD_VERSION = 2


def fbank(wav: torch.Tensor) -> torch.Tensor:
    """80 log-mel filterbank energies at 100 Hz (Kaldi), (T, 80)."""
    import torchaudio

    return torchaudio.compliance.kaldi.fbank(
        wav[None] * 32768, num_mel_bins=80, sample_frequency=16000, dither=0.0
    )


def upstream_features(
    ckpt: Path, utts: Sequence[Utterance]
) -> Dict[str, List[torch.Tensor]]:
    """``layer<i>`` -> per-utterance hidden states (T_i, D) of the frozen upstream.

    Each utterance runs alone: HuBERT's default feature extractor group-normalises
    its first convolution over the whole time axis, padding included, so in a padded
    batch an utterance's features would depend on the longest one beside it.
    """
    from s3prl.nn import S3PRLUpstream

    validate_converted_checkpoint(ckpt, "hubert_local")
    with torch.random.fork_rng(devices=[]):
        upstream = S3PRLUpstream("hubert_local", path_or_url=str(ckpt)).eval()
    out: Dict[str, List[torch.Tensor]] = {}
    with torch.no_grad():
        for u in utts:
            hs, hs_lens = upstream(u.wav[None], torch.tensor([len(u.wav)]))
            for k, (h, n) in enumerate(zip(hs, hs_lens)):
                out.setdefault(f"layer{k}", []).append(h[0, : n[0]].clone())
    return out


def standardise(train: List[torch.Tensor], test: List[torch.Tensor]):
    """Both sets scaled with the training frames' mean and standard deviation."""
    x = torch.cat(train)
    mean, std = x.mean(0), x.std(0).clamp_min(1e-5)
    return [(t - mean) / std for t in train], [(t - mean) / std for t in test]


def train_probes(
    train: Dict[str, List[torch.Tensor]],
    targets: List[List[int]],
    num_phones: int,
    epochs: int,
    lr: float,
    seed: int,
    batch: int = 16,
) -> Dict[str, torch.nn.Linear]:
    """One linear CTC head per feature set, all on the same batches."""
    torch.manual_seed(seed)
    heads = {k: torch.nn.Linear(v[0].shape[1], num_phones) for k, v in train.items()}
    optims = {k: torch.optim.Adam(h.parameters(), lr=lr) for k, h in heads.items()}
    gen = torch.Generator().manual_seed(seed)
    n = len(targets)
    for epoch in range(epochs):
        order = torch.randperm(n, generator=gen).tolist()
        for i in range(0, n, batch):
            idx = order[i : i + batch]
            for k, head in heads.items():
                feats = [train[k][j] for j in idx]
                lens = torch.tensor([len(f) for f in feats])
                logp = head(pad(feats)).log_softmax(-1)
                loss = ctc_loss(logp, lens, [targets[j] for j in idx])
                optims[k].zero_grad()
                loss.backward()
                optims[k].step()
    return heads


def evaluate(head: torch.nn.Linear, feats: List[torch.Tensor]) -> List[List[int]]:
    with torch.no_grad():
        lens = torch.tensor([len(f) for f in feats])
        return greedy_decode(head(pad(feats)).log_softmax(-1), lens)


def run_probe(
    ckpt: Path,
    train_dir: Path,
    test_dir: Path,
    max_train_utts: Optional[int] = 400,
    epochs: int = 30,
    lr: float = 2e-3,
    seed: int = 0,
) -> Dict:
    """Trains and scores every probe; returns ``{"per": {name: {norm: PER}}, ...}``."""
    t0 = time.time()
    train_utts = load_dir(train_dir)
    if max_train_utts and len(train_utts) > max_train_utts:
        step = len(train_utts) / max_train_utts  # spread over voices and lengths
        train_utts = [train_utts[int(i * step)] for i in range(max_train_utts)]
    test_utts = load_dir(test_dir)
    seqs = phonemes.phonemize_all([u.text for u in train_utts + test_utts])
    train_seqs, test_seqs = seqs[: len(train_utts)], seqs[len(train_utts) :]
    inventory = phonemes.build_inventory(train_seqs)
    targets = [phonemes.encode(s, inventory) for s in train_seqs]
    index = {p: i for i, p in enumerate(inventory)}
    refs = [[index.get(p, -1) for p in s] for s in test_seqs]  # -1: never learnable

    tr = upstream_features(ckpt, train_utts)
    te = upstream_features(ckpt, test_utts)
    tr[FBANK] = [fbank(u.wav) for u in train_utts]
    te[FBANK] = [fbank(u.wav) for u in test_utts]
    train_sets, test_sets = {}, {}
    for k in tr:
        for norm in NORMS:
            name = f"{k}/{norm}"
            if norm == STANDARDISED:
                train_sets[name], test_sets[name] = standardise(tr[k], te[k])
            else:
                train_sets[name], test_sets[name] = tr[k], te[k]
    logger.info(
        f"features of {len(train_utts)} train / {len(test_utts)} test utterances "
        f"({time.time() - t0:.0f} s); training {len(train_sets)} probes"
    )
    heads = train_probes(train_sets, targets, len(inventory), epochs, lr, seed)
    per: Dict[str, Dict[str, float]] = {}
    for name, head in heads.items():
        k, norm = name.split("/")
        per.setdefault(k, {})[norm] = error_rate(refs, evaluate(head, test_sets[name]))
    return dict(
        per=per,
        upstream=str(ckpt),
        train_utts=len(train_utts),
        test_utts=len(test_utts),
        test_speakers=sorted({u.utt.split("-")[0] for u in test_utts}),
        phones=len(inventory) - 1,
        epochs=epochs,
        lr=lr,
        seed=seed,
        seconds=round(time.time() - t0, 1),
    )


def format_table(per: Dict[str, Dict[str, float]]) -> str:
    """``features | PER as is | PER standardised`` markdown table, FBank last."""
    lines = ["| features | " + " | ".join(f"PER, {n}" for n in NORMS) + " |"]
    lines.append("|---|" + "---|" * len(NORMS))
    for k, v in per.items():
        lines.append(
            f"| {k} | " + " | ".join(f"{100 * v[n]:.1f}%" for n in NORMS) + " |"
        )
    return "\n".join(lines)


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--upstream", type=Path, required=True, help="hubert_local ckpt"
    )
    parser.add_argument("--train_dir", type=Path, required=True)
    parser.add_argument("--test_dir", type=Path, required=True)
    parser.add_argument("--out_json", type=Path, required=True)
    parser.add_argument("--max_train_utts", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    return parser.parse_args(argv)


def _inputs_digest(args: argparse.Namespace) -> str:
    """Fingerprint of what the probe result depends on: the checkpoint and the data
    by content (not by path: :func:`dir_digest`), the method and the settings.

    Raises:
        FileNotFoundError: the checkpoint, or a file of the data, is missing.
    """
    upstream = file_digest(args.upstream)
    if upstream == "missing":
        raise FileNotFoundError(f"--upstream {args.upstream}: no such file")
    items = dict(
        upstream=upstream,
        train=dir_digest(args.train_dir),
        test=dir_digest(args.test_dir),
    )
    settings = dict(
        method=METHOD_VERSION,
        max_train_utts=args.max_train_utts,
        epochs=args.epochs,
        lr=args.lr,
        seed=args.seed,
    )
    return make_stamp([], settings, items).fingerprint()


def main(argv=None) -> None:
    args = get_args(argv)
    setup_logging()
    logging.getLogger("s3prl").setLevel(logging.WARNING)  # its config dumps
    if args.threads:
        torch.set_num_threads(args.threads)
    digest = _inputs_digest(args)
    # Also kept outside the recipe, so that another clone probing the same cached
    # upstream on the same speech finds the result.
    cached = cache_root() / "probe" / f"{digest[:16]}.json"
    for path in (args.out_json, cached):
        if path.exists():
            text = path.read_text(encoding="utf-8")
            old = json.loads(text)
            if old.get("inputs_sha256") == digest:
                if path != args.out_json:
                    write_text_atomic(args.out_json, text)
                logger.info(f"{path} has the probe of these inputs - skipping")
                print(old["table"])
                return
    result = run_probe(
        args.upstream,
        args.train_dir,
        args.test_dir,
        args.max_train_utts,
        args.epochs,
        args.lr,
        args.seed,
    )
    table = format_table(result["per"])
    result.update(table=table, inputs_sha256=digest)
    text = json.dumps(result, indent=2) + "\n"
    write_text_atomic(args.out_json, text)
    cached.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(cached, text)
    print(table)
    print(f"({result['seconds']} s; {args.out_json})")


if __name__ == "__main__":
    main()
