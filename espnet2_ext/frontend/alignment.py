"""Frame counts and frame-rate alignment of the FBank and SSL views.

Frame-count formulas (per utterance, from the number of samples ``n``):

- FBank (ESPnet ``Stft`` with ``center=True``): ``n // hop + 1`` (hop 160 = 100 Hz).
- s3prl upstreams: ``(n - 1) // stride + 1`` (stride 320 = 50 Hz).

Two common rates (``factor = stride // hop``, 2 by default):

- ``rate: ssl``: ``factor`` consecutive FBank frames are stacked into one
  (width ``D_f * factor``), ``ceil(n_f / factor)`` frames.
- ``rate: fbank``: every SSL frame is repeated ``factor`` times, ``n_s * factor``
  frames.

Both views are then cut to the per-utterance minimum. Every function here takes and
returns per-utterance lengths, zeroes frames at or beyond each length and never lets
padding frames reach valid ones.
"""

from typing import Tuple, Union

import torch

from espnet2_ext.utils.espnet_compat import make_pad_mask

IntOrTensor = Union[int, torch.Tensor]
RATES = ("ssl", "fbank")


def _ceil_div(n: IntOrTensor, d: int) -> IntOrTensor:
    """``ceil(n / d)`` for non-negative ints or LongTensors."""
    return -((-n) // d)


def _check_factor(factor: int) -> None:
    if not isinstance(factor, int) or factor < 1:
        raise ValueError(f"factor must be a positive int; got {factor!r}")


def mask_frames(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Zeroes the frames at or beyond each utterance's length.

    The mask is ESPnet's ``make_pad_mask`` (True at *padded* frames). For (B, T) and
    (B, T, D) inputs it indexes a (T+1) x (T+1) table: fine for frame sequences, too
    big for waveforms (see :func:`mask_samples`).

    Args:
        x: Frames (B, T, ...).
        lengths: Valid frames per utterance (B,).

    Returns:
        x with ``x[b, t] = 0`` for ``t >= lengths[b]`` (same shape).
    """
    return x.masked_fill(make_pad_mask(lengths, x, length_dim=1), 0.0)


def mask_samples(wav: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Zeroes the samples at or beyond each waveform's length.

    Args:
        wav: Waveforms (B, S).
        lengths: Valid samples per utterance (B,).

    Returns:
        wav with ``wav[b, s] = 0`` for ``s >= lengths[b]`` (same shape).
    """
    # NOTE: not make_pad_mask: for a 2-D input it builds an (S+1) x (S+1) bool table,
    # 256 MB for one second of 16 kHz audio. This mask costs B x S.
    samples = torch.arange(wav.size(1), device=wav.device)
    return wav.masked_fill(samples[None, :] >= lengths.to(wav.device)[:, None], 0.0)


def fbank_num_frames(num_samples: IntOrTensor, hop_length: int = 160) -> IntOrTensor:
    """FBank frames of ESPnet's ``Stft`` (center=True): ``n // hop + 1``.

    Args:
        num_samples: Samples per utterance (int or LongTensor (B,)).
        hop_length: Hop in samples.

    Returns:
        Frames per utterance (same type as ``num_samples``).
    """
    return num_samples // hop_length + 1


def ssl_num_frames(num_samples: IntOrTensor, stride: int = 320) -> IntOrTensor:
    """Frames of an s3prl upstream: ``(n - 1) // stride + 1``.

    Args:
        num_samples: Samples per utterance (int or LongTensor (B,)).
        stride: Downsample rate of the upstream in samples.

    Returns:
        Frames per utterance (same type as ``num_samples``).
    """
    return (num_samples - 1) // stride + 1


def aligned_num_frames(
    num_samples: IntOrTensor, rate: str, hop_length: int = 160, stride: int = 320
) -> IntOrTensor:
    """Frames per utterance after :func:`align_views`, straight from sample counts.

    ``rate: ssl`` gives ``min(ceil(n_f / factor), n_s)``; ``rate: fbank`` gives
    ``min(n_f, n_s * factor)``, with ``n_f``/``n_s`` from :func:`fbank_num_frames` /
    :func:`ssl_num_frames` and ``factor = stride // hop_length``.

    Args:
        num_samples: Samples per utterance (int or LongTensor (B,)).
        rate: ``ssl`` or ``fbank``.
        hop_length: FBank hop in samples.
        stride: SSL stride in samples (a multiple of ``hop_length``).

    Returns:
        Frames per utterance (same type as ``num_samples``).
    """
    if rate not in RATES:
        raise ValueError(f"rate must be one of {RATES}; got '{rate}'")
    if stride % hop_length:
        raise ValueError(
            f"the SSL stride ({stride}) must be a multiple of the FBank hop "
            f"({hop_length})"
        )
    factor = stride // hop_length
    n_f = fbank_num_frames(num_samples, hop_length)
    n_s = ssl_num_frames(num_samples, stride)
    if rate == "ssl":
        n_f = _ceil_div(n_f, factor)
    else:
        n_s = n_s * factor
    if isinstance(n_f, torch.Tensor) or isinstance(n_s, torch.Tensor):
        return torch.minimum(torch.as_tensor(n_f), torch.as_tensor(n_s))
    return min(n_f, n_s)


def stack_frames(
    x: torch.Tensor, lengths: torch.Tensor, factor: int
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Stacks ``factor`` consecutive frames into one (frame-rate / factor).

    The padded frames of every utterance are zeroed first and the time axis is
    zero-padded to a multiple of ``factor``, so the last (partial) stacked frame of an
    utterance holds its valid frames followed by zeros.

    Args:
        x: Frames (B, T, D).
        lengths: Valid frames per utterance (B,).
        factor: Frames per stack.

    Returns:
        Frames (B, ceil(T / factor), D * factor) (feature ``k * D + d`` is dim ``d``
        of the ``k``-th frame of the group) and lengths ``ceil(lengths / factor)``.
    """
    _check_factor(factor)
    B, T, D = x.shape
    x = mask_frames(x, lengths)
    t_out = _ceil_div(T, factor)
    if t_out * factor != T:
        x = torch.nn.functional.pad(x, (0, 0, 0, t_out * factor - T))
    return x.reshape(B, t_out, factor * D), _ceil_div(lengths, factor)


def repeat_frames(
    x: torch.Tensor, lengths: torch.Tensor, factor: int
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Repeats every frame ``factor`` times (frame-rate x factor).

    Args:
        x: Frames (B, T, D).
        lengths: Valid frames per utterance (B,).
        factor: Repetitions.

    Returns:
        Frames (B, T * factor, D), zero beyond each length, and ``lengths * factor``.
    """
    _check_factor(factor)
    x = mask_frames(x, lengths)
    return x.repeat_interleave(factor, dim=1), lengths * factor


def trim_to(
    x: torch.Tensor, lengths: torch.Tensor, target_lengths: torch.Tensor
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Cuts every utterance to ``min(lengths, target_lengths)``.

    Args:
        x: Frames (B, T, D).
        lengths: Valid frames per utterance (B,).
        target_lengths: Upper bound per utterance (B,).

    Returns:
        Frames (B, max(new_lengths), D), zero beyond each new length, and
        ``new_lengths = min(lengths, target_lengths)`` (B,).
    """
    new_lengths = torch.minimum(lengths, target_lengths.to(lengths.device))
    t_max = int(new_lengths.max()) if new_lengths.numel() else 0
    if t_max > x.size(1):
        raise ValueError(
            f"trim_to: lengths up to {t_max} exceed the {x.size(1)} frames of x"
        )
    return mask_frames(x[:, :t_max], new_lengths), new_lengths


def align_views(
    x_f: torch.Tensor,
    f_lens: torch.Tensor,
    x_s: torch.Tensor,
    s_lens: torch.Tensor,
    rate: str,
    factor: int,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Brings the FBank and SSL views to one frame rate and one length per utterance.

    ``rate: ssl`` stacks ``factor`` FBank frames (width ``D_f * factor``); ``rate:
    fbank`` repeats every SSL frame ``factor`` times. Both views are then cut to the
    per-utterance minimum of their lengths. Lengths beyond a view's tensor (an
    inconsistent input) are clamped to its number of frames first.

    Args:
        x_f: FBank frames (B, T_f, D_f).
        f_lens: FBank frames per utterance (B,).
        x_s: SSL frames (B, T_s, D_s).
        s_lens: SSL frames per utterance (B,).
        rate: ``ssl`` or ``fbank``.
        factor: SSL stride / FBank hop (2 for 320 / 160).

    Returns:
        ``x_f`` (B, T, D_f or D_f * factor), ``x_s`` (B, T, D_s), both zero beyond
        each length, and the common lengths (B,) with ``T = max(lengths)``.
    """
    if rate not in RATES:
        raise ValueError(f"rate must be one of {RATES}; got '{rate}'")
    if x_f.size(0) != x_s.size(0):
        raise ValueError(
            f"batch sizes differ: FBank {x_f.size(0)} vs SSL {x_s.size(0)}"
        )
    f_lens = f_lens.clamp(max=x_f.size(1))
    s_lens = s_lens.clamp(max=x_s.size(1)).to(f_lens.device)
    if rate == "ssl":
        x_f, f_lens = stack_frames(x_f, f_lens, factor)
    else:
        x_s, s_lens = repeat_frames(x_s, s_lens, factor)
    lens = torch.minimum(f_lens, s_lens)
    x_f, _ = trim_to(x_f, f_lens, lens)
    x_s, _ = trim_to(x_s, s_lens, lens)
    return x_f, x_s, lens


def resample_frames(
    x: torch.Tensor, lengths: torch.Tensor, src_stride: int, dst_stride: int
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Changes the frame rate of one sequence by an integer ratio.

    Used to bring upstreams with different strides to a reference stride. A coarser
    source (``src_stride > dst_stride``) repeats every frame ``src / dst`` times; a
    finer source averages groups of ``dst / src`` frames (the last group of an
    utterance averages only its valid frames).

    Args:
        x: Frames (B, T, D).
        lengths: Valid frames per utterance (B,).
        src_stride: Stride of ``x`` in samples.
        dst_stride: Wanted stride in samples.

    Returns:
        Frames (B, T', D), zero beyond each length, and the new lengths (B,):
        ``lengths * r`` (repeat) or ``ceil(lengths / r)`` (average).

    Raises:
        ValueError: If neither stride is an integer multiple of the other.
    """
    if src_stride < 1 or dst_stride < 1:
        raise ValueError(
            f"strides must be positive; got src={src_stride}, dst={dst_stride}"
        )
    if src_stride == dst_stride:
        return mask_frames(x, lengths), lengths
    if src_stride > dst_stride:
        if src_stride % dst_stride:
            raise ValueError(
                f"cannot resample frames from stride {src_stride} to {dst_stride}: "
                "the ratio of the strides must be an integer"
            )
        return repeat_frames(x, lengths, src_stride // dst_stride)
    if dst_stride % src_stride:
        raise ValueError(
            f"cannot resample frames from stride {src_stride} to {dst_stride}: "
            "the ratio of the strides must be an integer"
        )
    ratio = dst_stride // src_stride
    B, T, D = x.shape
    stacked, new_lengths = stack_frames(x, lengths, ratio)  # padding already zeroed
    groups = stacked.reshape(B, -1, ratio, D)
    start = torch.arange(groups.size(1), device=x.device)[None, :] * ratio
    count = (lengths.to(x.device)[:, None] - start).clamp(min=1, max=ratio)
    mean = groups.sum(dim=2) / count.unsqueeze(-1).to(x.dtype)
    return mask_frames(mean, new_lengths), new_lengths
