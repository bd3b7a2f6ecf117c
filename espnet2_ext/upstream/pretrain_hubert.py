"""Trains a small HuBERT on this machine: masked prediction on MFCC k-means targets,
then (optionally) CTC fine-tuning on espeak-ng phonemes.

Usage::

    python -m espnet2_ext.upstream.pretrain_hubert --data_dir data/ssl_speech/train \\
        --out exp/upstream/hubert_mini_trained.pt [--preset mini] \\
        [--pretrain_epochs 2] [--finetune_epochs 8] [--num_clusters 100] [--seed 0]

    # frontend_conf: {upstreams: [{name: hubert_local,
    #                              path_or_url: exp/upstream/hubert_mini_trained.pt}]}

The model is s3prl's ``HubertModel`` built by
:func:`espnet2_ext.upstream.random_weights.hubert_configs` (the ``mini`` preset: 4
layers, width 128); the saved file is s3prl's converted format (``task_cfg``,
``model_cfg``, ``model_weight``, ``dictionaries_symbols`` = the cluster ids), so
``hubert_local`` loads it like a downloaded checkpoint. With fine-tuning the saved
transformer is the fine-tuned one (the CTC head is kept apart, ``ctc_head.pt``).

Steps: (1) MFCC+deltas of every utterance, ``MiniBatchKMeans``, 50 Hz labels
(:mod:`~espnet2_ext.upstream.mfcc_targets`); (2) ``--pretrain_epochs`` of masked
prediction (:mod:`~espnet2_ext.upstream.hubert_steps`); (3) ``--finetune_epochs`` of
CTC on the phonemes of ``<data_dir>/text`` (:mod:`~espnet2_ext.upstream.phonemes`),
the CNN included unless ``--finetune_cnn false``.

Cache and resume. Everything goes to ``<cache>/upstream/<key>/`` where ``<cache>`` is
``${ESPNET2_EXT_CACHE:-${XDG_CACHE_HOME:-~/.cache}/espnet2_ext}`` and ``<key>`` hashes
the arguments, ``text`` and the contents (not the paths) of the wavs of ``wav.scp``.
After each epoch the training state is written atomically to ``work/state.pt``; an
interrupted run resumes from the last finished epoch and ends with the same weights as
an uninterrupted one. The final ``hubert.pt`` is copied to ``--out``; a re-run, or
another clone of the recipe on the same speech, finds it and only copies.
"""

import argparse
import dataclasses
import json
import logging
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
from espnet2.utils.types import str2bool
from tqdm import tqdm

from espnet2_ext.fileio.stamp import make_stamp
from espnet2_ext.upstream import mfcc_targets, phonemes
from espnet2_ext.upstream.ctc import error_rate, greedy_decode
from espnet2_ext.upstream.hubert_steps import (
    crop_batch,
    ctc_finetune_loss,
    encoder_output,
    masked_prediction_loss,
)
from espnet2_ext.upstream.random_weights import (
    PRESETS,
    build_hubert,
    hubert_configs,
    hubert_state,
    save_checkpoint,
)
from espnet2_ext.upstream.speech_data import dir_digest, length_batches, load_dir
from espnet2_ext.utils.atomic import atomic_path
from espnet2_ext.utils.cache_dir import cache_root
from espnet2_ext.utils.log import setup_logging
from espnet2_ext.utils.ssl_checkpoint import validate_converted_checkpoint

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = "hubert.pt"


