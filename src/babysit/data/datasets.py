"""Datasets: built-in ones and the user's files, with stratified, seeded train/val/test splits.

`load(name_or_path)` returns a `Dataset` whose `.train`, `.val` and `.test` are `Split`
named tuples `(X, y)`: X (N, D) float32, y (N,) int64 class indices (or, for a regression
table, (N,) float32 standardized targets). Built-in names:
`digits` (embedded), `mnist`, `fashion-mnist` and `cifar10` (found or downloaded by
`babysit.data.sources`, read by `babysit.data.formats`); paths: a `.csv` with `target=COLUMN`
(text columns, missing cells and numeric targets handled by `babysit.data.tabular`), a `.npz`
holding X and y, or a `.npy` of X with its labels in `<stem>.labels.npy` beside it,
memory-mapped, so it may be larger than memory (see `_load_npy`).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from babysit.data import formats, sources, table_parts, tabular
from babysit.data.arrays import (
    as_float32,
    check_features,
    first_fractional,
    is_memory_mapped,
    row_blocks,
)
from babysit.data.cells import thousands_text, thousands_written
from babysit.data.splits import contiguous_blocks, holdout_indices, smallest_classes
from babysit.validation import existing_file, seed_or_none

__all__ = ["Split", "Dataset", "validate", "stratified_split", "load_digits", "holdout",
           "encode_labels", "split_rows", "load_csv", "BUILTIN", "load"]


class Split(NamedTuple):
    """One part of a dataset: X (N, D) features and y (N,) targets."""

    X: np.ndarray
    y: np.ndarray


@dataclass
class Dataset:
    """Train/val/test splits plus what a report needs to draw them.

    `image_shape` is (H, W) or (H, W, C) when each row of X is an image (flattened in
    that order), else None. `class_names` labels the classes in order. `preprocess` is the
    fitted transform already applied to the splits (see `preprocessed`), else None.
    `raw_image_shape` is the image shape of the rows before preprocessing (what a PCA
    component drawn as an image needs after `image_shape` was dropped).

    A table (a CSV) also carries `task` ("classify" or "regress"), `table`, the
    `tabular.TableEncoder` fitted on its training rows, and `target`, the fitted
    `tabular.TargetEncoder` (for regression the splits hold standardized targets, which
    `target.inverse_transform` restores). Built-in and NPZ datasets classify, with neither.
    `notes` says in words what loading decided (the task and why, encodings, imputation);
    `origins` where a table's train, val and test rows come from (`table_parts.origins`;
    None for a part with no rows; {} for other data).
    """

    name: str
    train: Split
    val: Split
    test: Split
    image_shape: tuple[int, ...] | None = None
    class_names: list[str] = field(default_factory=list)
    preprocess: object = None
    raw_image_shape: tuple[int, ...] | None = None
    task: str = "classify"
    table: object = None
    target: object = None
    notes: list[str] = field(default_factory=list)
    origins: dict = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        """D, the width of each example's feature vector."""
        return self.train.X.shape[1]

    @property
    def n_classes(self) -> int:
        """C, the number of classes (from `class_names`, else the largest training label + 1)."""
        return len(self.class_names) if self.class_names else int(self.train.y.max()) + 1

    @property
    def n_outputs(self) -> int:
        """The network's output width: `n_classes` scores, or one number for regression."""
        return 1 if self.task == "regress" else self.n_classes

    def preprocessed(self, transform, copy: bool = True) -> Dataset:
        """A copy with `transform` fitted on the training split only and applied to all
        three (the notes: statistics from training data, applied to val and test).
        `image_shape` is dropped when the transform leaves pixel space (PCA, PCA whitening).
        `transform` None returns the dataset unchanged.

        copy=False writes the result over the splits' own arrays, a block of rows at a time,
        when the transform keeps their width (centring, scaling, ZCA), so the data is never
        held twice; this dataset then holds the preprocessed values too, so keep only the
        one returned (the command line loads and preprocesses this way)."""
        if transform is None:
            return self
        if is_memory_mapped(self.train.X):
            raise ValueError(f"{self.name} is memory-mapped (read from disk a chunk at a time), "
                             f"and preprocessing it would need all of it in memory: store the "
                             f"rows preprocessed and pass no preprocessing (--preprocess none)")
        transform.fit(self.train.X)
        splits = {part: Split(_transformed(transform, split.X, copy), split.y)
                  for part, split in (("train", self.train), ("val", self.val),
                                      ("test", self.test))}
        image_shape = self.image_shape if transform.keeps_layout else None
        return replace(self, **splits, image_shape=image_shape, preprocess=transform,
                       raw_image_shape=self.raw_image_shape or self.image_shape)


