"""GSGN: the one-pass gate loss against a slow two-pass reference, targets, diagnostics.

The reference in this file re-implements the GSGN forward with plain tensor ops on the
module's own parameters, gets ``delta = dL/dy`` with a first ``autograd.grad``, forms
the per-view gradients, cosines and targets with Python loops, adds
``lambda * MSE(g_f, t)`` explicitly and backpropagates. The module must give the same
gradient on every parameter (and on the inputs) with one ordinary ``backward``.
"""

import math

import pytest
import torch
from typeguard import TypeCheckError

from espnet2_ext.frontend import gsgn as gsgn_mod
from espnet2_ext.frontend.branch_dropout import FBANK, FUSED, SSL
from espnet2_ext.frontend.fusion import build_fusion
from espnet2_ext.frontend.gsgn import DIAGNOSTIC_KEYS, GatedFusion, gate_targets

D, D_OUT, D_HEAD = 4, 3, 5
LENGTHS = [7, 5, 2, 6]


def make_case(seed=0, lengths=LENGTHS, **conf):
    """A float64 GatedFusion, a Linear head, inputs and a regression target."""
    torch.manual_seed(seed)
    module = GatedFusion(D, D_OUT, **conf).double()
    head = torch.nn.Linear(D_OUT, D_HEAD).double()
    batch, frames = len(lengths), max(lengths)
    x_f = torch.randn(batch, frames, D, dtype=torch.float64, requires_grad=True)
    x_s = torch.randn(batch, frames, D, dtype=torch.float64, requires_grad=True)
    target = torch.randn(batch, frames, D_HEAD, dtype=torch.float64)
    return module, head, x_f, x_s, torch.tensor(lengths), target


def task_loss(head, y, target, lengths):
    """Masked MSE over valid frames."""
    valid = torch.arange(y.size(1))[None, :] < lengths[:, None]
    err = (head(y) - target).pow(2).sum(-1)
    return (err * valid).sum() / valid.sum()


def grads_of(*modules_and_tensors):
    out = []
    for item in modules_and_tensors:
        if isinstance(item, torch.nn.Module):
            out += [p.grad.clone() for p in item.parameters()]
        else:
            out.append(item.grad.clone())
    return out


def zero_grads(*modules_and_tensors):
    for item in modules_and_tensors:
        if isinstance(item, torch.nn.Module):
            item.zero_grad(set_to_none=True)
        else:
            item.grad = None


def reference_targets(a, b, granularity, fused):
    """Targets per (utterance, dim) from a, b (B, D_out, D) with plain loops."""
    batch = a.size(0)
    if granularity == "batch":
        a_sum = sum(a[i] for i in range(batch) if fused[i])
        b_sum = sum(b[i] for i in range(batch) if fused[i])
        a, b = a_sum.expand_as(a), b_sum.expand_as(b)
    targets = torch.ones(batch, D, dtype=a.dtype)
    for i in range(batch):
        for d in range(D):
            if granularity == "dim":
                u, v = a[i, :, d], b[i, :, d]
            else:
                u, v = a[i].flatten(), b[i].flatten()
            nu, nv = u.norm(), v.norm()
            cos = torch.dot(u, v) / (nu * nv) if nu * nv > 0 else 0.0
            if cos < 0:
                targets[i, d] = 1 - nv * cos / nu
    return targets


