"""What `watch()` checks before the first step: is there anything to train, and does the
optimizer hold it.

A model with no parameters, one whose parameters are all frozen, and an optimizer that holds
none of the model's parameters (built over another model, or before the model was replaced)
cannot train at all: `trainable` refuses them in one line each. What can train but partly
will not is returned for the record: the frozen parameters (and which of them still hold
PyTorch's default initialization, so were never trained by anyone), the parameters no
optimizer group holds, each parameter's weight decay, and the modules whose behaviour
depends on train/eval mode.
"""

from __future__ import annotations

import math

import torch

# Modules that compute differently in train and eval mode.
MODE_MODULES = (torch.nn.modules.dropout._DropoutNd, torch.nn.modules.batchnorm._BatchNorm)
# PyTorch's default Linear / Conv init draws U(-1/sqrt(fan_in), 1/sqrt(fan_in)): std bound/sqrt(3)
_UNIFORM_STD = 1 / math.sqrt(3)
_STD_TOLERANCE = 0.2   # a fresh draw of >= 50 values is within 20% of that std


def _looks_untrained(p: torch.Tensor) -> bool:
    """True when `p` still holds what PyTorch's default initialization draws: a weight of
    uniform values within 1/sqrt(fan_in), or a 1-D tensor of one repeated value (BatchNorm's
    fresh 1s and 0s). A pretrained weight (a frozen backbone) fails both."""
    p = p.detach().to(torch.float64)
    if p.ndim == 1:
        return p.numel() > 1 and bool((p == p[0]).all())
    if p.ndim < 2 or p.numel() < 50:
        return False
    bound = 1 / math.sqrt(p.numel() / p.shape[0])
    std = float(p.std())
    return float(p.abs().max()) <= bound * (1 + 1e-6) \
        and abs(std / (bound * _UNIFORM_STD) - 1) < _STD_TOLERANCE


def refuse_lazy(model: torch.nn.Module) -> None:
    """A ValueError when a lazy module (nn.LazyLinear, ...) has not made its parameters yet:
    their shapes, and so every count and record the sitter keeps, exist after the model's
    first forward, which the sitter's own probe must not be (it would draw their initial
    values, and the run would start from other weights than unwatched)."""
    lazy = [n for n, p in model.named_parameters()
            if isinstance(p, torch.nn.parameter.UninitializedParameter)]
    if lazy:
        raise ValueError(f"the model's lazy modules have not made their parameters yet "
                         f"({len(lazy)} tensors, e.g. {lazy[0]!r}): run one forward pass "
                         f"(model(x) on a batch) before watch()")


def trainable(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """Refuse a model with nothing to train or an optimizer holding none of its parameters
    (ValueError); else {"frozen", "frozen_untrained", "not_in_optimizer", "decay",
    "decoupled", "sizes", "mode_modules", "batchnorm_modules"}: parameter and module names,
    the weight decay of each parameter that has one, and each stepped parameter's number of
    values."""
    params = dict(model.named_parameters())
    if not params:
        raise ValueError(f"model has no parameters (a {type(model).__name__} with nothing to "
                         f"train): watch the model whose weights the optimizer updates")
    frozen = [n for n, p in params.items() if not p.requires_grad]
    if len(frozen) == len(params):
        raise ValueError(f"every parameter of the model has requires_grad=False ({len(params)} "
                         f"tensors, e.g. {frozen[0]!r}): nothing to train; set requires_grad "
                         f"on what should learn before building the optimizer")
    held = {id(p): group for group in optimizer.param_groups for p in group["params"]}
    if not any(id(p) in held for p in params.values() if p.requires_grad):
        raise ValueError(f"the optimizer holds none of the model's trainable parameters "
                         f"({len(held)} tensors, none of the {len(params) - len(frozen)} the "
                         f"model trains): build it over this model's parameters, e.g. "
                         f"torch.optim.Adam(model.parameters()), after the model is created")
    modules = dict(model.named_modules())
    untrained = {name.rpartition(".")[0] for name in frozen
                 if params[name].ndim >= 2 and _looks_untrained(params[name])}
    decay = {n: float(held[id(p)].get("weight_decay") or 0.0) for n, p in params.items()
             if id(p) in held and p.requires_grad}
    decoupled = isinstance(optimizer, torch.optim.AdamW) or any(
        g.get("decoupled_weight_decay") for g in optimizer.param_groups)
    return {"frozen": frozen,
            "frozen_untrained": [n for n in frozen if n.rpartition(".")[0] in untrained
                                 or (params[n].ndim == 1 and _looks_untrained(params[n]))],
            "not_in_optimizer": [n for n, p in params.items()
                                 if p.requires_grad and id(p) not in held],
            "decay": {n: d for n, d in decay.items() if d > 0}, "decoupled": bool(decoupled),
            "sizes": {n: p.numel() for n, p in params.items() if n in decay},
            "mode_modules": [n for n, m in modules.items() if isinstance(m, MODE_MODULES)],
            "batchnorm_modules": [n for n, m in modules.items()
                                  if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]}


def mode_owners(model: torch.nn.Module) -> list[tuple[torch.nn.Module, list]]:
    """(module, the parameters whose training it serves) for each dropout or BatchNorm module
    of `model`: a module's own parameters (BatchNorm's affine ones) when it has any, else
    those of the nearest module holding it that has some (a Dropout beside the layers it
    feeds; one in a list of dropouts, those of the model around the list). Such a module in
    eval mode is a bug only where those parameters train; in a frozen pretrained part it is
    how that part is meant to run (its running statistics kept)."""
    modules = dict(model.named_modules())
    owners = []
    for name, module in modules.items():
        if isinstance(module, MODE_MODULES):
            params = list(module.parameters(recurse=False))
            while not params and name:
                name = name.rpartition(".")[0]
                params = list(modules[name].parameters())
            owners.append((module, params))
    return owners


def trained_modes_in_eval(owners: list, stepped: set) -> bool:
    """Whether the dropout and BatchNorm modules of `mode_owners` whose parameters train (some
    require gradients and are among the `stepped` ones, ids of those the optimizer holds: a
    part left out of it is frozen too) are all in eval mode, at least one of them: the model
    trains as at evaluation, where it means to learn."""
    trained = [module for module, params in owners
               if any(p.requires_grad and id(p) in stepped for p in params)]
    return bool(trained) and not any(module.training for module in trained)


__all__ = ["MODE_MODULES", "mode_owners", "refuse_lazy", "trainable", "trained_modes_in_eval"]
