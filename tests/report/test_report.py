"""The report: one self-contained HTML page, the only file it writes, with every plot as inline
SVG; the findings come first, then the plots, then the run table in words, then the checks;
one epoch convention throughout; a blow-up marked where it stayed; nothing on it misleading
(a penalty that dominates the loss, a histogram after a blow-up, a heatmap off centre).
`babysit demo` writes it, `babysit report` re-renders it or compares runs.
(tests/report/test_report_browser.py opens every kind of report in Chromium.)"""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser

import matplotlib.image
import numpy as np
import pytest

import babysit as bs
from babysit import report
from babysit.cli import main
from babysit.report import svg
from babysit.report.plots import blowup_start, percentiles
from babysit.training import monitors


class _Page(HTMLParser):
    """Collects the figures (id -> the SVG charts' titles) and the order of headings, figures
    and folded details."""

    def __init__(self):
        super().__init__()
        self.figures, self.order, self._figure = {}, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "figure":
            self._figure = attrs["id"]
            self.figures[self._figure] = []
            self.order.append("figure")
        elif tag == "svg" and self._figure:
            self.figures[self._figure].append(attrs["aria-label"])
        elif tag in ("h2", "details"):
            self.order.append(attrs.get("id"))

    def handle_endtag(self, tag):
        if tag == "figure":
            self._figure = None


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


def _copy(history, **meta) -> bs.History:
    return bs.History.from_dict({**history.to_dict(), "meta": {**history.meta, **meta}})


def test_the_page_is_the_only_file_and_holds_every_plot_as_inline_svg(history, written):
    run_dir, page = written
    assert sorted(p.name for p in run_dir.iterdir()) == ["report.html"]  # no figure kept twice
    assert {"loss", "loss_log", "epoch_loss", "accuracy", "update_ratios", "unit_health",
            "activation_bands", "gradient_bands", "activations", "gradients",
            "first_layer_weights"} == set(page.figures)
    layers = history.monitors["layers"]["names"]
    assert page.figures["activations"] == layers  # one chart per layer
    assert all(page.figures.values())


def test_findings_then_plots_then_the_run_table_then_the_checks_folded(history, tmp_path):
    h = _copy(history, sanity={"ok": True, "text": "sanity checks:\n  all pass"},
              gradient_check={"ok": True, "wrong": [], "text": "every parameter passes"})
    page = _parse(report.write(h, tmp_path))
    order = page.order
    assert order[0] == "findings"
    assert order.index("plots") < order.index("figure") < order.index("run") < \
        order.index("checks") < order.index("sanity") < order.index("gradient_check")
    text = (tmp_path / "report.html").read_text()
    for f in h.diagnose():
        assert f.what in text
    assert "<details id=\"gradient_check\"><summary>" in text  # folded, not open


def test_a_run_without_checks_says_so(history, tmp_path):
    text = report.write(history, tmp_path).read_text()
    assert "This run made no checks before training" in text


def test_the_page_is_self_contained(written):
    run_dir, _ = written
    text = (run_dir / "report.html").read_text()
    assert "http://" not in text and "https://" not in text
    assert re.findall(r"(?:src|href)=\"([a-z]+):", text) == \
        ["data"] * len(re.findall(r"(?:src|href)=\"", text))


def test_the_run_table_speaks_in_words_with_formatted_numbers(history):
    rows = dict(report.page.run_rows(history, preprocess="MeanCenter()"))
    assert not [label for label in rows if "_" in label]  # no raw keys such as n_train
    assert rows["Data"].startswith("digits: 1,078 training, 359 validation examples")
    assert rows["Preprocessing"] == "MeanCenter, fitted on the training split"
    assert rows["Model"] == "64-40-30-10, ReLU"
    assert rows["Optimizer"] == "Adam, lr 0.001 at the start, beta1 0.9, beta2 0.999, eps 1e-08"
    assert rows["Regularization"] == "L2, lam 0.0001"
    assert rows["Epochs"] == f"3 finished of 3 asked ({history.iterations} iterations)"
    assert rows["Batches"] == "64 examples per batch, 17 iterations per epoch"
    assert "chance loss 2.303" in rows["Loss"]
    assert "on the first batch" in rows["Loss at the start"]
    assert "averaged over the last" in rows["Loss at the end"]
    timed = _copy(history, test_accuracy=0.98125, seconds=3.61, seed=7)
    rows = dict(report.page.run_rows(timed))
    assert rows["Wall time"] == "3.6 s" and rows["Seed"] == "7"
    assert rows["Accuracy at the end"].endswith("test 0.9812")


