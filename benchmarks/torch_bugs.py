"""PyTorch's common training-loop bugs, planted one at a time: does `babysit.torch.watch` name
each by its mechanism as the top warning or error, and leave healthy runs without one?

Every case is a plain loop over the 8x8 digits (standardized, float32; 1,078 training and 359
validation rows) with the few lines `watch` needs, trained for 10 epochs of batches of 64, on
two models: an MLP (64-100-100-10, ReLU, dropout 0.2 where a bug needs train/eval mode to
matter) and a small CNN (conv 3x3 -> BatchNorm -> ReLU -> max-pool -> linear, with dropout
where it matters). Each bug's expected cause was written down before the case was ever run;
a case passes when the top warning or error names it (a refusal at `watch()`: when `watch`
raises ValueError), a healthy run when no finding is a warning or error.

Half of the cases (`half == "tune"`) set the thresholds; the other half (`"confirm"`) was run
only after, to confirm them. benchmarks/README.md records both.

    .venv/bin/python benchmarks/torch_bugs.py [--half tune|confirm|all] [--only NAME]

(needs the `torch` extra; `lightning` for the Lightning case).
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

import babysit as bs
from babysit.torch import watch

torch.set_num_threads(1)
EPOCHS, BATCH = 10, 64
SEVERE = ("error", "warning")


# -- data -----------------------------------------------------------------------------------

def digits() -> tuple[torch.Tensor, ...]:
    """Standardized digits: (X, y, Xv, yv), float32 inputs and int64 labels."""
    data = bs.data.load("digits")
    pre = bs.preprocess.Standardize().fit(data.train.X)

    def t(X, y):
        return (torch.tensor(pre.transform(X), dtype=torch.float32),
                torch.tensor(y, dtype=torch.long))

    return (*t(data.train.X, data.train.y), *t(data.val.X, data.val.y))


DATA = digits()


def one_against_rest(share: float) -> tuple[torch.Tensor, ...]:
    """Digit 0 against the rest, its examples cut to `share` of the training rows (labels 1
    for a 0): an imbalanced binary task the digits make easy."""
    X, y, Xv, yv = DATA
    g = torch.Generator().manual_seed(3)
    zeros, rest = (y == 0).nonzero().flatten(), (y != 0).nonzero().flatten()
    keep = zeros[torch.randperm(len(zeros), generator=g)][:int(share * len(rest) / (1 - share))]
    rows = torch.cat([rest, keep])
    return X[rows], (y[rows] == 0).long(), Xv, (yv == 0).long()


def majority_of(share: float) -> tuple[torch.Tensor, ...]:
    """Ten classes where class 1 is `share` of the training rows (its rows repeated, each copy
    with its own noise) and the other nine share the rest; Gaussian noise of 1.5 standard
    deviations on every input, so that a few examples of a class are not enough."""
    X, y, Xv, yv = DATA
    g = torch.Generator().manual_seed(4)
    ones, rest = (y == 1).nonzero().flatten(), (y != 1).nonzero().flatten()
    ones = ones.repeat(9)
    keep = rest[torch.randperm(len(rest), generator=g)][:int((1 - share) / share * len(ones))]
    rows = torch.cat([ones, keep])
    ones_v, rest_v = (yv == 1).nonzero().flatten(), (yv != 1).nonzero().flatten()
    rows_v = torch.cat([ones_v.repeat(int(share / (1 - share) * len(rest_v) / len(ones_v))),
                        rest_v])
    noise = torch.Generator().manual_seed(5)
    return (X[rows] + 1.5 * torch.randn(X[rows].shape, generator=noise), y[rows],
            Xv[rows_v] + 1.5 * torch.randn(Xv[rows_v].shape, generator=noise), yv[rows_v])


def labels_shuffled() -> tuple[torch.Tensor, ...]:
    X, y, Xv, yv = DATA
    return X, y[torch.randperm(len(y), generator=torch.Generator().manual_seed(6))], Xv, yv


def sorted_by_label() -> tuple[torch.Tensor, ...]:
    X, y, Xv, yv = DATA
    order = torch.argsort(y, stable=True)
    return X[order], y[order], Xv, yv


def raw_pixels() -> tuple[torch.Tensor, ...]:
    """The digits at the file's own scale, 0..16 per pixel (bs.data.load gives [0, 1]; the
    case was first written as "0..255", but the factor 16 gives 0..16), not standardized."""
    data = bs.data.load("digits")
    return (torch.tensor(data.train.X * 16, dtype=torch.float32),
            torch.tensor(data.train.y, dtype=torch.long),
            torch.tensor(data.val.X * 16, dtype=torch.float32),
            torch.tensor(data.val.y, dtype=torch.long))


# -- models ---------------------------------------------------------------------------------

class Then(nn.Module):
    """`net` followed by a function (F.softmax, F.relu, ...): an activation written in
    forward, which no module hook sees."""

    def __init__(self, net: nn.Module, fn):
        super().__init__()
        self.net, self.fn = net, fn

    def forward(self, x):
        return self.fn(self.net(x))


class Detached(nn.Module):
    """body -> .detach() -> head: the bug of a graph cut in forward."""

    def __init__(self, body: nn.Module, head: nn.Module):
        super().__init__()
        self.body, self.head = body, head

    def forward(self, x):
        return self.head(self.body(x).detach())


class FunctionalNet(nn.Module):
    """pytorch/examples' MNIST `Net`, shrunk to 8x8: F.relu and F.max_pool2d in forward."""

    def __init__(self, classes=10):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 16, 3, padding=1), nn.Conv2d(16, 32, 3, padding=1)
        self.fc1, self.fc2 = nn.Linear(32 * 4 * 4, 64), nn.Linear(64, classes)

    def forward(self, x):
        x = F.relu(self.conv1(x.reshape(-1, 1, 8, 8)))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def mlp(out=10, dropout=0.0, batchnorm=False, act=nn.ReLU) -> nn.Sequential:
    def block(i, o):
        return [nn.Linear(i, o), *([nn.BatchNorm1d(o)] if batchnorm else []), act(),
                *([nn.Dropout(dropout)] if dropout else [])]
    return nn.Sequential(*block(64, 100), *block(100, 100), nn.Linear(100, out))


