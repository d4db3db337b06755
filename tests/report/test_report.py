"""The report: one self-contained HTML page that parses, every embedded image decodes, every plot
is there; the findings come first, then the plots, then the run table in words, then the checks
folded; one epoch convention throughout, and a blow-up marked where it happened. `babysit demo`
writes it and `babysit report` re-renders it. (tests/test_report_browser.py opens it in
Chromium.)"""

from __future__ import annotations

import base64
import io
import json
from html.parser import HTMLParser

import matplotlib.image
import numpy as np
import pytest

import babysit as bs
from babysit import report
from babysit.cli import main
from babysit.training import monitors

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _Page(HTMLParser):
    """Collects the figures (id, image bytes) and the order of headings and images."""

    def __init__(self):
        super().__init__()
        self.figures, self.order, self._figure = {}, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "figure":
            self._figure = attrs["id"]
        elif tag == "img":
            assert attrs["src"].startswith("data:image/png;base64,")
            self.figures[self._figure] = base64.b64decode(attrs["src"].split(",", 1)[1],
                                                          validate=True)
            self.order.append("img")
        elif tag in ("h2", "details"):
            self.order.append(attrs.get("id"))


def _parse(path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


@pytest.fixture(scope="module")
def history():
    data = bs.data.load("digits")
    mean = data.train.X.mean(axis=0)
    trainer = bs.Trainer(bs.mlp(64, [40, 30], 10, seed=0), bs.losses.SoftmaxCrossEntropy(),
                         bs.optim.Adam(1e-3), reg=bs.regularizers.L2(1e-4), batch_size=64,
                         epochs=3, progress=False,
                         callbacks=monitors.default(image_shape=(8, 8), data="digits"))
    return trainer.fit(data.train.X - mean, data.train.y, val=(data.val.X - mean, data.val.y))


@pytest.fixture(scope="module")
def written(history, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("report")
    path = report.write(history, run_dir)
    assert path == run_dir / "report.html"
    return run_dir, _parse(path)


def test_the_page_parses_holds_every_plot_and_every_image_decodes(written):
    run_dir, page = written
    expected = {plot.filename.removesuffix(".png") for plot in report.PLOTS}
    assert set(page.figures) == expected
    for name, png in page.figures.items():
        assert png.startswith(PNG_MAGIC), name
        image = matplotlib.image.imread(io.BytesIO(png), format="png")
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100, name
        assert png == (run_dir / f"{name}.png").read_bytes()


def test_findings_then_plots_then_the_run_table_then_the_checks_folded(history, tmp_path):
    h = bs.History.from_dict(history.to_dict())
    h.meta.update(sanity={"ok": True, "text": "sanity checks:\n  all pass"},
                  gradient_check={"ok": True, "wrong": [], "text": "every parameter passes"})
    page = _parse(report.write(h, tmp_path))
    order = page.order
    assert order[0] == "findings"
    assert order.index("plots") < order.index("img") < order.index("run") < order.index("checks")
    assert order.index("checks") < order.index("sanity") < order.index("gradient_check")
    text = (tmp_path / "report.html").read_text()
    for f in h.diagnose():
        assert f.what in text
    assert "<details id=\"gradient_check\"><summary>" in text  # folded, not open


def test_the_page_is_self_contained(written):
    run_dir, _ = written
    text = (run_dir / "report.html").read_text()
    assert "http://" not in text and "https://" not in text
    assert text.count("src=\"data:image/png;base64,") == text.count("src=")


def test_the_run_table_speaks_in_words_with_formatted_numbers(history):
    rows = dict(report.page.run_rows(history, preprocess="MeanCenter()"))
    assert not [label for label in rows if "_" in label]  # no raw keys such as n_train
    assert rows["Data"].startswith("digits: 1,078 training, 359 validation examples")
    assert rows["Preprocessing"] == "MeanCenter(), fitted on the training split"
    assert rows["Epochs"] == f"3 finished of 3 asked ({history.iterations} iterations)"
    assert rows["Batches"] == "64 examples per batch, 17 iterations per epoch"
    assert "chance loss 2.303" in rows["Loss"]
    # how each loss number was measured, so that the diagnosis' and the table's can be told apart
    assert "on the first batch" in rows["Loss at the start"]
    assert "averaged over the last" in rows["Loss at the end"]
    timed = bs.History.from_dict({**history.to_dict(), "meta": {
        **history.meta, "test_accuracy": 0.98125, "seconds": 3.61, "seed": 7}})
    rows = dict(report.page.run_rows(timed))
    assert rows["Wall time"] == "3.6 s" and rows["Seed"] == "7"
    assert rows["Accuracy at the end"].endswith("test 0.9812")


def test_one_epoch_convention_epoch_k_is_the_kth_pass():
    h = bs.History(iters_per_epoch=34)
    assert [h.epoch_of(i) for i in (1, 34, 35, 68, 69, 71)] == [1, 1, 2, 2, 3, 3]
    assert h.when(71) == "iteration 71 (epoch 3)"  # drawn at 71 / 34 = 2.09, inside epoch 3
    assert h.when(0) == "the start (iteration 0)"


def test_the_grid_of_histograms_leaves_no_empty_cell():
    for n in range(1, 13):
        rows = report.plots.panel_rows(n)
        assert sum(rows) == n and max(rows) <= 3 and max(rows) - min(rows) <= 1
    assert report.plots.panel_rows(5) == [3, 2]


def test_histograms_have_log_counts_axis_labels_and_say_start_and_end(history):
    fig = report.plot_activations(history)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == len(history.monitors["layers"]["names"])
    for ax in panels:
        assert ax.get_yscale() == "log" and ax.get_xlabel()
        assert "\nstart: mean" in ax.get_title() and "\nend: mean" in ax.get_title()
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["start: before training", f"end: after iteration {history.iterations} "
                                                  f"(epoch {history.epochs})"]


def test_first_layer_weights_are_tiled_as_images():
    W = np.arange(2 * 4 * 3, dtype=float).reshape(4, 6)  # 4 inputs (2x2 images), 6 units
    grid = report.weight_grid(W, (2, 2), cols=3)
    assert grid.shape == (2 * 3 + 1, 3 * 3 + 1)
    np.testing.assert_allclose(grid[1:3, 1:3], [[0, 1 / 3], [2 / 3, 1]])  # unit 0, min-max
    with pytest.raises(ValueError, match="image_shape"):
        report.weight_grid(W, (3, 3))


def test_without_an_image_shape_the_first_layer_is_a_heatmap(history):
    plain = bs.History.from_dict({**history.to_dict(), "meta": {**history.meta,
                                                                "image_shape": None}})
    fig = report.plot_first_layer(plain)
    heatmaps = [ax for ax in fig.axes if ax.images and ax.get_title()]
    assert [ax.get_title() for ax in heatmaps] == [
        "before training", f"after iteration {history.iterations} (epoch {history.epochs})"]
    for ax in heatmaps:  # one row per unit (40), one column per input feature (64)
        assert ax.images[0].get_array().shape == (40, 64)
    assert len(fig.axes) == 4  # each heatmap with its colorbar


@pytest.fixture(scope="module")
def diverged():
    """Digits with plain SGD at learning rate 5.5: the loss blows up, then is NaN within the
    first epochs (which one depends on the processor's BLAS)."""
    data = bs.data.load("digits")
    mean = data.train.X.mean(axis=0)
    trainer = bs.Trainer(bs.mlp(64, [100, 100], 10, seed=0), bs.losses.SoftmaxCrossEntropy(),
                         bs.optim.SGD(5.5), reg=bs.regularizers.L2(1e-4), batch_size=32,
                         epochs=5, progress=False, callbacks=monitors.default(image_shape=(8, 8)))
    with np.errstate(all="ignore"), pytest.raises(bs.DivergedError) as caught:
        trainer.fit(data.train.X - mean, data.train.y, val=(data.val.X - mean, data.val.y))
    return caught.value.history


def test_a_diverged_run_still_gets_a_report_that_says_where(diverged, tmp_path):
    page = _parse(report.write(diverged, tmp_path))
    assert {"loss", "loss_log", "activations"} <= set(page.figures)
    text = (tmp_path / "report.html").read_text()
    nan_at = diverged.nonfinite_at()
    epoch = diverged.epoch_of(nan_at)
    assert nan_at == diverged.iterations and epoch < 5
    where = f"iteration {nan_at} (epoch {epoch})"
    done = f"{epoch - 1} of 5 epochs"
    assert f"The run diverged: the loss became NaN at {where}, after {done}" in text
    assert f"{epoch - 1} finished of 5 asked" in text and f"stopped in epoch {epoch}" in text


def test_the_loss_plots_mark_the_blowup_and_the_nan_and_the_linear_axis_stays_readable(
        diverged):
    nan_at = diverged.nonfinite_at()
    for log in (False, True):
        ax = report.plot_loss(diverged, log=log).axes[0]
        lines = {line.get_label(): line for line in ax.get_lines()}
        marked = lines[f"loss NaN at {diverged.when(nan_at)}"]
        assert marked.get_xdata()[0] == pytest.approx(nan_at / diverged.iters_per_epoch)
        assert any(label.startswith("loss above 3x its start") for label in lines)
    linear = report.plot_loss(diverged).axes[0]
    finite = [v for v in diverged.loss if np.isfinite(v)]
    assert max(finite) > 1e6  # it blew up ...
    assert linear.get_ylim()[1] < 2 * 1.3 * diverged.loss[0]  # ... yet the axis stays low
    assert report.plot_loss(diverged, log=True).axes[0].get_yscale() == "log"


def test_extra_sections_go_right_after_the_diagnosis(history, tmp_path):
    section = report.Section("Treatment", "<p>lowered the learning rate 3x</p>", id="treatment")
    page = _parse(report.write(history, tmp_path, sections=[section]))
    assert page.order[:3] == ["findings", "treatment", "plots"]
    assert "<p>lowered the learning rate 3x</p>" in (tmp_path / "report.html").read_text()


def test_a_history_without_monitors_gets_the_plots_it_can(tmp_path):
    h = bs.History(iters_per_epoch=2, loss=[2.0, 1.5, 1.0, 0.8], data_loss=[2.0, 1.5, 1.0, 0.8],
                   reg_loss=[0.0] * 4, lr=[0.1] * 4, train_acc=[0.5, 0.7], val_acc=[None, None])
    page = _parse(report.write(h, tmp_path))
    assert set(page.figures) == {"loss", "loss_log", "accuracy"}


def test_demo_runs_the_recipe_and_report_rerenders_it(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--epochs", "3", "--json", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    summary = json.loads(printed.strip().splitlines()[-1])
    assert summary["sanity_ok"] and summary["gradients_ok"]
    assert 0.8 < summary["test_accuracy"] <= 1.0
    assert "sanity checks:" in printed and "gradient check" in printed and "diagnosis:" in printed
    for name in ("history.json", "report.html", "gradient_check.txt", "loss.png"):
        assert (out / name).is_file(), name
    history = bs.History.load(out / "history.json")
    assert history.meta["sanity"]["ok"] and history.meta["image_shape"] == [8, 8]

    (out / "report.html").unlink()
    (out / "loss.png").unlink()
    assert main(["report", str(out), "--json"]) == 0
    rerendered = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rerendered["report"] == str(out / "report.html")
    assert set(_parse(out / "report.html").figures) == {p.filename.removesuffix(".png")
                                                        for p in report.PLOTS}


def test_report_refuses_a_folder_without_a_history(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "history.json" in capsys.readouterr().err


def test_the_top_pca_components_are_drawn_as_images_when_the_data_went_through_pca(
        history, tmp_path):
    data = bs.data.load("digits").preprocessed(
        bs.preprocess.Pipeline(bs.preprocess.MeanCenter(), bs.preprocess.PCA(n_components=20)))
    assert data.image_shape is None and data.raw_image_shape == (8, 8)
    page = _parse(report.write(history, tmp_path, preprocess=data.preprocess,
                               image_shape=data.raw_image_shape))
    png = page.figures["pca_components"]
    assert png.startswith(PNG_MAGIC)
    assert "pca_components" not in _parse(report.write(history, tmp_path / "plain")).figures
