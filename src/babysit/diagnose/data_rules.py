"""The rules that read the data's own facts (`monitors["data"]`, DataStats or a loop's probe):
what the training labels, the inputs and the validation rows say before the network does
anything. Each is a cause's test (`babysit.diagnose.causes.CAUSES` keeps their order):
`test(evidence, open_symptoms)` returns (severity, evidence text) or None.
"""

from __future__ import annotations

import math

from babysit.data.scales import OFF_SCALE
from babysit.diagnose.setup import constant_output


def single_class(e, open_):
    # a loop's labels read from the gradient of a constant output (a softmax over one unit)
    # name one class for every row: no evidence of the labels
    if e.train_classes != 1 or constant_output(e.setup):
        return None
    return "error", (f"every training label is class {e.majority_class}: the network learns "
                     f"to answer it whatever the input")


def labels_from_one(e, open_):
    """Every class but 0 among the training labels: labels numbered 1..C for C + 1 outputs.
    Output 0 is never a target: it only learns to stay low, and a prediction may still name
    it, a class that does not exist."""
    if not e.class_zero_only_empty:
        return None
    return "warning", (f"class 0 has no training row while the other {e.train_classes} "
                       f"classes all have several: the labels are numbered from 1, one more "
                       f"output than classes")


def label_among_inputs(e, open_):
    """Features that give every training row's label (one value per class, a combination of
    values per class, or the regression target up to a scale and a shift): the label itself,
    or something computed from it, left among the inputs. The run's scores then hold only
    where those features are known with the label, which new data will not be. A regression
    whose every input is such a feature (Celsius to Fahrenheit) may be exact by construction:
    an info then. A table's columns are named (meta["feature_names"], when they are the
    network's inputs one for one)."""
    if not e.label_columns:
        return None
    names = e.history.meta.get("feature_names")
    named = isinstance(names, list) and len(names) == e.history.meta.get("n_features") \
        and all(isinstance(j, int) and 0 <= j < len(names) for j in e.label_columns)
    shown = ", ".join(repr(names[j]) if named else str(j) for j in e.label_columns[:5])
    more = f" (and {len(e.label_columns) - 5} more)" if len(e.label_columns) > 5 else ""
    one = len(e.label_columns) == 1
    if e.n_classes is None:
        what = f"{'is' if one else 'are'} the target, up to a scale and a shift"
    elif one:
        what = "holds one value for each class, the same on every row of it"
    else:
        what = "are each the same on every row of a class, and tell the classes apart"
    found = f"input feature{'' if one else 's'} {shown}{more} {what}, in the training rows read"
    if e.n_classes is None and e.history.meta.get("n_features") == len(e.label_columns):
        return "info", (f"{found}: the target is an exact linear function of the inputs; "
                        f"if that is by construction a linear model is all it needs, and if "
                        f"the feature was computed from the target, it is the label")
    return "warning", f"{found}: the label is among the inputs"


# Validation rows copied from training: a quarter of them beyond what the table's own repeats
# explain (a table whose rows repeat puts repeats on both sides of an honest split, about as
# often as its training rows repeat each other)
LEAK_EXCESS = 0.25


def val_copied(e, open_):
    """Validation rows that are training rows, well beyond the training set's own repeats:
    the validation score measures what the network remembers, not how it generalizes."""
    if e.val_copied is None or e.val_copied - (e.train_repeats or 0.0) < LEAK_EXCESS:
        return None
    return "warning", (f"{e.val_copied:.0%} of the validation rows are copies of training "
                       f"rows, while {e.train_repeats:.0%} of the training rows repeat another: "
                       f"the validation score measures memory, not generalization")


# Validation inputs scaled otherwise than training's: half the features or more off training's
# scale (`babysit.data.scales.OFF_SCALE`: a spread 3 times training's or a third of it, or a
# mean 3 training spreads away), on 20 validation rows or more. A scaling mistake puts most
# features off (raw pixels against standardized ones: 83% of digits' pixels; raw wine 69%, its
# typical spread 0.81x but its typical mean 3.05 spreads away), a split at random none or a
# few; a split by time or by place moves the means, less and alike (a trending series' lags
# scaled alike: 2.3 spreads, none off; breast cancer's largest quarter by radius: a third of
# its features, those that measure size). Fewer rows' spread is noise (2 rows: 138 of 200
# random draws of digits had a typical spread past 3x). Histories written before the count
# was kept are read by their typical feature's spread (VAL_RATIO).
VAL_OFF_SHARE = 0.5
VAL_RATIO = 3.0
VAL_SCALE_ROWS = 20


