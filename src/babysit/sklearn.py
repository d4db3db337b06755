"""scikit-learn estimators: babysit networks inside Pipelines, GridSearchCV and cross-validation.

`BabysitClassifier` and `BabysitRegressor` take the fields of `babysit.runs.config.RunConfig` (all
but `data` and `target`: an estimator is given X and y) as keyword arguments (`hidden`,
`activation`, `init`, `batchnorm`, `dropout`, `optimizer`, `lr`, `reg`, `epochs`,
`batch_size`, `seed`, `average`, `preprocess`, ...), plus `verbose`. Their constructors are
generated from RunConfig, so a new field is an estimator parameter with no edit here. They
store the arguments untouched, map them onto a RunConfig in `fit` (which checks them) and
build the network and the `Trainer` with `babysit.runs.builders`. What is learned
ends in `_`: `net_`, `trainer_`, `history_` (the run's `History`, ready for
`history_.diagnose()`), `preprocess_`, `classes_`, `n_features_in_`, `training_ranges_`;
`report(path)` writes the report of the last fit (report.html), as `babysit train` does.

Rows far outside the training range are predicted all the same, but `predict`,
`predict_proba` and `score` say so in one `ExtrapolationWarning` (a UserWarning) per call,
as `babysit predict` does: how many rows, in which columns (by name when fitted on a
DataFrame, else "column j"), how far. `training_ranges_` (D, 3) holds each feature's
training min, max and std (`babysit.data.training_range`, which states the rule).

X may be a table as people hold it: a pandas DataFrame with text, categorical, date or
missing values (or a 2-d array of text) goes through the same
`babysit.data.tabular.TableEncoder` as a CSV given to `babysit train` (one-hot categories,
dates expanded, medians and indicator columns for missing cells, identifiers left out),
fitted on the training rows (`table_`; None for X of numbers only); `feature_names_in_`
keeps the DataFrame's column names, and new rows are matched to them by name. Errors name
the column and the row. partial_fit fits the encoder on its first call's rows.

They pickle like any scikit-learn estimator (that is scikit-learn's convention, for
`joblib` and model selection); babysit's own checkpoints stay pickle-free.
"""

from __future__ import annotations

import inspect
import textwrap
import warnings
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y, validate_data

from babysit.backend import resolve_dtype, to_numpy
from babysit.data import frames, preprocess, tabular, training_range
from babysit.data.arrays import binary_scale
from babysit.runs.builders import build_model, build_trainer
from babysit.runs.config import RunConfig, config_fields
from babysit.runs.predict import in_training_order
from babysit.training import monitors
from babysit.training.callbacks import EarlyStopping
from babysit.validation import refuse_mixed_labels

# RunConfig fields an estimator does not take: it is given its data as X and y.
_NOT_PARAMETERS = ("data", "target", "task", "drop", "split", "val_data", "test_data",
                   "header")


def _generated_init(overrides: dict, excluded: tuple = ()):
    """An `__init__` taking each RunConfig field (but `_NOT_PARAMETERS` and `excluded`) as a
    keyword argument with RunConfig's default (or `overrides`' one), plus verbose=False, and
    storing each untouched, as scikit-learn requires. Its signature is the one scikit-learn's
    `get_params` reads."""
    defaults = {name: f.default for name, f in config_fields().items()
                if name not in _NOT_PARAMETERS + excluded}
    defaults.update(overrides, verbose=False)

    def __init__(self, **params):
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected arguments {unknown}; it takes "
                            f"{', '.join(defaults)}")
        for name, default in defaults.items():
            setattr(self, name, params.get(name, default))

    __init__.__signature__ = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
           for name, default in defaults.items()])
    return __init__