@dataclass
class HubertTrainConfig:
    """Everything the trained weights depend on (besides the data).

    Attributes:
        preset: Model size, a key of ``random_weights.PRESETS``.
        num_clusters: k-means clusters of the MFCC targets.
        kmeans_frames: MFCC frames drawn to fit k-means.
        pretrain_epochs: Epochs of masked prediction.
        pretrain_lr: Peak Adam learning rate of pre-training.
        finetune_epochs: Epochs of CTC fine-tuning (0: none).
        finetune_lr: Peak learning rate of the HuBERT model while fine-tuning.
        finetune_head_lr: Peak learning rate of the CTC head. Higher than the
            model's: at one shared rate the small model collapses to the same
            (all-blank) output for every frame, and its CTC loss stays flat.
        finetune_freeze_epochs: First fine-tuning epochs in which only the head
            learns, the model frozen (fairseq's ``freeze_finetune_updates``).
        finetune_mask_prob: ``mask_prob`` while fine-tuning (pre-training uses the
            config's, HuBERT's 0.65).
        finetune_cnn: Also train the convolutional feature extractor while
            fine-tuning. fairseq freezes it, as its CNN is well pre-trained; after
            a few epochs of pre-training here it is not.
        batch_seconds: Audio per pre-training batch (longest utterance x batch
            size), seconds.
        finetune_batch_seconds: Audio per fine-tuning batch; smaller, as CTC needs
            many updates to leave its all-blank start.
        finetune_hold: Fraction of the fine-tuning steps held at the peak rate
            after the warm-up, before the decay (fairseq fine-tunes with such a
            tri-stage schedule; pre-training holds for none).
        warmup: Fraction of each stage's steps with a linearly rising rate (then
            the hold, then linear decay to 0).
        seed: Seed of the weights, k-means, batches, crops, masks and dropout.
    """

    preset: str = "mini"
    num_clusters: int = 100
    kmeans_frames: int = 50000
    pretrain_epochs: int = 2
    pretrain_lr: float = 1e-3
    finetune_epochs: int = 8
    finetune_lr: float = 2e-4
    finetune_head_lr: float = 2e-3
    finetune_freeze_epochs: int = 1
    finetune_mask_prob: float = 0.0
    finetune_cnn: bool = True
    batch_seconds: float = 30.0
    finetune_batch_seconds: float = 8.0
    finetune_hold: float = 0.9
    warmup: float = 0.1
    seed: int = 0

    def validate(self) -> None:
        if self.preset not in PRESETS:
            raise ValueError(f"preset {self.preset!r} is not one of {sorted(PRESETS)}")
        if (
            self.num_clusters < 2
            or self.pretrain_epochs < 0
            or self.finetune_epochs < 0
        ):
            raise ValueError(f"bad sizes in {self}")


def cache_key(config: HubertTrainConfig, data_dir: Path) -> str:
    """Fingerprint of the config and of the training data (:func:`dir_digest`: the
    audio by content, so another clone's copy of the same speech finds the same
    model), 16 hex digits."""
    stamp = make_stamp([], dataclasses.asdict(config), {"data": dir_digest(data_dir)})
    return stamp.fingerprint()[:16]


def _lr(step: int, total: int, peak: float, warmup: float, hold: float = 0.0) -> float:
    """Linear warm-up over ``warmup * total`` steps, ``hold * total`` at ``peak``,
    then linear decay to 0 at ``total``."""
    warm = max(1, int(total * warmup))
    if step < warm:
        return peak * (step + 1) / warm
    flat = warm + int(total * hold)
    if step < flat:
        return peak
    return peak * max(0.0, (total - step) / max(1, total - flat))


def _seed_epoch(seed: int, stage: str, epoch: int) -> torch.Generator:
    """Seeds dropout (torch) and masking (numpy) for one epoch; returns its crop RNG."""
    s = seed * 1000 + (0 if stage == "pretrain" else 500) + epoch
    torch.manual_seed(s)
    np.random.seed(s)  # s3prl's compute_mask_indices draws from numpy's global RNG
    return torch.Generator().manual_seed(s)


