"""One training step's loss for each HuBERT stage: masked prediction, then CTC.

Both run s3prl's own ``HubertModel``:

- :func:`masked_prediction_loss` calls its ``forward`` with the cluster labels. As in
  fairseq, that masks spans of frames (``mask_prob``/``mask_length`` of the config,
  ``mask_emb`` in their place), projects the masked outputs with ``final_proj`` and
  scores them against every label embedding by cosine similarity over ``logit_temp``;
  column 0 of each row of ``logit_m_list`` is the true cluster. The loss is the
  cross-entropy of those rows plus ``10 *`` the feature penalty (fairseq's
  ``hubert`` criterion with ``pred_nomask_weight 0``).
- :func:`ctc_finetune_loss` runs ``extract_features`` (masking as configured) and a
  linear CTC head on the last layer.

Batches are cropped to their shortest utterance (fairseq's ``pad_audio=False``) at
a multiple of 320 samples, so labels stay aligned without padding
(:func:`crop_batch`).
"""

from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F

from espnet2_ext.upstream.ctc import ctc_loss
from espnet2_ext.upstream.mfcc_targets import MODEL_STRIDE, model_frames
from espnet2_ext.upstream.speech_data import pad

#: fairseq ``hubert`` criterion: weight of the feature-extractor output penalty.
FEATURE_PEN_WEIGHT = 10.0


def crop_batch(
    wavs: Sequence[torch.Tensor],
    labels: Sequence[torch.Tensor],
    generator: torch.Generator,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Crops every utterance to the shortest one, at a random frame boundary.

    Args:
        wavs: Waveforms (S_i,).
        labels: Their 50 Hz labels (model_frames(S_i),).
        generator: Draws the crop offsets.

    Returns:
        Waveforms (B, L) and labels (B, model_frames(L)), L = min S_i; cropped frame
        ``t`` of utterance ``i`` is its frame ``k_i + t``.
    """
    length = min(len(w) for w in wavs)
    n = model_frames(length)
    out_w, out_l = [], []
    for w, lab in zip(wavs, labels):
        assert len(lab) == model_frames(len(w)), (len(lab), len(w))
        k_max = (len(w) - length) // MODEL_STRIDE
        k = int(torch.randint(k_max + 1, (1,), generator=generator))
        out_w.append(w[k * MODEL_STRIDE : k * MODEL_STRIDE + length])
        out_l.append(lab[k : k + n])
    return torch.stack(out_w), torch.stack(out_l)


def masked_prediction_loss(
    model: torch.nn.Module, wavs: torch.Tensor, labels: torch.Tensor
) -> Tuple[torch.Tensor, float, int]:
    """HuBERT's masked prediction loss of one cropped batch.

    Args:
        model: s3prl ``HubertModel`` (its ``skip_nomask`` is honoured).
        wavs: Waveforms (B, L), no padding.
        labels: Cluster labels (B, model_frames(L)).

    Returns:
        ``(loss, accuracy on masked frames, number of masked frames)``.
    """
    padding_mask = torch.zeros(wavs.shape, dtype=torch.bool)
    out = model(wavs, target_list=[labels], padding_mask=padding_mask, mask=True)
    logits = out["logit_m_list"][0]  # (M, 1 + C): column 0 is the true cluster
    target = torch.zeros(logits.size(0), dtype=torch.long)
    loss = F.cross_entropy(logits.float(), target)
    loss = loss + FEATURE_PEN_WEIGHT * out["features_pen"]
    with torch.no_grad():
        acc = (logits.argmax(-1) == 0).float().mean().item() if len(logits) else 0.0
    return loss, acc, int(logits.size(0))


def encoder_output(
    model: torch.nn.Module, wavs: Sequence[torch.Tensor], mask: bool
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Last transformer layer of a padded batch.

    Returns:
        Hidden states (B, T, D) and valid frames (B,) (model_frames of each length).
    """
    x = pad(wavs)
    lengths = torch.tensor([len(w) for w in wavs])
    padding = torch.arange(x.size(1))[None] >= lengths[:, None]
    hs, _ = model.extract_features(x, padding_mask=padding, mask=mask)
    frames = torch.tensor([min(model_frames(len(w)), hs.size(1)) for w in wavs])
    return hs, frames


def ctc_finetune_loss(
    model: torch.nn.Module,
    head: torch.nn.Linear,
    wavs: Sequence[torch.Tensor],
    targets: Sequence[List[int]],
    update_model: bool = True,
) -> torch.Tensor:
    """CTC loss of a linear head on the last layer (model masking as configured).

    Args:
        model: s3prl ``HubertModel``.
        head: Linear layer (D -> phones + blank).
        wavs: Waveforms (S_i,).
        targets: Phone indices (no blank) per utterance.
        update_model: False: the model runs without autograd, so only the head
            gets gradients (fairseq's ``freeze_finetune_updates``).
    """
    with torch.set_grad_enabled(update_model and torch.is_grad_enabled()):
        hs, frames = encoder_output(model, wavs, mask=model.training)
    return ctc_loss(head(hs).log_softmax(-1), frames, targets)