def cnn(out=10, dropout=0.0) -> nn.Sequential:
    return nn.Sequential(nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 16, 3, padding=1),
                         nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         *([nn.Dropout(dropout)] if dropout else []), nn.Linear(16 * 4 * 4, out))


MODELS = {"mlp": mlp, "cnn": cnn}


# -- the loop -------------------------------------------------------------------------------

@dataclass
class Loop:
    """One training loop's choices; the defaults are a healthy loop (Adam 1e-3, cross-entropy,
    zero_grad -> forward -> backward -> step, train mode, eval mode to measure)."""

    data: object = None                      # () -> (X, y, Xv, yv); DATA when None
    optimizer: object = None                 # model -> optimizer; Adam(lr=1e-3) when None
    loss: object = F.cross_entropy           # (output, y) -> loss
    target: object = None                    # y -> what the loss is given (regression)
    zero_grad: str = "before"                # "before" | "never" | "after_backward" | "every2"
    backward: bool = True
    step: bool = True
    mode: str = "train"                      # "train" | "eval" (all along) | "once" (train()
                                             # never called again after the first evaluation)
    measure_in_train_mode: bool = False      # evaluation without model.eval()
    scheduler: object = None                 # optimizer -> scheduler
    schedule_every: str = "epoch"            # "epoch" | "batch"
    shuffle: bool = True
    clip: float | None = None                # clip_grad_norm_ max_norm
    epochs: int = EPOCHS
    watch: dict = field(default_factory=dict)  # extra arguments to watch()