def _parameters_doc(init) -> str:
    """The docstring's "Parameters" section for a generated `__init__`: each parameter with
    its default and RunConfig's help text and choices (those `babysit train --help` shows),
    so that the estimators' docs say what the fields say and cannot drift from them."""
    fields = config_fields()
    lines = ["", "Parameters", "----------"]
    for name, param in list(inspect.signature(init).parameters.items())[1:]:
        if name == "verbose":
            text = "show a progress bar while fitting"
        else:
            text = fields[name].metadata["help"]
            choices = fields[name].metadata["cli_choices"]
            if choices is not None:
                text += "; one of " + ", ".join(
                    "None" if c is None else repr(c) for c in choices())
        lines.append(f"{name} : default {param.default!r}")
        lines += textwrap.wrap(text, 88, initial_indent="    ", subsequent_indent="    ")
    return textwrap.indent("\n".join(lines), "    ") + "\n"


class _BabysitEstimator(BaseEstimator):
    """What the classifier and the regressor share: validating, building, training, scoring.

    Subclasses generate `__init__` (`_generated_init`), define `_fixed()` (the RunConfig
    fields they set themselves) and turn their targets into what the loss expects before
    `_train`.
    """

    def _validate(self, X, y="no_validation", reset: bool = True, **check_params):
        """X (N, D) as a float array (the network's dtype unless already float32/64, float64
        for integers of 32 or 64 bits, `_wide_integers`), and y
        as `check_params` ask (X alone when y is not given); sets n_features_in_ when `reset`,
        else checks X against it. A table (`frames.needs_encoder`: text, categories, dates or
        missing values) goes through the `TableEncoder` fitted when `reset` (`table_`)."""
        dtypes = [resolve_dtype(self.dtype), np.float32, np.float64]
        if _wide_integers(X):   # float32 rounds integers past 2**24 before preprocess sees them
            dtypes = [np.float64, np.float32]
        if reset:
            # a program's columns are features it chose: none is guessed to be a row counter
            self.table_ = tabular.TableEncoder(
                row_numbers=False, categorical=frames.categorical_columns(X)) \
                if frames.needs_encoder(X) else None
        if getattr(self, "table_", None) is None:
            return validate_data(self, X, y, reset=reset, dtype=dtypes, **check_params)
        X = self._encoded(X, reset)
        if isinstance(y, str) and y == "no_validation":
            return check_array(X, dtype=dtypes)
        return check_X_y(X, y, dtype=dtypes, **check_params)

    def _encoded(self, X, reset: bool) -> np.ndarray:
        """A table X (N, C) through `table_` (fitted on it when `reset`): (N, D) float32. Its
        columns are matched by name when it was fitted on a DataFrame (`feature_names_in_`),
        else by position; rows far outside the training range are warned of."""
        cells, names = frames.cells_of(X)
        if reset:
            if names is not None:
                self.feature_names_in_ = np.asarray(names, dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            self.n_features_in_ = cells.shape[1]
            try:
                self.table_.fit(cells, names or _positions(cells.shape[1]))
            except tabular.RefusedColumns as err:   # the command line's --drop, said for X
                raise ValueError(f"{err.whys}; or drop {', '.join(map(repr, err.columns))} "
                                 f"from X") from None
            if self.table_.left_out_:   # said, as the command line's notes say it
                warnings.warn(f"{type(self).__name__}: X's columns left out of the features: "
                              + "; ".join(f"{name!r} ({why})" for name, why
                                          in self.table_.left_out_.items())
                              + " (table_.left_out_)", UserWarning, stacklevel=4)
            return self.table_.transform(cells)
        cells = _columns_in_order(cells, names, getattr(self, "feature_names_in_", None),
                                  self.table_)
        X, numbers = self.table_.encode(cells)
        far = training_range.far_outside(self.table_, numbers)
        if far is not None:
            far.warn(stacklevel=5)     # warn, this, _validate, _scores, predict: its caller
        return X

    def _config(self) -> RunConfig:
        """The parameters as a RunConfig, which checks them: called before fit (or a first
        partial_fit) changes anything learned, so that a refused setting leaves a fitted
        estimator as it was rather than with a new `classes_` or width and the old network."""
        params = self.get_params(deep=False)
        return RunConfig.from_dict({**{k: v for k, v in params.items() if k != "verbose"},
                                    **self._fixed()})

    def _start(self, X, n_out: int, cfg: RunConfig) -> None:
        """A fresh network and Trainer for inputs like X (N, D) and `n_out` outputs, built
        from `cfg` (`_config`), and the training ranges of X's columns."""
        self.training_ranges_ = training_range.ranges_of(X)
        params = self.get_params(deep=False)
        idle = [f"{name}={params[name]!r}" for name, idle in (
            ("best_weights", cfg.best_weights),
            ("min_delta", cfg.min_delta and cfg.patience is None)) if idle]
        if idle:   # set, but nothing here reads it: say so rather than ignore it silently
            warnings.warn(f"{type(self).__name__}: {', '.join(idle)} does nothing here: "
                          f"best_weights keeps the epoch of the best validation score and fit "
                          f"takes no validation data; min_delta applies with patience",
                          UserWarning, stacklevel=4)
        self.preprocess_ = preprocess.get(preprocess.resolve(cfg.preprocess, images=False)[0])
        if self.preprocess_ is not None:
            self.preprocess_.fit(X)
        n_in = X.shape[1] if self.preprocess_ is None else self.preprocess_.n_features_out_
        self.net_ = build_model(cfg, n_in, n_out)
        # The default monitors record what the report draws (update ratios, layer histograms).
        self.trainer_ = build_trainer(cfg, self.net_, quiet=not self.verbose,
                                      callbacks=monitors.default())
        self.history_ = self.trainer_.history

    def report(self, path, validation=None) -> Path:
        """Write the report of the last fit into the folder `path` (created if missing): the
        same report.html `babysit train` writes, diagnosis first. `validation`: (X, y) held
        out from fit, scored now (`score`) and shown on the page; without it the page says the
        run had no validation data (an estimator's fit takes none, so the curves per epoch
        are the training data's alone). Returns the path of report.html."""
        from babysit import report

        check_is_fitted(self, "trainer_")
        self.history_.meta.update(estimator=type(self).__name__)
        sections = []
        if validation is not None:
            X_val, y_val = validation
            what = "accuracy" if isinstance(self, ClassifierMixin) else "R^2"
            score = self.score(X_val, y_val)
            sections.append(report.Section(
                "Validation", f"<p>{what} {score:.4f} on the {len(y_val):,} validation examples "
                "given to <code>report()</code>, measured after the fit (the fit itself saw no "
                "validation data, so no curve per epoch is drawn for them).</p>", "validation"))
        return report.write(self.history_, path, preprocess=self.preprocess_, sections=sections)

    def _train(self, X, y, epochs: int, stopping: bool = True) -> None:
        """Run the Trainer for `epochs` more passes over (X, y); y holds what the loss expects.
        stopping=False (partial_fit's one epoch, which the caller asked for) leaves early
        stopping out, as scikit-learn's MLPClassifier does: once it had stopped a run, every
        later partial_fit would otherwise do nothing, without a word."""
        self.trainer_.epochs = self.trainer_.epoch + epochs
        callbacks = self.trainer_.callbacks
        if not stopping:
            self.trainer_.callbacks = [cb for cb in callbacks if not isinstance(cb, EarlyStopping)]
        try:
            self.trainer_.fit(self._inputs(X), y)
        finally:
            self.trainer_.callbacks = callbacks

    def _inputs(self, X):
        """X (N, D) as the network sees it: through the preprocessing fitted in `_start`."""
        return X if self.preprocess_ is None else self.preprocess_.transform(X)

    def _scores(self, X) -> np.ndarray:
        """Test-time network outputs (N, C) (with the averaged weights when `average` is set),
        after checking that the estimator is fitted, validating X (N, D) and warning of its
        rows far outside the training range."""
        check_is_fitted(self, "trainer_")
        X = self._validate(X, reset=False)
        self._warn_far_outside(X)
        return to_numpy(self.trainer_.scores(self._inputs(X)))

    def _warn_far_outside(self, X) -> None:
        """One `ExtrapolationWarning` at the caller of predict (or predict_proba) when rows
        of X (N, D) lie far outside `training_ranges_`, naming the columns and counting the
        rows; none for an estimator pickled before the ranges were kept."""
        ranges = getattr(self, "training_ranges_", None)
        if ranges is None or getattr(self, "table_", None) is not None:   # a table: _encoded
            return
        columns = training_range.far_columns(X, ranges)
        if not columns.any():
            return      # the common case, decided from each column's min and max
        rows = training_range.far_cells(X[:, columns], ranges[columns]).any(axis=1)
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = [f"column {j}" for j in range(X.shape[1])]
        # how far: measured on the far rows only; the frames are warn, this method, _scores,
        # predict: the warning points at predict's caller
        training_range.measure(X[rows], ranges, names).warn(stacklevel=4, of_rows=len(X))

    def _widen_ranges(self, X) -> None:
        """A later partial_fit call's rows X (N, D) widen the training min and max (a table's
        encoder keeps the first call's)."""
        self.training_ranges_ = training_range.widened(self.training_ranges_, X)


class BabysitClassifier(ClassifierMixin, _BabysitEstimator):
    """A babysit network trained as a classifier, with scikit-learn's manners.

    Labels may be of any type (strings, integers, ...): `classes_` lists them sorted and
    the network's output j scores `classes_[j]`. The arguments are RunConfig's fields (those
    of `babysit train`), listed below with its help text, where "none" is None and a
    comma-separated list a tuple: `hidden` is an int for one layer, () for a linear
    classifier; `seed=None` differs each fit; on `device="gpu"` predictions still come back
    as NumPy arrays; early stopping (`patience`) watches the training accuracy, since an
    estimator has no validation split; `preprocess` is fitted on the training X ("minmax",
    the default here, maps each feature's training range to [-1, 1]).
    """

    __init__ = _generated_init({"preprocess": "minmax"})
    __doc__ += _parameters_doc(__init__)

    def _fixed(self) -> dict:
        if self.loss not in ("softmax", "svm"):
            raise ValueError(f"loss must be 'softmax' or 'svm' for a classifier, "
                             f"got {self.loss!r}")
        return {}

    def fit(self, X, y):
        """Train a fresh network on X (N, D) and labels y (N,) for `epochs` epochs; returns self."""
        cfg = self._config()
        _refuse_missing_labels(y)
        refuse_mixed_labels(y)
        X, y = self._validate(X, y)
        check_classification_targets(y)
        self.classes_, indices = np.unique(y, return_inverse=True)
        self._start(X, len(self.classes_), cfg)
        self._train(X, indices, self.epochs)
        return self

    def partial_fit(self, X, y, classes=None):
        """One epoch on X (N, D), y (N,), continuing from the previous call; returns self.

        `classes` lists every label the data will ever hold; it is required on the first
        call, since the network's output width is fixed when it is built. `fit` starts over.
        """
        first = not hasattr(self, "trainer_")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit: the "
                             "network needs every label up front, e.g. classes=np.unique(y_all)")
        if not first and classes is not None and not np.array_equal(np.unique(classes),
                                                                    self.classes_):
            raise ValueError(f"classes={classes!r} differs from the first call's "
                             f"classes_={self.classes_!r}")
        cfg = self._config() if first else None
        _refuse_missing_labels(y)
        refuse_mixed_labels(y)
        X, y = self._validate(X, y, reset=first)
        check_classification_targets(y)
        known = np.unique(classes) if first else self.classes_
        unknown = np.setdiff1d(y, known)
        if unknown.size:   # before a first call builds anything: a corrected retry is first
            raise ValueError(f"y holds labels {unknown.tolist()!r} that are not in "
                             f"{'classes' if first else 'classes_'}={known.tolist()!r}")
        if first:
            self.classes_ = known
            self._start(X, len(self.classes_), cfg)
            # the monitors count each call's chunk: a class one chunk lacks may be in others
            self.history_.meta["partial_fit"] = True
        else:
            self._widen_ranges(X)
        self._train(X, np.searchsorted(self.classes_, y), 1, stopping=False)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (N, n_classes) for X (N, D), columns in the order of `classes_`."""
        scores = self._scores(X)
        return to_numpy(self.trainer_.loss.probabilities(scores))

    def predict(self, X) -> np.ndarray:
        """The label of the highest score for each row of X (N, D): (N,), of `classes_`' type."""
        scores = self._scores(X)
        return self.classes_[scores.argmax(axis=1)]


