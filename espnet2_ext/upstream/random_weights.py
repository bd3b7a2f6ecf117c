"""Random-weight SSL checkpoints in s3prl's converted format, for offline runs.

No pretrained SSL weights can be fetched on an offline machine, yet tests, benchmarks
and the embedded recipes need a *real* multi-layer s3prl upstream: the same model
classes, the same loading path (``hubert_local`` / ``wav2vec2_local``) and the same
frame rate as HuBERT Base. This module builds such a model with random weights and saves
it the way s3prl's converters do (``task_cfg``, ``model_cfg``, ``model_weight`` and, for
HuBERT, ``dictionaries_symbols``).

Usage::

    from espnet2_ext.upstream.random_weights import write_dummy_hubert
    ckpt = write_dummy_hubert("exp/upstream/hubert_tiny.pt", num_layers=2, dim=32)
    # frontend_conf: {upstreams: [{name: hubert_local, path_or_url: <ckpt>}]}

    python -m espnet2_ext.upstream.random_weights --kind hubert --preset base out.pt

The convolutional feature extractor keeps HuBERT's total stride of 320 samples (50 Hz)
whatever the width, so frame counts match the real models.
"""

import argparse
import dataclasses
import logging
from pathlib import Path
from typing import Dict, List, Optional, Union

import torch

from espnet2_ext.utils.atomic import atomic_path

# Same kernel/stride sequence as HuBERT/wav2vec2 Base: total stride 5*2*2*2*2*2*2 = 320.
_CONV_LAYERS = "[({c}, 10, 5)] + [({c}, 3, 2)] * 4 + [({c}, 2, 2)] * 2"

#: Named sizes: the real Base/Large shapes (random weights), a tiny one for tests and
#: a mini one that the embedded recipes can afford to run on every batch on a CPU.
PRESETS: Dict[str, Dict[str, int]] = {
    "tiny": dict(num_layers=2, dim=32, ffn_dim=64, heads=2, conv_dim=32),
    "mini": dict(num_layers=4, dim=128, ffn_dim=256, heads=4, conv_dim=64),
    "small": dict(num_layers=4, dim=128, ffn_dim=256, heads=4, conv_dim=128),
    "base": dict(num_layers=12, dim=768, ffn_dim=3072, heads=12, conv_dim=512),
    "large": dict(num_layers=24, dim=1024, ffn_dim=4096, heads=16, conv_dim=512),
}


def _require_s3prl():
    try:
        import s3prl  # noqa: F401
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "espnet2_ext needs s3prl for SSL upstreams: pip install espnet-s3prl"
        ) from e