def _transformed(transform, X: np.ndarray, copy: bool, block_values: int = 2**20) -> np.ndarray:
    """transform(X) for X (N, D): a new array, or with copy=False (and a transform that keeps
    the width D) X itself, overwritten a block of about `block_values` entries at a time.
    Row by row the two give the same numbers; a split with no rows (a table's absent test
    part) stays empty, at the transform's width."""
    if len(X) == 0:
        return np.zeros((0, transform.n_features_out_), dtype=X.dtype)
    if copy or transform.n_features_out_ != X.shape[1] or not X.flags.writeable:
        return transform.transform(X)
    for _, block in row_blocks(X, block_values):
        block[...] = transform.transform(block)
    return X


def validate(X, y, name: str = "X") -> tuple[np.ndarray, np.ndarray]:
    """Check features and labels at the door: shapes, emptiness, finiteness, integer labels.

    Returns X as a float array (float32 unless already float64) and y as an array
    (`class_labels` then checks it as class indices). Raises ValueError naming the
    problem and where it is.
    """
    X = check_features(X, name)
    y = np.asarray(y)
    if y.ndim == 0:
        raise ValueError(f"the labels of {name} must hold one entry per row, got a scalar")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"{name} has {X.shape[0]} rows but the labels have {y.shape[0]}")
    return X, y


def stratified_split(X, y, fractions=(0.6, 0.2, 0.2), seed: int = 0,
                     class_names=None) -> tuple[Split, ...]:
    """Split (X, y) into parts with the given fractions, each class spread evenly, seeded.
    `class_names` (the labels in index order, as the file wrote them) name a class too small
    to split.

    The parts are those of scikit-learn's `train_test_split(X, y, train_size=f / rest,
    stratify=y, random_state=seed)` applied part after part (each part the floor of its share
    of the rows left), computed by `splits.holdout_indices` without importing scikit-learn,
    whose import took 1.6 s of CPU, more than half of a 400-row table's run. Every part
    holds every class (each part taken leaves at least one row of each class for each part
    after it); a class with fewer rows than there are parts is refused, named with its
    count."""
    seed_or_none(seed)
    fractions = np.asarray(fractions, dtype=float)
    if fractions.min() <= 0 or not np.isclose(fractions.sum(), 1):
        raise ValueError(f"split fractions must be positive and sum to 1, got {fractions.tolist()}")
    parts = []
    rest_rows, rest = np.arange(len(y)), 1.0
    for after, frac in enumerate(fractions[:-1], start=1):
        n_take = math.floor(frac / rest * len(rest_rows))
        try:
            take, held = holdout_indices(y[rest_rows], len(rest_rows) - n_take, seed,
                                         held_per_class=len(fractions) - after)
        except ValueError:   # too few examples of some class for every part to hold one
            classes, counts = np.unique(y, return_counts=True)
            raise ValueError(f"cannot split {len(y)} examples of {len(counts)} classes into "
                             f"stratified parts {fractions.tolist()}: "
                             f"{smallest_classes(classes, counts, class_names, 'class')}, and "
                             f"every part needs some of each class: give more examples per "
                             f"class") from None
        parts.append(Split(X[rest_rows[take]], y[rest_rows[take]]))
        rest_rows, rest = rest_rows[held], rest - frac
    parts.append(Split(X[rest_rows], y[rest_rows]))
    return tuple(parts)


