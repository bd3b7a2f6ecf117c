"""Decoding with the cascade: the ASR 1-best into the MT, as tokens or as exported
vectors, then ESPnet's beam search over the MT decoder.

Both modes share the same 1-best (greedy CTC), so they differ only in what the MT
encoder reads: ``onebest`` its own embeddings of the 1-best ids (the plain cascade,
exactly ``ESPnetMTModel.encode``), ``exporter`` the exporter's vectors.

Example::

    translator = CascadeTranslator(model, beam_size=5)
    result = translator(speech, mode="exporter")  # speech: (S,) float tensor
    result.translation, result.onebest             # MT target ids, ASR ids
"""

from dataclasses import dataclass
from typing import List

import torch

from espnet2_ext.cascade.model import ExporterCascadeModel
from espnet2_ext.utils.espnet_compat import legacy_module

#: What the MT encoder reads.
MODES = ("onebest", "exporter")


@dataclass
class CascadeResult:
    """One utterance's decoding.

    Attributes:
        translation: The best MT hypothesis' token ids (no ``<sos/eos>``, no blank).
        onebest: The ASR 1-best token ids the MT read.
        score: The beam search score of the translation.
    """

    translation: List[int]
    onebest: List[int]
    score: float


class CascadeTranslator:
    """Beam search over the cascade's MT decoder.

    Args:
        model: A cascade model (put in eval mode here).
        beam_size: Beam width.
        penalty: Length bonus weight (ESPnet's ``penalty``).
        maxlenratio: ESPnet's ``maxlenratio`` (0: up to the encoder length).
        minlenratio: ESPnet's ``minlenratio``.
    """

    def __init__(
        self,
        model: ExporterCascadeModel,
        beam_size: int = 5,
        penalty: float = 0.0,
        maxlenratio: float = 0.0,
        minlenratio: float = 0.0,
    ):
        beam_search = legacy_module("nets.beam_search")
        length_bonus = legacy_module("nets.scorers.length_bonus")
        self.model = model.eval()
        mt = model.mt
        vocab = mt.vocab_size
        self.beam_search = beam_search.BeamSearch(
            scorers={
                "decoder": mt.decoder,
                "length_bonus": length_bonus.LengthBonus(vocab),
            },
            weights={"decoder": 1.0, "length_bonus": penalty},
            beam_size=beam_size,
            vocab_size=vocab,
            sos=mt.sos,
            eos=mt.eos,
            token_list=list(mt.token_list),
            pre_beam_score_key="full",
        )
        self.maxlenratio = maxlenratio
        self.minlenratio = minlenratio

    @torch.no_grad()
    def __call__(self, speech: torch.Tensor, mode: str = "exporter") -> CascadeResult:
        """Translates one utterance.

        Args:
            speech: (S,) waveform.
            mode: ``onebest`` or ``exporter`` (:data:`MODES`).

        Raises:
            ValueError: an unknown mode.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}; got '{mode}'")
        model = self.model
        speech = speech.unsqueeze(0)
        lengths = torch.tensor([speech.size(1)], device=speech.device)
        enc, _, segments = model.onebest(speech, lengths)
        onebest = [seg.token for seg in segments[0]]
        if mode == "onebest":  # the plain cascade: the exporter is not run
            ids = torch.tensor([onebest], dtype=torch.long, device=speech.device)
            hyp_lens = torch.tensor([len(onebest)], device=speech.device)
            mt_enc, _ = model.mt.encode(ids, hyp_lens)
        else:
            exported, _, hyp_lens = model.export(enc, segments)
            mt_enc, _ = model.mt_encode_embeddings(exported, hyp_lens)
        hyps = self.beam_search(
            x=mt_enc[0], maxlenratio=self.maxlenratio, minlenratio=self.minlenratio
        )
        best = hyps[0]
        drop = {model.mt.sos, model.mt.eos, 0}
        translation = [t for t in best.yseq.tolist() if t not in drop]
        return CascadeResult(translation, onebest, float(best.score))
