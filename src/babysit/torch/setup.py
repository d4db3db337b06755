"""What a PyTorch loop pairs: the model's output activation, the loss, the task, the targets.

`history.meta["setup"]` holds it, for the diagnosis rules that judge the (output activation,
loss) pair:

    {"output": {"activation": "none" | "softmax" | "log_softmax" | "sigmoid" | "relu" | "tanh"
                              | "nonnegative" | "unknown", "units": int,
                "seen": "declared" | "measured"},
     "loss": {"name": "cross_entropy" | "nll" | "binary_cross_entropy" | "bce_with_logits"
                      | "mse" | "mae" | "hinge" | "other" | "unknown",
              "reduction": "mean" | "sum" | "unknown", "per_class": True (hinge only)},
     "task": "classify" | "binary" | "regress" | "unknown",
     "targets": {"classes", "counts", "mean", "std", "min", "max"}}   (None where unknown)

Three sources, most direct first: the autograd graph of the first loss given to `log` (its
loss node, the node feeding it and what produced that: `F.cross_entropy` is recorded by
autograd as log_softmax then nll_loss, so a softmax below that log_softmax is a softmax fed to
cross-entropy); the loss module or function given as `loss_fn`; the last module and the
values of the model's output on the probe batch (rows of non-negative values summing to 1
are a softmax's, whatever module made them). The graph also shows two bugs no value shows:
a softmax taken over the batch dimension (`dim=0`), and an MSE whose target shape was
broadcast against the output's (autograd records the expand).
"""

from __future__ import annotations

import torch

# autograd node name -> loss name
_LOSS_NODES = {
    "NllLossBackward0": "nll", "NllLoss2DBackward0": "nll", "MseLossBackward0": "mse",
    "BinaryCrossEntropyBackward0": "binary_cross_entropy",
    "BinaryCrossEntropyWithLogitsBackward0": "bce_with_logits",
    "MultiMarginLossBackward0": "hinge", "SmoothL1LossBackward0": "other",
    "HuberLossBackward0": "other", "KlDivBackward0": "other",
}
# autograd node name -> the activation its output is
_ACTIVATION_NODES = {
    "SoftmaxBackward0": "softmax", "LogSoftmaxBackward0": "log_softmax",
    "SigmoidBackward0": "sigmoid", "ReluBackward0": "relu", "TanhBackward0": "tanh",
    "HardtanhBackward0": "tanh", "ExpBackward0": "nonnegative", "AbsBackward0": "nonnegative",
    "SoftplusBackward0": "nonnegative", "ClampMinBackward0": "nonnegative",
}
# autograd nodes of affine maps: an output made by one of them has no activation
_AFFINE_NODES = frozenset({"AddmmBackward0", "MmBackward0", "BmmBackward0",
                           "ConvolutionBackward0", "AddBackward0", "SubBackward0",
                           "MulBackward0", "DivBackward0", "NativeBatchNormBackward0"})
# loss module or function -> loss name
_LOSS_MODULES = {
    torch.nn.CrossEntropyLoss: "cross_entropy", torch.nn.NLLLoss: "nll",
    torch.nn.BCELoss: "binary_cross_entropy", torch.nn.BCEWithLogitsLoss: "bce_with_logits",
    torch.nn.MSELoss: "mse", torch.nn.L1Loss: "mae", torch.nn.MultiMarginLoss: "hinge",
}
_LOSS_FUNCTIONS = {
    "cross_entropy": "cross_entropy", "nll_loss": "nll",
    "binary_cross_entropy": "binary_cross_entropy",
    "binary_cross_entropy_with_logits": "bce_with_logits", "mse_loss": "mse",
    "l1_loss": "mae", "multi_margin_loss": "hinge",
}
_DECLARED = {torch.nn.Softmax: "softmax", torch.nn.LogSoftmax: "log_softmax",
             torch.nn.Sigmoid: "sigmoid", torch.nn.ReLU: "relu", torch.nn.ReLU6: "relu",
             torch.nn.Tanh: "tanh", torch.nn.Softplus: "nonnegative"}
_TASKS = {"cross_entropy": "classify", "nll": "classify", "hinge": "classify",
          "binary_cross_entropy": "binary", "bce_with_logits": "binary", "mse": "regress",
          "mae": "regress"}
# losses whose gradient at the output names the target class (see `labels_from_gradient`)
LABELLED_BY_GRADIENT = frozenset({"cross_entropy", "nll", "binary_cross_entropy",
                                  "bce_with_logits"})
_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}
_SEARCH_DEPTH = 6   # nodes from the loss tensor down to its loss node (a penalty, a smoothing)


def empty_setup() -> dict:
    """The setup before anything is seen: every field "unknown" or None."""
    return {"output": {"activation": "unknown", "units": None, "seen": "declared"},
            "loss": {"name": "unknown", "reduction": "unknown"}, "task": "unknown",
            "targets": {"classes": None, "counts": None, "mean": None, "std": None,
                        "min": None, "max": None}}


def declared_loss(loss_fn) -> dict | None:
    """{"name", "reduction"} of a loss module (nn.CrossEntropyLoss(...)) or function
    (F.cross_entropy), or None when it is neither."""
    if loss_fn is None:
        return None
    name = next((n for kind, n in _LOSS_MODULES.items() if isinstance(loss_fn, kind)), None)
    if name is None:
        name = _LOSS_FUNCTIONS.get(getattr(loss_fn, "__name__", ""), "other")
    entry = _loss_entry(name, getattr(loss_fn, "reduction", "unknown"))
    if isinstance(loss_fn, torch.nn.MultiMarginLoss):
        entry["margin"] = float(loss_fn.margin) ** loss_fn.p   # a row's cost at scores of 0
    return entry