def load_digits(seed: int = 0) -> Dataset:
    """scikit-learn's bundled 8x8 digits (1797 images), scaled to [0, 1], split 60/20/20."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    X = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    train, val, test = stratified_split(X, y, (0.6, 0.2, 0.2), seed=seed)
    return Dataset("digits", train, val, test, image_shape=(8, 8),
                   class_names=[str(c) for c in range(10)])


def holdout(split: Split, n: int, seed: int = 0, class_names=None) -> tuple[Split, Split]:
    """Carve `n` examples out of `split`, stratified and seeded: returns (rest, held out).
    How MNIST-like data gets a validation set from its standard training set. `class_names`
    (the labels in index order) name a class too small to split."""
    seed_or_none(seed)
    rest, held = holdout_indices(split.y, n, seed, class_names)
    return Split(split.X[rest], split.y[rest]), Split(split.X[held], split.y[held])


_MNIST_CLASSES = [str(c) for c in range(10)]
_FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
_CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]


def _scaled_pixels(images: np.ndarray, rows=None) -> np.ndarray:
    """Pixels (N, ...) uint8 -> X (N, prod(...)) float32 in [0, 1], `rows` of them if given.

    Written straight into the final array (no float temporary): X = pixels / 255 in float32.
    """
    flat = images.reshape(len(images), -1)
    if rows is not None:
        flat = flat[rows]
    X = np.empty(flat.shape, dtype=np.float32)
    np.divide(flat, np.float32(255), out=X)
    return X


def _read_idx_pair(images_path, labels_path, class_names) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, H, W) uint8 and labels (N,) int64 from an IDX pair, each label one of the
    indices of `class_names`."""
    images = formats.read_idx(images_path)
    labels = formats.read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"{images_path} and {labels_path} do not pair up: images of shape "
                         f"{images.shape} (expected (N, H, W)), labels of shape {labels.shape}")
    return images, _class_indices(labels, class_names, labels_path)


def _class_indices(labels: np.ndarray, class_names, path) -> np.ndarray:
    """A built-in dataset's labels (N,) as int64, refused (naming `path`) when one is not an
    index of `class_names`: a file of another dataset, or a damaged one."""
    labels = labels.astype(np.int64)
    if labels.size and not 0 <= labels.min() <= labels.max() < len(class_names):
        raise ValueError(f"{path} holds labels {labels.min()}..{labels.max()}; expected "
                         f"0..{len(class_names) - 1}, one for each of its {len(class_names)} "
                         f"classes")
    return labels


def _held_out_splits(images: np.ndarray, labels: np.ndarray, n_val: int, seed: int,
                     class_names) -> tuple[Split, Split]:
    """(train, val) from raw uint8 images and their labels: `holdout`'s stratified, seeded
    split (`class_names` name a class too small to split), each part scaled to float32
    straight from the uint8 pixels (one float copy of the data, never two)."""
    rest, held = holdout_indices(labels, n_val, seed, class_names)
    return (Split(_scaled_pixels(images, rest), labels[rest]),
            Split(_scaled_pixels(images, held), labels[held]))


def _load_idx_dataset(name: str, class_names, seed: int, val_size: int | None) -> Dataset:
    files = sources.files(name)
    images, labels = _read_idx_pair(files["train-images-idx3-ubyte"],
                                    files["train-labels-idx1-ubyte"], class_names)
    image_shape = tuple(int(n) for n in images.shape[1:])
    train, val = _held_out_splits(images, labels, val_size or len(labels) // 6, seed,
                                  class_names)
    del images
    test_images, labels = _read_idx_pair(files["t10k-images-idx3-ubyte"],
                                         files["t10k-labels-idx1-ubyte"], class_names)
    if test_images.shape[1:] != image_shape:
        raise ValueError(f"{files['t10k-images-idx3-ubyte']} holds images of "
                         f"{'x'.join(map(str, test_images.shape[1:]))}, the training images "
                         f"are {'x'.join(map(str, image_shape))}")
    test = Split(_scaled_pixels(test_images), labels)
    return Dataset(name, train, val, test, image_shape=image_shape, class_names=class_names)


def _load_mnist(seed: int = 0, val_size: int | None = None) -> Dataset:
    """MNIST: the standard 60k/10k train/test, with `val_size` of the 60k held out
    (stratified, seeded) for validation, by default a sixth: 50k/10k/10k.
    X (N, 784) float32 in [0, 1]."""
    return _load_idx_dataset("mnist", _MNIST_CLASSES, seed, val_size)


def _load_fashion_mnist(seed: int = 0, val_size: int | None = None) -> Dataset:
    """Fashion-MNIST: as `_load_mnist`, ten kinds of clothing instead of digits."""
    return _load_idx_dataset("fashion-mnist", _FASHION_CLASSES, seed, val_size)