def accuracy(model, X, y, train_mode: bool) -> float | None:
    """The share of rows whose highest score is their label (None without labels)."""
    if y is None:
        return None
    model.train(train_mode)
    with torch.no_grad():
        return (model(X).argmax(1) == y).float().mean().item()


def run(model: nn.Module, loop: Loop):
    """Train `model` as `loop` says, watched; returns the sitter's History."""
    X, y, Xv, yv = (loop.data or (lambda: DATA))()
    opt = (loop.optimizer or (lambda m: torch.optim.Adam(m.parameters(), lr=1e-3)))(model)
    sched = loop.scheduler(opt) if loop.scheduler else None
    sitter = watch(model, opt, image_shape=(8, 8), **loop.watch)
    target = loop.target or (lambda t: t)
    order = torch.Generator().manual_seed(1)
    model.train(loop.mode != "eval")
    for _ in range(loop.epochs):
        perm = torch.randperm(len(X), generator=order) if loop.shuffle else torch.arange(len(X))
        for i, at in enumerate(range(0, len(X), BATCH)):
            rows = perm[at:at + BATCH]
            if loop.zero_grad == "before" or (loop.zero_grad == "every2" and i % 2 == 0):
                opt.zero_grad()
            loss = loop.loss(model(X[rows]), target(y[rows]))
            if loop.backward:
                loss.backward()
            if loop.zero_grad == "after_backward":
                opt.zero_grad()
            if loop.clip:
                nn.utils.clip_grad_norm_(model.parameters(), loop.clip)
            if loop.step and (loop.zero_grad != "every2" or i % 2 == 1):
                opt.step()
            sitter.log(loss)
            if sched and loop.schedule_every == "batch":
                sched.step()
        if sched and loop.schedule_every == "epoch":
            sched.step()
        was = model.training
        classify = loop.target is None
        train_acc = accuracy(model, X, y if classify else None, loop.measure_in_train_mode)
        val_acc = accuracy(model, Xv, yv if classify else None, loop.measure_in_train_mode)
        model.train(was if loop.mode != "once" else loop.measure_in_train_mode)
        sitter.end_epoch(train_acc=train_acc, val_acc=val_acc)
    history = sitter.history
    sitter.close()
    return history


# -- the cases ------------------------------------------------------------------------------

def adam(lr=1e-3, **kw):
    return lambda m: torch.optim.Adam(m.parameters(), lr=lr, **kw)


def adamw(lr=1e-3, **kw):
    return lambda m: torch.optim.AdamW(m.parameters(), lr=lr, **kw)


def all_but_last(m):
    """An optimizer over every layer but the last (a classifier head forgotten)."""
    last = [p for p in m.parameters()][-2:]
    return torch.optim.Adam([p for p in m.parameters() if all(p is not q for q in last)],
                            lr=1e-3)


def first_layer_frozen(make):
    def build():
        model = make()
        first = next(m for m in model.modules() if isinstance(m, nn.Linear | nn.Conv2d))
        first.requires_grad_(False)
        return model
    return build


def pretrained_frozen(make):
    """A backbone trained first (2 epochs), then frozen, under a fresh head: fine-tuning."""
    def build():
        model = make()
        run(model, Loop(epochs=2))
        head = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
        for p in model.parameters():
            p.requires_grad_(False)
        head.reset_parameters()
        head.requires_grad_(True)
        return model
    return build


def zero_init(make):
    def build():
        model = make()
        with torch.no_grad():
            for p in model.parameters():
                if p.ndim >= 2:
                    p.zero_()
        return model
    return build


def regress_target(t):
    """The digit's value as a number, standardized: (N,), the bug's shape against (N, 1)."""
    return (t.float() - 4.5) / 2.9


@dataclass
class Case:
    name: str
    expected: str                  # the cause the top finding must name ("" for healthy,
                                   # "refused" for a ValueError at watch())
    half: str                      # "tune" or "confirm"
    loop: Loop = field(default_factory=Loop)
    build: dict = field(default_factory=dict)  # model name -> () -> model; both by default
    models: tuple = ("mlp", "cnn")

    def make(self, name: str):
        return self.build.get(name, MODELS[name])


