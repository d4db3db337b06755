"""Preprocessing fitted on the training data only, then applied to validation and test.

The notes' three forms: mean subtraction (`MeanCenter`), normalization (`Standardize`,
`MinMax`), and PCA / whitening (`PCA`, `Whiten`); `Pipeline` chains them.

Manners are scikit-learn's: hyperparameters are only stored in `__init__`; what `fit`
learns ends in `_` (`mean_`, `components_`); `fit` returns `self`. Statistics are computed
in float64 (accumulated in float64, without a float64 copy of the data) and applied in the
data's dtype (float32 stays float32). A fitted transform describes itself as a JSON config
plus named arrays (`to_state()` / `from_state()`), so a checkpoint can store it as JSON +
safetensors, never pickle.

    pre = Standardize().fit(data.train.X)
    Xv = pre.transform(data.val.X)          # the training mean and std, never the val's own
"""

from __future__ import annotations

import inspect

import numpy as np

from babysit.data.arrays import as_float32, check_features, mean_std
from babysit.nn.reprs import config_repr
from babysit.validation import positive_int, real_number, shape_of_image

__all__ = ["Transform", "MeanCenter", "Standardize", "MinMax", "PCA", "Whiten", "Pipeline",
           "from_state", "CHOICES", "resolve", "get"]


