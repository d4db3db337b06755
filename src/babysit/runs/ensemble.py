"""Model ensembles and distillation, the notes' "Evaluation" section.

Training several models and averaging their predicted probabilities at test time
reliably adds a few percent, more so the more the models differ. The builders make
the notes' three kinds of ensemble: the same configuration from several seeds
(`of_seeds`), the top few models of a search (`top_k`), and the checkpoints of one
run (`of_run`). An ensemble is slower to evaluate; `distill` trains one network on
the ensemble's softened probabilities ("dark knowledge", Hinton et al. 2015) to keep
part of the gain at the cost of one model, and returns its Trainer (`DistillTrainer`).
The running average of parameters, the fourth idea of that section, is
`Trainer(..., average=0.999)` (`babysit.nn.average`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from babysit.backend import get_array_module, to_numpy
from babysit.data import class_labels, validate
from babysit.nn.layers.base import Layer
from babysit.nn.losses import Loss, SoftmaxCrossEntropy, log_softmax, softmax
from babysit.nn.optim import Adam, Optimizer
from babysit.training import checkpoint
from babysit.training.metrics import regression_metrics
from babysit.training.trainer import Trainer, check_inputs, predict_scores
from babysit.validation import positive_int

__all__ = ["Ensemble", "of_seeds", "top_k", "of_run", "soften", "SoftTargetCrossEntropy",
           "DistillationLoss", "DistillTrainer", "distill"]


class Ensemble:
    """Averages the class probabilities of several models, or for a regression
    (task="regress") their predicted values.

    Each of `models` is a network (a `Layer`, whose scores go through a softmax, or are the
    values of a regression), a `Trainer` (its `predict_proba` or `scores`: the averaged
    weights when it keeps an average), a checkpoint path (loaded with its preprocessing), a
    `(net, preprocess)` pair, or any object with `predict_proba(X) -> (N, C)` (a regression's:
    `predict(X) -> (N,)`). Inputs X: (N, D) raw features; each member applies its own
    preprocessing, so members of a search may differ in it. Members that name their classes
    (a scikit-learn estimator's `classes_`, the order of its probabilities' columns) must name
    the same ones: `classes_` is then theirs, `predict` answers in those labels, and the labels
    `accuracy` and `distill` take are those; else classes are the indices 0..C-1.
    """

    def __init__(self, models: Iterable, task: str = "classify"):
        if task not in ("classify", "regress"):
            raise ValueError(f"task must be 'classify' or 'regress', got {task!r}")
        self.task = task
        self.members = [_member(m, i, task) for i, m in enumerate(models)]
        if not self.members:
            raise ValueError("Ensemble needs at least one model, got none")
        named = [np.asarray(m.classes_) for m, _ in self.members if hasattr(m, "classes_")]
        if any(c.shape != named[0].shape or not (c == named[0]).all() for c in named):
            raise ValueError(f"the members' classes_ differ ({', '.join(map(str, named[:3]))}): "
                             f"the columns of their probabilities are not the same classes, "
                             f"so they cannot be averaged")
        unnamed = [i for i, (m, _) in enumerate(self.members) if not hasattr(m, "classes_")]
        if task == "classify" and named and unnamed \
                and not np.array_equal(named[0], np.arange(len(named[0]))):
            raise ValueError(f"members {unnamed} do not name their classes, the others name "
                             f"{named[0].tolist()[:5]}{'...' if len(named[0]) > 5 else ''}: "
                             f"column j of an unnamed member's probabilities is class index j, "
                             f"which cannot be matched to those labels; build every member "
                             f"with the same classes_, or none")
        self.classes_ = named[0] if named and task == "classify" else None

    @property
    def models(self) -> list:
        """The members' models (networks, trainers or predictors), in order."""
        return [model for model, _ in self.members]

    def __len__(self) -> int:
        return len(self.members)

    def member_proba(self, X) -> list[np.ndarray]:
        """Each member's probabilities for X (N, D): a list of (N, C) arrays."""
        self._need("classify", "class probabilities")
        return self._member_outputs(X, _probabilities, "probabilities", "classes")

    def predict_proba(self, X) -> np.ndarray:
        """The mean of the members' probabilities: (N, C), rows summing to 1."""
        return _mean_of(self.member_proba(X))

    def member_values(self, X) -> list[np.ndarray]:
        """Each member's predicted values for X (N, D), a regression's: a list of (N,) arrays
        ((N, K) for K outputs), in the units the members were trained on (babysit's tables
        standardize the target: `data.target.inverse_transform` restores its units)."""
        self._need("regress", "predicted values")
        return self._member_outputs(X, _values, "values", "outputs")

    def _member_outputs(self, X, output, what: str, shared: str) -> list[np.ndarray]:
        """`output(model, Xm)` of each member on X (N, D) after its own preprocessing, refusing
        members whose outputs differ in shape (they would not average)."""
        X = check_inputs(X, "X")   # a NaN row would come out as a confident class 0
        outputs = []
        for i, (model, pre) in enumerate(self.members):
            out = output(model, pre.transform(X) if pre is not None else X)
            if outputs and out.shape != outputs[0].shape:
                raise ValueError(f"ensemble member {i} gives {what} of shape {out.shape}, "
                                 f"member 0 gives {outputs[0].shape}: the members must share "
                                 f"their {shared}")
            outputs.append(out)
        return outputs

    def predict_values(self, X) -> np.ndarray:
        """The mean of the members' predicted values (a regression's): (N,), or (N, K)."""
        return _mean_of(self.member_values(X))

    def predict(self, X) -> np.ndarray:
        """The class with the highest mean probability: (N,) int; for a regression the mean
        predicted value (`predict_values`)."""
        if self.task == "regress":
            return self.predict_values(X)
        best = self.predict_proba(X).argmax(axis=1)
        return best if self.classes_ is None else self.classes_[best]

    def accuracy(self, X, y) -> float:
        """Fraction of rows of X (N, D) whose predicted class is the label y (N,)."""
        X, y = validate(X, y)
        proba = self.predict_proba(X)
        return float((proba.argmax(axis=1) == self.class_indices(y, proba.shape[1])).mean())

    def member_accuracies(self, X, y) -> list[float]:
        """Each member's accuracy on (X, y) alone, to compare with the ensemble's."""
        X, y = validate(X, y)
        probas = self.member_proba(X)
        y = self.class_indices(y, probas[0].shape[1])
        return [float((p.argmax(axis=1) == y).mean()) for p in probas]

    def class_indices(self, y, n_classes: int) -> np.ndarray:
        """Labels y (N,) as the column indices of the probabilities (N,) int: through
        `classes_` when the members name theirs (a label not among them is a ValueError),
        else checked as indices below `n_classes`."""
        if self.classes_ is None:
            return class_labels(y, n_classes)
        y = np.asarray(y)
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(f"labels {unknown[:5].tolist()} are not among the members' "
                             f"classes_ {self.classes_.tolist()}")
        order = np.argsort(self.classes_, kind="stable")   # scikit-learn's: sorted already
        return order[np.searchsorted(self.classes_[order], y)]

    def evaluate(self, X, y, restore: Callable | None = None) -> tuple[list[dict], dict]:
        """How each member and the ensemble do on X (N, D), y (N,): ([{"accuracy": ...} per
        member], the ensemble's), or for a regression `regression_metrics`' {"rmse", "mae",
        "r2"}, with y and the predictions passed through `restore` first (e.g. a table's
        `data.target.inverse_transform`, for the target's units)."""
        if self.task == "classify":
            return ([{"accuracy": a} for a in self.member_accuracies(X, y)],
                    {"accuracy": self.accuracy(X, y)})
        restore = restore or np.asarray
        truth = restore(y)
        return ([regression_metrics(truth, restore(v)) for v in self.member_values(X)],
                regression_metrics(truth, restore(self.predict_values(X))))

    def _need(self, task: str, what: str) -> None:
        """Refuse a question of the other task (a regression has no classes, and classes
        no values)."""
        if self.task != task:
            raise ValueError(f"this ensemble's task is {self.task!r}: it has no {what} "
                             f"(Ensemble(models, task={task!r}) for those)")

    def __repr__(self) -> str:
        kinds = ", ".join(type(m).__name__ for m, _ in self.members)
        return f"Ensemble({len(self)} members: {kinds}, task {self.task!r})"