class _Trainer:
    """Runs the stages epoch by epoch and keeps ``work/state.pt`` current.

    The state (stage, finished epochs, model, head, optimiser, log) is written
    atomically after every epoch; a stage given that state continues after it.
    """

    def __init__(self, config: HubertTrainConfig, work: Path, lengths: List[int]):
        self.config = config
        self.lengths = lengths
        self.state_path = work / "state.pt"
        self.state: Optional[Dict] = None
        if self.state_path.exists():
            self.state = torch.load(self.state_path, weights_only=False)

    @property
    def log(self) -> List[Dict]:
        return [] if self.state is None else self.state["log"]

    def run_stage(
        self,
        stage: str,
        model: torch.nn.Module,
        head: Optional[torch.nn.Module],
        step_fn: Callable,
        epochs: int,
        lr: float,
        batch_seconds: float,
        evaluate: Optional[Callable[[], Tuple[str, float]]] = None,
        head_lr: Optional[float] = None,
        hold: float = 0.0,
    ) -> None:
        """Trains ``epochs`` epochs of ``step_fn(batch indices, generator, epoch)``,
        which returns ``(loss, accuracy, count)``; skips the epochs the state has
        done. ``lr`` and ``head_lr`` (default ``lr``) are the peaks of the model's
        and the head's schedules, ``hold`` the fraction of steps held at them."""
        batches = length_batches(
            self.lengths, int(batch_seconds * 16000), self.config.seed
        )
        modules = [model] + ([] if head is None else [head])
        groups = [dict(params=_trainable(model), peak_lr=lr)]
        if head is not None:
            groups.append(dict(params=_trainable(head), peak_lr=head_lr or lr))
        params = [p for g in groups for p in g["params"]]
        optim = torch.optim.Adam(groups, lr=lr, betas=(0.9, 0.98), eps=1e-6)
        start_epoch = 0
        if self.state is not None and self.state["stage"] == stage:
            optim.load_state_dict(self.state["optim"])
            start_epoch = self.state["epoch"]
        total = epochs * len(batches)
        t0 = time.time()
        for epoch in range(start_epoch, epochs):
            gen = _seed_epoch(self.config.seed, stage, epoch)
            order = torch.randperm(len(batches), generator=gen).tolist()
            for m in modules:
                m.train()
            sums = np.zeros(3)
            bar = tqdm(order, desc=f"{stage} {epoch + 1}", leave=False, mininterval=5)
            for i, b in enumerate(bar):
                step = epoch * len(order) + i
                for g in optim.param_groups:
                    g["lr"] = _lr(step, total, g["peak_lr"], self.config.warmup, hold)
                loss, acc, n = step_fn(batches[b], gen, epoch)
                optim.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 10.0)
                optim.step()
                sums += (loss.item() * n, acc * n, n)
            entry = dict(stage=stage, epoch=epoch + 1, loss=sums[0] / max(1, sums[2]))
            if stage == "pretrain":
                entry["masked_acc"] = sums[1] / max(1, sums[2])
            if evaluate is not None:
                name, value = evaluate()
                entry[name] = value
            elapsed = time.time() - t0
            left = elapsed / (epoch + 1 - start_epoch) * (epochs - epoch - 1)
            logger.info(
                f"{stage} epoch {epoch + 1}/{epochs}: "
                + ", ".join(
                    f"{k} {v:.3f}"
                    for k, v in entry.items()
                    if k not in ("stage", "epoch")
                )
                + f", {elapsed:.0f} s elapsed, ~{left:.0f} s left"
            )
            self.state = dict(
                stage=stage,
                epoch=epoch + 1,
                model=model.state_dict(),
                head=None if head is None else head.state_dict(),
                optim=optim.state_dict(),
                log=self.log + [entry],
            )
            with atomic_path(self.state_path) as tmp:
                torch.save(self.state, tmp)


def _trainable(module: torch.nn.Module) -> List[torch.nn.Parameter]:
    return [p for p in module.parameters() if p.requires_grad]