class Transform:
    """Base class: `fit(X)`, `transform(X)`, `fit_transform(X)`, `inverse_transform(Z)`.

    Subclasses implement `_fit(X)` (X: (N, D) float32 or float64; learned attributes set
    there, computed in float64: `X.mean(axis=0, dtype=np.float64)`) and `_transform(X)`
    (X: (N, D) in the data's dtype). Every fitted transform records
    `n_features_in_`, the width it was fitted on.
    """

    def fit(self, X) -> Transform:
        """Learn the statistics from training data X: (N, D). Returns self."""
        X = _float_features(X)
        self._fit(X)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        """Apply the fitted statistics to X: (N, D) -> (N, D') in X's float dtype."""
        return self._transform(self._check_input(X, inverse=False))

    def fit_transform(self, X):
        """`fit(X)` then `transform(X)`."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z):
        """Map transformed data Z: (N, D') back to the input space (N, D)."""
        return self._inverse(self._check_input(Z, inverse=True))

    @property
    def n_features_out_(self) -> int:
        """Width of what `transform` returns (the input width unless the transform reduces it)."""
        self._check_fitted()
        return self.n_features_in_

    @property
    def keeps_layout(self) -> bool:
        """True when output column j is still input column j, rescaled or shifted (so a row
        that was an image is still one); False for a rotation into another basis (PCA)."""
        return True

    # -- describing a fitted transform as JSON + arrays -----------------------------------

    def get_params(self) -> dict:
        """The hyperparameters given to `__init__`, by name."""
        names = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name in names if name != "self"}

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(config, arrays): the class, hyperparameters and learned scalars as a JSON-able
        dict, and the learned arrays by name (e.g. {"mean_": (D,) float64}).

        `from_state(config, arrays)` rebuilds an equal fitted transform; nothing is pickled.
        """
        self._check_fitted()
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in self.get_params().items()}
        fitted, arrays = {}, {}
        for name, value in vars(self).items():
            if not name.endswith("_") or name.startswith("_"):
                continue
            if isinstance(value, np.ndarray):
                arrays[name] = np.ascontiguousarray(value)
            else:
                fitted[name] = value
        return {"class": type(self).__name__, "params": params, "fitted": fitted}, arrays

    @classmethod
    def _from_state(cls, config: dict, arrays: dict) -> Transform:
        transform = cls(**config["params"])
        for name, value in config.get("fitted", {}).items():
            setattr(transform, name, value)
        for name, value in arrays.items():
            setattr(transform, name, np.asarray(value))
        return transform

    # -- helpers ---------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_features_in_"):
            raise ValueError(f"{type(self).__name__} is not fitted yet: call fit(X_train) "
                             f"before transform, so the statistics come from training data")

    def _check_input(self, X, inverse: bool):
        """X as a float array whose width is what `transform` (or, inverse, what
        `inverse_transform`) expects."""
        self._check_fitted()
        width = self.n_features_out_ if inverse else self.n_features_in_
        X = _float_features(X)
        if X.shape[1] != width:
            raise ValueError(f"{type(self).__name__} expects {width} features, "
                             f"got X with {X.shape[1]} columns (shape {X.shape})")
        return X

    def _inverse(self, Z):
        raise ValueError(f"{type(self).__name__} has no inverse_transform")

    def __repr__(self) -> str:
        return config_repr(self, self.get_params())


def _float_features(X) -> np.ndarray:
    """X checked at the door (`check_features`) and in a float dtype: a memory-mapped array
    of integers, which `check_features` leaves as it is on disk, is read into float32 here,
    since a transform's statistics are cast to the data's dtype (`_cast`), where integers
    would round and wrap around (uint8 10 - 15 = 251)."""
    X = check_features(X, "X")
    return X if X.dtype.kind == "f" else as_float32(X)


def _cast(stat: np.ndarray, X) -> np.ndarray:
    """A float64 statistic in X's dtype, so the transform runs at X's precision."""
    return stat.astype(X.dtype, copy=False)


class MeanCenter(Transform):
    """Subtract the training mean: `X - mean` (the notes' mean subtraction).

    per="feature": one mean per column, mean_ (D,); per="global": one number for all
    pixels, mean_ (1,); per="channel": one per colour channel, mean_ (C,), which needs
    image_shape (H, W, C) (rows of X are images flattened in H, W, C order).
    """

    PER = ("feature", "global", "channel")

    def __init__(self, per: str = "feature", image_shape=None):
        if per not in self.PER:
            raise ValueError(f"per must be one of {self.PER}, got {per!r}")
        if per == "channel":
            shape_of_image(image_shape, "per='channel' needs image_shape, which", dims=(3,))
        self.per = per
        self.image_shape = image_shape

    def _fit(self, X):
        if self.per == "feature":
            self.mean_ = X.mean(axis=0, dtype=np.float64)
        elif self.per == "global":
            self.mean_ = np.array([X.mean(dtype=np.float64)])
        else:
            self.mean_ = _channels(X, self.image_shape).mean(axis=(0, 1), dtype=np.float64)

    def _offset(self) -> np.ndarray:
        """The mean broadcast to one value per column: (D,)."""
        if self.per == "channel":
            return np.tile(self.mean_, self.n_features_in_ // len(self.mean_))
        return np.broadcast_to(self.mean_, (self.n_features_in_,))

    def _transform(self, X):
        return X - _cast(self._offset(), X)

    def _inverse(self, Z):
        return Z + _cast(self._offset(), Z)


def _channels(X, image_shape) -> np.ndarray:
    """View X: (N, H*W*C) as (N, H*W, C), checking that the image shape fits the width."""
    h, w, c = image_shape
    if h * w * c != X.shape[1]:
        raise ValueError(f"image_shape {tuple(image_shape)} holds {h * w * c} values, "
                         f"but X has {X.shape[1]} columns")
    return X.reshape(X.shape[0], h * w, c)


class Standardize(Transform):
    """Zero mean and unit standard deviation per feature: `(X - mean_) / scale_`.

    A feature that is constant in the training data (std 0, e.g. a pixel that is always
    black, or below 1e-12 of its magnitude: float64 rounding, by which a new 0.1000001 in a
    column of 0.1s became 7e9) gets scale 1, so it is centred but not blown up.
    keep_binary=True leaves the columns that hold only 0 and 1 in training as they are (mean
    0, scale 1): a table's one-hot and missing-value indicator columns, where a category seen
    in 1 row of 200 would otherwise become a value near 14 that swamps every other input.
    """

    def __init__(self, keep_binary: bool = False):
        self.keep_binary = keep_binary

    def _fit(self, X):
        with np.errstate(over="ignore", invalid="ignore"):
            self.mean_ = X.mean(axis=0, dtype=np.float64)
            std = X.std(axis=0, dtype=np.float64)
        top = np.maximum(abs(X.max(axis=0)), abs(X.min(axis=0))).astype(np.float64)  # no copy
        # The squares of float64 values beyond 1e154 overflow and those below 1e-154 vanish (a
        # column of them would read constant and be left unscaled): such columns, and any
        # that reads constant, are taken again by `mean_std`, which scales before it squares
        again = ~(np.isfinite(self.mean_) & np.isfinite(std)) | ((std <= 1e-12 * top) & (top > 0))
        if again.any():
            self.mean_[again], std[again] = mean_std(X[:, again])
        self.scale_ = np.where(std > 1e-12 * top, std, 1.0)
        if self.keep_binary:
            binary = ((X == 0) | (X == 1)).all(axis=0)
            self.mean_[binary], self.scale_[binary] = 0.0, 1.0

    def _transform(self, X):
        return (X - _cast(self.mean_, X)) / _cast(self.scale_, X)

    def _inverse(self, Z):
        return Z * _cast(self.scale_, Z) + _cast(self.mean_, Z)


class MinMax(Transform):
    """Rescale each feature so its training min and max map to `low` and `high`.

    A constant feature (max == min) maps to `low`.
    """

    def __init__(self, low: float = -1.0, high: float = 1.0):
        real_number(low, "MinMax: low")
        if not real_number(high, "MinMax: high") > low:
            raise ValueError(f"MinMax needs low < high, got low={low}, high={high}")
        self.low = low
        self.high = high

    def _fit(self, X):
        self.data_min_ = X.min(axis=0).astype(np.float64)
        span = X.max(axis=0).astype(np.float64) - self.data_min_
        self.scale_ = (self.high - self.low) / np.where(span > 0, span, 1.0)

    def _transform(self, X):
        return (X - _cast(self.data_min_, X)) * _cast(self.scale_, X) + X.dtype.type(self.low)

    def _inverse(self, Z):
        return (Z - Z.dtype.type(self.low)) / _cast(self.scale_, Z) + _cast(self.data_min_, Z)


def _eigen(X) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean (D,), eigenvalues (D,) in decreasing order and eigenvectors as rows (D, D)
    of the covariance of X: (N, D), `Xc.T @ Xc / N` in float64 as in the notes.

    Each eigenvector's sign is fixed so its largest entry is positive, so a fit is
    reproducible across machines.
    """
    mean = X.mean(axis=0, dtype=np.float64)
    Xc = X - mean                                # float64: the one float64 copy
    with np.errstate(over="ignore", invalid="ignore"):
        cov = Xc.T @ Xc / X.shape[0]
    if not np.isfinite(cov).all():   # eigh would fail to converge on it
        raise ValueError(f"the features' covariance overflows float64 (values up to "
                         f"{float(np.abs(Xc).max()):.3g} from their mean; beyond about 1e154 "
                         f"their products are inf): rescale the features before PCA or "
                         f"whitening, e.g. with preprocess='standardize'")
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1]
    values = np.clip(values[order], 0.0, None)   # round-off can leave tiny negatives
    vectors = vectors[:, order].T
    signs = np.sign(vectors[np.arange(len(vectors)), np.abs(vectors).argmax(axis=1)])
    return mean, values, vectors * signs[:, None]