def _member(model, i: int, task: str) -> tuple[object, object]:
    """(model, preprocess or None) for one entry of `Ensemble(models, task)`."""
    if isinstance(model, str | Path):
        return checkpoint.load(model)
    if isinstance(model, tuple) and len(model) == 2 and isinstance(model[0], Layer):
        return model
    method = "predict" if task == "regress" else "predict_proba"
    if task == "regress" and (getattr(getattr(model, "loss", None), "classification", False)
                              or hasattr(model, "classes_")):
        raise ValueError(f"ensemble member {i} is a classifier ({type(model).__name__} with "
                         f"classes): a regression ensemble averages predicted values, not "
                         f"class scores")
    if isinstance(model, Layer | Trainer) or hasattr(model, method):
        return model, None
    raise ValueError(f"ensemble member {i}: expected a network, a Trainer, a checkpoint path, "
                     f"a (net, preprocess) pair or an object with {method}, got "
                     f"{type(model).__name__}")


# -- builders -------------------------------------------------------------------------------


def of_seeds(make_trainer: Callable[[int], Trainer], seeds: Sequence[int], X, y,
             val=None, task: str = "classify") -> Ensemble:
    """Same model, different initializations: `make_trainer(seed)` builds a Trainer whose network
    and shuffles come from `seed`; each is fit on (X, y) (validating on `val`) and the trained
    Trainers form the ensemble of `task` (their histories are in `ensemble.models[i].history`)."""
    seeds = list(seeds)
    if not seeds:
        raise ValueError("of_seeds needs at least one seed, got none")
    trainers = []
    for seed in seeds:
        trainer = make_trainer(seed)
        if not isinstance(trainer, Trainer):
            raise ValueError(f"make_trainer({seed}) must return a Trainer, got "
                             f"{type(trainer).__name__}")
        trainer.fit(X, y, val=val)
        trainers.append(trainer)
    return Ensemble(trainers, task)