def _load_cifar10(seed: int = 0, val_size: int | None = None) -> Dataset:
    """CIFAR-10 from its binary batches: the standard 50k/10k train/test, `val_size` of the
    50k held out (by default a tenth: 45k/5k/10k). X (N, 3072) float32 in [0, 1], each row
    a 32x32x3 image in (H, W, C) order."""
    files = sources.files("cifar10")
    batches = [files[f"data_batch_{i}.bin"] for i in range(1, 6)]
    images, labels = formats.read_cifar_binary(batches)
    labels = _class_indices(labels, _CIFAR10_CLASSES, ", ".join(map(str, batches)))
    train, val = _held_out_splits(images, labels, val_size or len(labels) // 10, seed,
                                  _CIFAR10_CLASSES)
    del images
    images, labels = formats.read_cifar_binary([files["test_batch.bin"]])
    test = Split(_scaled_pixels(images),
                 _class_indices(labels, _CIFAR10_CLASSES, files["test_batch.bin"]))
    return Dataset("cifar10", train, val, test, image_shape=formats.CIFAR_IMAGE_SHAPE,
                   class_names=_CIFAR10_CLASSES)


def encode_labels(values) -> tuple[np.ndarray, list[str]]:
    """Turn a label column (numbers or strings) into class indices (N,) int64 and the class
    names in index order (sorted distinct values, numerically when they are numbers).
    Fractional numbers are refused: they are a quantity to regress, not classes."""
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"labels must be 1-d, one per example, got shape {values.shape}")
    encoder = tabular.TargetEncoder("classify").fit(values)
    return encoder.transform(values), encoder.classes_


def _array_labels(labels, name: str) -> tuple[np.ndarray, list[str]]:
    """`encode_labels` of an array file's labels (a .npz's y, a .npy's labels file), which
    are always classes: a fractional one is refused pointing to a table, where a quantity
    is regressed (--task regress takes a .csv only)."""
    values = np.asarray(labels)
    if values.dtype.kind == "f" and values.ndim == 1:
        i = first_fractional(values.astype(np.float64))
        if i is not None:
            raise ValueError(f"{name}: labels must be class labels, got {values[i]:g} at row "
                             f"{i}; an array file's labels are classified (a quantity is "
                             f"regressed from a .csv file: --data FILE.csv --target COLUMN)")
    return encode_labels(labels)


def _from_arrays(name: str, X, labels, seed: int, fractions, image_shape=None,
                 target_name: str = "y") -> Dataset:
    """Arrays X (N, D) and labels (N,) or (N, 1) as a Dataset split by `fractions` (a part
    of fraction 0 left empty, as a table's)."""
    X = as_float32(check_features(X, name), name)
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:   # a column of labels, as saved by many
        labels = labels[:, 0]
    y, class_names = _array_labels(labels, name)
    if len(y) != len(X):
        raise ValueError(f"{name} has {len(X)} rows of features but {len(y)} labels")
    if len(class_names) < 2:
        raise ValueError(f"{name}: the target {target_name!r} holds a single class "
                         f"({class_names[0]!r}); a classifier needs examples of at least two")
    if fractions[1] <= 0:
        raise ValueError(f"{name}: --split with a validation fraction of 0 leaves an array "
                         f"file no validation rows (--val-data reads a .csv): a run keeps the "
                         f"epoch of the best validation score, and the diagnosis compares "
                         f"training with validation; give validation a share")
    if min(fractions) > 0:
        train, val, test = stratified_split(X, y, fractions, seed=seed, class_names=class_names)
    else:   # no validation or no test part: `split_rows` leaves it empty
        train, val, test = (Split(X[rows], y[rows]) for rows in
                            split_rows(y, fractions, seed=seed, class_names=class_names))
    return Dataset(name, train, val, test, image_shape=image_shape, class_names=class_names)


def split_rows(y, fractions=(0.6, 0.2, 0.2), seed: int = 0, stratify: bool = True,
               class_names=None) -> tuple[np.ndarray, ...]:
    """The row indices (sorted) of each part of a table of len(y) rows, seeded: stratified by
    the class indices `y` (as `stratified_split`, `class_names` naming them), or, for
    regression, a plain shuffle. A part of fraction 0 is empty (a table with no test rows)."""
    fractions = np.asarray(fractions, dtype=float)
    if fractions.min() < 0 or not np.isclose(fractions.sum(), 1):
        raise ValueError(f"split fractions must be >= 0 and sum to 1, got {fractions.tolist()}")
    taken = fractions > 0
    parts = iter(_split_rows(y, fractions[taken] / fractions[taken].sum(), seed, stratify,
                             class_names) if taken.sum() > 1 else (np.arange(len(y)),))
    return tuple(next(parts) if t else np.zeros(0, dtype=np.int64) for t in taken)


