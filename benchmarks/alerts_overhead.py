"""What the alerts cost: the time `babysit.alerts.Alerts` spends at the epoch ends of the demo's
run (digits, 64-100-100-10 ReLU, Adam 1e-3, batch 32, 30 epochs, the default monitors on), as a
share of the whole fit. Measured inside the run (the callback's own time, summed), so that the
noise of a loaded machine does not swamp a ~1% difference. Run: python benchmarks/alerts_overhead.py
"""

from __future__ import annotations

import time

import babysit as bs
from babysit.training import monitors
from babysit.training.alerts import Alerts


class TimedAlerts(Alerts):
    """Alerts that add up the seconds their epoch ends take."""

    spent = 0.0

    def on_epoch_end(self, trainer, epoch: int) -> None:
        start = time.perf_counter()
        super().on_epoch_end(trainer, epoch)
        self.spent += time.perf_counter() - start


def main(repeats: int = 3) -> None:
    data = bs.data.load("digits")
    mean = data.train.X.mean(axis=0)
    for _ in range(repeats):
        alerts = TimedAlerts(write=lambda line: None)
        trainer = bs.Trainer(bs.mlp(64, [100, 100], 10, seed=0), bs.losses.SoftmaxCrossEntropy(),
                             bs.optim.Adam(1e-3), reg=bs.regularizers.L2(1e-4), batch_size=32,
                             epochs=30, progress=False,
                             callbacks=[*monitors.default(image_shape=(8, 8)), alerts])
        start = time.perf_counter()
        trainer.fit(data.train.X - mean, data.train.y, val=(data.val.X - mean, data.val.y))
        total = time.perf_counter() - start
        print(f"alerts {alerts.spent * 1000:.0f} ms of a {total:.2f} s fit: "
              f"{alerts.spent / total:.2%}")


if __name__ == "__main__":
    main()
