"""What a `RunConfig` builds: the data, the network, the penalty, the Trainer.

Every front end (the command line, the scikit-learn estimators, the search, the ensembles)
builds through these functions, so a run configured the same way is built the same way.
"""

from __future__ import annotations

import dataclasses
import math

from babysit.data import datasets, preprocess, tabular
from babysit.data.arrays import is_memory_mapped
from babysit.nn import layers, losses, optim, regularizers
from babysit.runs.config import RunConfig
from babysit.training import monitors
from babysit.training.alerts import Alerts, say_nothing
from babysit.training.callbacks import BestWeights, EarlyStopping
from babysit.training.trainer import Trainer, batches_per_epoch


def load_data(cfg: RunConfig) -> datasets.Dataset:
    """The `cfg.data` dataset split in three (seeded by `cfg.seed`, in `cfg.split`'s parts
    or with `cfg.val_data`'s and `cfg.test_data`'s rows; a table's `cfg.task` and `cfg.drop`
    applied), with the `cfg.preprocess` transform ("auto" resolved for the kind of
    data) fitted on the training split only and applied to all three (`data.preprocess`).
    What "auto" chose opens `data.notes`."""
    data = datasets.load(cfg.data, seed=cfg.seed or 0, target=cfg.target, task=cfg.task,
                         drop=cfg.drop, fractions=cfg.split, val_data=cfg.val_data,
                         test_data=cfg.test_data, header=cfg.header)
    name, reason = preprocess.resolve(cfg.preprocess, images=data.image_shape is not None,
                                      mapped=is_memory_mapped(data.train.X))
    data = data.preprocessed(preprocess.get(name), copy=False)   # the data held once
    chosen = f"preprocessing {name}" + (f" (auto: {reason})" if cfg.preprocess == "auto" else "")
    return dataclasses.replace(data, notes=[chosen, *data.notes])


# RunConfig's defaults suit images (digits, MNIST: a thousand rows and more). A table of a few
# hundred rows lets the 100-100 network overfit at reg 1e-4, and its few steps per epoch leave
# 30 epochs short of converging at a stronger penalty. Measured over ten seeds (the splits of
# benchmarks/tabular.py), test R^2 on diabetes: 0.41 at 3e-2 / 30 epochs, 0.44 at 3e-2 / 60;
# accuracy on wine 0.958 and 0.967, on penguins 0.990 and 0.990. On digits 3e-2 costs accuracy
# (0.947 against 0.981), so images keep RunConfig's. Retuned on the tuning half of
# benchmarks/tabular.py's R tables (seeds 100-107, `tabular_variants.py --tables tuning`):
# 3e-3, 1e-2 and 1e-1 each lose to 3e-2 on some tables (Carseats and CPS1985 want it strong,
# Auto and Credit weaker, by 0.01-0.2 R^2) and no count of rows or features tells them apart
# (all have 168-685 training rows), so 3e-2 stays. A run ends with its best validation
# epoch's weights (`best_weights`), the model `babysit predict` loads from best.safetensors,
# so that what it prints is what a user gets (with the last epoch's instead, Hitters' R^2 was
# 0.03 higher over those seeds, within its noise of 0.05).
# That penalty is for a few hundred rows: a prior's weight falls as the data grows, and on
# larger tables 3e-2 held babysit behind the MLP pipeline (benchmarks/tabular_large.py, seeds
# 100-102, paired test R^2: friedman1's 15,000 training rows -0.047, Computers' 4,007
# -0.053). So a table of more than TABLE_REG_ROWS training rows takes 3e-2 *
# (TABLE_REG_ROWS / rows)^TABLE_REG_POWER, never below RunConfig's 1e-4 (`table_reg`).
# Chosen on that benchmark's tuning half (five tables, 2,850-42,152 training rows, each
# measured at 3e-2, 1e-2, 3e-3, 1e-3, 1e-4) with N0 at the largest training set of
# tabular.py's tuning half (OJ's 685 rows, which so keeps 3e-2): of N0 700, 1,000, 2,000 and
# powers 0.5-2, (700, 2) scored best, interpolating between the penalties measured. The mean
# paired difference went from -0.028 to +0.003 there; on the confirmation half (digits as a
# table, CPS1988, TenMileRace, mlc_churn, hpc_data) from -0.025 to +0.001, every table up
# (hpc_data's accuracy -0.090 -> -0.017, CPS1988's R^2 -0.027 -> -0.005). Of tabular.py's
# tables only Wage (1,920 rows) has more than 700; its R^2 over seeds 100-107 went
# +0.040 -> +0.043 against the pipeline.
TABLE_DEFAULTS = {"reg": 3e-2, "epochs": 60, "best_weights": True}
TABLE_REG_ROWS = 700
TABLE_REG_POWER = 2