def test_a_run_without_a_data_name_says_so_instead_of_a_question_mark(history):
    unnamed = _copy(history, data=None, n_val=0)
    rows = dict(report.page.run_rows(unnamed))
    assert rows["Data"].startswith("not named") and rows["Data"].endswith("no validation split")
    assert report.page.page_title(unnamed.meta) == "babysit report: model 64-40-30-10, ReLU, a run"


def test_one_epoch_convention_epoch_k_is_the_kth_pass():
    h = bs.History(iters_per_epoch=34)
    assert [h.epoch_of(i) for i in (1, 34, 35, 68, 69, 71)] == [1, 1, 2, 2, 3, 3]
    assert h.when(71) == "iteration 71 (epoch 3)"
    assert h.when(0) == "the start (iteration 0)"


def test_percentiles_are_read_off_a_histograms_cumulative_counts():
    uniform = {"lo": -1.0, "hi": 1.0, "counts": [10] * 20}
    np.testing.assert_allclose(percentiles(uniform), [-0.9, -0.5, 0.0, 0.5, 0.9])
    assert percentiles({"lo": 0, "hi": 1, "counts": []}) is None


def test_the_blowup_is_marked_where_the_loss_stayed_high_not_at_a_passing_spike():
    loss = [2.0] * 100
    loss[3] = 9.0                                   # a spike at iteration 4 that came back
    loss[61:71] = [10.0 * 2 ** k for k in range(10)]  # the blow-up at 62 .. 71
    h = bs.History(iters_per_epoch=10, loss=loss[:71] + [float("nan")],
                   data_loss=loss[:71] + [float("nan")], reg_loss=[0.0] * 72, lr=[0.1] * 72)
    assert h.blowup_at() == 4 and blowup_start(h) == 62
    assert blowup_start(bs.History(iters_per_epoch=1, loss=[2.0, 9.0, 2.0, 1.0])) is None


def test_histograms_after_a_blowup_draw_their_counts_per_unit_of_the_symlog_axis(history):
    h = bs.History.from_dict(json.loads(json.dumps(history.to_dict())))
    last = h.monitors["layers"]["samples"][-1]["activations"][0]
    last.update(lo=-1e12, hi=1e12, counts=[0] * 14 + [5000, 5000] + [0] * 14)
    chart = report.plot_histograms(h, "activations")[0]
    assert "symmetric log axis" in chart and "count per axis unit" in chart
    caption = next(p for p in report.PLOTS if p.anchor == "activations").caption
    assert "In 0 Linear the end spreads" in caption(h) and "symmetric-log" in caption(h)
    assert "symmetric-log" not in caption(history)


def test_the_first_layer_heatmap_is_centred_at_zero():
    white, red, blue = svg.diverging(np.array([0.0, 2.0, -2.0]), 2.0)
    assert tuple(white) == (247, 247, 247) and red[0] > red[2] and blue[2] > blue[0]
    W = np.array([[1.0, -3.0]])
    assert tuple(svg.diverging(W, np.abs(W).max())[0, 1]) == tuple(blue)  # -3 of +-3: blue end


def test_without_an_image_shape_the_first_layer_is_a_heatmap_with_its_colour_key(history):
    plain = _copy(history, image_shape=None)
    panels = report.plot_first_layer(plain)
    assert len(panels) == 3 and "Colour key" in panels[-1]
    assert "before training" in panels[0] and f"after iteration {history.iterations}" in \
        panels[1]


def test_first_layer_weights_are_tiled_as_images():
    W = np.arange(2 * 4 * 3, dtype=float).reshape(4, 6)  # 4 inputs (2x2 images), 6 units
    grid = report.weight_grid(W, (2, 2), cols=3)
    assert grid.shape == (2 * 3 + 1, 3 * 3 + 1)
    np.testing.assert_allclose(grid[1:3, 1:3], [[0, 1 / 3], [2 / 3, 1]])  # unit 0, min-max
    np.testing.assert_allclose(grid[0], 1.0)  # the border
    with pytest.raises(ValueError, match="image_shape"):
        report.weight_grid(W, (3, 3))


def test_an_embedded_png_decodes_to_its_pixels():
    pixels = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    decoded = matplotlib.image.imread(io.BytesIO(svg.png(pixels)), format="png")
    np.testing.assert_allclose(decoded[..., :3] * 255, pixels, atol=0.5)


