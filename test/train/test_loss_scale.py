"""Under AMP the GSGN gate gradient is multiplied by the GradScaler's loss scale.

Uses a real ``torch.amp.GradScaler("cpu")`` (available on CPU since torch 2.3; this
project pins 2.11). ESPnet's own scaler is ``torch.cuda.amp.GradScaler``, which
disables itself (scale 1) on a machine without CUDA, so ``--use_amp true`` on a CPU
changes nothing; the tests hand a CPU scaler to the trainer directly
(:class:`CPUScaler`: ESPnet's ``train_one_epoch`` is type-checked for
``torch.cuda.amp.GradScaler``).
"""

import copy
import dataclasses

import pytest
import torch
from espnet2.train.distributed_utils import DistributedOption
from espnet2.train.reporter import Reporter
from espnet2.train.trainer import Trainer, TrainerOptions

from espnet2_ext.frontend.gsgn import GatedFusion
from espnet2_ext.train.trainer import (
    EpochAwareTrainer,
    follow_loss_scale,
    grad_scale_modules,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore:CUDA is not available:UserWarning"  # ESPnet's torch.cuda.amp.autocast
)
INIT_SCALE = 4.0  # a power of 2: scaling and unscaling are exact


class ScaledModule(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.grad_scale = 1.0


class CPUScaler(torch.cuda.amp.GradScaler):
    """``torch.amp.GradScaler("cpu")`` that passes ESPnet's type check.

    ``torch.cuda.amp.GradScaler`` itself would disable itself without CUDA.
    """

    def __init__(self, **kwargs):
        torch.amp.GradScaler.__init__(self, "cpu", **kwargs)


def _scaler(cls=torch.amp.GradScaler, **kwargs):
    kwargs.setdefault("init_scale", INIT_SCALE)
    kwargs.setdefault("growth_interval", 1)  # the scale doubles after every step
    if cls is torch.amp.GradScaler:
        return cls("cpu", **kwargs)
    return cls(**kwargs)


def _step(scaler, module):
    """One scaled optimizer step on ``module``'s parameter.

    Returns:
        The scale that multiplied the loss and ``module.grad_scale`` at backward.
    """
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    scaled = scaler.scale(module.weight.sum())
    seen = module.grad_scale
    scaled.backward()
    used = scaled.item() / module.weight.sum().item()
    scaler.step(optimizer)
    scaler.update()
    return used, seen


class Leaf(ScaledModule):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(2))


def test_modules_follow_the_scale_and_update_is_restored():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), Leaf())
    leaf = model[1]
    scaler = _scaler()
    assert grad_scale_modules(model) == [leaf]
    with follow_loss_scale(model, scaler) as told:
        assert told == [leaf]
        assert leaf.grad_scale == INIT_SCALE  # before the first forward/backward
        for _ in range(3):
            used, seen = _step(scaler, leaf)
            assert used == seen  # the module held the loss scale during backward
            assert leaf.grad_scale == scaler.get_scale()  # told the new scale
        assert leaf.grad_scale == 8 * INIT_SCALE
        with follow_loss_scale(model, scaler):  # nested: not wrapped twice
            _step(scaler, leaf)
        assert leaf.grad_scale == 16 * INIT_SCALE
        _step(scaler, leaf)  # still followed after the nested block
        assert leaf.grad_scale == 32 * INIT_SCALE
    assert "update" not in vars(scaler)  # the class method again
    _step(scaler, leaf)
    assert scaler.get_scale() == 64 * INIT_SCALE
    assert leaf.grad_scale == 32 * INIT_SCALE  # no longer followed


def test_update_is_restored_after_an_error():
    model, scaler = Leaf(), _scaler()
    with pytest.raises(ValueError):
        with follow_loss_scale(model, scaler):
            raise ValueError
    assert "update" not in vars(scaler)
    assert not hasattr(scaler, "_espnet2_ext_follows_loss_scale")


def test_without_a_scaler_nothing_changes():
    model = Leaf()
    model.grad_scale = 3.0
    with follow_loss_scale(model, None) as told:
        assert told == []
    assert model.grad_scale == 3.0


def test_a_disabled_scaler_reports_scale_1():
    model = Leaf()
    model.grad_scale = 3.0
    with follow_loss_scale(model, torch.amp.GradScaler("cpu", enabled=False)):
        assert model.grad_scale == 1.0