def table_reg(n_train: int) -> float:
    """The L2 penalty of a table of `n_train` training rows when --reg is not given:
    TABLE_DEFAULTS["reg"] * min(1, (TABLE_REG_ROWS / n_train) ** TABLE_REG_POWER), at least
    RunConfig's default (1e-4, the weakest penalty measured)."""
    shrink = min(1.0, (TABLE_REG_ROWS / max(n_train, 1)) ** TABLE_REG_POWER)
    return max(RunConfig().reg, TABLE_DEFAULTS["reg"] * shrink)


def table_reg_note(cfg: RunConfig, data: datasets.Dataset, chosen=()) -> str | None:
    """What a run's opening lines say when a table's rows made its penalty weaker than
    TABLE_DEFAULTS' (None otherwise: for data that is no small table, reg in `chosen`, or a
    table of at most TABLE_REG_ROWS training rows)."""
    rows = len(data.train.y)
    if "reg" in chosen or not _small_table(data) or rows <= TABLE_REG_ROWS:
        return None
    return (f"penalty {cfg.reg:.2g}: a table's {TABLE_DEFAULTS['reg']:g} is for a few hundred "
            f"rows, and {rows:,} training rows take {TABLE_DEFAULTS['reg']:g} * "
            f"({TABLE_REG_ROWS} / {rows})^{TABLE_REG_POWER} (at least {RunConfig().reg:g}); "
            f"--reg sets another")

# An epoch of a small table is a handful of steps (wine's 106 training rows: 4 batches of 32),
# and Adam needs about 1,500 of them to settle at the penalty of 3e-2. Sixty epochs stopped
# short there: over 100 seeds (splits 100-199 of benchmarks/tabular.py) the MLP pipeline was
# ahead on the penguins by 0.0017 +- 0.0008 (paired, one standard error); at 1,500 updates
# the two tie (+0.0000 +- 0.0006) and wine gains 0.006, diabetes' R^2 0.013. A table trains
# for at least TABLE_MIN_UPDATES steps, at least TABLE_DEFAULTS' 60 epochs and at most
# TABLE_MAX_EPOCHS (a table of a few dozen rows would otherwise write a checkpoint for each of
# 1,500 one-batch epochs).
TABLE_MIN_UPDATES = 1500
TABLE_MAX_EPOCHS = 400


def table_epochs(n_train: int, batch_size: int) -> int:
    """The epochs a table of `n_train` training rows trains for in batches of `batch_size`
    when --epochs is not given: enough for TABLE_MIN_UPDATES steps, between
    TABLE_DEFAULTS["epochs"] and TABLE_MAX_EPOCHS."""
    fewest = math.ceil(TABLE_MIN_UPDATES / batches_per_epoch(n_train, batch_size))
    return min(TABLE_MAX_EPOCHS, max(TABLE_DEFAULTS["epochs"], fewest))


def table_epochs_note(cfg: RunConfig, data: datasets.Dataset, chosen=()) -> str | None:
    """What a run's opening lines say when the update rule set a table's epochs above
    TABLE_DEFAULTS' (None otherwise: for data that is no small table, or epochs in `chosen`,
    the field names the user gave, as for `fit_to_data`)."""
    rule = table_epochs(len(data.train.y), cfg.batch_size)
    if "epochs" in chosen or not _small_table(data) or rule == TABLE_DEFAULTS["epochs"]:
        return None
    batches = batches_per_epoch(len(data.train.y), cfg.batch_size)
    return (f"{cfg.epochs} epochs: {len(data.train.y)} training rows make {batches} batches "
            f"of {cfg.batch_size} an epoch, and a table trains for at least "
            f"{TABLE_MIN_UPDATES:,} updates (at most {TABLE_MAX_EPOCHS} epochs); --epochs "
            f"sets another number")


def best_weights_note(cfg: RunConfig, data: datasets.Dataset, chosen=()) -> str | None:
    """What a table's run says in its opening lines about the model it ends with (None when
    the user chose --best-weights or --no-best-weights, or for data that is no small table)."""
    if "best_weights" in chosen or not cfg.best_weights or not _small_table(data):
        return None
    return ("the run ends with the weights of its best validation epoch (best.safetensors, "
            "the model babysit predict loads), and its scores are that model's; "
            "--no-best-weights keeps the last epoch's")


def _small_table(data: datasets.Dataset) -> bool:
    """Rows that are not images, held in memory (a memory-mapped file is no small table)."""
    return (data.image_shape is None and data.raw_image_shape is None
            and not is_memory_mapped(data.train.X))


