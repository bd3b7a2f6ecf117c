"""A frontend's extra loss reaches the model's loss, its gradient and ESPnet's stats."""

import pytest
import torch
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet2.asr.frontend.default import DefaultFrontend
from espnet2.tasks import st as espnet_st

from espnet2_ext.tasks.frontend_report import FrontendReport, report_loss, report_stats
from espnet2_ext.tasks.st import MultiViewSTTask
from espnet2_ext.corpora.toy_st import tiny_st_config


class AuxLossFrontend(AbsFrontend):
    """FBank scaled by a parameter s, reporting the extra loss weight * s**2."""

    def __init__(self, fs: int = 16000, weight: float = 0.5):
        super().__init__()
        self.fbank = DefaultFrontend(fs=fs, n_mels=16)
        self.scale = torch.nn.Parameter(torch.ones(1))
        self.weight = weight

    def output_size(self) -> int:
        return 16

    def forward(self, input, input_lengths):
        feats, lens = self.fbank(input, input_lengths)
        report_loss("loss_aux", self.weight * (self.scale**2).sum())
        report_stats({"aux_scale": self.scale[0]})
        return feats * self.scale, lens


@pytest.fixture
def model(monkeypatch, toy_st, tmp_path):
    import yaml

    monkeypatch.setitem(espnet_st.frontend_choices.classes, "aux_test", AuxLossFrontend)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(tiny_st_config("aux_test", {"weight": 0.5})))
    parser = MultiViewSTTask.get_parser()
    args = parser.parse_args(
        [
            "--config", str(config),
            "--token_list", str(toy_st["tokens_de"]),
            "--src_token_list", str(toy_st["tokens_en"]),
            "--output_dir", str(tmp_path / "exp"),
        ]  # fmt: skip
    )
    torch.manual_seed(0)
    return MultiViewSTTask.build_model(args).eval()  # no dropout: two forwards agree


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


def test_extra_loss_is_added_to_loss_and_stats(model):
    batch = _batch()
    loss_plain, stats_plain, _ = model.forward(**batch)  # .forward skips the hooks
    loss, stats, weight = model(**batch)
    assert torch.allclose(loss, loss_plain + 0.5)
    assert stats["loss_aux"].item() == pytest.approx(0.5)
    assert stats["aux_scale"].item() == pytest.approx(1.0)
    assert stats["loss"].item() == pytest.approx(loss.item())
    assert "loss_aux" not in stats_plain
    assert weight.item() == 2


def test_extra_loss_changes_the_frontend_gradient_by_its_own_gradient(model):
    batch = _batch()
    model.forward(**batch)[0].sum().backward()
    grad_plain = model.frontend.scale.grad.clone()
    model.zero_grad()
    model(**batch)[0].sum().backward()
    # d(0.5 * s**2)/ds = s = 1
    assert torch.allclose(model.frontend.scale.grad, grad_plain + 1.0, atol=1e-5)


def test_reporting_outside_a_model_step_is_a_no_op():
    assert report_loss("x", torch.ones(())) is False
    assert report_stats({"y": 1.0}) is False
    assert FrontendReport().total_loss() is None