def top_k(candidates: Iterable[tuple[float, object]], k: int,
          build: Callable[[dict], object] | None = None) -> Ensemble:
    """The top models of a search: the `k` candidates with the highest score.

    `candidates` holds (score, item) pairs, e.g. (validation accuracy, checkpoint path); an item
    is anything `Ensemble` takes, or a configuration dict, which `build(config)` turns into a
    trained model (a network, Trainer or checkpoint path). Ties keep the earlier candidate; a
    NaN score ranks last.
    """
    positive_int(k, "top_k: k")
    # a NaN score (a diverged candidate's) last: it compares neither above nor below others
    ranked = sorted(candidates, key=lambda pair: (math.isnan(pair[0]), -pair[0]))[:k]
    if not ranked:
        raise ValueError("top_k got no candidates")
    models = []
    for score, item in ranked:
        if isinstance(item, dict):
            if build is None:
                raise ValueError(f"top_k: the candidate scored {score} is a configuration "
                                 f"{item!r}; pass build(config) to train it")
            item = build(item)
        models.append(item)
    return Ensemble(models)


def of_run(run_dir, last: int | None = None) -> Ensemble:
    """Different checkpoints of a single model: the per-epoch checkpoints a
    `babysit.training.checkpoint.Checkpoints` callback wrote into `run_dir`, the `last` ones
    (all when None). Cheap, since nothing is retrained, though the members vary little."""
    paths = checkpoint.epoch_checkpoints(run_dir)
    if not paths:
        raise ValueError(f"of_run: no checkpoints in {Path(run_dir) / checkpoint.EPOCHS_DIR}; "
                         f"train with callbacks=[Checkpoints(run_dir)]")
    if last is not None:
        positive_int(last, "of_run: last")
        paths = paths[-last:]
    return Ensemble(paths)


# -- distillation ---------------------------------------------------------------------------


def soften(probabilities, temperature: float) -> np.ndarray:
    """Probabilities raised to 1/T and renormalised, softmax(log(p) / T): (N, C) -> (N, C).

    For one network p = softmax(z), and this is exactly softmax(z / T), Hinton et al.'s soft
    targets; for an ensemble it softens the averaged probabilities the same way. A higher T
    spreads the mass over the wrong classes, whose relative sizes are the "dark knowledge".
    """
    _check_temperature(temperature)
    p = np.asarray(probabilities, dtype=np.float64)
    # A probability that underflowed to 0 would give log 0; the smallest normal is as good.
    return softmax(np.log(np.maximum(p, np.finfo(np.float64).tiny)) / temperature)


