"""What a `RunConfig` builds: the data, the network, the penalty, the Trainer.

Every front end (the command line, the scikit-learn estimators, the search, the ensembles)
builds through these functions, so a run configured the same way is built the same way.
"""

from __future__ import annotations

from babysit import layers, losses, monitors, optim, preprocess, regularizers
from babysit.callbacks import EarlyStopping
from babysit.config import RunConfig
from babysit.data import datasets
from babysit.train import Trainer


def load_data(cfg: RunConfig) -> datasets.Dataset:
    """The `cfg.data` dataset split in three (seeded by `cfg.seed`), with the `cfg.preprocess`
    transform fitted on the training split only and applied to all three (`data.preprocess`)."""
    data = datasets.load(cfg.data, seed=cfg.seed or 0, target=cfg.target)
    return data.preprocessed(preprocess.get(cfg.preprocess))


def build_model(cfg: RunConfig, n_in: int, n_out: int) -> layers.Sequential:
    """The `cfg.hidden` network from n_in inputs to n_out scores (see `babysit.mlp`), on
    `cfg.device`."""
    return layers.mlp(n_in, list(cfg.hidden), n_out, activation=cfg.activation, init=cfg.init,
                      batchnorm=cfg.batchnorm, dropout=cfg.dropout,
                      input_noise=cfg.input_noise, seed=cfg.seed,
                      dtype=cfg.dtype).to(cfg.device)


def layer_widths(cfg: RunConfig, data: datasets.Dataset) -> str:
    """The widths of the `cfg.hidden` network on `data`, input to output, e.g. "64-100-100-10"."""
    return "-".join(map(str, [data.n_features, *cfg.hidden, data.n_classes]))


# RunConfig.reg_kind's names, each with the penalty it builds from the strength `reg`.
_PENALTIES = {
    "l2": regularizers.L2,
    "l1": regularizers.L1,
    "elastic": lambda lam: regularizers.ElasticNet(lam, lam),
}


def build_regularizer(cfg: RunConfig):
    """The `cfg.reg_kind` penalty of strength `cfg.reg`, or None when `cfg.reg` is 0."""
    return _PENALTIES[cfg.reg_kind](cfg.reg) if cfg.reg else None


def build_optimizer(cfg: RunConfig) -> optim.Optimizer:
    """The `cfg.optimizer` rule at rate `cfg.lr`, decayed as lr * exp(-lr_decay * t) when
    `cfg.lr_decay` > 0 (t counts iterations)."""
    lr = optim.ExponentialDecay(cfg.lr, cfg.lr_decay) if cfg.lr_decay else cfg.lr
    return optim.get(cfg.optimizer, lr)


def build_trainer(cfg: RunConfig, net, *, data: datasets.Dataset | None = None,
                  quiet: bool = False, callbacks=()) -> Trainer:
    """The Trainer `cfg` describes, for `net`. With `data`, the default monitors record into
    the History too (babysit.monitors.default: cheap, and they never change training);
    `callbacks` are added after them (and after EarlyStopping when `cfg.patience` is set).
    quiet: no progress bar. The History's meta records the configuration ("config")."""
    constraints = [regularizers.MaxNorm(cfg.max_norm)] if cfg.max_norm else []
    watch = monitors.default(data.image_shape, data=data.name) if data is not None else []
    stop = [EarlyStopping(cfg.patience, cfg.min_delta)] if cfg.patience is not None else []
    trainer = Trainer(net, losses.get(cfg.loss), build_optimizer(cfg),
                      reg=build_regularizer(cfg), constraints=constraints,
                      batch_size=cfg.batch_size, epochs=cfg.epochs, seed=cfg.seed,
                      progress=None if not quiet else False, average=cfg.average,
                      callbacks=[*watch, *stop, *callbacks])
    trainer.history.meta["config"] = cfg.to_dict()
    return trainer


__all__ = ["build_model", "build_optimizer", "build_regularizer", "build_trainer",
           "layer_widths", "load_data"]
