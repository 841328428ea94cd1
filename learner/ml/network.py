"""The default PyTorch model: sparse TF-IDF -> shared hidden layer -> L logits.

The sparse input layer ``X @ W`` is computed with scipy (CSR @ dense) and its
gradient ``X.T @ dL/dpre`` too: each minibatch touches only the rows of ``W``
for the features present in it, and ``RowAdam`` updates just those rows
("lazy" Adam, as ``torch.optim.SparseAdam`` does). Profiling showed torch's
EmbeddingBag backward and SparseAdam's ``coalesce`` to dominate step time on
CPU; this path is about 2x faster.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from torch.nn import functional as F


class TagNet(nn.Module):
    """Shared hidden layer, one output per label, optional label-correlation stage.

    ``input_weight`` (n_features, hidden [+ n_labels if ``wide``]) is applied
    to the sparse TF-IDF rows outside autograd (scipy CSR @ dense), see
    ``sparse_input``; the module itself works from that pre-activation. With
    ``wide`` the last ``n_labels`` columns are a linear path added to the logits.

    The correlation stage is a second stage that sees the other labels'
    first-stage probabilities: ``z = z1 + (C * offdiag) @ sigmoid(z1)``, with
    ``C`` initialised at zero so it starts as the plain network.
    """

    # Registered as a buffer in ``__init__`` when ``correlation`` is on.
    offdiag: torch.Tensor

    def __init__(
        self, n_features: int, n_labels: int, hidden: int, dropout: float, correlation: bool, wide: bool = False
    ) -> None:
        super().__init__()
        self.n_hidden = hidden
        self.wide = wide
        weight = torch.randn(n_features, hidden + (n_labels if wide else 0)) * 0.05
        if wide:
            # The wide (linear) path starts at zero: a logistic model on top of the network.
            weight[:, hidden:] = 0.0
        self.input_weight = nn.Parameter(weight, requires_grad=False)
        self.hidden_bias = nn.Parameter(torch.zeros(hidden))
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, n_labels)
        self.correlation = nn.Linear(n_labels, n_labels, bias=False) if correlation else None
        if self.correlation is not None:
            nn.init.zeros_(self.correlation.weight)
            self.register_buffer("offdiag", 1.0 - torch.eye(n_labels))

    def hidden_from_pre(self, pre: torch.Tensor) -> torch.Tensor:
        return F.relu(pre[:, : self.n_hidden] + self.hidden_bias)

    def forward(self, pre: torch.Tensor) -> torch.Tensor:
        """Logits from the pre-activation ``X @ input_weight`` (hidden part, then wide part)."""
        z1: torch.Tensor = self.out(self.dropout(self.hidden_from_pre(pre)))
        if self.wide:
            z1 = z1 + pre[:, self.n_hidden :]
        if self.correlation is None:
            return z1
        return z1 + F.linear(torch.sigmoid(z1), self.correlation.weight * self.offdiag)

    def pre(self, x: sp.csr_matrix) -> torch.Tensor:
        """``X @ input_weight`` for a CSR matrix (no gradient)."""
        return torch.from_numpy(np.asarray(x @ self.input_weight.detach().numpy(), dtype=np.float32))


class RowAdam:
    """Adam on the rows of a large matrix that a minibatch actually touched.

    Moments of untouched rows are left as they are (lazy Adam, as in
    ``SparseAdam``); bias correction uses the global step.
    """

    def __init__(
        self,
        weight: torch.Tensor,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        self.weight, self.lr, self.betas, self.eps = weight, lr, betas, eps
        self.m = torch.zeros_like(weight)
        self.v = torch.zeros_like(weight)
        self.t = 0
        self.weight_decay = weight_decay
        self.last = torch.zeros(weight.shape[0], dtype=torch.int64)

    @torch.no_grad()
    def _decay(self, rows: torch.Tensor | None) -> None:
        """Decoupled weight decay (AdamW), applied lazily: a row touched now is
        shrunk for every step since it was last touched, which equals decaying
        every row at every step. Adam gives a rare n-gram full-size steps, so
        without decay rare n-grams memorise their few training rows."""
        if self.weight_decay <= 0:
            return
        keep = 1.0 - self.lr * self.weight_decay
        if rows is None:
            gap = (self.t - self.last).to(torch.float32)
            self.weight.mul_((keep**gap).unsqueeze(1))
            self.last.fill_(self.t)
        else:
            gap = (self.t - self.last[rows]).to(torch.float32)
            self.weight[rows] *= (keep**gap).unsqueeze(1)
            self.last[rows] = self.t

    def catch_up(self) -> None:
        """Apply the pending decay to every row (before evaluating or saving)."""
        self._decay(None)

    @torch.no_grad()
    def step(self, rows: torch.Tensor, grad: torch.Tensor) -> None:
        self.t += 1
        self._decay(rows)
        b1, b2 = self.betas
        m = self.m[rows].mul_(b1).add_(grad, alpha=1 - b1)
        v = self.v[rows].mul_(b2).addcmul_(grad, grad, value=1 - b2)
        self.m[rows], self.v[rows] = m, v
        step = self.lr * (1 - b2**self.t) ** 0.5 / (1 - b1**self.t)
        self.weight[rows] -= step * m / (v.sqrt() + self.eps)


class DenseAdam:
    """Plain Adam for the small dense parameters.

    Hand-written because ``torch.optim`` imports ``torch._dynamo`` on first
    use, which costs several seconds per worker process.
    """

    def __init__(self, params: list[torch.Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999)):
        self.params, self.lr, self.betas, self.eps, self.t = params, lr, betas, 1e-8, 0
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        step = self.lr * (1 - b2**self.t) ** 0.5 / (1 - b1**self.t)
        for p, m, v in zip(self.params, self.m, self.v, strict=True):
            if p.grad is None:
                continue
            m.mul_(b1).add_(p.grad, alpha=1 - b1)
            v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            p -= step * m / (v.sqrt() + self.eps)


def sparse_input(x: sp.csr_matrix, weight: torch.Tensor) -> tuple[torch.Tensor, sp.csr_matrix, torch.Tensor]:
    """Forward pass of the sparse input layer for a training batch.

    Returns the unique feature ids of the batch, the batch re-indexed onto
    them (CSR, for the backward pass ``X_local.T @ grad``) and the hidden
    pre-activation as a leaf tensor that collects the gradient. Doing this in
    scipy avoids torch's slow sparse backward kernels on CPU.
    """
    uniq, local = np.unique(x.indices, return_inverse=True)
    x_local = sp.csr_matrix((x.data, local.astype(np.int32), x.indptr), shape=(x.shape[0], len(uniq)))
    rows = torch.from_numpy(uniq.astype(np.int64))
    pre = torch.from_numpy(np.asarray(x_local @ weight[rows].numpy(), dtype=np.float32))
    return rows, x_local, pre.requires_grad_(True)


def masked_bce(
    logits: torch.Tensor,
    targets: torch.Tensor,
    mask: torch.Tensor,
    weights: torch.Tensor,
    pos_weight: torch.Tensor,
    weak_negative: torch.Tensor | None = None,
    row_has_observation: torch.Tensor | None = None,
) -> torch.Tensor:
    """Masked, confidence-weighted BCE plus an optional mask-only weak-negative term.

    - Observed entries: ``w * (pos_weight * t * softplus(-z) + (1 - t) * softplus(z))``
      (soft targets allowed).
    - Unobserved entries contribute nothing to that core term: their target is
      replaced by 0 through ``torch.where`` before use, so neither its value nor
      a NaN can leak into the loss or the gradient.
    - ``weak_negative`` (L,), if given, adds ``weak_negative[j] * softplus(z)``
      for unobserved entries of rows that have at least one observation. It
      depends only on the mask, never on the unobserved target value.

    The sum is divided by the number of rows so the scale does not depend on
    how many entries happen to be observed.
    """
    safe_t = torch.where(mask, targets, torch.zeros_like(targets))
    safe_w = torch.where(mask, weights, torch.zeros_like(weights))
    core = safe_w * (pos_weight * safe_t * F.softplus(-logits) + (1.0 - safe_t) * F.softplus(logits))
    total = core.sum()
    if weak_negative is not None:
        unobserved = (~mask).float()
        if row_has_observation is not None:
            unobserved = unobserved * row_has_observation.float().unsqueeze(1)
        total = total + (unobserved * weak_negative * F.softplus(logits)).sum()
    return total / logits.shape[0]


@dataclass
class NetTrainSettings:
    """Hyper-parameters of one network fit (a subset of ``TrainConfig``)."""

    hidden: int = 256
    dropout: float = 0.3
    lr: float = 3e-3
    batch_size: int = 256
    max_epochs: int = 12
    patience: int = 2
    correlation: bool = True
    wide: bool = False
    weight_decay: float = 0.0
    min_epochs: int = 1


class NetScorer:
    """A trained ``TagNet`` wrapped to score CSR matrices in chunks."""

    def __init__(self, net: TagNet) -> None:
        self.net = net.eval()

    @torch.no_grad()
    def logits(self, x: sp.csr_matrix, chunk: int = 4096) -> np.ndarray:
        out = [self.net(self.net.pre(x[i : i + chunk])).numpy() for i in range(0, x.shape[0], chunk)]
        return np.concatenate(out).astype(np.float64) if out else np.zeros((0, self.net.out.out_features))

    @torch.no_grad()
    def hidden(self, x: sp.csr_matrix, chunk: int = 4096) -> np.ndarray:
        out = [self.net.hidden_from_pre(self.net.pre(x[i : i + chunk])).numpy() for i in range(0, x.shape[0], chunk)]
        return np.concatenate(out) if out else np.zeros((0, self.net.hidden_bias.shape[0]), dtype=np.float32)

    def input_gradient_weights(self, x_sample: sp.csr_matrix) -> np.ndarray:
        """(n_features, L) average input gradient of each logit (first stage).

        For a ReLU layer the gradient of logit j w.r.t. input feature f is
        ``sum_h E[f, h] * 1[h active] * W[j, h]``; averaging the activity
        indicator over ``x_sample`` gives an approximate linear explanation.
        """
        active = (self.hidden(x_sample) > 0).mean(0)
        mix = active[:, None] * self.net.out.weight.detach().numpy().T
        weight = self.net.input_weight.detach().numpy()
        out: np.ndarray = weight[:, : self.net.n_hidden] @ mix
        return out + weight[:, self.net.n_hidden :] if self.net.wide else out

    def compact(self) -> None:
        """Quantise the input layer to int8 with one scale per feature row.

        The input layer holds almost all of the artifact's bytes (features x
        hidden); int8 makes it 4x smaller than float32. It is done here, in
        memory, before calibration, so a reloaded model predicts exactly what
        the trained one did (see ``quantise_rows`` / ``dequantise_rows``).
        """
        q, scale = quantise_rows(self.net.input_weight.detach().numpy())
        with torch.no_grad():
            self.net.input_weight.copy_(torch.from_numpy(dequantise_rows(q, scale)))


def quantise_rows(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 quantisation per row: ``weight ≈ q * scale[:, None]``."""
    scale = (np.abs(weight).max(1) / 127.0).astype(np.float32)
    safe = np.where(scale > 0, scale, 1.0).astype(np.float32)
    q = np.clip(np.rint(weight / safe[:, None]), -127, 127).astype(np.int8)
    return q, scale


