"""The frontend, GSGN, AMP and ESPnet's trainer on a CUDA device.

Marked ``gpu``; every test skips cleanly (with the reason in ``make test``'s summary)
on a machine without CUDA. Tolerances: fp32 CUDA against fp32 CPU to rtol 1e-4 /
atol 1e-5 for outputs and 1e-3 / 1e-5 for gradients (TF32 is switched off; the
remaining difference is summation order); fp16 autocast against fp32 to rtol 2e-2 /
atol 1e-3 (fp16 has an 11-bit mantissa).
"""

import pytest
import torch
import yaml

from espnet2_ext.frontend.gsgn import GatedFusion
from espnet2_ext.frontend.multiview import MultiViewFrontend
from espnet2_ext.train.trainer import follow_loss_scale

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


@pytest.fixture(autouse=True)
def _no_tf32():
    matmul, cudnn = (
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
    )
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = (
        matmul,
        cudnn,
    )


def _batch():
    lengths = torch.tensor([16000, 12001, 4000])
    g = torch.Generator().manual_seed(0)
    wav = torch.randn(3, 16000, generator=g)
    return wav * (torch.arange(16000)[None] < lengths[:, None]), lengths


def test_gsgn_frontend_on_cuda_matches_cpu(tiny_hubert):
    torch.manual_seed(0)
    cpu = MultiViewFrontend(
        upstreams=[{"name": "hubert_local", "path_or_url": str(tiny_hubert)}],
        fusion="gsgn",
        dim=16,
    )
    cuda = MultiViewFrontend(
        upstreams=[{"name": "hubert_local", "path_or_url": str(tiny_hubert)}],
        fusion="gsgn",
        dim=16,
    ).cuda()
    cuda.load_state_dict(cpu.state_dict())
    wav, lengths = _batch()
    for mode in ("eval", "train"):
        getattr(cpu, mode)()
        getattr(cuda, mode)()
        cpu.zero_grad()
        cuda.zero_grad()
        y_cpu, n_cpu = cpu(wav, lengths)
        y_cuda, n_cuda = cuda(wav.cuda(), lengths.cuda())
        assert torch.equal(n_cpu, n_cuda.cpu())
        torch.testing.assert_close(y_cuda.cpu(), y_cpu, rtol=1e-4, atol=1e-5)
        if mode == "train":  # the gate loss rides on this backward (GSGN)
            y_cpu.pow(2).mean().backward()
            y_cuda.pow(2).mean().backward()
            grads = {n: p.grad for n, p in cpu.named_parameters() if p.grad is not None}
            assert "fusion.gate_fbank.weight" in grads
            for name, p in cuda.named_parameters():
                if name in grads:
                    torch.testing.assert_close(
                        p.grad.cpu(), grads[name], rtol=1e-3, atol=1e-5
                    )


def test_amp_with_a_real_grad_scaler_gives_the_unscaled_gate_gradient():
    torch.manual_seed(0)
    fusion = GatedFusion(8, 6).cuda()
    x_f, x_s = torch.randn(2, 5, 8, device="cuda"), torch.randn(2, 5, 8, device="cuda")
    lengths = torch.tensor([5, 3], device="cuda")
    target = torch.randn(2, 5, 6, device="cuda")

    def loss_fn():
        return (fusion(x_f, x_s, lengths) - target).float().pow(2).mean()

    fusion.zero_grad()
    loss_fn().backward()
    reference = fusion.gate_fbank.weight.grad.clone()

    scaler = torch.cuda.amp.GradScaler(init_scale=2.0**10)  # ESPnet's scaler class
    optimizer = torch.optim.SGD(fusion.parameters(), lr=0.0)
    fusion.zero_grad()
    with follow_loss_scale(fusion, scaler):
        assert fusion.grad_scale == 2.0**10
        with torch.autocast("cuda", dtype=torch.float16):
            loss = loss_fn()
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
    torch.testing.assert_close(
        fusion.gate_fbank.weight.grad, reference, rtol=2e-2, atol=1e-3
    )


def test_one_training_epoch_through_espnets_trainer_on_cuda(
    toy_st, tiny_hubert, tmp_path
):
    from espnet2.train.reporter import Reporter

    from espnet2_ext.synth.toy_st import st_train_args, tiny_st_config
    from espnet2_ext.tasks.st import MultiViewSTTask

    frontend_conf = dict(
        upstreams=[{"name": "hubert_local", "path_or_url": str(tiny_hubert)}],
        fusion="gsgn",
        dim=16,
    )
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(tiny_st_config("multiview", frontend_conf)))
    exp = tmp_path / "exp"
    extra = ["--ngpu", "1", "--use_amp", "true"]
    MultiViewSTTask.main(cmd=st_train_args(toy_st, exp, config, 1, extra))
    state = torch.load(exp / "checkpoint.pth", map_location="cpu", weights_only=False)
    reporter = Reporter()
    reporter.load_state_dict(state["reporter"])
    loss = reporter.stats[1]["train"]["loss"]
    assert torch.isfinite(torch.as_tensor(loss))
    assert (exp / "1epoch.pth").exists()