def _split_rows(y, fractions, seed: int, stratify: bool, class_names) -> tuple[np.ndarray, ...]:
    """`split_rows` into parts of positive `fractions`."""
    rows = np.arange(len(y))
    if stratify:
        return tuple(np.sort(part.X[:, 0]) for part in
                     stratified_split(rows[:, None], y, fractions, seed=seed,
                                      class_names=class_names))
    cuts = np.round(np.cumsum(fractions)[:-1] * len(y)).astype(int)
    parts = np.split(np.random.default_rng(seed).permutation(rows), cuts)
    if min(len(part) for part in parts) == 0:
        raise ValueError(f"cannot split {len(y)} rows into parts {fractions.tolist()} that each "
                         f"hold one: give more rows")
    return tuple(np.sort(part) for part in parts)


def load_csv(path, target: str, seed: int = 0, fractions=(0.6, 0.2, 0.2),
             task: str | None = None, drop=(), val_data=None, test_data=None,
             header: bool = True) -> Dataset:
    """A CSV file with a header row: the `target` column holds the labels (class names or
    numbers) or the quantity to predict, every other column not in `drop` is a feature
    (numbers, text categories or dates; cells may be missing; identifiers are left out).

    task: "classify", "regress", or None to decide from the target (`tabular.decide_task`).
    fractions: the (train, val, test) shares of the file's rows (val and test may be 0), or
    None for `table_parts.fractions`' default (a validation part, no test part). val_data,
    test_data: CSV files with the same columns that give the validation or test rows
    instead. The rows are split first (stratified by class, or shuffled for regression,
    seeded), then the `tabular.TableEncoder` and `tabular.TargetEncoder` are fitted on the
    training rows only and applied to every part. A missing target is refused, naming its
    row. `Dataset.origins` says where each part's rows come from.
    """
    path = Path(path)
    with _naming(path):
        return _load_table(path, target, seed, fractions, task, drop, (val_data, test_data),
                           header)


def _load_table(path: Path, target: str, seed: int, fractions, task, drop, files,
                header: bool = True) -> Dataset:
    """The body of `load_csv`; files: (val_data, test_data), each a path or None; header=False:
    the files have no header row, their columns named "1", "2", ... (`formats.read_table`)."""
    drop = [drop] if isinstance(drop, str) else list(drop)
    read = []                                   # what reading decided (a ';' separator)
    has_header = header                         # the other files are read the same way
    header, cells = formats.read_table(path, notes=read, header=has_header)
    if target not in header:
        hint = (f". Its first row looks like data: if the file has no header row, "
                f"{formats.no_header_remedy(header)}") if formats.looks_like_data(header) else ""
        raise ValueError(f"target column {target!r} is not in {path}; its columns are "
                         f"{formats.names_in_words(header)}{hint}")
    for name in drop:
        if name == target:
            raise ValueError(f"--drop {name}: {name!r} is the --target column, the labels to "
                             f"learn; leave it out of --drop, or choose another --target")
        if name not in header:
            raise ValueError(f"--drop {name}: {path} has no column {name!r}; its columns are "
                             f"{formats.names_in_words(header)}")
    features = [j for j, name in enumerate(header) if name != target and name not in drop]
    if not features:
        raise ValueError(f"{path} has no feature column left besides the target {target!r}")
    column = cells[:, header.index(target)]
    labels = _targets(column, target, path)
    if task != "classify":   # a quantity written "250,000" is no set of 250,000 classes
        _refuse_thousands(labels, column, target, path)
    if task is None:
        task, reason = tabular.decide_task(labels)
    elif task in tabular.TASKS:
        reason = "as asked"
    else:
        raise ValueError(f"task must be one of {', '.join(tabular.TASKS)} or None, got {task!r}")
    classify = task == "classify"
    if not classify:   # before the split: a bad cell is named by its place in the file
        numbers = _quantities(labels, column, target, path)
        if len(np.unique(numbers)) < 2:   # nothing to learn: R^2 0 on every part
            raise ValueError(f"{path.name}: the target {target!r} holds a single value "
                             f"({str(labels[0])!r}) in every row; a regression needs targets "
                             f"that vary")
    if classify and len(np.unique(labels)) < 2:
        raise ValueError(f"{path.name}: the target {target!r} holds a single class "
                         f"({str(labels[0])!r}); a classifier needs examples of at least two")
    y, names = encode_labels(labels) if classify else (labels, None)
    shares = table_parts.fractions(len(labels), fractions, *files)
    try:
        parts = split_rows(y, shares, seed, stratify=classify, class_names=names)
    except ValueError as err:
        if not classify or reason == "as asked" or tabular.as_numbers(
                labels, np.zeros(len(labels), bool)) is None:
            raise
        raise ValueError(f"{err}; or, if {target!r} is a quantity, --task regress") from None
    target_encoder = tabular.TargetEncoder(task).fit(labels[parts[0]], name=target,
                                                     rows=parts[0])
    names = [header[j] for j in features]
    table = tabular.TableEncoder().fit(cells[parts[0]][:, features], names, rows=parts[0])
    with warnings.catch_warnings(record=True) as unseen:   # categories new to val / test
        warnings.simplefilter("always", tabular.UnseenCategoryWarning)
        splits = [Split(table.transform(cells[rows][:, features], rows=rows),
                        target_encoder.transform(labels[rows], rows=rows)) for rows in parts]
        for at, file in enumerate(files, start=1):
            if file is not None:
                splits[at] = _other_file(file, header, target, features, table,
                                         target_encoder, read, has_header)
    origins = table_parts.origins(path.name, [len(s.y) for s in splits], shares, files)
    notes = [f"task {task}: {reason}", *read, *table.describe(),
             *(f"validation or test {w.message}" for w in unseen)]
    return Dataset(path.name, *splits, class_names=target_encoder.classes_ if classify else [],
                   task=task, table=table, target=target_encoder, notes=notes, origins=origins)