def reference_gradients(
    module,
    head,
    x_f,
    x_s,
    lengths,
    target,
    branches,
    lam,
    gate_activation="2sigmoid",
    cos_granularity="dim",
    learn_ssl_gate=False,
):
    """Two-pass reference: delta by autograd.grad, then task + gate loss backward.

    The options are the ones the module was built with, given again here (with the
    paper's defaults), not read back from the module.
    """
    p = dict(module.named_parameters())
    act = (
        (lambda z: 2 * torch.sigmoid(z))
        if gate_activation == "2sigmoid"
        else torch.sigmoid
    )
    g = act(
        x_f @ p["gate_fbank.weight"].T
        + p["gate_fbank.bias"]
        + x_s @ p["gate_ssl.weight"].T
    )
    if learn_ssl_gate:
        gs = act(
            x_f @ p["ssl_gate_fbank.weight"].T
            + p["ssl_gate_fbank.bias"]
            + x_s @ p["ssl_gate_ssl.weight"].T
        )
    else:
        gs = torch.ones_like(g)
    batch, frames, _ = x_f.shape
    coef_f, coef_s = [], []
    for i in range(batch):
        code = int(branches[i])
        if code == FUSED:
            coef_f.append(g[i])
            coef_s.append(gs[i])
        elif code == FBANK:
            coef_f.append(torch.ones_like(g[i]))
            coef_s.append(torch.zeros_like(g[i]))
        else:
            coef_f.append(torch.zeros_like(g[i]))
            coef_s.append(torch.ones_like(g[i]))
    x = torch.stack(coef_f) * x_f + torch.stack(coef_s) * x_s
    valid = (torch.arange(frames)[None, :] < lengths[:, None]).unsqueeze(-1)
    y = (x @ p["fusion_layer.weight"].T + p["fusion_layer.bias"]) * valid
    loss = task_loss(head, y, target, lengths)
    (delta,) = torch.autograd.grad(loss, y, retain_graph=True)
    a = torch.zeros(batch, D_OUT, D, dtype=x.dtype)
    b = torch.zeros(batch, D_OUT, D, dtype=x.dtype)
    for i in range(batch):
        for t in range(int(lengths[i])):
            a[i] += torch.outer(delta[i, t], x_f[i, t].detach())
            b[i] += torch.outer(delta[i, t], x_s[i, t].detach())
    fused = [int(c) == FUSED for c in branches]
    targets = reference_targets(a, b, cos_granularity, fused)
    if gate_activation == "sigmoid":
        targets = targets.clamp(max=1.0)
    gate_loss, count = 0.0, 0
    for i in range(batch):
        if fused[i]:
            n = int(lengths[i])
            gate_loss = gate_loss + (g[i, :n] - targets[i]).pow(2).sum()
            count += n * D
    zero_grads(module, head, x_f, x_s)
    (loss + lam * gate_loss / count).backward()
    return grads_of(module, head, x_f, x_s)


def one_pass_gradients(module, head, x_f, x_s, lengths, target, branches):
    zero_grads(module, head, x_f, x_s)
    y = module(x_f, x_s, lengths, branches=branches)
    task_loss(head, y, target, lengths).backward()
    return grads_of(module, head, x_f, x_s)