def _loss_entry(name: str, reduction: str) -> dict:
    """The setup's "loss": {"name", "reduction"}, and for PyTorch's hinge (MultiMarginLoss),
    which divides each row's sum of margins by the number of classes, "per_class": True (its
    chance loss is (C - 1) margin^p / C, not the C - 1 of the notes' SVM loss)."""
    return {"name": name, "reduction": reduction, **({"per_class": True} if name == "hinge"
                                                     else {})}


def declared_activation(last: torch.nn.Module | None) -> str:
    """The activation a model's last leaf module applies ("none" for a Linear or Conv)."""
    if last is None:
        return "unknown"
    return next((a for kind, a in _DECLARED.items() if isinstance(last, kind)), "none")


def measured_activation(out: torch.Tensor) -> str:
    """What the output values (N, units) look like: "softmax" (rows of non-negative values
    summing to 1), "log_softmax" (rows of non-positive values whose exponentials sum to 1),
    "relu" (never negative, some exactly 0), "sigmoid" (in (0, 1)), "nonnegative" (never
    negative), "none" (negative values too: scores). Tanh cannot be told from small scores:
    it is read from the module or the graph. A 1-d output (N,) is one unit a row (a binary
    model's output squeezed for its loss)."""
    out = out.detach().to(torch.float64)
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2 or out.shape[0] == 0 or not torch.isfinite(out).all():
        return "unknown"
    low, high = float(out.min()), float(out.max())
    if out.shape[1] > 1:
        if low >= 0 and float((out.sum(1) - 1).abs().max()) < 1e-3:
            return "softmax"
        if high <= 0 and float(torch.logsumexp(out, 1).abs().max()) < 1e-3:
            return "log_softmax"
    if low >= 0:
        if bool((out == 0).any()):
            return "relu"
        return "sigmoid" if high <= 1 else "nonnegative"
    return "none"


def _inputs(node) -> list:
    return [n for n, _ in getattr(node, "next_functions", ()) if n is not None]


def _loss_node(root):
    """The first loss node at most _SEARCH_DEPTH nodes below `root` (breadth first)."""
    level = [root]
    for _ in range(_SEARCH_DEPTH):
        for node in level:
            if node.name() in _LOSS_NODES:
                return node
        level = [n for node in level for n in _inputs(node)]
    return None


def from_graph(loss: torch.Tensor) -> dict | None:
    """What the autograd graph of `loss` shows: {"loss": {"name", "reduction"}, "activation",
    "softmax_dim", "broadcast"}, or None when no loss node is found (a detached loss, a loss
    written by hand). Read after backward: only node names and saved integers are kept then.
    activation: what made the loss's input: an activation's name, "none" for an affine map
    (a Linear, a convolution, a sum), "unknown" behind anything else (a reshape).

    softmax_dim: the dimension of a softmax / log_softmax applied to the 2-D output before the
    loss (0 normalizes over the batch, not the classes), else None. broadcast: the MSE's
    input was expanded to the target's shape (an (N, 1) output against an (N,) target)."""
    root = getattr(loss, "grad_fn", None)
    node = None if root is None else _loss_node(root)
    if node is None:
        return None
    name = _LOSS_NODES[node.name()]
    reduction = _REDUCTIONS.get(getattr(node, "_saved_reduction", None), "unknown")
    if reduction == "none":
        reduction = {"MeanBackward0": "mean", "MeanBackward1": "mean", "SumBackward0": "sum",
                     "SumBackward1": "sum"}.get(root.name(), "unknown")
    below = (_inputs(node) or [None])[0]
    softmax_dim, broadcast = None, False
    if name == "nll" and below is not None and below.name() == "LogSoftmaxBackward0":
        # F.cross_entropy is log_softmax then nll_loss: the same pair as nn.CrossEntropyLoss
        name, softmax_dim = "cross_entropy", getattr(below, "_saved_dim", None)
        below = (_inputs(below) or [None])[0]
    if name == "mse" and below is not None and below.name() == "ExpandBackward0":
        broadcast, below = True, (_inputs(below) or [None])[0]
    activation = "unknown" if below is None else _ACTIVATION_NODES.get(
        below.name(), "none" if below.name() in _AFFINE_NODES else "unknown")
    if activation in ("softmax", "log_softmax"):
        softmax_dim = getattr(below, "_saved_dim", softmax_dim)
    return {"loss": _loss_entry(name, reduction), "activation": activation,
            "softmax_dim": softmax_dim, "broadcast": broadcast}


def task_of(loss_name: str, units: int | None) -> str:
    """The task a loss implies ("unknown" for other losses)."""
    if loss_name == "cross_entropy" and units == 2:
        return "classify"
    return _TASKS.get(loss_name, "unknown")


def labels_from_gradient(grad: torch.Tensor) -> torch.Tensor:
    """The target class of each row, read from dL/d(output) (N, C) of a softmax cross-entropy
    (or nll over log-probabilities): the gradient is (p - onehot(y)) / N, negative only at the
    target, so the argmin is y whatever the weighting, smoothing or reduction. For one output
    unit (a binary cross-entropy, (N,) or (N, 1)) the gradient (p - y) / N is negative where
    y = 1. Returns (N,) int64."""
    if grad.ndim == 2 and grad.shape[1] > 1:
        return grad.argmin(1)
    return (grad.reshape(grad.shape[0], -1)[:, 0] < 0).long()


__all__ = ["LABELLED_BY_GRADIENT", "declared_activation", "declared_loss", "empty_setup",
           "from_graph", "labels_from_gradient", "measured_activation", "task_of"]