def _targets(cells: np.ndarray, target: str, path) -> np.ndarray:
    """A target column's cells (N,) stripped, keeping the lines a file's `formats.Cells`
    carry (so that a message about a target names its line); a missing one is refused
    naming its row and line."""
    labels = np.char.strip(np.asarray(cells))
    missing = tabular.missing_cells(labels)
    if missing.any():
        i = int(missing.argmax())
        raise ValueError(f"{path}: the target {target!r} is missing in {_place(cells, i)}; "
                         f"fill it in or delete that row")
    lines = getattr(cells, "lines", None)
    return labels if lines is None else formats.Cells.of(labels, lines)


def _place(column: np.ndarray, i: int) -> str:
    """Where row i of a file's `column` (N,) sits: its data row, and its line when the
    column is a file's `formats.Cells`, which carry them."""
    lines = getattr(column, "lines", None)
    return tabular.row_text(i, None if lines is None else int(lines[i]))


def _refuse_thousands(labels: np.ndarray, column: np.ndarray, target: str, path) -> None:
    """Refuse a target (N,) str of numbers written with thousands separators ("250,000", as a
    spreadsheet exports a price), naming its first such cell: read as text, each price would
    be a class of its own."""
    values = np.unique(labels)
    grouped = thousands_written(values)
    if grouped is not None:
        i = int(np.isin(labels, values[grouped]).argmax())
        raise ValueError(f"{path}: the target {target!r} "
                         f"{thousands_text(labels[i], _place(column, i))}")


def _quantities(labels: np.ndarray, column: np.ndarray, target: str, path) -> np.ndarray:
    """A regression target (N,) str (read from the file's `column`) as float64; one whose
    cells are not all finite numbers is refused, naming the first bad one's data row and
    line."""
    numbers = tabular.as_numbers(labels, np.zeros(len(labels), dtype=bool))
    if numbers is None:
        why = tabular.mixed_percentages(labels, place=lambda i: f"in {_place(column, i)}")
        if why:
            raise ValueError(f"{path}: the target {target!r} {why}")
        i = tabular.first_not_number(labels)
    elif not np.isfinite(numbers).all():
        i = int((~np.isfinite(numbers)).argmax())
    else:
        return numbers
    raise ValueError(f"{path}: the target {target!r} holds {str(labels[i])!r} in "
                     f"{_place(column, i)}, which is no finite number; a quantity "
                     f"needs one in every row (fix or delete that row; a column of names is "
                     f"trained with --task classify)")