def fit_to_data(cfg: RunConfig, data: datasets.Dataset, chosen=()) -> RunConfig:
    """`cfg` made concrete for `data`. For a table (rows that are not images, held in memory:
    a memory-mapped file keeps RunConfig's defaults), the settings of
    TABLE_DEFAULTS that the user did not choose (`chosen`: the field names given on the
    command line or in a config file) take the table's default, the penalty `table_reg`'s
    for its training rows, the epochs `table_epochs`' number for them and `cfg.batch_size`.
    The loss is the one the task needs: mean squared error for a regression target (the
    classification losses score classes), the chosen loss otherwise. A regression loss for
    classes, or a classification loss other than the default for a quantity, is an error."""
    if _small_table(data):
        rows = len(data.train.y)
        fill = {**TABLE_DEFAULTS, "reg": table_reg(rows),
                "epochs": table_epochs(rows, cfg.batch_size)}
        cfg = cfg.replace(**{k: v for k, v in fill.items() if k not in chosen})
    if data.task == "regress":
        if cfg.loss not in ("mse", RunConfig().loss):
            raise ValueError(f"--loss {cfg.loss} scores classes, but the target of {data.name} "
                             f"is regressed (task regress): leave --loss out, or --task classify")
        return cfg.replace(loss="mse")
    if not losses.get(cfg.loss).classification:
        raise ValueError(f"--loss {cfg.loss} is a regression loss, but {data.name} holds classes; "
                         f"use softmax or svm, or --task regress for a numeric target")
    return cfg


def checkpoint_meta(cfg: RunConfig, data: datasets.Dataset) -> dict:
    """What each saved model carries besides its weights: the configuration, and for a table
    the encoders and column names that `babysit predict` applies to new rows."""
    return {"config": cfg.to_dict(), **table_meta(data)}


def table_meta(data: datasets.Dataset) -> dict:
    """For a table, {tabular.CHECKPOINT_KEY: its encoders and column names} (what `babysit
    predict` needs in a checkpoint's meta); {} for other data."""
    if data.table is None:
        return {}
    return {tabular.CHECKPOINT_KEY: tabular.to_checkpoint(data.table, data.target)}


def build_model(cfg: RunConfig, n_in: int, n_out: int) -> layers.Sequential:
    """The `cfg.hidden` network from n_in inputs to n_out scores (see `babysit.mlp`), on
    `cfg.device`."""
    return layers.mlp(n_in, list(cfg.hidden), n_out, activation=cfg.activation, init=cfg.init,
                      bias=cfg.bias, batchnorm=cfg.batchnorm, dropout=cfg.dropout,
                      input_noise=cfg.input_noise, seed=cfg.seed,
                      dtype=cfg.dtype).to(cfg.device)


def layer_widths(cfg: RunConfig, data: datasets.Dataset) -> str:
    """The widths of the `cfg.hidden` network on `data`, input to output, e.g. "64-100-100-10"."""
    return "-".join(map(str, [data.n_features, *cfg.hidden, data.n_outputs]))


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
    the History too (babysit.training.monitors.default: cheap, and they never change training);
    `callbacks` are added after them (and after EarlyStopping when `cfg.patience` is set, and
    the `babysit.training.alerts.Alerts` that `cfg.stop_on` tunes), and last `BestWeights`
    when `cfg.best_weights` is on (the monitors read the last epoch's network). quiet: no
    progress bar, no alerts printed. The History's meta records the configuration ("config")."""
    constraints = [regularizers.MaxNorm(cfg.max_norm)] if cfg.max_norm else []
    # a table's encoded columns by name and by the column each comes from, so that a finding
    # can say which column it means and tell one column's one-hot group from several columns
    names = {"feature_names": data.table.feature_names_out_,
             "feature_sources": [source for source, _ in data.table.output_columns()]} \
        if data is not None and data.table is not None else {}
    # the image shape before preprocessing: `babysit report` draws a PCA's components with it
    raw = (data.raw_image_shape or data.image_shape) if data is not None else None
    watch = monitors.default(data.image_shape, data=data.name,
                             raw_image_shape=list(raw) if raw else None, **names) \
        if data is not None else []
    stop = [EarlyStopping(cfg.patience, cfg.min_delta)] if cfg.patience is not None else []
    # The alerts print above the progress bar; a quiet run (a search trial) keeps them in
    # history.meta["alerts"] only, and stops on them all the same.
    alerts = Alerts(cfg.stop_on, write=say_nothing if quiet else None)
    trainer = Trainer(net, losses.get(cfg.loss), build_optimizer(cfg),
                      reg=build_regularizer(cfg), constraints=constraints,
                      batch_size=cfg.batch_size, epochs=cfg.epochs, seed=cfg.seed,
                      progress=None if not quiet else False, average=cfg.average,
                      callbacks=[*watch, *stop, alerts, *callbacks,
                                 *([BestWeights()] if cfg.best_weights else [])])
    trainer.history.meta["config"] = cfg.to_dict()
    return trainer


__all__ = ["TABLE_DEFAULTS", "TABLE_MAX_EPOCHS", "TABLE_MIN_UPDATES", "TABLE_REG_POWER",
           "TABLE_REG_ROWS", "best_weights_note",
           "build_model",
           "build_optimizer", "build_regularizer", "build_trainer", "checkpoint_meta",
           "fit_to_data", "layer_widths", "load_data", "table_epochs", "table_epochs_note",
           "table_meta", "table_reg", "table_reg_note"]