class BabysitRegressor(RegressorMixin, _BabysitEstimator):
    """A babysit network trained on mean squared error, with scikit-learn's manners.

    Targets may be (N,) or (N, K); predictions have the same number of dimensions. The
    targets are standardized inside (`target_scaling_`, fitted on the training targets), so
    that the learning rate does not depend on their units; predictions are mapped back. The
    arguments are those of `BabysitClassifier` without `loss` and `patience` (early stopping
    watches an accuracy, which regression does not have).
    """

    __init__ = _generated_init({"preprocess": "minmax"}, excluded=("loss", "patience"))
    __doc__ += _parameters_doc(__init__)

    def _fixed(self) -> dict:
        # Early stopping watches accuracy, which a regression loss does not have.
        return {"loss": "mse", "patience": None}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y):
        """Train a fresh network on X (N, D) and targets y (N,) or (N, K); returns self."""
        cfg = self._config()
        X, y = self._validate(X, y, multi_output=True, y_numeric=True)
        y2 = self._set_target_scaling(y)
        self._start(X, y2.shape[1], cfg)
        self._train(X, self._scaled(y2), self.epochs)
        return self

    def partial_fit(self, X, y):
        """One epoch on X (N, D), y (N,) or (N, K), continuing from the previous call.

        The first call fixes the target scaling and the number of outputs. Returns self.
        """
        first = not hasattr(self, "trainer_")
        cfg = self._config() if first else None
        X, y = self._validate(X, y, reset=first, multi_output=True, y_numeric=True)
        if first:
            y2 = self._set_target_scaling(y)
            self._start(X, y2.shape[1], cfg)
        else:
            y2 = y.reshape(len(y), -1)
            if y2.shape[1] != self.n_outputs_:
                raise ValueError(f"y has {y2.shape[1]} outputs, but the first call to "
                                 f"partial_fit had {self.n_outputs_}")
            self._widen_ranges(X)
        self._train(X, self._scaled(y2), 1, stopping=False)
        return self

    def predict(self, X) -> np.ndarray:
        """Predicted targets for X (N, D): (N,) when trained on (N,) targets, else (N, K)."""
        scores = self._scores(X).astype(np.float64)
        pred = self.target_scaling_.inverse_transform(scores)
        return pred.ravel() if self._y_ndim == 1 else pred

    def score(self, X, y, sample_weight=None) -> float:
        """R^2 of the predictions for X (N, D) against y (N,) or (N, K), as scikit-learn's
        `r2_score` takes it (sample weights, outputs averaged alike), on y and the
        predictions over a power of two near each output's largest magnitude
        (`binary_scale`): R^2 does not change with the scale, and the squares of targets of
        1e200 overflowed (NaN). Where nothing overflowed, the same number bit for bit."""
        from sklearn.metrics import r2_score

        pred = self.predict(X)
        y = np.asarray(y)
        if y.shape == pred.shape and y.dtype.kind in "iuf" and np.isfinite(y).all() \
                and np.isfinite(pred).all():
            y, pred = y.astype(np.float64), pred.astype(np.float64)
            top = binary_scale(np.maximum(np.abs(y).max(axis=0), np.abs(pred).max(axis=0)))
            y, pred = y / top, pred / top
        return float(r2_score(y, pred, sample_weight=sample_weight))

    def _set_target_scaling(self, y) -> np.ndarray:
        """Record the targets' dimensions and fit their standardization; y as (N, K) float64."""
        self._y_ndim = y.ndim
        y2 = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        self.n_outputs_ = y2.shape[1]
        self.target_scaling_ = preprocess.Standardize().fit(y2)
        return y2

    def _scaled(self, y2: np.ndarray) -> np.ndarray:
        """(N, K) targets in the standardized units the network is trained on."""
        return self.target_scaling_.transform(y2)


