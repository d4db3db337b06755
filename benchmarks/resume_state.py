"""What the training state costs a `babysit train` run: the seconds `Checkpoints` spends writing
state.safetensors (what `babysit resume RUN` continues from: weights, Adam's moments,
generators, counters, History) after each epoch, and its size, on the default digits run
(64-100-100-10, Adam 1e-3, batch 32, 30 epochs, the default monitors on), against the whole
run's time and the epoch's model checkpoint. Measured inside the run (each write's own time,
summed), so that the noise of a loaded machine does not swamp the figure.
Run: PYTHONPATH=src python benchmarks/resume_state.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from babysit import cli
from babysit.training import checkpoint


def timed(function, spent: list, sizes: list):
    """`function` (a checkpoint writer), adding the seconds of each call to `spent` and the
    size of the file it wrote to `sizes`."""
    def call(*args, **kwargs):
        start = time.perf_counter()
        written = function(*args, **kwargs)
        spent.append(time.perf_counter() - start)
        sizes.append(Path(written).stat().st_size)
        return written
    return call


def main(repeats: int = 3) -> None:
    original_state, original_model = checkpoint.save_training, checkpoint.save
    for _ in range(repeats):
        state_times, model_times, sizes = [], [], []
        checkpoint.save = timed(original_model, model_times, [])
        checkpoint.save_training = timed(original_state, state_times, sizes)
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            cli.main(["train", "--no-report", "--out", str(Path(folder) / "run")])
            total = time.perf_counter() - start
        epochs = len(state_times)
        print(f"state.safetensors: {sum(state_times) / epochs * 1000:.1f} ms per epoch "
              f"(first {state_times[0] * 1000:.1f}, last {state_times[-1] * 1000:.1f} ms), "
              f"{sizes[0] / 1e3:.0f} kB after epoch 1, {sizes[-1] / 1e3:.0f} kB after epoch "
              f"{epochs}; {sum(state_times):.2f} s of a {total:.1f} s run "
              f"({sum(state_times) / total:.1%}); the model checkpoints "
              f"{sum(model_times) / len(model_times) * 1000:.1f} ms each")
    checkpoint.save_training, checkpoint.save = original_state, original_model


if __name__ == "__main__":
    main()