class SoftTargetCrossEntropy(Loss):
    """Cross-entropy against soft targets at temperature T, scaled by T^2:

        L = -T^2 mean_i sum_c q_ic log softmax(s_i / T)_c,   dL/ds = T (softmax(s / T) - q) / N.

    The soft targets' gradients shrink as 1/T^2, so the T^2 factor keeps them comparable with
    a hard-label loss whatever T is (Hinton et al.). targets q: (N, C) rows of probabilities.
    """

    classification = False

    def __init__(self, temperature: float = 4.0):
        _check_temperature(temperature)
        self.temperature = float(temperature)

    def config(self) -> dict:
        return {"temperature": self.temperature}

    def __call__(self, scores, q):
        if q.shape != scores.shape:
            raise ValueError(f"soft targets must have the shape of the scores "
                             f"{tuple(scores.shape)}, got {tuple(q.shape)}")
        xp = get_array_module(scores)
        T, n = self.temperature, scores.shape[0]
        q = q.astype(scores.dtype, copy=False)
        logp = log_softmax(scores / scores.dtype.type(T))
        value = -T * T * float((q * logp).sum()) / n
        dscores = xp.exp(logp)
        dscores -= q
        dscores *= scores.dtype.type(T / n)
        return value, dscores

    def probabilities(self, scores):
        return softmax(scores)  # at test time the student runs at temperature 1


class DistillationLoss(Loss):
    """alpha * SoftTargetCrossEntropy(T) + (1 - alpha) * SoftmaxCrossEntropy on the true labels.

    targets: (N, C + 1), the teacher's soft targets in the first C columns and the true class
    index in the last (`pack`), so that one Trainer shuffles both together. Given (N,) class
    indices alone (validation data has no teacher), it is the cross-entropy on those labels.
    """

    def __init__(self, temperature: float = 4.0, alpha: float = 0.9):
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 <= alpha <= 1:
            raise ValueError(f"alpha (the weight of the teacher's soft targets) must be in "
                             f"[0, 1], got {alpha!r}")
        self.soft, self.hard = SoftTargetCrossEntropy(temperature), SoftmaxCrossEntropy()
        self.temperature, self.alpha = float(temperature), float(alpha)

    def config(self) -> dict:
        return {"temperature": self.temperature, "alpha": self.alpha}

    @staticmethod
    def pack(soft_targets, labels) -> np.ndarray:
        """(N, C) soft targets and (N,) labels -> the (N, C + 1) targets this loss reads."""
        return np.column_stack([np.asarray(soft_targets, dtype=np.float64),
                                np.asarray(labels, dtype=np.float64)])

    def __call__(self, scores, targets):
        if targets.ndim == 1:
            return self.hard(scores, targets)
        n, c = scores.shape
        if targets.shape != (n, c + 1):
            raise ValueError(f"distillation targets must have shape ({n}, {c + 1}) (soft "
                             f"targets then the label, see DistillationLoss.pack), got "
                             f"{tuple(targets.shape)}")
        value, dscores = self.soft(scores, targets[:, :c])
        if self.alpha == 1:
            return value, dscores
        hard_value, hard_d = self.hard(scores, targets[:, c].astype(np.int64))
        dscores *= scores.dtype.type(self.alpha)
        dscores += scores.dtype.type(1 - self.alpha) * hard_d
        return self.alpha * value + (1 - self.alpha) * hard_value, dscores

    def probabilities(self, scores):
        return softmax(scores)


class DistillTrainer(Trainer):
    """The student's Trainer, what `distill` returns: a `Trainer` whose training targets are
    packed soft targets and labels (N, C + 1) (`DistillationLoss.pack`). Use it as any
    Trainer: `predict`, `predict_proba`, `accuracy(X, y)` and validation take plain labels
    (N,); its History's train_acc is read from the label column; `.net` is the student."""

    def prepare(self, X, y, name: str = "X"):
        y = np.asarray(y)
        if y.ndim != 2:
            return super().prepare(X, y, name)
        self.n_outputs = None
        try:
            X, _ = super().prepare(X, y[:, -1], name)  # checks X and the labels as usual
        except ValueError:
            self._check_classes(y.shape[1] - 1)   # a narrower student: its labels out of range
            raise
        self._check_classes(y.shape[1] - 1)
        return X, get_array_module(X).asarray(y)

    def _check_classes(self, classes: int) -> None:
        """Refuse a student whose outputs (`n_outputs`, once `prepare` ran it) are not the
        teacher's `classes`, naming both (else the loss failed at the first step, on shapes
        of packed targets the user never made)."""
        if self.n_outputs is not None and self.n_outputs != classes:
            raise ValueError(f"the student gives {self.n_outputs} outputs a row but the "
                             f"teacher's soft targets have {classes} classes: build the "
                             f"student with {classes} outputs")

    def _accuracy(self, X, y) -> float:
        return super()._accuracy(X, y[:, -1].astype(np.int64) if y.ndim == 2 else y)


