"""The benchmark's two-pass reference: its own Eq. (6)-(7) and (10)-(11)."""

import math

import pytest
import torch

from espnet2_ext.bench.reference import reference_targets, reference_view_gradients
from espnet2_ext.frontend.gsgn import gate_targets, view_gradients


def test_view_gradients_are_sums_of_outer_products():
    delta = torch.tensor([[[1.0, 2.0], [3.0, 0.0]]])  # (1, T=2, D_out=2)
    x_f = torch.tensor([[[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]]])  # (1, 2, D=3)
    a, b = reference_view_gradients(delta, x_f, -x_f)
    # a = outer([1, 2], [1, 0, 2]) + outer([3, 0], [0, 1, 0])
    expected = torch.tensor([[[1.0, 3.0, 2.0], [2.0, 0.0, 4.0]]])
    assert torch.equal(a, expected) and torch.equal(b, -expected)


def test_targets_by_hand():
    # one utterance, D_out = 2, D = 2: dim 0 conflicts, dim 1 agrees
    a = torch.tensor([[[1.0, 1.0], [0.0, 1.0]]])
    b = torch.tensor([[[-1.0, 2.0], [1.0, 0.0]]])
    t = reference_targets(a, b, "dim")
    # dim 0: cos = -1 / (1 * sqrt 2), t = 1 - sqrt 2 * cos / 1 = 2; dim 1: cos > 0
    assert t.shape == (1, 1, 2)
    torch.testing.assert_close(t, torch.tensor([[[2.0, 1.0]]]))
    # utterance: a.b = -1 + 2 + 0 + 0 = 1 > 0 -> 1
    assert reference_targets(a, b, "utterance").item() == 1.0
    # batch of a and -a: the sums cancel, cos is 0 -> 1 (never NaN)
    both = reference_targets(torch.cat([a, -a]), torch.cat([b, b]), "batch")
    assert both.item() == 1.0 and not math.isnan(both.item())


@pytest.mark.parametrize("granularity", ["dim", "utterance", "batch"])
def test_module_helpers_agree_with_the_reference(granularity):
    torch.manual_seed(0)
    delta, x_f = torch.randn(3, 5, 4), torch.randn(3, 5, 6)
    x_s = 0.5 * torch.randn(3, 5, 6) - x_f  # views that mostly conflict
    a, b = view_gradients(delta, x_f, x_s)
    ra, rb = reference_view_gradients(delta, x_f, x_s)
    torch.testing.assert_close(a, ra)
    torch.testing.assert_close(b, rb)
    target, _ = gate_targets(a, b, granularity)
    torch.testing.assert_close(target, reference_targets(ra, rb, granularity))
    assert (target > 1).any()  # conflicting views: the targets are not all 1
