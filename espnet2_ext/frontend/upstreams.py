"""Loading s3prl upstreams and running them as one stack of hidden states.

Upstreams are described in configs as plain dicts, e.g.::

    upstreams:
      - name: hubert_large_ll60k                # registered name (downloads)
      - name: hubert_local                      # a local converted checkpoint
        path_or_url: exp/upstream/hubert.pt

Everything else (number of layers, widths, frame strides) is read off the loaded model,
never configured.
"""

import random
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

import numpy as np
import torch

from espnet2_ext.utils.deps import require
from espnet2_ext.utils.ssl_checkpoint import validate_converted_checkpoint

#: Keys an upstream dict may hold (passed to ``s3prl.nn.S3PRLUpstream``).
UPSTREAM_KEYS = ("name", "path_or_url", "normalize", "extra_conf")


@dataclass(frozen=True)
class UpstreamInfo:
    """Shape facts of a loaded upstream."""

    num_layers: int  # hidden states returned (transformer layers + 1 for HuBERT-like)
    dim: int  # width of every hidden state
    stride: int  # samples per frame (320 for HuBERT/wav2vec2/WavLM)


@contextmanager
def preserved_rng() -> Iterator[None]:
    """Restores torch, numpy and Python RNG states (s3prl reseeds them to 0)."""
    py_state, np_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        yield
    random.setstate(py_state)
    np.random.set_state(np_state)


def check_upstream_spec(spec: dict) -> dict:
    """Validates one upstream dict from a config; returns it with defaults filled in."""
    unknown = sorted(set(spec) - set(UPSTREAM_KEYS))
    if "name" not in spec or unknown:
        raise ValueError(
            f"an upstream is a dict with 'name' and optionally {UPSTREAM_KEYS[1:]}; "
            f"got {spec!r}" + (f" (unknown keys: {unknown})" if unknown else "")
        )
    return {"path_or_url": None, "normalize": False, "extra_conf": None, **spec}


def load_upstream(spec: dict) -> torch.nn.Module:
    """Builds ``s3prl.nn.S3PRLUpstream`` from a config dict; keeps the caller's RNG.

    Raises:
        ValueError: bad spec or unknown name.
        espnet2_ext.utils.ssl_checkpoint.CheckpointError: a ``*_local`` checkpoint
            that is unreadable or lacks a key its loader needs (names the file).
    """
    spec = check_upstream_spec(spec)
    s3prl_nn = require(
        "s3prl.nn", "pip install espnet-s3prl", "the SSL view of the multiview frontend"
    )
    available = s3prl_nn.S3PRLUpstream.available_names()
    if spec["name"] not in available:
        raise ValueError(
            f"unknown s3prl upstream '{spec['name']}'; local checkpoints load with "
            "'hubert_local' / 'wav2vec2_local' / 'wavlm_local' and path_or_url"
        )
    if spec["path_or_url"] is not None and spec["name"].endswith("_local"):
        # one clear error naming the file instead of s3prl's zip/KeyError
        validate_converted_checkpoint(spec["path_or_url"], spec["name"])
    with preserved_rng():
        return s3prl_nn.S3PRLUpstream(
            spec["name"],
            path_or_url=spec["path_or_url"],
            normalize=spec["normalize"],
            extra_conf=spec["extra_conf"],
        )


def upstream_info(upstream: torch.nn.Module) -> UpstreamInfo:
    """Reads layer count, width and stride off a loaded ``S3PRLUpstream``."""
    dims, strides = set(upstream.hidden_sizes), set(upstream.downsample_rates)
    if len(dims) != 1 or len(strides) != 1:
        raise ValueError(
            "upstreams whose layers differ in width or stride are not supported: "
            f"widths {sorted(dims)}, strides {sorted(strides)}"
        )
    return UpstreamInfo(upstream.num_layers, dims.pop(), strides.pop())


def run_upstream(
    upstream: torch.nn.Module,
    speech: torch.Tensor,
    lengths: torch.Tensor,
    frozen: bool,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Runs one upstream and stacks its hidden states.

    Args:
        upstream: A loaded ``S3PRLUpstream``.
        speech: Waveforms (B, S).
        lengths: Valid samples per utterance (B,).
        frozen: Run without building an autograd graph.

    Returns:
        Hidden states (L, B, T, D) and valid frames per utterance (B,).
    """
    with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen):
        hs, hs_lens = upstream(speech, lengths)
    return torch.stack(hs, dim=0), hs_lens[0]


def reload_upstream(upstream: torch.nn.Module, spec: dict) -> None:
    """Restores an upstream's pretrained weights from where they were loaded."""
    fresh = load_upstream(spec)
    upstream.load_state_dict(fresh.state_dict())


def specs_from_config(upstreams: Optional[List[dict]]) -> List[dict]:
    """Validated upstream specs; raises if the SSL view needs one and none is given."""
    if not upstreams:
        raise ValueError(
            "this frontend configuration uses the SSL view, so it needs "
            "'upstreams: [{name: ..., path_or_url: ...}]'"
        )
    return [check_upstream_spec(dict(s)) for s in upstreams]