def assert_all_close(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------- (1) one pass == two passes
@pytest.mark.parametrize("granularity", ["dim", "utterance", "batch"])
@pytest.mark.parametrize(
    "branches", [[FUSED, FUSED, FUSED, FUSED], [FUSED, FBANK, FUSED, SSL]]
)
def test_one_pass_equals_two_pass_reference(granularity, branches):
    case = make_case(cos_granularity=granularity)
    branches = torch.tensor(branches)
    got = one_pass_gradients(*case, branches)
    want = reference_gradients(*case, branches, 1.0, cos_granularity=granularity)
    assert_all_close(got, want)


@pytest.mark.parametrize(
    "conf",
    [
        {"gate_activation": "sigmoid"},
        {"learn_ssl_gate": True},
        {"gate_loss_weight": 0.25, "cos_granularity": "utterance"},
    ],
)
def test_one_pass_equals_reference_other_options(conf):
    case = make_case(seed=1, **conf)
    branches = torch.tensor([FUSED, SSL, FUSED, FBANK])
    got = one_pass_gradients(*case, branches)
    options = {k: v for k, v in conf.items() if k != "gate_loss_weight"}
    lam = conf.get("gate_loss_weight", 1.0)
    want = reference_gradients(*case, branches, lam, **options)
    assert_all_close(got, want)


def test_one_pass_with_sampled_branches_uses_a_mix():
    """Branches drawn by the module (seeded generator) in training mode."""
    module, head, x_f, x_s, lengths, target = make_case(
        seed=2, branch_dropout=[[1, 0.4, 0.3]]
    )
    module.train()
    module.generator = torch.Generator().manual_seed(1)
    branches = module.sample(len(LENGTHS))
    module.generator.manual_seed(1)
    zero_grads(module, head, x_f, x_s)
    task_loss(head, module(x_f, x_s, lengths), target, lengths).backward()
    got = grads_of(module, head, x_f, x_s)
    assert set(branches.tolist()) == {FUSED, FBANK, SSL}  # seed 1 draws [0, 1, 2, 0]
    want = reference_gradients(module, head, x_f, x_s, lengths, target, branches, 1.0)
    assert_all_close(got, want)


def test_reference_differs_without_gate_loss():
    """Sanity: the gate loss changes the gate gradients (the test above has teeth)."""
    module, head, x_f, x_s, lengths, target = make_case()
    branches = torch.tensor([FUSED] * 4)
    got = one_pass_gradients(module, head, x_f, x_s, lengths, target, branches)
    plain = reference_gradients(module, head, x_f, x_s, lengths, target, branches, 0.0)
    assert not torch.allclose(got[0], plain[0])  # gate_fbank.weight
    torch.testing.assert_close(got[3], plain[3])  # fusion_layer.weight: task only


# ------------------------------------------------------------ (2) known conflicts
def test_gate_targets_exact_values():
    a = torch.tensor([[[1.0, 3.0, 1.0, 0.0], [0.0, 4.0, 1.0, 0.0]]])  # (1, 2, 4)
    b = torch.tensor([[[-1.0, 0.0, 2.0, 1.0], [0.0, -2.0, 0.0, 1.0]]])
    t, cos = gate_targets(a, b, "dim")
    assert t.shape == cos.shape == (1, 1, 4)
    # col 0: cos -1, |b|/|a| = 1 -> 2; col 1: cos -0.8, |b|/|a| = 2/5 -> 1.32;
    # col 2: cos > 0 -> 1; col 3: |a| = 0 -> cos 0, t 1 (no NaN)
    torch.testing.assert_close(t.view(-1), torch.tensor([2.0, 1.32, 1.0, 1.0]))
    torch.testing.assert_close(cos.view(-1)[:2], torch.tensor([-1.0, -0.8]))
    assert cos.view(-1)[3] == 0.0


def test_gate_targets_guards_and_no_gradient():
    a = torch.zeros(2, 3, 4, requires_grad=True)
    b = torch.randn(2, 3, 4, requires_grad=True)
    for granularity in ("dim", "utterance", "batch"):
        t, cos = gate_targets(a, b, granularity)
        assert not t.requires_grad and not cos.requires_grad
        assert torch.equal(t, torch.ones_like(t))
        t, cos = gate_targets(b, torch.zeros_like(b), granularity)  # |b| = 0
        assert torch.equal(t, torch.ones_like(t)) and torch.equal(cos, 0 * cos)
    # utterance granularity: one cosine over the flattened matrices
    a = torch.tensor([[[1.0, 0.0]], [[1.0, 1.0]]])
    b = torch.tensor([[[-2.0, 0.0]], [[1.0, 0.0]]])
    t, _ = gate_targets(a, b, "utterance")
    torch.testing.assert_close(t.view(-1), torch.tensor([3.0, 1.0]))
    # batch granularity, only fused utterances summed: a = (1, 0), b = (-2, 0) -> 3
    t, _ = gate_targets(a, b, "batch", fused=torch.tensor([True, False]))
    assert t.shape == (1, 1, 1) and t.item() == pytest.approx(3.0)


def conflict_case(**conf):
    """One utterance, one frame, zero gate weights (g_f = act(0)), loss = v . y.

    With one frame ``a[:, d] = v x_f[d]`` and ``b[:, d] = v x_s[d]``, so the cosine of
    column d is the sign of ``x_f[d] x_s[d]`` and ``|b| / |a| = |x_s[d]| / |x_f[d]|``.
    """
    module = GatedFusion(D, D_OUT, **conf).double()
    with torch.no_grad():
        module.gate_fbank.weight.zero_()
        module.gate_fbank.bias.zero_()
        module.gate_ssl.weight.zero_()
    x_f = torch.tensor([[[1.0, 2.0, -1.0, 0.0]]], dtype=torch.float64)
    x_s = torch.tensor([[[-3.0, 1.0, 2.0, 5.0]]], dtype=torch.float64)
    v = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    y = module(x_f, x_s, torch.tensor([1]))
    (y * v).sum().backward()
    task_grad_g = (v @ module.fusion_layer.weight.detach()) * x_f.view(-1)
    return module, task_grad_g


def test_known_conflict_targets_through_the_module():
    module, task_grad_g = conflict_case()
    # targets: d0 conflict 1 + 3/1 = 4; d1 agree 1; d2 conflict 1 + 2/1 = 3; d3 |a|=0
    targets = torch.tensor([4.0, 1.0, 3.0, 1.0], dtype=torch.float64)
    gate_grad = 2 * (1.0 - targets) / D  # lambda 1, g_f = 2 sigmoid(0) = 1, N = 1 * D
    # dg/dc = 2 sigmoid'(0) = 0.5
    want = 0.5 * (task_grad_g + gate_grad)
    torch.testing.assert_close(module.gate_fbank.bias.grad, want)


# ------------------------------------ (3) frame-constant gate: g_f a + b == dL/dW_o
def test_frame_constant_gate_recovers_fusion_layer_gradient():
    module, head, x_f, x_s, lengths, target = make_case(seed=3)
    with torch.no_grad():
        module.gate_fbank.weight.zero_()
        module.gate_ssl.weight.zero_()
        module.gate_fbank.bias.copy_(torch.randn(D))
    y = module(x_f, x_s, lengths)
    loss = task_loss(head, y, target, lengths)
    (delta,) = torch.autograd.grad(loss, y, retain_graph=True)
    loss.backward()
    g_f = 2 * torch.sigmoid(module.gate_fbank.bias.detach())  # (D,), same every frame
    a = torch.einsum("bto,btd->bod", delta, x_f.detach())
    b = torch.einsum("bto,btd->bod", delta, x_s.detach())
    want = (g_f * a + b).sum(0)
    torch.testing.assert_close(module.fusion_layer.weight.grad, want)


# -------------------------------------------------------- (4) lambda = 0 baseline
def test_zero_weight_is_plain_gated_fusion_and_skips_products(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("gradient products formed with gate_loss_weight = 0")

    monkeypatch.setattr(gsgn_mod, "view_gradients", forbidden)
    module, head, x_f, x_s, lengths, target = make_case(gate_loss_weight=0.0)
    branches = torch.tensor([FUSED, FBANK, FUSED, SSL])
    got = one_pass_gradients(module, head, x_f, x_s, lengths, target, branches)
    # plain autograd through the same ops (no custom function, no gate loss)
    zero_grads(module, head, x_f, x_s)
    g = module.gates(x_f, x_s)[0]
    codes = branches.view(-1, 1, 1)
    g_f = (codes == FUSED) * g + (codes == FBANK)
    g_s = ((codes == FUSED) | (codes == SSL)).double()
    y = module.fusion_layer(g_f * x_f + g_s * x_s)
    y = y * (torch.arange(7)[None, :] < lengths[:, None]).unsqueeze(-1)
    task_loss(head, y, target, lengths).backward()
    assert_all_close(got, grads_of(module, head, x_f, x_s))
    diag = module.diagnostics()
    assert diag["loss_gate"] == 0.0 and math.isnan(diag["gate_cos"])


# -------------------------------------------------------- (5) sigmoid clips targets
def test_sigmoid_activation_clips_targets_to_one():
    module, task_grad_g = conflict_case(gate_activation="sigmoid")
    # every target is min(t, 1) = 1 although d0 and d2 conflict; g_f = sigmoid(0)
    gate_grad = 2 * (0.5 - 1.0) / D
    want = 0.25 * (task_grad_g + gate_grad)  # sigmoid'(0) = 0.25
    torch.testing.assert_close(module.gate_fbank.bias.grad, want)
    diag = module.diagnostics()
    assert diag["loss_gate"].item() == pytest.approx(0.25)  # (0.5 - 1)^2
    assert diag["gate_conflict"].item() == pytest.approx(0.5)


# -------------------------------------------------------- (6) padding is inert
def test_padded_frames_affect_neither_outputs_nor_gradients():
    lengths = torch.tensor([7, 5, 2])
    results = []
    for fill in (0.0, 100.0):
        module, head, x_f, x_s, _, target = make_case(seed=4, lengths=[7, 5, 2])
        pad = torch.arange(7)[None, :, None] >= lengths[:, None, None]
        with torch.no_grad():
            x_f.masked_fill_(pad, fill)
            x_s.masked_fill_(pad, -fill)
        y = module(x_f, x_s, lengths, branches=torch.tensor([FUSED, FUSED, FBANK]))
        (head(y) ** 2).sum().backward()  # reads padded outputs too
        assert torch.all(y[pad.expand_as(y)] == 0)
        results.append((y.detach(), grads_of(module, head)))
    torch.testing.assert_close(results[0][0], results[1][0])
    assert_all_close(results[0][1], results[1][1])


# -------------------------------------------------------- (7) diagnostics
def test_diagnostics_on_constructed_conflicts():
    module = GatedFusion(D, D_OUT)
    first = module.diagnostics()
    assert tuple(first) == DIAGNOSTIC_KEYS
    assert all(math.isnan(v) for v in first.values())
    module, _ = conflict_case()
    diag = module.diagnostics()
    assert tuple(diag) == DIAGNOSTIC_KEYS
    assert all(v.dim() == 0 and not v.requires_grad for v in diag.values())
    # cosines per dim: -1, 1, -1, 0 (|a| = 0); gates all exactly 1
    assert diag["gate_cos"].item() == pytest.approx(-0.25)
    assert diag["gate_conflict"].item() == pytest.approx(0.5)
    assert diag["gate_mean"].item() == pytest.approx(1.0)
    assert diag["gate_above1"].item() == 0.0
    assert diag["loss_gate"].item() == pytest.approx((9.0 + 4.0) / 4)
    diag["gate_cos"] = None  # a new dict each call
    assert module.diagnostics()["gate_cos"] is not None


def test_diagnostics_nan_without_fused_utterances_and_zero_gate_grads():
    module, head, x_f, x_s, lengths, target = make_case(seed=6)
    branches = torch.tensor([FBANK] * 4)
    got = one_pass_gradients(module, head, x_f, x_s, lengths, target, branches)
    names = [n for n, _ in module.named_parameters()]
    for name, grad in zip(names, got):
        if name.startswith("gate_"):
            assert torch.count_nonzero(grad) == 0  # a gradient, all zeros
        else:
            assert torch.count_nonzero(grad) > 0
    assert all(math.isnan(v) for v in module.diagnostics().values())


def test_grad_scale_multiplies_the_added_gate_gradient():
    grads, losses = [], []
    for scale in (1.0, 8.0):
        module, head, x_f, x_s, lengths, target = make_case(seed=7, grad_scale=scale)
        y = module(x_f, x_s, lengths)
        (scale * task_loss(head, y, target, lengths)).backward()  # as a GradScaler
        grads.append(grads_of(module))
        losses.append(module.diagnostics()["loss_gate"])
    for unscaled, scaled in zip(*grads):
        torch.testing.assert_close(scaled, 8.0 * unscaled)
    assert losses[0] > 0
    torch.testing.assert_close(losses[0], losses[1])  # the logged value is unscaled


# ------------------------------------- (8) construction and forward (D = 8, D_OUT = 6)
D8, D8_OUT = 8, 6


def fusion_inputs(batch=3, frames=7, lengths=(7, 4, 1)):
    return (
        torch.randn(batch, frames, D8),
        torch.randn(batch, frames, D8),
        torch.tensor(lengths),
    )


def frame_mask(lengths, num_frames):
    """Valid-frame mask (B, T), the reference: ``t < lengths[b]``."""
    return torch.arange(num_frames)[None, :] < lengths[:, None]


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_learned_ssl_gate_parameter_count():
    module = build_fusion("gsgn", D8, D8_OUT, learn_ssl_gate=True)
    assert n_params(module) == 190 + 64 + 8 + 64


def test_gsgn_forward_value():
    module = GatedFusion(D8, D8_OUT)
    x_f, x_s, lengths = fusion_inputs()
    g = 2 * torch.sigmoid(module.gate_fbank(x_f) + module.gate_ssl(x_s))
    want = module.fusion_layer(g * x_f + x_s)
    valid = frame_mask(lengths, 7)
    y = module(x_f, x_s, lengths)
    torch.testing.assert_close(y[valid], want[valid])
    assert module.gate_ssl.bias is None  # c lives in the FBank-side Linear only


def test_frames_are_independent():
    module = GatedFusion(D8, D8_OUT)
    x_f, x_s, lengths = fusion_inputs()
    y = module(x_f, x_s, lengths)
    x_f2 = x_f.clone()
    x_f2[0, 3] += 1.0
    y2 = module(x_f2, x_s, lengths)
    changed = (y2 - y).abs().sum(-1) > 0
    assert changed[0, 3] and changed.sum() == 1


def test_gsgn_diagnostics_before_backward():
    diag = build_fusion("gsgn", D8, D8_OUT).diagnostics()
    assert set(diag) == {
        "loss_gate",
        "gate_cos",
        "gate_conflict",
        "gate_mean",
        "gate_above1",
    }
    assert all(math.isnan(v) for v in diag.values())


def test_gsgn_option_errors():
    with pytest.raises(ValueError, match="gate_activation"):
        build_fusion("gsgn", D8, D8_OUT, gate_activation="softmax")
    with pytest.raises(ValueError, match="cos_granularity"):
        build_fusion("gsgn", D8, D8_OUT, cos_granularity="frame")
    with pytest.raises(ValueError, match="gate_loss_weight"):
        build_fusion("gsgn", D8, D8_OUT, gate_loss_weight=-1.0)
    with pytest.raises(TypeCheckError):  # typeguard: YAML gave a string
        build_fusion("gsgn", D8, D8_OUT, gate_loss_weight="1.0")