def test_ticks_are_round_numbers_and_a_short_log_axis_gets_more_than_one():
    assert [v for v, _ in svg.Scale("linear", 0.0, 1.0).ticks(6)] == \
        pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    log = [label for _, label in svg.Scale("log", 0.35, 2.5).ticks()]
    assert log == ["0.5", "1", "2"]
    decades = [label for _, label in svg.Scale("log", 1e-4, 1e2).ticks()]
    assert decades == ["1e-4", "0.001", "0.01", "0.1", "1", "10", "100"]


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
    where = diverged.when(nan_at)
    assert f"The run diverged: the loss became NaN at {where}" in text
    assert f"loss NaN from {where}" in text
    assert "stopped in epoch" in text


def test_the_linear_loss_axis_stays_readable_after_a_blowup(diverged):
    finite = [v for v in diverged.loss if np.isfinite(v)]
    assert max(finite) > 1e6
    chart = report.plot_loss(diverged)
    assert "off the scale: up to" in chart
    top = max(float(t) for t in re.findall(r'text-anchor="end">([-0-9.e]+)<', chart))
    assert top < 1.3 * diverged.loss[0] + 1e-9


def test_a_penalty_that_dominates_is_said_and_the_run_not_called_healthy(history, tmp_path):
    n = 40
    data = list(np.linspace(1.0, 1.3, n))   # the data loss rises ...
    reg = list(np.linspace(9.0, 1.0, n))    # ... while the penalty shrinks the total
    h = bs.History(iters_per_epoch=10, loss=[a + b for a, b in zip(data, reg, strict=True)],
                   data_loss=data, reg_loss=reg, lr=[0.1] * n, train_acc=[None] * 4,
                   val_acc=[None] * 4, val_loss=[1.0, 1.02, 1.05, 1.1])
    text = report.write(h, tmp_path).read_text()
    assert "The penalty is 90% of the first loss" in text and "The data loss rose" in text
    assert "the run looks healthy" not in text
    assert "data loss (no penalty)" in report.plot_loss(h)


def test_captions_say_only_what_the_plot_draws(tmp_path):
    h = bs.History(iters_per_epoch=2, loss=[2.0, 1.5, 1.0, 0.8], data_loss=[2.0, 1.5, 1.0, 0.8],
                   reg_loss=[0.0] * 4, lr=[0.1] * 4, train_acc=[0.5, 0.7], val_acc=[None, None])
    text = report.write(h, tmp_path).read_text()
    assert "moving average" not in text and "Chance (dotted" not in text
    assert "This run had no validation split" in text
    assert set(_parse(tmp_path / "report.html").figures) == {"loss", "loss_log", "epoch_loss",
                                                             "accuracy"}


def test_the_learning_rate_is_drawn_only_when_it_changes(history):
    assert report.plot_lr(history) is None
    decayed = bs.History.from_dict({**history.to_dict(),
                                    "lr": list(np.geomspace(1e-2, 1e-4, history.iterations))})
    assert "Learning rate per iteration" in report.plot_lr(decayed)


def test_extra_sections_go_right_after_the_diagnosis(history, tmp_path):
    section = report.Section("Treatment", "<p>lowered the learning rate 3x</p>", id="treatment")
    page = _parse(report.write(history, tmp_path, sections=[section]))
    assert page.order[:3] == ["findings", "treatment", "plots"]


