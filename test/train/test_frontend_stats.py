"""The frontend's diagnostics reach ESPnet's training stats, pulled by the model."""

import pytest
import torch
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet2.asr.frontend.default import DefaultFrontend
from espnet2.tasks import st as espnet_st

from espnet2_ext.synth.toy_st import tiny_st_config
from espnet2_ext.tasks.st import MultiViewSTTask
from espnet2_ext.train.frontend_stats import frontend_diagnostics


class DiagnosticFrontend(AbsFrontend):
    """FBank scaled by a parameter s; reports s and how many forwards it ran."""

    def __init__(self, fs: int = 16000, stat_name: str = "aux_scale"):
        super().__init__()
        self.fbank = DefaultFrontend(fs=fs, n_mels=16)
        self.scale = torch.nn.Parameter(torch.full((1,), 1.5))
        self.stat_name = stat_name
        self.forwards = 0

    def output_size(self) -> int:
        return 16

    def diagnostics(self):
        return {
            self.stat_name: self.scale[0].detach(),
            "aux_forwards": torch.tensor(float(self.forwards)),
        }

    def forward(self, input, input_lengths):
        self.forwards += 1
        feats, lens = self.fbank(input, input_lengths)
        return feats * self.scale, lens


def _model(monkeypatch, toy_st, tmp_path, **frontend_conf):
    import yaml

    monkeypatch.setitem(
        espnet_st.frontend_choices.classes, "diag_test", DiagnosticFrontend
    )
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(tiny_st_config("diag_test", frontend_conf)))
    args = MultiViewSTTask.get_parser().parse_args(
        [
            "--config", str(config),
            "--token_list", str(toy_st["tokens_de"]),
            "--src_token_list", str(toy_st["tokens_en"]),
            "--output_dir", str(tmp_path / "exp"),
        ]  # fmt: skip
    )
    torch.manual_seed(0)
    return MultiViewSTTask.build_model(args)


def _batch():
    g = torch.Generator().manual_seed(0)
    return dict(
        speech=torch.randn(2, 8000, generator=g),
        speech_lengths=torch.tensor([8000, 6000]),
        text=torch.tensor([[4, 5, 6], [7, 8, -1]]),
        text_lengths=torch.tensor([3, 2]),
        src_text=torch.tensor([[4, 5], [6, -1]]),
        src_text_lengths=torch.tensor([2, 1]),
    )


def test_training_forward_adds_the_diagnostics_after_the_forward(
    monkeypatch, toy_st, tmp_path
):
    model = _model(monkeypatch, toy_st, tmp_path)
    model.train()
    torch.manual_seed(1)
    loss_plain, stats_plain, _ = model.forward(**_batch())  # .forward skips hooks
    torch.manual_seed(1)
    loss, stats, weight = model(**_batch())
    assert torch.equal(loss, loss_plain)  # the loss is untouched
    assert stats["aux_scale"].item() == pytest.approx(1.5)
    # pulled after this step's forward: the frontend has run twice by then
    assert stats["aux_forwards"].item() == 2.0
    assert "aux_scale" not in stats_plain
    assert set(stats) == set(stats_plain) | {"aux_scale", "aux_forwards"}
    assert weight.item() == 2


def test_eval_forward_adds_nothing(monkeypatch, toy_st, tmp_path):
    model = _model(monkeypatch, toy_st, tmp_path).eval()
    _, stats, _ = model(**_batch())
    assert "aux_scale" not in stats and "aux_forwards" not in stats


def test_a_diagnostic_named_like_a_model_stat_is_an_error(
    monkeypatch, toy_st, tmp_path
):
    model = _model(monkeypatch, toy_st, tmp_path, stat_name="acc").train()
    with pytest.raises(RuntimeError, match="frontend stat 'acc' clashes"):
        model(**_batch())


def test_models_without_frontend_diagnostics_report_nothing():
    assert frontend_diagnostics(torch.nn.Linear(2, 2)) == {}
    holder = torch.nn.Module()
    holder.frontend = torch.nn.Linear(2, 2)
    assert frontend_diagnostics(holder) == {}
