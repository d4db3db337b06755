"""The inputs a watched PyTorch model is evaluated on, read against its training inputs.

babysit's Trainer is given its validation rows and compares their scale with the training
rows' (`babysit.data.scales.val_scale`). A PyTorch loop never hands its validation rows to
the sitter, but it runs the model on them: a forward without gradients, or in eval mode, is
an evaluation. The sitter passes the inputs of the first epoch's evaluations here. Each
evaluation's rows are summarized as they come (a feature's centre and spread, on at most
EVAL_ROWS rows of it, small calls gathered until they hold that many), at most EVAL_CHUNKS
summaries a run, so the cost stays fixed whatever the validation set's size. At the end of the
first epoch they are compared with the training rows, and the evaluation farthest from
training's scale is the one kept: a training-accuracy pass over the training rows sits on it,
validation rows left raw sit off it in most features.
"""

from __future__ import annotations

import math

import torch

from babysit.data.scales import centre_and_spread, scale_against

__all__ = ["EvaluatedInputs", "EVAL_ROWS", "EVAL_CHUNKS", "TRAIN_ROWS"]

# Rows an evaluation's summary is taken on (an even stride across a larger call's rows): the
# median over features of spreads on 64 rows is within about 10% of the whole set's, far finer
# than the threefold difference the diagnosis reads (`data_rules.val_scaled_otherwise`)
EVAL_ROWS = 64
# The most evaluations summarized in a run: a validation pass in batches is a chunk each
EVAL_CHUNKS = 16
# The training rows (an even stride of the sitter's first-epoch rows) their scale is taken
# on: all 2,048 of MNIST's width took 10 ms at the first epoch's end, 256 take about 1
TRAIN_ROWS = 256


class EvaluatedInputs:
    """Summaries of the input rows the model was evaluated on; `add` each evaluation's input,
    `scale` compares them with the training rows at the end of the first epoch."""

    def __init__(self, min_rows: int):
        """`min_rows`: the fewest rows a summary must hold to be compared (fewer vouch for no
        scale: one row has no spread)."""
        self.min_rows = min_rows
        self._pending: list[torch.Tensor] = []   # small calls' rows, gathered into one chunk
        self._width: int | None = None
        self._summaries: list[tuple] = []        # (centre, spread, rows) of each chunk

    def add(self, x: torch.Tensor) -> None:
        """One evaluation's input x (N, ...): integer inputs (token ids, codes) carry no scale
        and are passed over, as the data record passes over them."""
        if len(self._summaries) >= EVAL_CHUNKS or not x.is_floating_point() or not len(x):
            return
        rows = x.detach().reshape(len(x), -1)
        if self._width is not None and rows.shape[1] != self._width:
            self._close()
        self._width = rows.shape[1]
        rows = rows[::max(1, len(rows) // EVAL_ROWS)][:EVAL_ROWS]
        self._pending.append(rows.to(torch.float64).cpu())
        if sum(len(r) for r in self._pending) >= EVAL_ROWS:
            self._close()

    def _close(self) -> None:
        """Summarize the rows gathered so far as one chunk."""
        if self._pending:
            rows = torch.cat(self._pending).numpy()
            self._summaries.append((*centre_and_spread(rows), len(rows)))
        self._pending = []

    def scale(self, train_rows: list[torch.Tensor]) -> dict | None:
        """The evaluation of at least `min_rows` rows farthest from the training rows' scale
        (`scale_against`: the largest share of its features off, then the typical feature's
        spread farthest by factor), or None when there is none, the training rows are
        integers or none were kept."""
        self._close()
        judged = [s for s in self._summaries if s[2] >= self.min_rows]
        if not judged or not train_rows or not train_rows[0].is_floating_point():
            return None
        flat = torch.cat([r.reshape(len(r), -1) for r in train_rows])
        flat = flat[::max(1, len(flat) // TRAIN_ROWS)][:TRAIN_ROWS].to(torch.float64).cpu()
        train = centre_and_spread(flat.numpy())
        found = [scale_against(train, (centre, spread), rows) for centre, spread, rows in judged]
        found = [f for f in found if f is not None and f["features"]]
        return max(found, key=lambda f: (f["off"] / f["features"],
                                         abs(math.log(f["ratio"])) if f["ratio"] > 0 else 0.0),
                   default=None)