def distill(teacher, student: Layer, X, y=None, *, temperature: float = 4.0,
            alpha: float = 0.9, opt: Optimizer | None = None, reg=None, epochs: int = 30,
            batch_size: int = 32, seed=0, val=None, average: float | None = None,
            callbacks=(), progress: bool | None = False) -> DistillTrainer:
    """Train `student` on `teacher`'s softened probabilities plus the true labels.

    teacher: an Ensemble or anything `Ensemble` takes as a member; student: an untrained
    network with as many outputs as the teacher has classes. X: (N, D) transfer inputs, fed
    to both as given; y: (N,) true labels, or None to learn from the teacher alone (then
    alpha must be 1). The loss is `DistillationLoss(temperature, alpha)`: alpha weights the
    soft targets, 1 - alpha the labels. The other arguments set up the student's Trainer
    (Adam(1e-3) by default), a `DistillTrainer`, which is returned after `fit`; its History's
    train_acc is the accuracy on y (on the teacher's own choices when y is None).
    """
    teacher = teacher if isinstance(teacher, Ensemble) else Ensemble([teacher])
    if y is None and alpha != 1:
        raise ValueError(f"alpha={alpha!r} gives the true labels weight {1 - alpha:g}, but y is "
                         f"None; pass the labels or alpha=1.0")
    if y is not None:
        X, y = validate(X, y)
    probs = teacher.predict_proba(X)
    labels = probs.argmax(axis=1) if y is None else teacher.class_indices(y, probs.shape[1])
    targets = DistillationLoss.pack(soften(probs, temperature), labels)
    trainer = DistillTrainer(student, DistillationLoss(temperature, alpha), opt or Adam(1e-3),
                             reg=reg, batch_size=batch_size, epochs=epochs, seed=seed,
                             callbacks=callbacks, progress=progress, average=average)
    trainer.fit(X, targets, val=val)
    return trainer


# The largest distillation temperature taken: softmax(z / T) is uniform to 1e-5 at 1e6 for
# logits 10 apart, and the soft loss is scaled by T^2, which overflows beyond ~1e154 (the run
# then read as diverged on its data)
MAX_TEMPERATURE = 1e6


def _check_temperature(temperature) -> None:
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) \
            or not math.isfinite(temperature) \
            or not 0 < temperature <= MAX_TEMPERATURE:
        raise ValueError(f"temperature must be a positive number up to {MAX_TEMPERATURE:g} (1 "
                         f"leaves the probabilities as they are, 2-20 softens them), got "
                         f"{temperature!r}")


def _probabilities(model, X) -> np.ndarray:
    """A member's class probabilities (N, C) for its preprocessed X (N, D)."""
    if isinstance(model, Layer):
        return to_numpy(softmax(predict_scores(model, X)))
    return np.asarray(model.predict_proba(X))


def _values(model, X) -> np.ndarray:
    """A member's predicted values for its preprocessed X (N, D): (N,), or (N, K)."""
    if isinstance(model, Layer):
        v = to_numpy(predict_scores(model, X))
    elif isinstance(model, Trainer):
        v = to_numpy(model.scores(X))
    else:
        v = np.asarray(model.predict(X))
    return v[:, 0] if v.ndim == 2 and v.shape[1] == 1 else v


def _mean_of(arrays: list[np.ndarray]) -> np.ndarray:
    """The elementwise mean of the members' arrays (all of one shape), summed in float64 and
    returned in the members' dtype."""
    total = np.zeros(arrays[0].shape, dtype=np.float64)
    for a in arrays:
        total += a
    return (total / len(arrays)).astype(arrays[0].dtype, copy=False)