# ------------------------------------------------------------ through ESPnet's loop
class GatedModel(torch.nn.Module):
    """A GSGN fusion on two linear views, returning ESPnet's (loss, stats, weight)."""

    def __init__(self):
        super().__init__()
        self.view_f = torch.nn.Linear(4, 6)
        self.view_s = torch.nn.Linear(4, 6)
        self.fusion = GatedFusion(6, 3, gate_loss_weight=1.0)
        self.seen = []  # (grad_scale in forward, scale of the running scaler)
        self.scaler = None

    def forward(self, feats, lengths, target, **kwargs):
        self.seen.append(
            (self.fusion.grad_scale, self.scaler and self.scaler.get_scale())
        )
        y = self.fusion(self.view_f(feats), self.view_s(feats.flip(-1)), lengths)
        loss = (y - target).pow(2).mean()
        return loss, {"loss": loss.detach()}, torch.tensor(feats.size(0))


def _batches(n=3):
    gen = torch.Generator().manual_seed(0)
    return [
        (
            [f"utt{i}a", f"utt{i}b"],
            dict(
                feats=torch.randn(2, 5, 4, generator=gen),
                lengths=torch.tensor([5, 3]),
                target=torch.randn(2, 5, 3, generator=gen),
            ),
        )
        for i in range(n)
    ]


def _options():
    unset = {f.name: None for f in dataclasses.fields(TrainerOptions)}
    return TrainerOptions(
        **{
            **unset,
            **dict(
                grad_noise=False,
                accum_grad=1,
                grad_clip=1e9,  # never clips (the factor is exactly 1)
                grad_clip_type=2.0,
                log_interval=100,
                no_forward_run=False,
                ngpu=0,
                use_wandb=False,
                create_graph_in_tensorboard=False,
            ),
        }
    )


def _reference_grads(model, batches):
    """Gate gradients of fp32 training without a scaler (grad_scale stays 1)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    grads = []
    for _, batch in batches:
        optimizer.zero_grad()
        model(**batch)[0].backward()
        grads.append(model.fusion.gate_fbank.weight.grad.clone())
        optimizer.step()
    return grads


def _espnet_epoch(trainer, model, batches, monkeypatch):
    """One ESPnet training epoch with a CPU GradScaler; unscaled gate gradients."""
    scaler = _scaler(CPUScaler)
    assert scaler.is_enabled()
    model.scaler = scaler
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    grads = []
    clip = torch.nn.utils.clip_grad_norm_

    def recording_clip(parameters, *args, **kwargs):  # called after unscale_
        grads.append(model.fusion.gate_fbank.weight.grad.clone())
        return clip(parameters, *args, **kwargs)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", recording_clip)
    reporter = Reporter()
    reporter.set_epoch(1)
    with reporter.observe("train") as sub_reporter:
        trainer.train_one_epoch(
            model=model,
            iterator=batches,
            optimizers=[optimizer],
            schedulers=[None],
            scaler=scaler,
            reporter=sub_reporter,
            summary_writer=None,
            options=_options(),
            distributed_option=DistributedOption(distributed=False),
        )
    return scaler, grads


def test_espnet_epoch_gives_the_unscaled_gate_gradient(monkeypatch):
    model, batches = GatedModel(), _batches()
    reference = _reference_grads(copy.deepcopy(model), batches)
    scaler, grads = _espnet_epoch(EpochAwareTrainer, model, batches, monkeypatch)
    # every forward (hence its backward) ran with the scale that multiplied its loss
    assert model.seen == [(4.0, 4.0), (8.0, 8.0), (16.0, 16.0)]
    assert model.fusion.grad_scale == scaler.get_scale() == 32.0
    assert "update" not in vars(scaler)
    assert len(grads) == len(reference) == 3
    for got, want in zip(grads, reference):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-7)


def test_plain_espnet_trainer_gets_the_gate_gradient_wrong(monkeypatch):
    """Control: without the hook the gate-loss part is divided by S at unscale_."""
    model, batches = GatedModel(), _batches(1)
    reference = _reference_grads(copy.deepcopy(model), batches)
    _, grads = _espnet_epoch(Trainer, model, batches, monkeypatch)
    assert model.seen == [(1.0, 4.0)]
    assert not torch.allclose(grads[0], reference[0], rtol=1e-3, atol=1e-6)
