"""The masked BCE: unobserved entries contribute nothing."""

from __future__ import annotations

import torch

from learner.ml.network import masked_bce


def _loss_and_grad(targets: torch.Tensor, mask: torch.Tensor, weak: torch.Tensor | None):
    torch.manual_seed(0)
    logits = torch.randn(4, 3, requires_grad=True)
    loss = masked_bce(logits, targets, mask, torch.ones(4, 3), torch.full((3,), 2.0), weak)
    loss.backward()
    return loss.detach(), logits.grad.clone()


def test_unobserved_target_has_no_effect_on_loss_or_gradient() -> None:
    mask = torch.tensor([[1, 0, 1], [0, 0, 1], [1, 1, 1], [0, 1, 0]], dtype=torch.bool)
    base = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.2, 0.8, 0.0], [1.0, 0.0, 1.0]])
    changed = base.clone()
    changed[~mask] = 1.0 - changed[~mask]
    with_nan = base.clone()
    with_nan[~mask] = float("nan")
    loss_a, grad_a = _loss_and_grad(base, mask, None)
    loss_b, grad_b = _loss_and_grad(changed, mask, None)
    loss_c, grad_c = _loss_and_grad(with_nan, mask, None)
    assert torch.equal(loss_a, loss_b) and torch.equal(loss_a, loss_c)
    assert torch.equal(grad_a, grad_b) and torch.equal(grad_a, grad_c)
    # The core loss gives exactly zero gradient on unobserved entries.
    assert torch.all(grad_a[~mask] == 0)
    assert torch.all(grad_a[mask] != 0)


def test_weak_negative_depends_only_on_the_mask() -> None:
    mask = torch.tensor([[1, 0, 1], [0, 0, 1], [1, 1, 1], [0, 1, 0]], dtype=torch.bool)
    base = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.2, 0.8, 0.0], [1.0, 0.0, 1.0]])
    changed = base.clone()
    changed[~mask] = 1.0 - changed[~mask]
    weak = torch.full((3,), 0.1)
    loss_a, grad_a = _loss_and_grad(base, mask, weak)
    loss_b, grad_b = _loss_and_grad(changed, mask, weak)
    assert torch.equal(loss_a, loss_b) and torch.equal(grad_a, grad_b)
    # With the weak term on, unobserved entries are pushed down (positive gradient).
    assert torch.all(grad_a[~mask] > 0)


def test_confidence_weight_scales_the_observed_entry() -> None:
    logits = torch.zeros(1, 1)
    t, m, pw = torch.ones(1, 1), torch.ones(1, 1, dtype=torch.bool), torch.ones(1)
    full = masked_bce(logits, t, m, torch.ones(1, 1), pw)
    half = masked_bce(logits, t, m, torch.full((1, 1), 0.5), pw)
    assert torch.isclose(half, full / 2)
