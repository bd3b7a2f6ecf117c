"""ESPnet's trainer tells epoch-aware modules the epoch, also after --resume."""

import pytest
import torch
import yaml
from espnet2.asr.frontend.abs_frontend import AbsFrontend
from espnet2.asr.frontend.default import DefaultFrontend
from espnet2.tasks import st as espnet_st

from espnet2_ext.synth.toy_st import st_train_args, tiny_st_config
from espnet2_ext.tasks.st import MultiViewSTTask
from espnet2_ext.train.trainer import announce_epoch

CALLS = []


class EpochRecordingFrontend(AbsFrontend):
    def __init__(self, fs: int = 16000):
        super().__init__()
        self.fbank = DefaultFrontend(fs=fs, n_mels=16)

    def output_size(self) -> int:
        return 16

    def forward(self, input, input_lengths):
        return self.fbank(input, input_lengths)

    def set_epoch(self, epoch: int) -> None:
        CALLS.append(epoch)


@pytest.fixture
def train(monkeypatch, toy_st, tmp_path):
    monkeypatch.setitem(
        espnet_st.frontend_choices.classes, "epoch_test", EpochRecordingFrontend
    )
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(tiny_st_config("epoch_test")))
    CALLS.clear()

    def run(outdir, max_epoch, *extra):
        MultiViewSTTask.main(
            cmd=st_train_args(toy_st, outdir, config, max_epoch=max_epoch, extra=extra)
        )

    return run


def test_two_epochs_call_set_epoch_with_1_then_2(train, tmp_path):
    train(tmp_path / "exp", 2)
    assert CALLS == [1, 2]
    assert (tmp_path / "exp" / "2epoch.pth").exists()


def test_resume_after_epoch_1_continues_with_epoch_2(train, tmp_path):
    exp = tmp_path / "exp"
    train(exp, 1)
    assert CALLS == [1]
    CALLS.clear()
    train(exp, 2, "--resume", "true")
    assert CALLS == [2]
    assert (exp / "2epoch.pth").exists()


def test_announce_epoch_reaches_nested_modules():
    seen = []

    class Leaf(torch.nn.Module):
        def set_epoch(self, epoch):
            seen.append(epoch)

    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sequential(Leaf()))
    assert announce_epoch(model, 7) == 1
    assert seen == [7]