def _other_file(file, header, target: str, features, table, target_encoder, notes,
                has_header: bool = True) -> Split:
    """The --val-data or --test-data file's rows, encoded as the training rows were: the
    file needs the target and the columns `table` reads, not those it leaves out; with
    `has_header` False it has no header row, as the --data file has none."""
    with _naming(file):
        cells = table_parts.read_part(file, header, target, notes,
                                      needed=[target, *table.used_columns_],
                                      has_header=has_header)
        labels = _targets(cells[:, header.index(target)], target, Path(file))
        return Split(table.transform(cells[:, features]), target_encoder.transform(labels))


def _load_npz(path, seed: int = 0, fractions=(0.6, 0.2, 0.2)) -> Dataset:
    """A .npz holding X (N, D), or images (N, H, W) / (N, H, W, C) which are flattened,
    and y (N,) labels. Split stratified and seeded."""
    with _naming(path):
        X, y = formats.read_npz(path)
        image_shape = tuple(X.shape[1:]) if X.ndim in (3, 4) else None
        if image_shape is not None:
            if X.size == 0:
                raise ValueError(f"X holds no images (shape {X.shape})")
            X = X.reshape(len(X), -1)
        return _from_arrays(Path(path).name, X, y, seed, fractions, image_shape=image_shape)


class _FileError(ValueError):
    """A ValueError whose message names the file it is about (`_naming`)."""


@contextlib.contextmanager
def _naming(path):
    """Every ValueError raised inside names the file `path` (prefixed when it does not): an
    error that already names its file (a --val-data file's, inside the --data file's
    `_naming`) is left as it is."""
    try:
        yield
    except _FileError:
        raise
    except ValueError as err:
        if Path(path).name in str(err):
            raise _FileError(str(err)) from None
        raise _FileError(f"{path}: {err}") from None


_LABELS_SUFFIX = ".labels.npy"


def _labels_path(path) -> Path:
    """Where the labels of the features file `path` (`big.npy`) are: `big.labels.npy`."""
    path = Path(path)
    return path.with_name(path.stem + _LABELS_SUFFIX)


def _load_npy(path, fractions=(0.6, 0.2, 0.2)) -> Dataset:
    """A .npy of features X (N, D), or images (N, H, W[, C]) which are viewed flat, memory-
    mapped (`np.load(mmap_mode="r")`) so it may be larger than memory, and its labels (N,)
    in `_labels_path(path)` (`big.npy` -> `big.labels.npy`, read into memory).

    The splits are contiguous blocks of rows in file order, `fractions` of them (train
    first), views of the file: a shuffled split would copy it. So store the rows in random
    order; a split missing a class (rows sorted by label) is refused. X keeps its dtype
    (float32 is best); the Trainer reads the training split in shuffled chunks, converting
    each, and evaluates in batches. Preprocessing needs the rows stored preprocessed.
    """
    path = Path(path)
    ypath = _labels_path(path)
    if not ypath.is_file():
        raise ValueError(f"{path} holds the features; its labels must be beside it in "
                         f"{ypath} (np.save({str(ypath)!r}, y)), and there is no such file")
    X = formats.read_npy(path, mmap=True)
    labels = formats.read_npy(ypath)
    image_shape = tuple(X.shape[1:]) if X.ndim in (3, 4) else None
    if image_shape is not None:
        X = X.reshape(len(X), -1)
    X = check_features(X, path.name)
    y, class_names = _array_labels(labels, path.name)
    if len(y) != len(X):
        raise ValueError(f"{path} has {len(X)} rows of features but {ypath} holds {len(y)} "
                         f"labels")
    return Dataset(path.name, *_blocks(X, y, fractions, path.name, class_names),
                   image_shape=image_shape, class_names=class_names)


def _blocks(X, y, fractions, name: str, class_names) -> tuple[Split, Split, Split]:
    """Split (X, y) into contiguous blocks of rows (`splits.contiguous_blocks`), each a view."""
    return tuple(Split(X[start:stop], y[start:stop])
                 for start, stop in contiguous_blocks(y, fractions, name, class_names))


ARRAY_FRACTIONS = (0.6, 0.2, 0.2)      # a .npz or .npy file's parts unless --split says
BUILTIN = {"digits": load_digits, "mnist": _load_mnist, "fashion-mnist": _load_fashion_mnist,
           "cifar10": _load_cifar10}


