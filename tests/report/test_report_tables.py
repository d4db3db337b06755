"""A regression's report: no accuracy, so the loss per epoch (training and validation) is
drawn with the validation rows predicted against actual (the mean predictor as the baseline),
and the run table gives the validation loss and RMSE, MAE and R^2 on each split."""

import json

import numpy as np

from babysit.cli import main
from babysit.training.history import History


def test_a_regressions_report_shows_its_losses_and_errors_instead_of_accuracies(tmp_path,
                                                                                 capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = 3 * X[:, 0] - X[:, 1] + rng.normal(0, 0.1, 200)
    path = tmp_path / "t.csv"
    path.write_text("a,b,y\n" + "".join(f"{a:.5f},{b:.5f},{v:.4f}\n"
                                        for (a, b), v in zip(X, y, strict=True)))
    run = tmp_path / "run"
    assert main(["train", "--data", str(path), "--target", "y", "--epochs", "6", "--out",
                 str(run), "--split", "0.6,0.2,0.2", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    history = History.load(run / "history.json")
    assert history.meta["regression"]["test_rmse"] == summary["test_rmse"]
    page = (run / "report.html").read_text()
    assert "<figure id=\"epoch_loss\"" in page and "<figure id=\"accuracy\"" not in page
    assert "<figure id=\"predictions\"" in page and "mean predictor" in page
    predictions = history.meta["predictions"]
    assert len(predictions["actual"]) == len(predictions["predicted"]) == 40  # the 20% split
    lowest = min(history.val_loss)
    assert f"Validation loss at the end</th><td>{history.val_loss[-1]:.4g} (lowest " \
           f"{lowest:.4g}, epoch {history.val_loss.index(lowest) + 1})" in page
    assert f"test {summary['test_rmse']:.4g}" in page and "R^2 at the end" in page
    assert f"test RMSE {summary['test_rmse']:.4g} (in the target&#x27;s units), test R^2 " \
           f"{summary['test_r2']:.4f}" in page
    assert "Accuracy at the end" not in page
