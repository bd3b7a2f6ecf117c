"""Hidden states of a frozen upstream, computed once per utterance and reused.

A frozen upstream (eval mode, no autograd) maps the same waveform to the same hidden
states in every epoch, so recomputing them is wasted work: on a CPU it is about
40 % of an SSL model's training step. :class:`FeatureCache` keeps each utterance's
hidden states, keyed by a digest of its waveform samples (ESPnet's frontend sees no
utterance ids, and content keys also stay right under shuffling, a new batch
composition, or validation and training sharing a waveform).

A batch whose utterances are all cached is assembled from the cache; any other batch
is computed by the upstream, and its utterances are stored while the byte budget
lasts (after that they are recomputed, and one warning says so). Values are those of
the first computation: an upstream whose output depends on its batch's padding (a
GroupNorm over time, as in HuBERT's CNN) can differ from a recomputation in the last
float bits, never more. Frames past an utterance's length are zero in an assembled
batch; the frontend only applies per-frame maps to them and masks them.

Augmentation before the frontend (speed perturbation on the fly, noise) changes the
waveform every epoch, so nothing would be reused: leave the cache off then.
"""

import hashlib
import logging
from typing import Callable, Dict, List, Optional, Tuple

import torch

logger = logging.getLogger(__name__)

#: The digest size of a key (bytes): 128 bits make a collision negligible.
DIGEST_BYTES = 16


def waveform_key(samples: torch.Tensor) -> bytes:
    """A digest of one utterance's valid samples (dtype, length and values).

    Args:
        samples: The utterance's samples (S,), without padding.
    """
    data = samples.detach().contiguous().cpu()
    digest = hashlib.blake2b(digest_size=DIGEST_BYTES)
    digest.update(str(data.dtype).encode())
    digest.update(data.numpy().tobytes())
    return digest.digest()


class FeatureCache:
    """Per-utterance hidden states of one frozen upstream, within a byte budget.

    Attributes:
        max_bytes: The budget of the stored hidden states.
        stored_bytes: What they take now.
        hits: Batches assembled from the cache.
        misses: Batches computed by the upstream.
    """

    def __init__(self, max_bytes: int):
        """
        Args:
            max_bytes: The byte budget (> 0).
        """
        if max_bytes <= 0:
            raise ValueError(
                f"the feature cache needs a positive size; got {max_bytes}"
            )
        self.max_bytes = max_bytes
        self.stored_bytes = 0
        self.hits = 0
        self.misses = 0
        self._entries: Dict[bytes, torch.Tensor] = {}
        self._warned_full = False

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(
        self, speech: torch.Tensor, lengths: torch.Tensor, keys: List[bytes]
    ) -> Optional[Tuple[torch.Tensor, torch.Tensor]]:
        """The batch's hidden states if every utterance is cached, else None.

        Args:
            speech: Waveforms (B, S) (for the device).
            lengths: Valid samples (B,).
            keys: :func:`waveform_key` of each utterance.

        Returns:
            Hidden states (L, B, T, D), zero past each length, and frames (B,).
        """
        if not all(k in self._entries for k in keys):
            return None
        items = [self._entries[k] for k in keys]
        num_layers, _, dim = items[0].shape
        frames = torch.tensor([h.size(1) for h in items], device=lengths.device)
        hs = items[0].new_zeros(num_layers, len(items), int(frames.max()), dim)
        for b, h in enumerate(items):
            hs[:, b, : h.size(1)] = h
        return hs.to(speech.device), frames

    def store(self, keys: List[bytes], hs: torch.Tensor, frames: torch.Tensor) -> None:
        """Keeps each utterance's valid frames while the budget lasts.

        Args:
            keys: :func:`waveform_key` of each utterance.
            hs: Hidden states (L, B, T, D).
            frames: Valid frames per utterance (B,).
        """
        for b, key in enumerate(keys):
            if key in self._entries:
                continue
            item = hs[:, b, : int(frames[b])].detach().clone()
            size = item.numel() * item.element_size()
            if self.stored_bytes + size > self.max_bytes:
                if not self._warned_full:
                    logger.warning(
                        "upstream feature cache full (%d utterances, %.1f MB of "
                        "%.1f MB): the upstream runs again on the others",
                        len(self._entries),
                        self.stored_bytes / 1e6,
                        self.max_bytes / 1e6,
                    )
                    self._warned_full = True
                return
            self._entries[key] = item
            self.stored_bytes += size

    def run(
        self,
        compute: Callable[[], Tuple[torch.Tensor, torch.Tensor]],
        speech: torch.Tensor,
        lengths: torch.Tensor,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """The cached hidden states of a batch, or ``compute()``'s (then stored).

        Args:
            compute: Runs the upstream on the batch: hidden states (L, B, T, D) and
                frames (B,).
            speech: Waveforms (B, S), zero past each length.
            lengths: Valid samples (B,).
        """
        keys = [waveform_key(speech[b, : int(n)]) for b, n in enumerate(lengths)]
        cached = self.lookup(speech, lengths, keys)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        hs, frames = compute()
        self.store(keys, hs, frames)
        return hs, frames