def _refuse_missing_labels(y) -> None:
    """A ValueError naming y, how many of its labels are missing (None, NaN, pandas' NA) and
    where the first is: sorting the labels failed on them with a bare TypeError ("'<' not
    supported between instances of 'NoneType' and 'str'", "boolean value of NA is
    ambiguous"). Labels of a numeric dtype are left to scikit-learn's check for NaN."""
    if y is None:                                 # scikit-learn's own check says y is needed
        return
    if hasattr(y, "isna"):                        # a pandas Series (or DataFrame), any dtype
        missing = np.asarray(y.isna(), dtype=bool).ravel()
    elif getattr(y, "dtype", np.dtype(object)).kind == "O":   # a list, an object array
        values = np.asarray(y, dtype=object).ravel()
        missing = np.array([v is None or (isinstance(v, float) and v != v) for v in values],
                           dtype=bool)
    else:
        return
    count = int(missing.sum())
    if count:
        raise ValueError(f"y holds {count} missing label{'s' if count > 1 else ''} (the first "
                         f"at position {np.flatnonzero(missing)[0]}); give every row a label, "
                         f"or leave the unlabelled rows out of X and y")


def _wide_integers(X) -> bool:
    """Whether X holds integers of 32 or 64 bits (a column of a DataFrame, or all of an array
    or a list), which float32 rounds past 2**24: a Unix time or an identifier would lose its
    last digits before `preprocess` scaled its range, so the same values given as int64 or as
    float64 would train different networks. Such X is converted to float64; the network still
    trains in its dtype, on the scaled values. 8- and 16-bit integers (pixels) fit float32."""
    if not frames.is_frame(X) and not hasattr(X, "dtype"):
        try:
            X = np.asarray(X)
        except (ValueError, TypeError):   # ragged or odd: scikit-learn's checks refuse it
            return False
    dtypes = X.dtypes if frames.is_frame(X) else [X.dtype]
    return any(getattr(d, "kind", "O") in "iu" and getattr(d, "itemsize", 0) > 2
               for d in dtypes)