def dequantise_rows(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return q.astype(np.float32) * scale.astype(np.float32)[:, None]


def train_network(
    x: sp.csr_matrix,
    y: np.ndarray,
    w: np.ndarray,
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    val_score: Callable[[np.ndarray], float],
    settings: NetTrainSettings,
    pos_weight: np.ndarray,
    weak_negative: np.ndarray | None,
    seed: int,
    progress: Callable[[float], None] | None = None,
    fixed_epochs: int | None = None,
) -> tuple[NetScorer, int, list[float]]:
    """Train with early stopping on ``val_score(val_logits)`` (masked macro-F1).

    If ``fixed_epochs`` is given (a refit on all rows) there is no early
    stopping. Returns the scorer with the best weights, the best epoch count
    and the validation history.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = TagNet(x.shape[1], y.shape[1], settings.hidden, settings.dropout, settings.correlation, settings.wide)
    dense_params: list[torch.Tensor] = [p for p in net.parameters() if p is not net.input_weight]
    opt_rows = RowAdam(net.input_weight.data, lr=settings.lr, weight_decay=settings.weight_decay)
    opt_dense = DenseAdam(dense_params, lr=settings.lr)
    mask_all = ~np.isnan(y)
    targets_all = np.nan_to_num(y, nan=0.0).astype(np.float32)
    weights_all = np.where(mask_all, w, 0.0).astype(np.float32)
    has_obs = mask_all.any(1)
    pw = torch.from_numpy(pos_weight.astype(np.float32))
    weak = None if weak_negative is None else torch.from_numpy(weak_negative.astype(np.float32))
    n_epochs = fixed_epochs or settings.max_epochs
    best_state, best_score, best_epoch, history, bad = None, -np.inf, 0, [], 0
    for epoch in range(n_epochs):
        net.train()
        order = rng.permutation(train_rows)
        for start in range(0, len(order), settings.batch_size):
            rows = np.sort(order[start : start + settings.batch_size])
            uniq, x_local, pre = sparse_input(x[rows], net.input_weight.data)
            logits = net(pre)
            loss = masked_bce(
                logits,
                torch.from_numpy(targets_all[rows]),
                torch.from_numpy(mask_all[rows]),
                torch.from_numpy(weights_all[rows]),
                pw,
                weak,
                torch.from_numpy(has_obs[rows]),
            )
            opt_dense.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
            # sparse_input returns ``pre`` with requires_grad, so backward() always fills its grad.
            assert pre.grad is not None
            grad_rows = torch.from_numpy(np.asarray(x_local.T @ pre.grad.numpy(), dtype=np.float32))
            opt_rows.step(uniq, grad_rows)
            opt_dense.step()
        opt_rows.catch_up()
        if progress is not None:
            progress((epoch + 1) / n_epochs)
        if fixed_epochs is not None or len(val_rows) == 0:
            best_epoch = epoch + 1
            continue
        score = val_score(NetScorer(net).logits(x[val_rows]))
        history.append(score)
        if score > best_score:
            best_score, best_epoch, bad = score, epoch + 1, 0
            best_state = copy.deepcopy(net.state_dict())
        else:
            bad += 1
            if bad >= settings.patience and epoch + 1 >= settings.min_epochs:
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    return NetScorer(net), best_epoch, history
