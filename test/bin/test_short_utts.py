"""Stage 12's length check: the model's minimum input, and the utterances below it."""

import pytest
import torch

from espnet2_ext.bin import short_utts


def test_min_input_samples_finds_the_exact_threshold():
    calls = []

    def works(n):
        calls.append(n)
        return n >= 961

    assert short_utts.min_input_samples(works) == 961
    assert max(calls) == 1024  # never longer than the next power of two
    assert short_utts.min_input_samples(lambda n: True) == 1
    with pytest.raises(ValueError, match="encodes no input of up to 100 samples"):
        short_utts.min_input_samples(lambda n: False, limit=100)


class FbankConv2dModel(torch.nn.Module):
    """ESPnet's FBank frontend (400-sample window, 160 hop) and a conv2d encoder."""

    def __init__(self):
        super().__init__()
        from espnet2.asr.encoder.transformer_encoder import TransformerEncoder
        from espnet2.asr.frontend.default import DefaultFrontend

        self.frontend = DefaultFrontend(fs=16000, n_fft=400, hop_length=160, n_mels=20)
        self.encoder = TransformerEncoder(
            20,
            output_size=8,
            attention_heads=1,
            linear_units=8,
            num_blocks=1,
            input_layer="conv2d",
        )

    def encode(self, speech, lengths):
        feats, feat_lengths = self.frontend(speech, lengths)
        out, out_lengths, _ = self.encoder(feats, feat_lengths)
        return out, out_lengths


def test_the_minimum_of_a_real_frontend_and_encoder_is_computed_by_hand():
    model = FbankConv2dModel().eval()
    # conv2d subsampling needs 7 frames (ESPnet's check_short_utt); the centred STFT
    # gives 1 + n // 160 frames: 7 frames from n = 960 samples on.
    assert not short_utts.encodes(model, 959)
    assert short_utts.encodes(model, 960)
    found = short_utts.min_input_samples(lambda n: short_utts.encodes(model, n))
    assert found == 960


def test_too_short_utterances_are_named_with_their_line(tmp_path, monkeypatch):
    data = tmp_path / "test"
    data.mkdir()
    (data / "utt2num_samples").write_text("a 16000\nb 480\nc 959\nd 960\n")
    assert short_utts.too_short(data, 960) == [
        f"{data}/utt2num_samples:2: 'b' has 480 samples (30.0 ms)",
        f"{data}/utt2num_samples:3: 'c' has 959 samples (59.9 ms)",
    ]
    monkeypatch.setattr(short_utts, "model_min_samples", lambda task, config: 960)
    with pytest.raises(ValueError) as e:
        short_utts.check_sets("st", tmp_path / "config.yaml", [data])
    assert str(e.value) == (
        f"2 utterance(s) are shorter than the 960 samples (60.0 ms) the model of"
        f" {tmp_path}/config.yaml needs (its frontend windows and encoder input"
        " layer) and cannot be decoded - remove them from the source data dir and"
        " rerun from stage 3:\n"
        f"  {data}/utt2num_samples:2: 'b' has 480 samples (30.0 ms)\n"
        f"  {data}/utt2num_samples:3: 'c' has 959 samples (59.9 ms)"
    )
