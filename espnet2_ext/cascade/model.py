"""The exporter cascade model: ASR encoder -> CTC 1-best -> exporter -> frozen MT.

Chelba & Schalkwyk (arXiv 2407.17605) couple an ASR model and a text MT model through
an *exporter* on the ASR side, trained under an L2 loss to match the MT model's input
token embeddings of the ASR 1-best, whose outputs are fed to the MT in place of those
embeddings. What the public text leaves open is an option here (documented defaults):

- the 1-best and each token's frames come from the ASR's CTC (greedy by default,
  :mod:`espnet2_ext.cascade.ctc_segments`); one exporter input per token, the mean of
  its frames (``pooling``);
- the exporter (:mod:`espnet2_ext.cascade.exporter`), widths read from the two models;
- the L2 target is the MT's embedding of the 1-best ids, with the gradient stopped in
  the model (not only by freezing);
- the MT is immutable: frozen, and in eval mode whatever ``train()`` is called with
  (ESPnet's ``freeze_param`` only stops gradients; its dropout would stay live);
- loss ``l2_weight * L2 + mt_weight * CE (+ ctc_weight * CTC)``: training mode A is
  ``mt_weight 0`` with the ASR frozen, mode B trains the ASR encoder too.

The exporter's outputs replace the lookup ``mt.frontend.embed[0]``; ESPnet's
positional encoding ``embed[1]`` (scale by sqrt(d), add) and ``<sos>`` in front are
kept, as :meth:`ESPnetMTModel.encode` does for token ids. An exporter that returns
the MT's own embeddings therefore makes the cascade the 1-best cascade exactly.

Shapes: speech (B, S); ASR encoder output (B, T, D_asr); 1-best (B, L); exported
embeddings (B, L, D_mt); MT encoder input (B, L + 1, D_mt).
"""

from typing import Dict, List, Optional, Sequence, Tuple

import torch
from espnet2.torch_utils.device_funcs import force_gatherable
from espnet2.train.abs_espnet_model import AbsESPnetModel
from typeguard import typechecked

from espnet2_ext.cascade.ctc_segments import Segment, greedy_segments, pool_segments
from espnet2_ext.cascade.exporter import AbsExporter
from espnet2_ext.utils.espnet_compat import legacy_module, make_pad_mask