def train_hubert(
    data_dir,
    out,
    config: Optional[HubertTrainConfig] = None,
    root: Optional[Path] = None,
) -> Path:
    """Trains (or finds in the cache) the upstream and copies it to ``out``.

    Args:
        data_dir: Kaldi folder with ``wav.scp`` and ``text`` (16 kHz mono).
        out: Where the checkpoint is copied.
        config: Training settings (default :class:`HubertTrainConfig`).
        root: Cache root (default :func:`cache_root`).

    Returns:
        Path of the cached checkpoint.
    """
    config = config or HubertTrainConfig()
    config.validate()
    data_dir = Path(data_dir)
    key = cache_key(config, data_dir)
    cache = Path(root or cache_root()) / "upstream" / key
    final = cache / CHECKPOINT_NAME
    if final.exists():
        validate_converted_checkpoint(final, "hubert_local")
        logger.info(f"{final} is cached for these arguments and data - skipping")
    else:
        py_state, np_state = random.getstate(), np.random.get_state()
        with torch.random.fork_rng(devices=[]):
            _train(data_dir, cache, config)
        random.setstate(py_state)
        np.random.set_state(np_state)
    _copy(final, Path(out))
    return final


def _copy(src: Path, dst: Path) -> None:
    if dst.exists() and dst.read_bytes() == src.read_bytes():
        return
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)
    logger.info(f"copied {src} -> {dst}")