def load(name_or_path, seed: int = 0, target: str | None = None, fractions=None,
         task: str | None = None, drop=(), val_data=None, test_data=None,
         header: bool = True) -> Dataset:
    """Load a built-in dataset by name (see `BUILTIN`) or a file: a `.csv` or `.tsv` (with
    `target`, the label column), a `.npz` holding X and y, or a `.npy` of X, memory-mapped,
    with its labels beside it in `<stem>.labels.npy` (`_load_npy`).

    seed fixes the splits; fractions (train, val, test) applies to files only, since the
    built-in datasets come with their standard test sets: None is a table's default (a
    validation part, no test part: `table_parts.fractions`) and (0.6, 0.2, 0.2) for arrays.
    task ("classify", "regress" or None: decided from the target), drop (feature columns to
    leave out), val_data and test_data (CSV files of validation and test rows) apply to a .csv.
    """
    if fractions is not None and (not hasattr(fractions, "__len__") or len(fractions) != 3):
        raise ValueError(f"fractions must be three numbers (train, val, test) summing to 1, "
                         f"e.g. (0.6, 0.2, 0.2), got {fractions!r}")
    name = str(name_or_path)
    table = Path(name).suffix.lower() in formats.TABLE_SUFFIXES
    if drop and not table:                  # a table's columns; the other files have none
        raise ValueError(f"drop={drop!r} (--drop) names columns of a .csv file; {name!r} has "
                         f"none to leave out (--drop none clears it)")
    for option, file in (("--val-data", val_data), ("--test-data", test_data)):
        if file is not None and not table:
            raise ValueError(f"{option} {file} gives rows of a table; {name!r} is no .csv "
                             f"file (its parts come from --split)")
        if file is not None:
            existing_file(file, f"{option}: a .csv file with the training file's columns")
    if task == "regress" and not table:               # the other files hold classes
        raise ValueError(f"task='regress' applies to .csv files only: {name!r} holds class "
                         f"labels, so it is classified")
    if name in BUILTIN:
        if target is not None:
            raise ValueError(f"target={target!r} applies to .csv files only, not to the "
                             f"built-in dataset {name!r} (--target none clears it)")
        if fractions is not None:  # they would be ignored without a word
            raise ValueError(f"fractions={tuple(fractions)!r} (--split) apply to files only: "
                             f"the built-in dataset {name!r} comes with its own fixed split; "
                             f"leave them out")
        if not header:
            raise ValueError(f"header=False (--no-header) applies to .csv files only, not to "
                             f"the built-in dataset {name!r}")
        return BUILTIN[name](seed=seed)
    path = Path(name)
    suffix = path.suffix.lower()
    if suffix not in (*formats.TABLE_SUFFIXES, ".npz", ".npy"):
        raise ValueError(f"unknown dataset {name!r}: give a built-in name "
                         f"({', '.join(BUILTIN)}) or a path to a .csv, .tsv, .npz or .npy file")
    existing_file(path, f"a {suffix} file")
    if table:
        for option, file in (("--val-data", val_data), ("--test-data", test_data)):
            if file is not None and Path(file).is_file() and Path(file).samefile(path):
                # its rows train the model
                raise ValueError(f"{option} {file} is the --data file, whose rows train the "
                                 f"model: its scores would be on rows seen in training; give "
                                 f"a file of other rows, or leave {option} out")
        if target is None:
            raise ValueError(f"{path} is a CSV file: say which column holds the labels with "
                             f"target=COLUMN (--target COLUMN on the command line)")
        return load_csv(path, target, seed=seed, fractions=fractions, task=task, drop=drop,
                        val_data=val_data, test_data=test_data, header=header)
    if not header:                                    # the other files have no header row
        raise ValueError(f"header=False (--no-header) applies to .csv files only; {name!r} "
                         f"is not one")
    if target is not None:
        holds = "arrays named X and y" if suffix == ".npz" else \
            f"the features, its labels in {_labels_path(path)}"
        raise ValueError(f"target={target!r} applies to .csv files; {path} must hold {holds}")
    fractions = ARRAY_FRACTIONS if fractions is None else fractions
    if suffix == ".npy":
        return _load_npy(path, fractions=fractions)
    return _load_npz(path, seed=seed, fractions=fractions)