class PCA(Transform):
    """Project centred data onto the top principal components: `(X - mean_) @ components_.T`.

    Give `n_components` (keep that many) or `variance` (keep the fewest components whose
    explained variance reaches that fraction); with neither, variance=0.99.
    Learned: mean_ (D,), components_ (k, D), explained_variance_ (k,),
    explained_variance_ratio_ (k,).
    """

    def __init__(self, n_components: int | None = None, variance: float | None = None):
        if n_components is not None and variance is not None:
            raise ValueError(f"give PCA n_components or variance, not both "
                             f"(got n_components={n_components}, variance={variance})")
        if n_components is not None:
            n_components = positive_int(n_components, "n_components")
        if variance is not None and not 0 < variance <= 1:
            raise ValueError(f"variance must be a fraction in (0, 1], got {variance!r}")
        self.n_components = n_components
        self.variance = variance

    def _fit(self, X):
        mean, values, vectors = _eigen(X)
        total = values.sum()
        ratio = values / total if total > 0 else np.zeros_like(values)
        if self.n_components is not None:
            if self.n_components > X.shape[1]:
                raise ValueError(f"n_components={self.n_components} is more than the "
                                 f"{X.shape[1]} features of X")
            k = int(self.n_components)
        else:
            wanted = 0.99 if self.variance is None else self.variance
            k = min(int(np.searchsorted(np.cumsum(ratio), wanted)) + 1, len(values))
        self.mean_ = mean
        self.components_ = vectors[:k]
        self.explained_variance_ = values[:k]
        self.explained_variance_ratio_ = ratio[:k]

    @property
    def n_features_out_(self) -> int:
        self._check_fitted()
        return len(self.components_)

    @property
    def keeps_layout(self) -> bool:
        return False

    def _transform(self, X):
        return (X - _cast(self.mean_, X)) @ _cast(self.components_, X).T

    def _inverse(self, Z):
        return Z @ _cast(self.components_, Z) + _cast(self.mean_, Z)

    def components_images(self, image_shape, top: int | None = None) -> np.ndarray:
        """The top principal components drawn as images: (top, *image_shape), each
        rescaled to [0, 1] (an eigenvector's sign and scale are arbitrary), as in the
        notes' "visualizing whitened images" figure. Feed it to plt.imshow one by one.
        """
        self._check_fitted()
        if int(np.prod(image_shape)) != self.n_features_in_:
            raise ValueError(f"image_shape {tuple(image_shape)} holds {int(np.prod(image_shape))}"
                             f" values, but PCA was fitted on {self.n_features_in_} features")
        images = self.components_[:top]
        low = images.min(axis=1, keepdims=True)
        span = images.max(axis=1, keepdims=True) - low
        images = (images - low) / np.where(span > 0, span, 1.0)
        return images.reshape(len(images), *image_shape)


