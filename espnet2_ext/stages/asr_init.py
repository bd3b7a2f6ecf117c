"""ESPnet's ``--init_param`` that initialises an ST acoustic encoder from an ASR model.

ESPnet's MuST-C recipes (and the GSGN paper's Table IV) start the ST model's acoustic
encoder from an ASR model trained on the same speech. ESPnet copies parameters by name
with ``--init_param <file>:<src_key>:<dst_key>:<excludes>``; this module writes that
string for an ASR checkpoint and an ST training config, and checks first that the copy
is well defined.

Parameter names (printed from the mini_st models of both tasks: ESPnetASRModel with an
FBank-only ``multiview`` frontend, ESPnetSTModel with the fused one)::

    ASR (asr1/conf/model_mini.yaml)       ST (st1/conf/model_mini.yaml)
    frontend.*      (FBank only)          frontend.*  (FBank + SSL views, fusion)  -
    encoder.embed.{0,1}.*                 encoder.embed.{0,1}.*                copied
    encoder.encoders.{0,1}.*              encoder.encoders.{0,1}.*             copied
    encoder.encoders.2.*                  (no such block: 2 acoustic blocks)   excluded
    encoder.after_norm.*                  encoder.after_norm.*                 copied
                                          hier_encoder.*  (textual encoder)    -
    decoder.*, ctc.*                      decoder.*, ctc.*                     -

Only ``encoder`` is copied: the frontends differ (the ST frontend holds the SSL
upstream, its interface and the fusion; the ASR one only FBank), and the decoders and
CTC layers have other vocabularies. The encoder's input layer ``encoder.embed`` reads
the frontend's output, of width ``dim`` in both configs; ESPnet's ``load_state_dict``
fails on any shape mismatch. ASR blocks beyond the ST encoder's ``num_blocks`` are
excluded (ESPnet would otherwise fail on unexpected keys); ``after_norm`` is copied
although it followed the ASR model's last block. An ASR model with fewer blocks than
the ST encoder is an error: those blocks would silently stay random.

Usage::

    python -m espnet2_ext.stages.asr_init \\
        --asr_model ../asr1/exp/asr_fbank_only_bpe150/valid.acc.ave.pth \\
        --st_config exp/configs/gsgn_drop.yaml
    # prints ../asr1/exp/.../valid.acc.ave.pth:encoder:encoder:encoder.encoders.2.
"""

import argparse
import re
import sys
from pathlib import Path
from typing import List, Optional, Set

import yaml

#: Encoder options that may differ between the ASR and the ST encoder.
MAY_DIFFER = ("num_blocks",)
_BLOCK = re.compile(r"^encoder\.encoders\.(\d+)\.")


def encoder_blocks(keys) -> Set[int]:
    """Indices ``i`` of the ``encoder.encoders.<i>.`` blocks among state-dict keys."""
    return {int(m.group(1)) for m in map(_BLOCK.match, keys) if m}


def _load_yaml(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


def check_encoders(asr_config: dict, st_config: dict, where: str) -> None:
    """The two configs build the same encoder up to its depth, or ValueError."""
    if asr_config.get("encoder") != st_config.get("encoder"):
        raise ValueError(
            f"{where}: the ASR encoder is {asr_config.get('encoder')!r} but the ST "
            f"encoder is {st_config.get('encoder')!r}"
        )
    asr_conf = dict(asr_config.get("encoder_conf") or {})
    st_conf = dict(st_config.get("encoder_conf") or {})
    for key in MAY_DIFFER:
        asr_conf.pop(key, None)
        st_conf.pop(key, None)
    diff = sorted(
        key
        for key in set(asr_conf) | set(st_conf)
        if asr_conf.get(key) != st_conf.get(key)
    )
    if diff:
        raise ValueError(
            f"{where}: the ASR and ST encoder_conf differ in "
            + ", ".join(
                f"{k} ({asr_conf.get(k)!r} vs {st_conf.get(k)!r})" for k in diff
            )
        )


def init_param(
    asr_model: Path, st_config: Path, asr_config: Optional[Path] = None
) -> str:
    """The ``--init_param`` value copying ``asr_model``'s encoder into the ST model.

    Args:
        asr_model: ASR checkpoint (a state dict, e.g. ``valid.acc.ave.pth``).
        st_config: ST training config (its ``encoder_conf.num_blocks`` is read).
        asr_config: The ASR training config; default ``config.yaml`` next to
            ``asr_model`` when it exists. When known, both encoders must agree in
            type and options other than ``num_blocks``.

    Raises:
        FileNotFoundError: ``asr_model`` does not exist.
        ValueError: The checkpoint has no encoder, fewer blocks than the ST encoder,
            or (with the ASR config) another kind of encoder.
    """
    import torch

    asr_model, st_config = Path(asr_model), Path(st_config)
    if not asr_model.is_file():
        raise FileNotFoundError(
            f"ASR model '{asr_model}' does not exist; train it with "
            "egs2/mini_st/asr1/run.sh (or give another one)"
        )
    st = _load_yaml(st_config)
    if asr_config is None and (asr_model.parent / "config.yaml").is_file():
        asr_config = asr_model.parent / "config.yaml"
    if asr_config is not None:
        check_encoders(_load_yaml(Path(asr_config)), st, f"{asr_config} / {st_config}")
    state = torch.load(asr_model, map_location="cpu", weights_only=True)
    keys = list(state.get("module", state))  # ESPnet's DDP-wrapped checkpoints
    if not any(k.startswith("encoder.") for k in keys):
        raise ValueError(f"'{asr_model}' has no encoder.* parameters")
    asr_blocks = sorted(encoder_blocks(keys))
    st_blocks = int((st.get("encoder_conf") or {}).get("num_blocks", 6))
    if len(asr_blocks) < st_blocks:
        raise ValueError(
            f"'{asr_model}' has {len(asr_blocks)} encoder blocks but {st_config} asks "
            f"for {st_blocks}: the blocks it lacks would stay random"
        )
    # The trailing dot keeps "encoder.encoders.1." from also matching block 10.
    excludes: List[str] = [f"encoder.encoders.{i}." for i in asr_blocks[st_blocks:]]
    value = f"{asr_model}:encoder:encoder"
    return value + (":" + ",".join(excludes) if excludes else "")


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--asr_model", type=Path, required=True)
    parser.add_argument("--st_config", type=Path, required=True)
    parser.add_argument("--asr_config", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        print(init_param(args.asr_model, args.st_config, args.asr_config))
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"asr_init: error: {e}")


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