def write_json(path: Path, obj) -> None:
    """Writes ``obj`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def _train(data_dir: Path, cache: Path, config: HubertTrainConfig) -> None:
    t0 = time.time()
    work = cache / "work"
    work.mkdir(parents=True, exist_ok=True)
    args = dict(config=dataclasses.asdict(config), data_dir=str(data_dir.resolve()))
    write_json(cache / "train_args.json", args)
    utts = load_dir(data_dir)
    wavs = [u.wav for u in utts]
    hours = sum(len(w) for w in wavs) / 16000 / 3600
    logger.info(f"{len(utts)} utterances, {hours:.2f} h from {data_dir}")
    labels = _targets(wavs, config, work)
    logger.info(f"{config.num_clusters} MFCC clusters ready ({time.time() - t0:.0f} s)")

    # 1. pre-training: masked prediction of the cluster labels
    trainer = _Trainer(config, work, [len(w) for w in wavs])
    model_cfg, task_cfg = hubert_configs(config.preset)
    symbols = [[str(i) for i in range(config.num_clusters)]]
    model = build_hubert(model_cfg, task_cfg, symbols, config.seed)
    model.skip_nomask = True  # HuBERT's pred_nomask_weight 0: unmasked frames unscored
    if trainer.state is not None:
        s = trainer.state
        logger.info(
            f"resuming: {s['stage']} epoch {s['epoch']} done ({trainer.state_path})"
        )
        model.load_state_dict(s["model"])

    def pretrain_step(batch, gen, epoch):
        x, y = crop_batch([wavs[i] for i in batch], [labels[i] for i in batch], gen)
        return masked_prediction_loss(model, x, y)

    if trainer.state is None or trainer.state["stage"] == "pretrain":
        trainer.run_stage(
            "pretrain",
            model,
            None,
            pretrain_step,
            config.pretrain_epochs,
            config.pretrain_lr,
            config.batch_seconds,
        )

    # 2. fine-tuning: CTC on phonemes (the CNN frozen unless finetune_cnn; the
    # whole model for the first finetune_freeze_epochs)
    if config.finetune_epochs:
        inventory, targets = _phones([u.text for u in utts], work)
        head = torch.nn.Linear(model_cfg.encoder_embed_dim, len(inventory))
        torch.manual_seed(config.seed)
        head.reset_parameters()
        if trainer.state is not None and trainer.state["stage"] == "finetune":
            head.load_state_dict(trainer.state["head"])
        for p in model.feature_extractor.parameters():
            p.requires_grad_(config.finetune_cnn)
        pretrain_mask_prob, model.mask_prob = model.mask_prob, config.finetune_mask_prob

        def finetune_step(batch, gen, epoch):
            loss = ctc_finetune_loss(
                model,
                head,
                [wavs[i] for i in batch],
                [targets[i] for i in batch],
                update_model=epoch >= config.finetune_freeze_epochs,
            )
            return loss, 0.0, len(batch)

        sample = list(range(0, len(utts), max(1, len(utts) // 64)))[:64]

        def evaluate():
            hyps = _decode(model, head, [wavs[i] for i in sample])
            return "train_per", error_rate([targets[i] for i in sample], hyps)

        trainer.run_stage(
            "finetune",
            model,
            head,
            finetune_step,
            config.finetune_epochs,
            config.finetune_lr,
            config.finetune_batch_seconds,
            evaluate,
            head_lr=config.finetune_head_lr,
            hold=config.finetune_hold,
        )
        model.mask_prob = pretrain_mask_prob
        for p in model.feature_extractor.parameters():
            p.requires_grad_(True)
        with atomic_path(cache / "ctc_head.pt") as tmp:
            torch.save(dict(head=head.state_dict(), inventory=inventory), tmp)
        write_json(cache / "phones.json", inventory)

    write_json(cache / "train_log.json", trainer.log)
    state = hubert_state(model, model_cfg, task_cfg, symbols)
    save_checkpoint(state, cache / CHECKPOINT_NAME)
    logger.info(f"wrote {cache / CHECKPOINT_NAME} ({time.time() - t0:.0f} s)")


def _decode(model, head, wavs) -> List[List[int]]:
    """Greedy CTC phones of each utterance, run alone (as the probe and
    ``hubert_local`` see it: the extractor's GroupNorm would count padding)."""
    model.eval()
    hyps = []
    with torch.no_grad():
        for wav in wavs:
            hs, frames = encoder_output(model, [wav], mask=False)
            hyps += greedy_decode(head(hs).log_softmax(-1), frames)
    model.train()
    return hyps


def _targets(wavs, config: HubertTrainConfig, work: Path) -> List[torch.Tensor]:
    """50 Hz k-means labels per utterance (cached in ``work/targets.pt``)."""
    path = work / "targets.pt"
    if path.exists():
        return torch.load(path)["labels"]
    feats = [mfcc_targets.mfcc_features(w) for w in wavs]
    km = mfcc_targets.fit_kmeans(
        feats, config.num_clusters, config.seed, config.kmeans_frames
    )
    labels = mfcc_targets.frame_labels(km, feats, [len(w) for w in wavs])
    centroids = torch.from_numpy(km.cluster_centers_)
    with atomic_path(path) as tmp:
        torch.save(dict(labels=labels, centroids=centroids), tmp)
    return labels


def _phones(texts: List[str], work: Path):
    """Phone inventory of the texts and their encoded phonemes (cached)."""
    path = work / "phones.json"
    if path.exists():
        seqs = json.loads(path.read_text())
    else:
        seqs = phonemes.phonemize_all(texts)
        write_json(path, seqs)
    inventory = phonemes.build_inventory(seqs)
    return inventory, [phonemes.encode(s, inventory) for s in seqs]


def get_args(argv=None) -> argparse.Namespace:
    d = HubertTrainConfig()
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--data_dir", type=Path, required=True, help="wav.scp + text")
    parser.add_argument("--out", type=Path, required=True, help="checkpoint copy")
    for f in dataclasses.fields(HubertTrainConfig):
        default = getattr(d, f.name)
        kind = str2bool if isinstance(default, bool) else type(default)
        parser.add_argument(f"--{f.name}", type=kind, default=default)
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    setup_logging()
    logging.getLogger("s3prl").setLevel(logging.WARNING)  # its config dumps
    if args.threads:
        torch.set_num_threads(args.threads)
    config = HubertTrainConfig(
        **{f.name: getattr(args, f.name) for f in dataclasses.fields(HubertTrainConfig)}
    )
    final = train_hubert(args.data_dir, args.out, config)
    print(f"{args.out} (cached as {final}; load as hubert_local)")


if __name__ == "__main__":
    main()