class Whiten(Transform):
    """Decorrelate and scale every direction to unit variance.

    kind="pca": rotate into the eigenbasis and divide by sqrt(eigenvalue + eps), so the
    training covariance becomes the identity (the notes' `Xrot / np.sqrt(S + 1e-5)`).
    kind="zca": then rotate back; of all whitening transforms this one keeps the output
    closest to the input. eps keeps near-zero directions from being blown up into noise.
    A flat direction, along which the training rows do not vary at all (variance at most
    `FLAT_VARIANCE` of the largest: a table's one-hot columns of a category sum to 1), holds
    nothing to whiten; it is scaled as the widest direction is, not by 1/sqrt(eps), so that a
    new row off it (an unseen or missing category, all zeros) stays within the spread of
    the training rows instead of landing hundreds of standard deviations out.
    Learned: mean_ (D,), components_ (D, D) eigenvectors as rows, explained_variance_ (D,).
    """

    FLAT_VARIANCE = 1e-12       # relative to the largest: float64 round-off, no variation

    KINDS = ("pca", "zca")

    def __init__(self, kind: str = "pca", eps: float = 1e-5):
        if kind not in self.KINDS:
            raise ValueError(f"kind must be one of {self.KINDS}, got {kind!r}")
        real_number(eps, "Whiten: eps", at_least=0)
        self.kind = kind
        self.eps = eps

    def _fit(self, X):
        mean, values, vectors = _eigen(X)
        if self.eps == 0 and values.min() <= self.FLAT_VARIANCE * values.max():
            raise ValueError("the training data has a direction with (near) zero variance, so "
                             "it cannot be whitened with eps=0; use eps > 0 or PCA first")
        self.mean_, self.explained_variance_, self.components_ = mean, values, vectors
        self._cache = {}

    def _matrices(self, dtype) -> tuple[np.ndarray, np.ndarray]:
        """(forward, inverse) matrices: Xw = Xc @ forward, Xc = Xw @ inverse, in `dtype`.

        Built once per dtype and kept (ZCA's costs a D x D x D product), in a private
        cache that `to_state` leaves out since the learned attributes rebuild it.
        """
        cache = self.__dict__.setdefault("_cache", {})
        if dtype not in cache:
            cache[dtype] = self._build_matrices(dtype)
        return cache[dtype]

    @property
    def keeps_layout(self) -> bool:
        return self.kind == "zca"        # ZCA rotates back into the pixel basis

    def _build_matrices(self, dtype) -> tuple[np.ndarray, np.ndarray]:
        values = self.explained_variance_
        flat = values <= self.FLAT_VARIANCE * values.max()
        root = np.sqrt(np.where(flat, values.max(), values) + self.eps)
        forward = self.components_.T / root                   # U diag(1/sqrt(S+eps))
        inverse = self.components_ * root[:, None]             # diag(sqrt(S+eps)) U^T
        if self.kind == "zca":
            forward = forward @ self.components_               # ... U^T: rotate back
            inverse = self.components_.T @ inverse
        return forward.astype(dtype), inverse.astype(dtype)

    def _transform(self, X):
        forward, _ = self._matrices(X.dtype)
        return (X - _cast(self.mean_, X)) @ forward

    def _inverse(self, Z):
        _, inverse = self._matrices(Z.dtype)
        return Z @ inverse + _cast(self.mean_, Z)