def _both(fn):
    """{mlp: fn(mlp), cnn: fn(cnn)} for a build wrapper."""
    return {name: fn(make) for name, make in MODELS.items()}


def _dropout_models():
    return {"mlp": lambda: mlp(dropout=0.3), "cnn": lambda: cnn(dropout=0.3)}


def _then(fn):
    return {name: (lambda make=make: Then(make(), fn)) for name, make in MODELS.items()}


def _detached():
    return {"mlp": lambda: Detached(nn.Sequential(nn.Linear(64, 100), nn.ReLU()),
                                    nn.Sequential(nn.Linear(100, 100), nn.ReLU(),
                                                  nn.Linear(100, 10))),
            "cnn": lambda: Detached(nn.Sequential(nn.Unflatten(1, (1, 8, 8)),
                                                  nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
                                                  nn.MaxPool2d(2), nn.Flatten()),
                                    nn.Linear(16 * 4 * 4, 10))}


def _one_output():
    return {"mlp": lambda: mlp(out=1), "cnn": lambda: cnn(out=1)}


def _mse_one(out, t):
    """The bug: an (N, 1) output against an (N,) target (PyTorch's warning silenced, as a
    loop that filters warnings would have it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return F.mse_loss(out, t)


def _mse_shaped(out, t):
    return F.mse_loss(out, t.unsqueeze(1))


def _lightning_case(name, expected, half, optimizer=None):
    """A case run by a Lightning Trainer with the callback (`lightning_history`)."""
    return Case(f"Lightning: {name}", expected, half, Loop(optimizer=optimizer),
                models=("lightning",))


CASES = [
    # -- bugs ---------------------------------------------------------------------------------
    Case("zero_grad() forgotten", "gradients_not_zeroed", "tune", Loop(zero_grad="never")),
    Case("zero_grad() between backward() and step()", "no_gradient", "confirm",
         Loop(zero_grad="after_backward")),
    Case("backward() never called", "no_gradient", "tune", Loop(backward=False)),
    Case("optimizer.step() never called", "no_optimizer_step", "confirm", Loop(step=False)),
    Case("model.eval() during training", "eval_mode_training", "tune", Loop(mode="eval"),
         _dropout_models()),
    Case("model.train() never called after evaluation", "eval_mode_training", "confirm",
         Loop(mode="once"), _dropout_models()),
    Case("dropout left on at evaluation (no model.eval())", "train_mode_evaluation", "tune",
         Loop(measure_in_train_mode=True), _dropout_models()),
    Case("last layer left out of the optimizer", "params_not_in_optimizer", "confirm",
         Loop(optimizer=all_but_last)),
    Case("first layer requires_grad=False by mistake", "frozen_params", "tune", Loop(),
         _both(first_layer_frozen)),
    Case(".detach() in forward", "params_without_gradient", "confirm", Loop(), _detached()),
    Case("Adam weight_decay=1.0", "reg_too_strong", "tune",
         Loop(optimizer=adam(weight_decay=1.0))),
    Case("AdamW weight_decay=30 (decoupled)", "reg_too_strong", "confirm",
         Loop(optimizer=adamw(weight_decay=30.0))),
    Case("softmax before CrossEntropyLoss", "double_softmax", "tune", Loop(),
         _then(lambda x: F.softmax(x, 1))),
    Case("log_softmax over dim=0 then nll_loss", "softmax_wrong_dim", "confirm",
         Loop(loss=F.nll_loss), _then(lambda x: F.log_softmax(x, 0))),
    Case("ReLU on the logits", "logit_activation", "confirm", Loop(), _then(F.relu)),
    Case("sigmoid on the logits", "logit_activation", "tune", Loop(), _then(torch.sigmoid)),
    Case("reduction='sum' with a rate tuned for the mean", "summed_loss", "tune",
         Loop(loss=lambda o, t: F.cross_entropy(o, t, reduction="sum"),
              optimizer=lambda m: torch.optim.SGD(m.parameters(), lr=0.1))),
    Case("nll_loss on raw scores (no log_softmax)", "wrong_loss", "confirm",
         Loop(loss=F.nll_loss)),
    Case("all weights zero (symmetry never broken)", "symmetry", "confirm", Loop(),
         _both(zero_init)),
    Case("labels shuffled apart from the inputs", "labels_without_signal", "tune",
         Loop(data=labels_shuffled)),
    Case("class imbalance: the model answers the majority", "class_imbalance", "confirm",
         Loop(data=lambda: majority_of(0.9), epochs=4, optimizer=adam(lr=3e-4))),
    Case("MSE target (N,) against output (N, 1): broadcast", "target_broadcast", "tune",
         Loop(loss=_mse_one, target=regress_target), _one_output()),
    Case("StepLR stepped every batch, not every epoch", "lr_decayed_too_fast", "confirm",
         Loop(scheduler=lambda o: torch.optim.lr_scheduler.StepLR(o, 3, gamma=0.1),
              schedule_every="batch", optimizer=lambda m: torch.optim.SGD(m.parameters(),
                                                                          lr=0.05))),
    Case("data sorted by label, not shuffled", "batches_sorted_by_label", "tune",
         Loop(data=sorted_by_label, shuffle=False)),
    Case("pixels 0..16, not standardized", "unscaled_inputs", "confirm",
         Loop(data=raw_pixels, optimizer=lambda m: torch.optim.SGD(m.parameters(), lr=0.01))),
    Case("gradient clipped to max_norm=1e-4", "gradients_clipped", "tune",
         Loop(clip=1e-4, optimizer=lambda m: torch.optim.SGD(m.parameters(), lr=0.1))),
    # -- refusals at watch() -----------------------------------------------------------------
    Case("every parameter frozen", "refused", "tune", Loop(),
         {"mlp": lambda: mlp().requires_grad_(False), "cnn": lambda: cnn().requires_grad_(False)}),
    Case("optimizer over another model's parameters", "refused", "confirm",
         Loop(optimizer=lambda m: torch.optim.Adam(mlp().parameters()))),
    # -- healthy runs ------------------------------------------------------------------------
    Case("plain Adam (healthy)", "", "tune"),
    Case("functional-ReLU CNN, pytorch/examples' Net (healthy)", "", "confirm",
         build={"cnn": FunctionalNet}, models=("cnn",)),
    Case("BatchNorm + dropout (healthy)", "", "tune",
         build={"mlp": lambda: mlp(dropout=0.3, batchnorm=True),
                "cnn": lambda: cnn(dropout=0.3)}),
    Case("AdamW weight_decay=0.05 (healthy)", "", "confirm",
         Loop(optimizer=adamw(weight_decay=0.05))),
    Case("SGD + momentum 0.9, lr 0.01 (healthy)", "", "tune",
         Loop(optimizer=lambda m: torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9))),
    Case("imbalanced 95/5, learnt well (healthy)", "", "confirm",
         Loop(data=lambda: one_against_rest(0.05)), {"mlp": lambda: mlp(out=2),
                                                    "cnn": lambda: cnn(out=2)}),
    Case("frozen pretrained backbone, fresh head (healthy)", "", "tune", Loop(),
         _both(pretrained_frozen)),
    Case("gradient accumulation over 2 batches (healthy)", "", "confirm",
         Loop(zero_grad="every2")),
    Case("OneCycleLR stepped every batch (healthy)", "", "tune",
         Loop(scheduler=lambda o: torch.optim.lr_scheduler.OneCycleLR(
             o, max_lr=3e-3, total_steps=EPOCHS * 17), schedule_every="batch")),
    Case("clip_grad_norm_ max_norm=1 (healthy)", "", "confirm", Loop(clip=1.0)),
    Case("MSE regression, shapes matching (healthy)", "", "tune",
         Loop(loss=_mse_shaped, target=regress_target), _one_output()),
    _lightning_case("MLP module (healthy)", "", "confirm"),
    _lightning_case("Adam weight_decay=1.0 in configure_optimizers", "reg_too_strong", "tune",
                    adam(weight_decay=1.0)),
    _lightning_case("last layer left out of configure_optimizers", "params_not_in_optimizer",
                    "confirm", all_but_last),
]


def lightning_history(optimizer=None, make=mlp):
    """A LightningModule around the MLP, trained by a Lightning Trainer with the callback;
    `optimizer` (module -> optimizer) is what configure_optimizers returns (Adam 1e-3)."""
    import lightning.pytorch as pl

    from babysit.torch.lightning import BabysitCallback

    X, y, Xv, yv = DATA

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = make()

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            loss = F.cross_entropy(self(batch[0]), batch[1])
            return loss

        def on_train_epoch_end(self):
            self.eval()
            with torch.no_grad():
                self.log("train_acc", (self(X).argmax(1) == y).float().mean())
                self.log("val_acc", (self(Xv).argmax(1) == yv).float().mean())
            self.train()

        def configure_optimizers(self):
            return (optimizer or adam())(self)

    callback = BabysitCallback(image_shape=(8, 8))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=BATCH,
                                         shuffle=True,
                                         generator=torch.Generator().manual_seed(1))
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # its banner lines
    trainer = pl.Trainer(max_epochs=EPOCHS, callbacks=[callback], logger=False,
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu")
    trainer.fit(Module(), loader)
    return callback.history


# Two names for one mechanism: labels that carry no signal are "labels_without_signal" while
# the training accuracy stays at chance, and "memorizing_noise" once it has risen 20 points
# above it (the existing cause, whose advice is the same: check the labels against the inputs).
SAME_MECHANISM = {"labels_without_signal": {"memorizing_noise"}}


def evaluate(case: Case, model_name: str) -> tuple[str, str]:
    """(top finding's cause or "" or "refused: ...", verdict "ok"/"MISSED"/"FALSE ALARM")."""
    torch.manual_seed(0)
    try:
        history = (lightning_history(case.loop.optimizer) if model_name == "lightning"
                   else run(case.make(model_name)(), case.loop))
    except ValueError as error:
        top = f"refused: {error}"
        return top, "ok" if case.expected == "refused" else "MISSED"
    serious = [f for f in history.diagnose() if f.severity in SEVERE]
    top = f"{serious[0].cause} ({serious[0].severity}: {serious[0].what})" if serious else ""
    if case.expected == "":
        return top or "(none)", "ok" if not serious else "FALSE ALARM"
    named = {case.expected, *SAME_MECHANISM.get(case.expected, ())}
    return top or "(none)", "ok" if serious and serious[0].cause in named else "MISSED"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=("tune", "confirm", "all"), default="all")
    parser.add_argument("--only", default=None, help="run the cases whose name contains this")
    args = parser.parse_args(argv)
    totals: dict[str, list[int]] = {}
    for case in CASES:
        if args.half != "all" and case.half != args.half:
            continue
        if args.only and args.only.lower() not in case.name.lower():
            continue
        for model_name in case.models:
            start = time.process_time()
            top, verdict = evaluate(case, model_name)
            seconds = time.process_time() - start
            kind = "healthy" if case.expected == "" else "bug"
            score = totals.setdefault(f"{case.half} {kind}", [0, 0])
            score[0] += verdict == "ok"
            score[1] += 1
            print(f"{verdict:11} {case.half:7} {model_name:9} {case.name[:52]:52} expected "
                  f"{case.expected or '(none)':24} top {top[:90]}  [{seconds:.1f}s]",
                  flush=True)
    print()
    for key, (ok, n) in sorted(totals.items()):
        print(f"{key:16} {ok}/{n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
