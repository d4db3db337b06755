"""The inputs a watched PyTorch model is evaluated on, read against its training inputs.

babysit's Trainer is given its validation rows and compares their scale with the training
rows' (`babysit.data.scales.val_scale`). A PyTorch loop never hands its validation rows to
the sitter, but it runs the model on them: a forward without gradients, or in eval mode, is
an evaluation. The sitter passes the inputs of the first epoch's evaluations here.

Consecutive evaluations make a pass (`_Pass.continues`): the batches of one loader (calls of
one size, then a smaller last one), or rows one at a time; a call of another size, or a
training step between, starts the next pass (a training-accuracy pass over the training rows,
then the validation rows; two passes whose calls are all of one size run together, a mixture
whose scale sits between theirs). Each pass keeps a uniform sample of its rows (reservoir
sampling over every row, at most PASS_ROWS, on the CPU in float32, on at most FEATURES evenly
spaced features of a wide input), so a validation set evaluated in batches in its own order
(by class, by time) is judged on all of it, not on a run of neighbouring rows whose spread is
smaller. At the end of the first epoch each pass of enough rows is compared with the training
rows, and the one farthest from their scale is kept: a training-accuracy pass sits on it,
validation rows left raw sit off it in most features. At most PASSES passes are kept (when
full, the one of fewest rows gives way: a running accuracy taken under no_grad after every
step makes a pass of one batch each time), so the cost stays fixed whatever the validation
set's size.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from babysit.data.scales import centre_and_spread, scale_against
from babysit.torch.batches import dense

__all__ = ["EvaluatedInputs", "FEATURES", "PASSES", "PASS_ROWS", "TRAIN_ROWS"]

# Rows a pass keeps (a uniform sample of all its rows): the median over features of spreads on
# 256 rows is within a few percent of the whole set's, far finer than the threefold
# difference the diagnosis reads (`data_rules.val_scaled_otherwise`)
PASS_ROWS = 256
# The features a wide input is read on (evenly spaced): the rule reads a share of them, which
# 2,048 give to within a point or two; a 3 x 224 x 224 image's 150,528 would hold 150 MB a pass
FEATURES = 2048
# The most passes kept in a run: the evaluations of the first epoch
PASSES = 16
# The training rows (an even stride of the sitter's first-epoch rows) their scale is taken
# on: all 2,048 of MNIST's width took 10 ms at the first epoch's end, 256 take about 1
TRAIN_ROWS = 256


def _columns(width: int) -> np.ndarray | None:
    """The features read of an input `width` wide: all (None) up to FEATURES, else FEATURES
    evenly spaced."""
    return None if width <= FEATURES else np.linspace(0, width - 1, FEATURES).astype(np.int64)


class _Pass:
    """One pass: a uniform sample of at most PASS_ROWS of its rows (rows, features) float32,
    the rows it held (`rows`) and how its calls ran (their first size, whether a smaller one
    came: `continues`)."""

    def __init__(self, width: int, size: int):
        self.width, self.size, self.rows, self.ended = width, size, 0, False
        self.columns = _columns(width)
        self.sample = np.empty((0, width if self.columns is None else FEATURES), np.float32)

    def continues(self, width: int, size: int) -> bool:
        """Whether a call of `size` rows `width` wide continues this pass: one of the same
        size (a loader's next batch, the next row of row-by-row evaluation), or a smaller
        last batch after two or more of one size."""
        if width != self.width or self.ended:
            return False
        return size == self.size or size < self.size and self.rows >= 2 * self.size

    def add(self, x: torch.Tensor, rng: np.random.Generator) -> None:
        """Reservoir sampling (Vitter's algorithm R) over every row of the call x (n, ...):
        the rows chosen alone are read, gathered and converted."""
        n = len(x)
        self.ended = n < self.size
        room = max(0, PASS_ROWS - len(self.sample))
        fill = np.arange(min(room, n))
        # row i of the stream (0-based) takes a random slot with chance PASS_ROWS / (i + 1)
        later = np.arange(len(fill), n)
        slots = rng.integers(0, self.rows + later + 1) if len(later) else later
        keep = slots < PASS_ROWS
        chosen = np.concatenate([fill, later[keep]])
        self.rows += n
        if not len(chosen):
            return
        rows = x[torch.as_tensor(chosen, device=x.device)].reshape(len(chosen), -1)
        if self.columns is not None:
            rows = rows[:, torch.as_tensor(self.columns, device=x.device)]
        rows = rows.cpu().to(torch.float32).numpy()
        self.sample = np.concatenate([self.sample, rows[:len(fill)]])
        # (a slot drawn twice in one call ends with its later row, as one row at a time would)
        self.sample[slots[keep]] = rows[len(fill):]


class EvaluatedInputs:
    """The input rows the model was evaluated on, as passes; `add` each evaluation's input,
    `training_step` between evaluations, `scale` compares them with the training rows at the
    end of the first epoch."""

    def __init__(self, min_rows: int, seed: int = 0):
        """`min_rows`: the fewest rows a pass must hold to be compared (fewer vouch for no
        scale: one row has no spread)."""
        self.min_rows = min_rows
        self._passes: list[_Pass] = []
        self._open = False            # the last pass may take more calls
        self._rng = np.random.default_rng(seed)

    def add(self, x: torch.Tensor) -> None:
        """One evaluation's input x (N, ...): integer inputs (token ids, codes) carry no scale
        and are passed over, as the data record passes over them, and so are inputs that are
        not plain dense tensors (sparse, nested)."""
        if not dense(x) or not x.is_floating_point() or not x.ndim or not len(x):
            return
        x = x.detach()
        width = math.prod(x.shape[1:])
        last = self._passes[-1] if self._passes and self._open else None
        if last is None or not last.continues(width, len(x)):
            if len(self._passes) >= PASSES:   # the pass of fewest rows gives way
                self._passes.remove(min(self._passes, key=lambda p: p.rows))
            last = _Pass(width, len(x))
            self._passes.append(last)
            self._open = True
        last.add(x, self._rng)

    def training_step(self) -> None:
        """A training forward came: the next evaluation starts a pass of its own."""
        self._open = False

    def scale(self, train_rows: list[torch.Tensor]) -> dict | None:
        """The pass of at least `min_rows` rows farthest from the training rows' scale
        (`scale_against`: the largest share of its features off, then the typical feature's
        spread farthest by factor), or None when there is none, the training rows are
        integers or none were kept."""
        judged = [p for p in self._passes if len(p.sample) >= self.min_rows]
        if not judged or not train_rows or not train_rows[0].is_floating_point():
            return None
        flat = torch.cat([r.reshape(len(r), -1) for r in train_rows])
        flat = flat[::max(1, len(flat) // TRAIN_ROWS)][:TRAIN_ROWS].cpu().to(torch.float32)
        flat = flat.numpy()
        # the training rows' summary on the features a pass reads, once: every pass of the
        # training rows' width reads the same ones (`_columns`)
        columns = _columns(flat.shape[1])
        train = centre_and_spread(flat if columns is None else flat[:, columns])
        found = [scale_against(train, centre_and_spread(p.sample), p.rows)
                 for p in judged if p.width == flat.shape[1]]
        found = [f for f in found if f is not None and f["features"]]
        return max(found, key=lambda f: (f["off"] / f["features"],
                                         abs(math.log(f["ratio"])) if f["ratio"] > 0 else 0.0),
                   default=None)