class ExporterCascadeModel(AbsESPnetModel):
    """ASR + exporter + frozen MT, trained with ESPnet's trainer.

    Args:
        asr: An ``ESPnetASRModel`` with CTC (its 1-best and alignment).
        mt: An ``ESPnetMTModel`` with ESPnet's ``embed`` frontend.
        mt_src_token_list: The MT's source token list (its config's
            ``src_token_list``; ESPnet's MT model does not keep it): must be the
            ASR's token list.
        exporter: Maps (B, L, D_asr) to (B, L, D_mt).
        l2_weight: Weight of the L2 loss to the MT embeddings of the 1-best.
        mt_weight: Weight of the MT's cross-entropy on the reference translation.
        ctc_weight: Weight of the ASR's CTC loss on the transcript (keeps the WER
            when the ASR encoder trains).
        pooling: ``mean`` of a token's frames or its ``first`` frame.

    Raises:
        ValueError: an ASR without CTC, different token lists, an MT without an
            embedding frontend, or an exporter of other widths.
    """

    @typechecked
    def __init__(
        self,
        asr: torch.nn.Module,
        mt: torch.nn.Module,
        mt_src_token_list: Sequence[str],
        exporter: AbsExporter,
        l2_weight: float = 1.0,
        mt_weight: float = 1.0,
        ctc_weight: float = 0.0,
        pooling: str = "mean",
    ):
        super().__init__()
        check_compatible(asr, mt, mt_src_token_list)
        enc_size = asr.encoder.output_size()
        emb_size = mt.frontend.output_size()
        if (exporter.input_size, exporter.output_size) != (enc_size, emb_size):
            raise ValueError(
                f"exporter maps {exporter.input_size} -> {exporter.output_size}; the"
                f" ASR encoder gives {enc_size} and the MT embeds in {emb_size}"
            )
        if pooling not in ("mean", "first"):
            raise ValueError(f"pooling must be 'mean' or 'first'; got '{pooling}'")
        self.asr = asr
        self.mt = mt
        self.exporter = exporter
        self.l2_weight = l2_weight
        self.mt_weight = mt_weight
        self.ctc_weight = ctc_weight
        self.pooling = pooling
        self.blank_id = asr.blank_id
        for p in self.mt.parameters():
            p.requires_grad_(False)
        self.mt.eval()

    def train(self, mode: bool = True) -> "ExporterCascadeModel":
        """Sets the ASR and exporter to ``mode``; the MT stays in eval mode."""
        super().train(mode)
        self.mt.eval()
        return self

    # --- the pieces -------------------------------------------------------------

    def onebest(
        self, speech: torch.Tensor, speech_lengths: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, List[List[Segment]]]:
        """ASR encoder output (B, T, D_asr), its lengths (B,) and the greedy CTC
        1-best of each utterance with its frames."""
        enc, enc_lens = self.asr.encode(speech, speech_lengths)
        with torch.no_grad():
            log_probs = self.asr.ctc.log_softmax(enc)
        segments = [
            greedy_segments(log_probs[b], int(enc_lens[b]), self.blank_id)
            for b in range(enc.size(0))
        ]
        return enc, enc_lens, segments

    def export(
        self, enc: torch.Tensor, segments: Sequence[Sequence[Segment]]
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Exported embeddings (B, L, D_mt), the 1-best ids (B, L) and lengths (B,)."""
        pooled, ids, lengths = pool_segments(enc, segments, self.pooling)
        return self.exporter(pooled, lengths), ids, lengths

    def mt_embeddings(self, ids: torch.Tensor) -> torch.Tensor:
        """The MT's token embeddings (B, L, D_mt) of ``ids`` (the lookup only)."""
        return self.mt.frontend.embed[0](ids)

    def mt_encode_embeddings(
        self, embeddings: torch.Tensor, lengths: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """The MT encoder on ``<sos>`` + token embeddings, as ``mt.encode`` runs it on
        token ids.

        Args:
            embeddings: (B, L, D_mt), in place of ``embed[0]`` of the ids.
            lengths: (B,) valid tokens.

        Returns:
            (B, L', D) encoder output and its (B,) lengths.
        """
        batch = embeddings.size(0)
        sos = torch.full(
            (batch, 1), self.mt.src_sos, dtype=torch.long, device=embeddings.device
        )
        x = torch.cat([self.mt_embeddings(sos).to(embeddings.dtype), embeddings], 1)
        x_lens = lengths + 1
        with torch.autocast(x.device.type, enabled=False):
            x = self.mt.frontend.embed[1](x.float())
        if self.mt.preencoder is not None:
            x, x_lens = self.mt.preencoder(x, x_lens)
        out, out_lens, _ = self.mt.encoder(x, x_lens)
        if self.mt.postencoder is not None:
            out, out_lens = self.mt.postencoder(out, out_lens)
        return out, out_lens

    # --- training -----------------------------------------------------------------

    def forward(
        self,
        speech: torch.Tensor,
        speech_lengths: torch.Tensor,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        src_text: Optional[torch.Tensor] = None,
        src_text_lengths: Optional[torch.Tensor] = None,
        **kwargs,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        """Losses of a batch.

        Args:
            speech: (B, S) waveforms.
            speech_lengths: (B,).
            text: (B, U) reference translation ids (MT target vocabulary).
            text_lengths: (B,).
            src_text: (B, N) transcript ids (the ASR vocabulary); needed for CTC.
            src_text_lengths: (B,).

        Returns:
            The weighted loss, stats (``loss``, ``loss_l2``, ``loss_mt``, ``acc``,
            ``loss_ctc`` with a CTC weight, ``hyp_len``) and the batch size.
        """
        batch = speech.size(0)
        text = text[:, : text_lengths.max()]
        enc, enc_lens, segments = self.onebest(speech, speech_lengths)
        exported, ids, lengths = self.export(enc, segments)
        loss_l2 = self.l2_loss(exported, ids, lengths)
        loss = self.l2_weight * loss_l2
        stats = {"loss_l2": loss_l2.detach(), "hyp_len": lengths.float().mean()}
        if self.mt_weight > 0:
            mt_enc, mt_lens = self.mt_encode_embeddings(exported, lengths)
            loss_mt, acc = self.translation_loss(mt_enc, mt_lens, text, text_lengths)
            loss = loss + self.mt_weight * loss_mt
            stats.update(loss_mt=loss_mt.detach(), acc=acc)
        if self.ctc_weight > 0:
            if src_text is None:
                raise ValueError("ctc_weight > 0 needs the transcript (src_text)")
            src_text = src_text[:, : src_text_lengths.max()]
            loss_ctc = self.asr.ctc(enc, enc_lens, src_text, src_text_lengths)
            loss = loss + self.ctc_weight * loss_ctc
            stats["loss_ctc"] = loss_ctc.detach()
        stats["loss"] = loss.detach()
        loss, stats, weight = force_gatherable((loss, stats, batch), loss.device)
        return loss, stats, weight

    def l2_loss(
        self, exported: torch.Tensor, ids: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        """Mean squared error over the valid tokens' dimensions between the exported
        vectors and the MT embeddings of the 1-best, with the gradient stopped at
        the embeddings (0 for a batch of empty hypotheses)."""
        target = self.mt_embeddings(ids).detach()
        valid = ~make_pad_mask(lengths, maxlen=ids.size(1)).to(ids.device)
        if not bool(valid.any()):
            return exported.sum() * 0.0
        diff = (exported - target)[valid]
        return diff.pow(2).mean()

    def translation_loss(
        self,
        mt_enc: torch.Tensor,
        mt_lens: torch.Tensor,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """The MT decoder's label-smoothed cross-entropy and token accuracy on the
        reference translation ``text`` (B, U), as ``ESPnetMTModel`` computes them."""
        transformer = "nets.pytorch_backend.transformer.add_sos_eos"
        add_sos_eos = legacy_module(transformer).add_sos_eos
        th_accuracy = legacy_module("nets.pytorch_backend.nets_utils").th_accuracy
        mt = self.mt
        ys_in, ys_out = add_sos_eos(text, mt.sos, mt.eos, mt.ignore_id)
        decoded, _ = mt.decoder(mt_enc, mt_lens, ys_in, text_lengths + 1)
        loss = mt.criterion_mt(decoded, ys_out)
        acc = th_accuracy(
            decoded.view(-1, mt.vocab_size), ys_out, ignore_label=mt.ignore_id
        )
        return loss, torch.tensor(acc)

    def collect_feats(
        self, speech: torch.Tensor, speech_lengths: torch.Tensor, **kwargs
    ) -> Dict[str, torch.Tensor]:
        """The ASR's features, for ESPnet's statistics stage."""
        return self.asr.collect_feats(speech, speech_lengths, None, None)


def check_compatible(
    asr: torch.nn.Module, mt: torch.nn.Module, mt_src_token_list: Sequence[str]
) -> None:
    """Checks that ``asr`` can feed ``mt`` (whose source tokens are
    ``mt_src_token_list``) through an exporter.

    Raises:
        ValueError: the ASR has no CTC, the MT has no ``embed`` frontend, or the
            ASR's token list is not the MT's source token list (the first
            difference is named).
    """
    if getattr(asr, "ctc", None) is None:
        raise ValueError(
            "the ASR model has no CTC (ctc_weight 0 in its config): the cascade"
            " takes the 1-best and its frames from CTC; train the ASR with"
            " ctc_weight > 0"
        )
    embed = getattr(mt.frontend, "embed", None)
    if not isinstance(embed, torch.nn.Sequential) or len(embed) != 2:
        raise ValueError(
            "the MT model's frontend is not ESPnet's 'embed' (lookup + positional"
            " encoding): the exporter replaces its lookup"
        )
    asr_tokens, mt_tokens = list(asr.token_list), list(mt_src_token_list)
    if asr_tokens != mt_tokens:
        raise ValueError(
            "the ASR token list and the MT source token list differ: "
            + first_difference(asr_tokens, mt_tokens, ("the ASR's", "the MT's"))
            + "; train both on one source tokenizer (one sentencepiece model)"
        )


def first_difference(a: Sequence[str], b: Sequence[str], names: Sequence[str]) -> str:
    """Where two token lists first differ, in words; ``names`` name their owners
    (``"the ASR's"``)."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"token {i} is '{x}' in {names[0]} and '{y}' in {names[1]}"
    return f"{names[0]} has {len(a)} tokens and {names[1]} {len(b)}"