class Pipeline(Transform):
    """Apply `steps` in order; each is fitted on the output of the ones before it.

    Pipeline(MeanCenter(), PCA(100), Whiten()) — the notes' centre, reduce, whiten.
    """

    def __init__(self, *steps: Transform):
        for i, step in enumerate(steps):
            if not isinstance(step, Transform):
                raise ValueError(f"Pipeline step {i} must be a babysit.data.preprocess transform, "
                                 f"got {type(step).__name__}")
        self.steps = steps

    def get_params(self) -> dict:
        return {"steps": self.steps}

    def fit(self, X) -> Pipeline:
        """Fit each step on X (N, D) as the steps before it transformed it; returns self."""
        X = _float_features(X)
        width = X.shape[1]
        for step in self.steps:
            X = step.fit_transform(X)
        self.n_features_in_ = width
        return self

    def _transform(self, X):
        for step in self.steps:
            X = step.transform(X)
        return X

    @property
    def n_features_out_(self) -> int:
        self._check_fitted()
        return self.steps[-1].n_features_out_ if self.steps else self.n_features_in_

    @property
    def keeps_layout(self) -> bool:
        return all(step.keeps_layout for step in self.steps)

    def _inverse(self, Z):
        for step in reversed(self.steps):
            Z = step.inverse_transform(Z)
        return Z

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """Like `Transform.to_state`, with each step's config in order and its arrays
        under dotted names ("0.mean_", "1.components_")."""
        self._check_fitted()
        configs, arrays = [], {}
        for i, step in enumerate(self.steps):
            config, step_arrays = step.to_state()
            configs.append(config)
            arrays.update({f"{i}.{name}": value for name, value in step_arrays.items()})
        return {"class": "Pipeline", "steps": configs,
                "fitted": {"n_features_in_": self.n_features_in_}}, arrays

    @classmethod
    def _from_state(cls, config: dict, arrays: dict) -> Pipeline:
        pipeline = cls(*(from_state(step, {k.partition(".")[2]: v for k, v in arrays.items()
                                           if k.partition(".")[0] == str(i)})
                         for i, step in enumerate(config["steps"])))
        pipeline.n_features_in_ = config["fitted"]["n_features_in_"]
        return pipeline


TRANSFORMS = {cls.__name__: cls for cls in (MeanCenter, Standardize, MinMax, PCA, Whiten,
                                            Pipeline)}


def from_state(config: dict, arrays: dict) -> Transform:
    """Rebuild a fitted transform from `Transform.to_state()`'s (config, arrays)."""
    name = config.get("class")
    if name not in TRANSFORMS:
        raise ValueError(f"unknown transform class {name!r} in config; known: "
                         f"{', '.join(TRANSFORMS)}")
    return TRANSFORMS[name]._from_state(config, arrays)


# The command line's names for the transforms, each with what builds it ("auto" is resolved
# to one of them by `resolve`, from the kind of data).
_BY_NAME = {
    "none": lambda: None,
    "center": MeanCenter,
    "standardize": lambda: Standardize(keep_binary=True),
    "minmax": MinMax,
    "pca": lambda: PCA(variance=0.99),
    "whiten-pca": lambda: Whiten(kind="pca"),
    "whiten-zca": lambda: Whiten(kind="zca"),
}
CHOICES = ("auto", *_BY_NAME)


def resolve(name: str, images: bool, mapped: bool = False) -> tuple[str, str]:
    """The concrete preprocessing a command-line name stands for, and why: (name, reason).

    "auto" (the default) centres images and standardizes tables, as the notes advise: pixels
    already share one scale, so subtracting the mean is enough; a table's features come in
    different units (millimetres next to grams, 0/1 next to thousands), and normalizing
    them gives every feature a say in the first layer. Rows memory-mapped from disk (`mapped`)
    get none: fitting would read them all into memory. Other names are returned as given."""
    if name != "auto":
        get(name)                       # an unknown name fails here, listing the choices
        return name, "as asked"
    if mapped:
        return "none", "memory-mapped rows are read a chunk at a time; store them preprocessed"
    if images:
        return "center", "images: subtract the training mean, pixels share one scale"
    return "standardize", "a table: zero mean and unit variance per feature, 0/1 columns kept"


def get(name: str) -> Transform | None:
    """The transform a command-line name stands for (see `CHOICES`; resolve "auto" first with
    `resolve`); None for "none"."""
    if name == "auto":
        raise ValueError("preprocess 'auto' depends on the data: resolve it first with "
                         "babysit.data.preprocess.resolve('auto', images=...)")
    if name not in _BY_NAME:
        raise ValueError(f"unknown preprocessing {name!r}; choose one of {', '.join(CHOICES)}")
    return _BY_NAME[name]()
