"""The exporter cascade on tiny real ESPnet ASR and MT models."""

import copy

import pytest
import torch
from espnet2.asr.ctc import CTC
from espnet2.asr.decoder.transformer_decoder import TransformerDecoder
from espnet2.asr.encoder.transformer_encoder import TransformerEncoder
from espnet2.asr.espnet_model import ESPnetASRModel
from espnet2.asr.frontend.default import DefaultFrontend
from espnet2.mt.espnet_model import ESPnetMTModel
from espnet2.mt.frontend.embedding import Embedding

from espnet2_ext.cascade.ctc_segments import pool_segments
from espnet2_ext.cascade.exporter import (
    LinearExporter,
    TransformerExporter,
    build_exporter,
)
from espnet2_ext.cascade.inference import MODES, CascadeTranslator
from espnet2_ext.cascade.model import ExporterCascadeModel, check_compatible

SRC = ["<blank>", "<unk>", "a", "b", "c", "<sos/eos>"]
TGT = ["<blank>", "<unk>", "x", "y", "z", "<sos/eos>"]
D_ASR, D_MT = 16, 24


def _asr(tokens=SRC):
    torch.manual_seed(0)
    frontend = DefaultFrontend(n_fft=128, hop_length=64, n_mels=20)
    encoder = TransformerEncoder(
        20,
        output_size=D_ASR,
        attention_heads=2,
        linear_units=32,
        num_blocks=1,
        input_layer="linear",
    )
    ctc = CTC(len(tokens), D_ASR)
    with torch.no_grad():  # a confident CTC: varied, mostly non-blank 1-bests
        ctc.ctc_lo.weight.mul_(20.0)
        ctc.ctc_lo.bias.zero_()
    return ESPnetASRModel(
        vocab_size=len(tokens),
        token_list=list(tokens),
        frontend=frontend,
        specaug=None,
        normalize=None,
        preencoder=None,
        encoder=encoder,
        postencoder=None,
        decoder=None,
        ctc=ctc,
        joint_network=None,
        ctc_weight=1.0,
    )


def _mt(src=SRC):
    torch.manual_seed(1)
    return ESPnetMTModel(
        vocab_size=len(TGT),
        token_list=list(TGT),
        frontend=Embedding(input_size=len(src), embed_dim=D_MT),
        preencoder=None,
        encoder=TransformerEncoder(
            D_MT,
            output_size=D_MT,
            attention_heads=2,
            linear_units=32,
            num_blocks=1,
            input_layer=None,
        ),
        postencoder=None,
        decoder=TransformerDecoder(
            len(TGT), D_MT, attention_heads=2, linear_units=32, num_blocks=1
        ),
        src_vocab_size=len(src),
        src_token_list=list(src),
        report_bleu=False,
    )


def _model(**kwargs):
    asr, mt = _asr(), _mt()
    exporter = kwargs.pop("exporter", None) or build_exporter(
        "linear", asr.encoder.output_size(), mt.frontend.output_size()
    )
    return ExporterCascadeModel(asr, mt, SRC, exporter, **kwargs)


def _batch():
    g = torch.Generator().manual_seed(2)
    speech = torch.randn(2, 1600, generator=g)
    return dict(
        speech=speech,
        speech_lengths=torch.tensor([1600, 1200]),
        text=torch.tensor([[2, 3, 4], [3, 2, -1]]),
        text_lengths=torch.tensor([3, 2]),
        src_text=torch.tensor([[2, 3], [4, -1]]),
        src_text_lengths=torch.tensor([2, 1]),
    )


def test_exporter_widths_come_from_the_two_models():
    model = _model()
    assert model.exporter.input_size == model.asr.encoder.output_size() == D_ASR
    assert model.exporter.output_size == model.mt.frontend.output_size() == D_MT
    b = _batch()
    enc, _, segments = model.onebest(b["speech"], b["speech_lengths"])
    exported, ids, lengths = model.export(enc, segments)
    assert exported.shape == (2, ids.size(1), D_MT)
    with pytest.raises(
        ValueError,
        match="exporter maps 16 -> 16; the ASR encoder "
        "gives 16 and the MT embeds in 24",
    ):
        ExporterCascadeModel(_asr(), _mt(), SRC, LinearExporter(16, 16))
    with pytest.raises(ValueError, match="exporter_conf sets output_size"):
        build_exporter("mlp", 16, 24, {"output_size": 24})
    with pytest.raises(ValueError, match="unknown exporter 'conv'; valid: linear"):
        build_exporter("conv", 16, 24)


def test_the_1best_has_tokens_and_frames_within_each_utterance():
    model = _model()
    b = _batch()
    enc, enc_lens, segments = model.onebest(b["speech"], b["speech_lengths"])
    assert any(segments), "the tiny CTC should emit tokens"
    for seg, n in zip(segments, enc_lens.tolist()):
        assert all(0 <= s.start < s.end <= n and s.token != 0 for s in seg)


def test_l2_alone_leaves_the_mt_embedding_without_gradient_even_unfrozen():
    model = _model(mt_weight=0.0)
    for p in model.mt.parameters():
        p.requires_grad_(True)  # the stop-gradient must be in the model
    loss, stats, _ = model(**_batch())
    assert set(stats) == {"loss", "loss_l2", "hyp_len"}
    loss.backward()
    grad = model.mt.frontend.embed[0].weight.grad
    assert grad is None or torch.count_nonzero(grad) == 0
    assert torch.count_nonzero(model.exporter.linear.weight.grad) > 0