def val_off_scale(e) -> bool:
    """Whether the validation inputs (or a loop's evaluated ones) sit off the training inputs'
    scale: half their features or more, on VAL_SCALE_ROWS rows or more. A validation accuracy
    on them says nothing of what the network learnt (the accuracy rules then read training's)."""
    if e.val_ratio is None or (e.val_rows or 0) < VAL_SCALE_ROWS:
        return False
    if e.val_features:   # half of them, and two when there are two or more (a split by
        # time moves the one feature that counts time, whatever the rest do)
        return e.val_off >= max(VAL_OFF_SHARE * e.val_features, min(2, e.val_features))
    return e.val_ratio > 0 and not 1 / VAL_RATIO < e.val_ratio < VAL_RATIO


def val_scaled_otherwise(e, open_):
    """The validation inputs are not on the training inputs' scale: left raw while training's
    were standardized, or scaled with statistics of their own kind (a min-max against a
    standardization). The network is then judged on inputs it never saw the like of."""
    if not val_off_scale(e):
        return None
    rows = "validation rows" if e.val_scale_of == "validation" else \
        "rows the model was evaluated on (validation among them)"
    off = "" if not e.val_features else (
        f"{e.val_off} of {e.val_features} features sit off training's scale on the {rows} "
        f"(a spread {OFF_SCALE:g}x or 1/{OFF_SCALE:g} of training's, or a mean "
        f"{OFF_SCALE:g} training spreads away); ")
    return "warning", (f"{off}the typical feature's spread on the {rows} is "
                       f"{e.val_ratio:.3g}x training's, its mean {e.val_shift:.3g} training "
                       f"spreads away (rows split at random: about 1x and 0)")


# Validation classified 15 points better than the training rows themselves, at the end of 5
# epochs or more, and by more than three standard errors of the validation accuracy (Agresti
# and Coull's: two successes and two failures added, so that 10 rows all right are no
# certainty). Trainer runs only, which count their validation rows and measure training
# accuracy at test time on the training labels: a loop may report a running accuracy under
# augmentation, mixup or dropout, all of which make training rows harder than validation's.
VAL_ABOVE = 0.15
VAL_ABOVE_EPOCHS = 5


def train_labels_noisier(e, open_):
    """The model classifies unseen rows far better than the rows it trains on: their labels
    hold errors that validation's do not (noisy training labels, a curated validation set)."""
    if e.train_acc is None or e.val_acc is None or e.epochs < VAL_ABOVE_EPOCHS or not e.n_val \
            or "torch" in e.history.monitors:
        return None
    right = e.val_acc * e.n_val
    p = (right + 2) / (e.n_val + 4)
    margin = 3 * math.sqrt(p * (1 - p) / (e.n_val + 4))
    if e.val_acc - e.train_acc < max(VAL_ABOVE, margin):
        return None
    return "warning", (f"validation accuracy {e.val_acc:.3f} is {e.val_acc - e.train_acc:.3f} "
                       f"above the training accuracy {e.train_acc:.3f} (measured alike, at "
                       f"test time): the network classifies rows it never saw better than "
                       f"those it learns from")


# Classes too many and too thin to be classes: a quantity (a price, a score) classified, each
# value its own class. 20 classes or more whose median holds 2 training rows or fewer (a
# classifier learns nothing of a class from one or two rows; few-shot tables of 5 a class
# are left alone)
QUANTITY_CLASSES = 20
QUANTITY_ROWS = 2


def quantity_classified(e, open_):
    """A classifier over many classes that hold a row or two each: the labels are the values
    of a quantity, each its own class, which a regression learns and a classifier cannot."""
    if e.n_classes is None or e.n_classes < QUANTITY_CLASSES or e.rows_per_class is None \
            or e.rows_per_class > QUANTITY_ROWS:
        return None
    if not any(s in open_ for s in ("val_at_chance", "gap", "underfit", "majority_accuracy")):
        return None   # a classifier of many thin classes that generalizes is one
    return "warning", (f"{e.n_classes} classes, the median one with {e.rows_per_class:g} "
                       f"training rows: the labels look like the values of a quantity, each "
                       f"its own class")


__all__ = ["LEAK_EXCESS", "QUANTITY_CLASSES", "QUANTITY_ROWS", "VAL_ABOVE", "VAL_ABOVE_EPOCHS",
           "VAL_RATIO", "VAL_SCALE_ROWS", "label_among_inputs", "labels_from_one",
           "quantity_classified", "single_class", "train_labels_noisier", "val_copied",
           "val_off_scale", "val_scaled_otherwise"]