def _encoder_kwargs(
    num_layers: int, dim: int, ffn_dim: int, heads: int, conv_dim: int
) -> dict:
    return dict(
        encoder_layers=num_layers,
        encoder_embed_dim=dim,
        encoder_ffn_embed_dim=ffn_dim,
        encoder_attention_heads=heads,
        conv_feature_layers=_CONV_LAYERS.format(c=conv_dim),
        conv_pos=min(128, max(4, dim // 4)),
        conv_pos_groups=min(16, heads * 2),
    )


def _resolve_size(
    preset: Optional[str], num_layers: Optional[int], dim: Optional[int]
) -> dict:
    size = dict(PRESETS[preset or "tiny"])
    if num_layers is not None:
        size["num_layers"] = num_layers
    if dim is not None:
        size["dim"] = dim
        if preset is None:
            size.update(ffn_dim=2 * dim, conv_dim=dim)
    if size["dim"] % size["heads"]:
        raise ValueError(
            f"dim={size['dim']} must be divisible by the number of attention heads "
            f"({size['heads']})"
        )
    return size


def hubert_configs(
    preset: Optional[str] = None,
    num_layers: Optional[int] = None,
    dim: Optional[int] = None,
):
    """s3prl's ``HubertConfig`` and ``HubertPretrainingConfig`` of a named size.

    Labels are at the model's frame rate (50 Hz); every other field (masking,
    dropout, ``logit_temp``) keeps s3prl/fairseq's HuBERT default.

    Args:
        preset: One of :data:`PRESETS` (default ``tiny``).
        num_layers: Overrides the preset's transformer layers.
        dim: Overrides the preset's width.

    Returns:
        ``(model_cfg, task_cfg)``.
    """
    _require_s3prl()
    from s3prl.upstream.hubert.hubert_model import HubertConfig, HubertPretrainingConfig

    size = _resolve_size(preset, num_layers, dim)
    model_cfg = HubertConfig(
        label_rate=50.0, final_dim=max(8, size["dim"] // 4), **_encoder_kwargs(**size)
    )
    task_cfg = HubertPretrainingConfig(
        label_rate=50.0, sample_rate=16000, normalize=False
    )
    return model_cfg, task_cfg


def build_hubert(model_cfg, task_cfg, symbols: List[List[str]], seed: int):
    """s3prl's ``HubertModel`` with weights drawn from ``seed`` (global RNG kept).

    Args:
        model_cfg: ``HubertConfig``.
        task_cfg: ``HubertPretrainingConfig``.
        symbols: One list of label symbols per target set (sizes the label
            embeddings).
        seed: Seed of the initial weights.
    """
    from s3prl.upstream.hubert.hubert_model import HubertModel

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return HubertModel(model_cfg, task_cfg, symbols)


def hubert_state(model, model_cfg, task_cfg, symbols: List[List[str]]) -> dict:
    """The dict s3prl's HuBERT converter writes (what ``hubert_local`` loads)."""
    return dict(
        task_cfg=dataclasses.asdict(task_cfg),
        model_cfg=dataclasses.asdict(model_cfg),
        model_weight={k: v.detach().clone() for k, v in model.state_dict().items()},
        dictionaries_symbols=[list(s) for s in symbols],
    )


def write_dummy_hubert(
    path: Union[str, Path],
    num_layers: Optional[int] = None,
    dim: Optional[int] = None,
    preset: Optional[str] = None,
    seed: int = 0,
) -> Path:
    """Writes a random-weight HuBERT checkpoint loadable as ``hubert_local``.

    Args:
        path: Output file.
        num_layers: Transformer layers (s3prl then returns ``num_layers + 1`` states).
        dim: Hidden width.
        preset: One of :data:`PRESETS` (default ``tiny``); ``num_layers``/``dim``
            override it.
        seed: Seed of the random weights; the global RNG state is restored afterwards.

    Returns:
        The path written.
    """
    model_cfg, task_cfg = hubert_configs(preset, num_layers, dim)
    symbols = [[str(i) for i in range(4)]]
    model = build_hubert(model_cfg, task_cfg, symbols, seed)
    return save_checkpoint(hubert_state(model, model_cfg, task_cfg, symbols), path)


def write_dummy_wav2vec2(
    path: Union[str, Path],
    num_layers: Optional[int] = None,
    dim: Optional[int] = None,
    preset: Optional[str] = None,
    seed: int = 0,
) -> Path:
    """Writes a random-weight wav2vec 2.0 checkpoint loadable as ``wav2vec2_local``.

    Arguments are those of :func:`write_dummy_hubert`.
    """
    _require_s3prl()
    from s3prl.upstream.wav2vec2.wav2vec2_model import (
        AudioPretrainingConfig,
        Wav2Vec2Config,
        Wav2Vec2Model,
    )

    size = _resolve_size(preset, num_layers, dim)
    model_cfg = Wav2Vec2Config(
        final_dim=max(8, size["dim"] // 4),
        latent_vars=8,
        latent_groups=2,
        **_encoder_kwargs(**size),
    )
    task_cfg = AudioPretrainingConfig(sample_rate=16000, normalize=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Wav2Vec2Model(model_cfg)
    state = dict(
        task_cfg=dataclasses.asdict(task_cfg),
        model_cfg=dataclasses.asdict(model_cfg),
        model_weight=model.state_dict(),
    )
    return save_checkpoint(state, path)


def save_checkpoint(state: dict, path: Union[str, Path]) -> Path:
    """Saves ``state`` with ``torch.save`` atomically (never a half-written file)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return path


WRITERS = {"hubert": write_dummy_hubert, "wav2vec2": write_dummy_wav2vec2}
#: s3prl upstream names that load the files written above.
LOCAL_NAMES = {"hubert": "hubert_local", "wav2vec2": "wav2vec2_local"}


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path, help="checkpoint file to write")
    parser.add_argument("--kind", choices=sorted(WRITERS), default="hubert")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    parser.add_argument("--num_layers", type=int, default=None)
    parser.add_argument("--dim", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    if args.output.exists():
        logging.info(f"{args.output} already exists - skipping")
        return
    WRITERS[args.kind](
        args.output,
        num_layers=args.num_layers,
        dim=args.dim,
        preset=args.preset,
        seed=args.seed,
    )
    print(f"wrote {args.output} (load as {LOCAL_NAMES[args.kind]})")


if __name__ == "__main__":
    main()