def test_ce_alone_trains_the_asr_encoder_and_leaves_the_mt_bit_identical():
    model = _model(l2_weight=0.0, mt_weight=1.0, ctc_weight=0.0)
    for name, p in model.named_parameters():  # what ESPnet's --freeze_param mt does
        if name.startswith("mt."):
            p.requires_grad = False
    before = copy.deepcopy(model.mt.state_dict())
    model.train()
    optim = torch.optim.Adam([p for p in model.parameters() if p.requires_grad])
    loss, stats, _ = model(**_batch())
    assert set(stats) >= {"loss_mt", "acc"}
    loss.backward()
    grads = [p.grad for p in model.asr.encoder.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert sum(torch.count_nonzero(g) for g in grads) > 0
    optim.step()
    after = model.mt.state_dict()
    assert list(after) == list(before)
    assert all(torch.equal(after[k], before[k]) for k in before)  # params and buffers


def test_ctc_loss_is_added_with_its_weight():
    model = _model(l2_weight=0.0, mt_weight=0.0, ctc_weight=0.5)
    loss, stats, _ = model(**_batch())
    assert torch.allclose(loss, 0.5 * stats["loss_ctc"])
    with pytest.raises(ValueError, match="needs the transcript"):
        b = _batch()
        model(b["speech"], b["speech_lengths"], b["text"], b["text_lengths"])


def test_exporting_the_mt_embeddings_is_the_onebest_cascade():
    model = _model()
    ids = torch.tensor([[2, 3, 4, 2], [4, 3, 0, 0]])
    lens = torch.tensor([4, 2])
    ours, ours_lens = model.mt_encode_embeddings(model.mt_embeddings(ids), lens)
    ref, ref_lens = model.mt.encode(ids, lens)
    assert torch.equal(ours_lens, ref_lens) and ours_lens.tolist() == [5, 3]
    for b, n in enumerate(ref_lens.tolist()):
        assert torch.allclose(ours[b, :n], ref[b, :n], atol=1e-6)


def test_the_mt_is_frozen_and_stays_in_eval_mode_under_train():
    model = _model()
    assert not any(p.requires_grad for p in model.mt.parameters())
    assert all(p.requires_grad for p in model.asr.parameters())
    model.train()
    assert model.asr.training and model.exporter.training
    assert not any(m.training for m in model.mt.modules())
    model.eval()
    assert not model.asr.training


def test_an_all_blank_asr_gives_empty_hypotheses_and_finite_losses():
    model = _model(ctc_weight=1.0)
    with torch.no_grad():
        model.asr.ctc.ctc_lo.bias[0] = 1e4
    loss, stats, _ = model(**_batch())
    assert stats["hyp_len"] == 0 and stats["loss_l2"] == 0
    assert torch.isfinite(loss)


def test_transformer_exporter_masks_padding():
    exporter = TransformerExporter(16, 24, attention_heads=4).eval()
    x = torch.randn(2, 3, 16)
    lengths = torch.tensor([3, 1])
    out = exporter(x, lengths)
    x2 = x.clone()
    x2[1, 1:] = 99.0  # padding must not change the valid token's output
    assert torch.allclose(exporter(x2, lengths)[1, 0], out[1, 0], atol=1e-5)


def test_token_lists_must_be_one_and_the_asr_needs_ctc():
    with pytest.raises(ValueError, match="token 3 is 'b' in the ASR's and 'q' in"):
        check_compatible(_asr(), _mt(), SRC[:3] + ["q"] + SRC[4:])
    with pytest.raises(ValueError, match="the ASR's has 6 tokens and the MT's 7"):
        check_compatible(_asr(), _mt(), SRC + ["d"])
    asr = _asr()
    asr.ctc = None
    with pytest.raises(ValueError, match="the ASR model has no CTC"):
        check_compatible(asr, _mt(), SRC)


def test_exporting_the_mt_embeddings_decodes_like_the_onebest_cascade(monkeypatch):
    model = _model()
    translator = CascadeTranslator(model, beam_size=3, maxlenratio=2.0)
    speech = _batch()["speech"][0]
    onebest = translator(speech, mode="onebest")
    assert onebest.onebest, "the tiny CTC should emit tokens"
    assert translator(speech, mode="exporter").onebest == onebest.onebest

    def oracle_export(enc, segments):  # an exporter that returns E[ids]
        _, ids, lengths = pool_segments(enc, segments)
        return model.mt_embeddings(ids), ids, lengths

    monkeypatch.setattr(model, "export", oracle_export)
    oracle = translator(speech, mode="exporter")
    assert oracle.translation == onebest.translation
    assert oracle.score == pytest.approx(onebest.score, abs=1e-4)
    assert all(0 < t < len(TGT) - 1 for t in oracle.translation)


def test_an_empty_onebest_still_decodes_and_a_bad_mode_is_refused():
    model = _model()
    with torch.no_grad():
        model.asr.ctc.ctc_lo.bias[0] = 1e4
    translator = CascadeTranslator(model, beam_size=2, maxlenratio=2.0)
    speech = _batch()["speech"][0]
    for mode in MODES:
        assert translator(speech, mode=mode).onebest == []
    with pytest.raises(ValueError, match="mode must be one of"):
        translator(speech, mode="nbest")