# The end of the table encoder's refusal, which names the command line's option.
def _positions(n: int) -> list[str]:
    """The names of an array's unnamed columns: "column 0", "column 1", ..."""
    return [f"column {j}" for j in range(n)]


def _columns_in_order(cells: np.ndarray, names, fitted, table) -> np.ndarray:
    """New rows' cells (N, C) with their columns in the order the encoder `table` was fitted
    on: by name when it was fitted on named columns (`fitted`) and these have names, as
    `babysit predict` matches a file's (`in_training_order`: a column it uses that is absent
    is a ValueError naming it, one it left out need not be there, one X did not have at fit
    is ignored with a warning), else by position."""
    n_fitted = table.n_features_in_
    if fitted is not None and names is not None:
        return in_training_order(cells, names, table, "X", known=table.columns_)
    if cells.shape[1] != n_fitted:
        raise ValueError(f"X has {cells.shape[1]} columns, but the estimator was fitted on "
                         f"{n_fitted}")
    if fitted is not None:   # scikit-learn's own words for the same case
        warnings.warn(f"X does not have valid feature names, but the estimator was fitted "
                      f"with feature names: its columns are read by position as "
                      f"{', '.join(map(repr, fitted))}", UserWarning, stacklevel=6)
    return cells


__all__ = ["BabysitClassifier", "BabysitRegressor"]
