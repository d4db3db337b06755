"""The notes' gradient check for a PyTorch module, judged by `babysit.check.gradients`' own code.

`check_gradients(model, loss_fn, X, y)` compares autograd's gradient of every parameter with
centered differences and returns the same `GradientReport` as `bs.check.gradients`:

- it works on a float64 deep copy on the CPU (`model` is left as it was, bit for bit);
- it samples a few coordinates of **every** parameter, biases included;
- dropout and any other random draw are seeded identically before f(x+h), f(x-h) and the
  analytic pass (the caller's random state is saved and put back), so they are checked
  rather than switched off; the model runs in training mode;
- kinks are detected (`babysit.torch.kinks`: relu, leaky_relu, max-pool, clamp, max, the
  hinge losses, ...): a finite difference whose two sides took a different branch is marked
  "kink crossed" and not held against the code.

`torch.autograd.gradcheck` compares every coordinate and fails on the first kink it meets;
this check reads the relative errors on the notes' scale instead (wrong above 1e-2).
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from babysit.check.gradients import GradientReport, judge
from babysit.check.numerical import kink_aware_difference
from babysit.torch import kinks


class _ModuleObjective:
    """A float64 CPU copy of a module with its data, evaluated with its randomness fixed.

    `params` maps each trainable parameter's name (one that requires a gradient; a frozen
    layer's are left out, as training leaves them) to a NumPy view of its storage, so that
    the finite differences of `babysit.check.numerical` perturb the module in place.
    """

    def __init__(self, model: torch.nn.Module, loss_fn, X, y, seed: int):
        self.model, self.loss_fn, self.seed = model, loss_fn, seed
        self.X, self.y = X, y
        self.named = {name: p for name, p in model.named_parameters() if p.requires_grad}
        self.params = {name: p.detach().numpy() for name, p in self.named.items()}

    def _loss(self) -> torch.Tensor:
        # fork_rng saves and restores the global generator: the caller's stream is untouched.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return self.loss_fn(self.model(self.X), self.y)

    def data_loss(self) -> tuple[float, list]:
        """The loss in training mode and the kinks' sides recorded on the way."""
        with torch.no_grad(), kinks.recording() as masks:
            value = float(self._loss())
        return value, masks

    def data_gradients(self) -> tuple[float, list, dict[str, np.ndarray]]:
        """The loss, its kinks' sides, and autograd's gradient of every parameter."""
        with kinks.recording() as masks:
            loss = self._loss()
        grads = torch.autograd.grad(loss, list(self.named.values()), allow_unused=True)
        analytic = {name: np.zeros(p.shape) if g is None else g.detach().numpy().copy()
                    for (name, p), g in zip(self.named.items(), grads, strict=True)}
        return float(loss.detach()), masks, analytic

    def numerical(self, evaluate, name: str, index, h: float) -> tuple[float, bool, float]:
        """`kink_aware_difference` of `evaluate` along params[name][index]."""
        return kink_aware_difference(evaluate, self.params[name], index, h)


def check_gradients(model: torch.nn.Module, loss_fn, X, y, per_param: int = 10,
                    h: float = 1e-5, seed: int = 0) -> GradientReport:
    """Check every parameter's autograd gradient against centered differences, as the notes say.

    model: any `torch.nn.Module` (a float64 CPU deep copy is checked; `model` is unchanged).
    loss_fn: `loss_fn(model(X), y)` is the scalar objective, e.g. `F.cross_entropy`.
    X: (N, ...) a few examples (the notes advise 2-10), tensor or array; y: (N, ...) targets.
    per_param: coordinates sampled from each parameter (seeded by `seed`). h: the step.
    The forward pass runs in training mode with every random draw seeded by `seed`. Returns
    a `babysit.check.GradientReport`; `report.ok` is False when a gradient is wrong, and
    `report.wrong` names the parameters, as for babysit's own networks. Parameters that do not
    require a gradient (a frozen layer) are not checked; a note names how many.
    """
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise ValueError(f"loss_fn must be callable as loss_fn(model(X), y), got {loss_fn!r}")
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("model has no parameters that require a gradient to check")
    work = copy.deepcopy(model).to(device="cpu", dtype=torch.float64).train()
    X, y = _as_tensor(X, "X", floating=True), _as_tensor(y, "y", floating=None)
    objective = _ModuleObjective(work, loss_fn, X, y, seed)
    with torch.no_grad():
        loss = objective.data_loss()[0]
    if not np.isfinite(loss) or np.ndim(loss) != 0:
        raise ValueError(f"loss_fn(model(X), y) must be a finite scalar, got {loss!r}")
    notes = []
    frozen = [name for name, p in work.named_parameters() if not p.requires_grad]
    if frozen:
        notes.append(f"{len(frozen)} frozen parameter(s) not checked (they need no gradient): "
                     f"{', '.join(frozen[:5])}{', ...' if len(frozen) > 5 else ''}")
    if X.shape[0] > 32:
        notes.append(f"{X.shape[0]} examples: the notes advise a few (2-10), which have fewer "
                     f"kinks to cross and run faster")
    return judge(objective, per_param, h, seed, notes)


def _as_tensor(a, name: str, floating: bool | None) -> torch.Tensor:
    """`a` as a CPU tensor; floating-point data in float64 (targets keep integer types)."""
    try:
        t = torch.as_tensor(a).detach().cpu()
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{name} must be a tensor or an array, got {type(a).__name__}: "
                         f"{err}") from None
    if t.ndim == 0 or t.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one example, got shape {tuple(t.shape)}")
    if t.is_floating_point() or floating:
        t = t.to(torch.float64)
    return t


__all__ = ["check_gradients"]