def test_demo_runs_the_recipe_and_report_rerenders_it_fast_and_alone(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--epochs", "3", "--json", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    summary = json.loads(printed.strip().splitlines()[-1])
    assert summary["sanity_ok"] and summary["gradients_ok"]
    assert not list(out.glob("*.png"))
    history = bs.History.load(out / "history.json")
    assert history.meta["command"].startswith("babysit demo --epochs 3")
    assert history.meta["version"] == bs.__version__ and history.meta["finished"]
    first = _parse(out / "report.html").figures
    (out / "report.html").unlink()
    (out / "loss.png").write_bytes(b"\x89PNG")  # what an older report kept beside its page
    assert main(["report", str(out), "--json"]) == 0
    rerendered = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rerendered["report"] == str(out / "report.html")
    assert _parse(out / "report.html").figures == first
    assert not (out / "loss.png").exists()


def test_report_redraws_a_pca_runs_principal_components(tmp_path, capsys):
    """`babysit report RUN` drew the page without the preprocessing and the images' shape: a
    PCA run's "Top principal components" figure was gone."""
    out = tmp_path / "pca"
    assert main(["train", "--data", "digits", "--preprocess", "pca", "--epochs", "2",
                 "--hidden", "16", "--out", str(out)]) == 0
    first = _parse(out / "report.html").figures
    assert "pca_components" in first
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0
    capsys.readouterr()
    assert _parse(out / "report.html").figures == first


def test_report_compares_several_runs_on_one_page(history, tmp_path, capsys):
    for name, lr in (("a", 1e-3), ("b", 1e-2)):
        h = _copy(history, config={"lr": lr, "hidden": [40, 30]})
        h.save(tmp_path / name / "history.json")
    assert main(["report", str(tmp_path / "a"), str(tmp_path / "b"), "--json"]) == 0
    page = tmp_path / "compare-a-b.html"   # named after the runs it compares
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["report"] == str(page)
    text = page.read_text()
    assert "2 runs compared" in text and "1 setting differs (highlighted): lr." in text
    assert "<tr class=\"diff\"><th>lr</th><td>0.001</td><td>0.01</td>" in text
    assert {"compare_loss", "compare_epoch_loss", "compare_accuracy"} <= set(
        _parse(page).figures)


def test_report_refuses_a_folder_without_a_history(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "history.json" in capsys.readouterr().err
    assert main(["report", str(tmp_path), str(tmp_path)]) == 2


def test_the_top_pca_components_are_drawn_as_images_when_the_data_went_through_pca(
        history, tmp_path):
    data = bs.data.load("digits").preprocessed(
        bs.preprocess.Pipeline(bs.preprocess.MeanCenter(), bs.preprocess.PCA(n_components=20)))
    page = _parse(report.write(history, tmp_path, preprocess=data.preprocess,
                               image_shape=data.raw_image_shape))
    assert page.figures["pca_components"] == ["Top 20 principal components"]
    assert "pca_components" not in _parse(report.write(history, tmp_path / "plain")).figures


def test_a_search_folder_shows_every_trial_best_first_and_where_the_best_stands(history,
                                                                                 tmp_path):
    rows = [{"stage": 1, "trial": i, "state": "complete", "val_accuracy": acc, "epochs": 2,
             "lr": lr, "hidden": hidden, "seconds": 0.5, "finding": f"info: trial {i}"}
            for i, (acc, lr, hidden) in enumerate([(0.5, 1e-4, [50]), (0.9, 1e-2, [100, 100]),
                                                   (0.7, 1e-3, [50])])]
    (tmp_path / "trials.json").write_text(json.dumps(rows))
    (tmp_path / "search.json").write_text(json.dumps({
        "objective": {"metric": "val_accuracy", "direction": "maximize"}, "seconds": 12.5,
        "retrained": {"val_accuracy": 0.91, "test_accuracy": 0.9}, "warnings": [],
        "spaces": [{"lr": "loguniform(0.0001, 0.01)"}]}))
    text = report.write(history, tmp_path).read_text()
    assert "Best of 3 trials</b> (stage 1, trial 1)" in text
    assert "test accuracy 0.9" in text and "the whole search took 12.5 s" in text
    table = text[text.index("<table class=\"trials\""):]
    order = [table.index(f"info: trial {i}") for i in (1, 2, 0)]
    assert order == sorted(order)  # best first
    assert "<tr class=\"best\">" in table and "100-100" in table
    assert {"lr", "hidden"} <= set(_parse(tmp_path / "report.html").figures["search_params"])


def test_the_verdict_says_when_the_loss_rose_over_the_second_half():
    n = 100
    rising = list(np.concatenate([np.linspace(2.0, 1.0, n // 2), np.linspace(1.0, 1.4, n // 2)]))
    h = bs.History(iters_per_epoch=10, loss=rising, data_loss=rising, reg_loss=[0.0] * n,
                   lr=[0.1] * n, train_acc=[None] * 10, val_acc=[None] * 10)
    assert "The data loss rose" in report.page.verdict(h)
    falling = list(np.linspace(2.0, 1.0, n))
    h = bs.History(iters_per_epoch=10, loss=falling, data_loss=falling, reg_loss=[0.0] * n,
                   lr=[0.1] * n, train_acc=[None] * 10, val_acc=[None] * 10)
    assert "rose" not in report.page.verdict(h)
