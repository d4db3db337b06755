"""The inputs a watched PyTorch model is evaluated on, read against its training inputs.

babysit's Trainer is given its validation rows and compares their scale with the training
rows' (`babysit.data.scales.val_scale`). A PyTorch loop never hands its validation rows to
the sitter, but it runs the model on them: a forward without gradients, or in eval mode, is
an evaluation. The sitter passes the inputs of the first epoch's evaluations here.

Consecutive evaluations make a pass (`_continues`): the batches of one loader (calls of one
size, then a smaller last one), or rows one at a time; a call of another size, or a training
step between, starts the next pass (a training-accuracy pass over the training rows, then the
validation rows; two passes whose calls are all of one size run together, a mixture whose
scale sits between theirs). Each pass keeps a uniform sample of its rows (reservoir sampling,
at most PASS_ROWS of them, on the CPU), so a validation set evaluated in batches in its own
order (by class, by time) is judged on all of it, not on a run of neighbouring rows whose
spread is smaller. At the end of the first epoch each pass of enough rows is compared with the
training rows, and the one farthest from their scale is kept: a training-accuracy pass sits on
it, validation rows left raw sit off it in most features. At most PASSES passes are kept, so
the cost stays fixed whatever the validation set's size.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from babysit.data.scales import centre_and_spread, scale_against

__all__ = ["EvaluatedInputs", "PASSES", "PASS_ROWS", "TRAIN_ROWS"]

# Rows a pass keeps (a uniform sample of all its rows): the median over features of spreads on
# 256 rows is within a few percent of the whole set's, far finer than the threefold
# difference the diagnosis reads (`data_rules.val_scaled_otherwise`)
PASS_ROWS = 256
# The most passes kept in a run: the evaluations of the first epoch
PASSES = 16
# The training rows (an even stride of the sitter's first-epoch rows) their scale is taken
# on: all 2,048 of MNIST's width took 10 ms at the first epoch's end, 256 take about 1
TRAIN_ROWS = 256


class _Pass:
    """One pass's rows: a uniform sample of at most PASS_ROWS (rows, features) float64 of the
    rows offered, the sizes of its calls and the rows they held (`rows`)."""

    def __init__(self, width: int):
        self.width, self.sizes, self.offered, self.rows = width, [], 0, 0
        self.sample = np.empty((0, width))

    def add(self, offered: np.ndarray, rows: int, rng: np.random.Generator) -> None:
        """A call of `rows` rows, of which `offered` (n, width) are an even stride: reservoir
        sampling (Vitter's algorithm R) of the offered rows."""
        self.sizes.append(rows)
        self.rows += rows
        room = PASS_ROWS - len(self.sample)
        if room > 0:
            taken = offered[:room]
            self.sample = np.concatenate([self.sample, taken])
            self.offered += len(taken)
            offered = offered[room:]
        if len(offered):
            # the i-th row offered (0-based) takes a random slot with chance PASS_ROWS / (i + 1)
            slots = rng.integers(0, self.offered + np.arange(len(offered)) + 1)
            keep = slots < PASS_ROWS
            self.sample[slots[keep]] = offered[keep]
            self.offered += len(offered)


def _continues(sizes: list[int], size: int) -> bool:
    """Whether a call of `size` rows continues a pass whose calls had `sizes` rows: a call of
    the same size (a loader's next batch, or the next row of row-by-row evaluation), or a
    smaller last batch after two or more of one size."""
    last = sizes[-1]
    if size == last:
        return sizes.count(last) == len(sizes)     # nothing smaller came before it
    return size < last and len(sizes) >= 2 and sizes.count(last) == len(sizes)


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
        and are passed over, as the data record passes over them."""
        if not x.is_floating_point() or not x.ndim or not len(x):
            return
        # a large call offers an even stride of PASS_ROWS of its rows: a reservoir of
        # PASS_ROWS draws little from more
        offered = x.detach()[::max(1, len(x) // PASS_ROWS)][:PASS_ROWS]
        offered = offered.reshape(len(offered), -1)
        last = self._passes[-1] if self._passes and self._open else None
        if last is None or last.width != offered.shape[1] or not _continues(last.sizes, len(x)):
            if len(self._passes) >= PASSES:
                self._open = False
                return
            last = _Pass(offered.shape[1])
            self._passes.append(last)
            self._open = True
        last.add(offered.cpu().to(torch.float64).numpy(), len(x), self._rng)

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
        flat = flat[::max(1, len(flat) // TRAIN_ROWS)][:TRAIN_ROWS]
        train = centre_and_spread(flat.cpu().to(torch.float64).numpy())
        found = [scale_against(train, centre_and_spread(p.sample), p.rows) for p in judged]
        found = [f for f in found if f is not None and f["features"]]
        return max(found, key=lambda f: (f["off"] / f["features"],
                                         abs(math.log(f["ratio"])) if f["ratio"] > 0 else 0.0),
                   default=None)
