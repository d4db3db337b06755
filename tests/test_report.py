"""The report: one self-contained HTML page that parses, every embedded image decodes, every plot
is there with the findings on top; `babysit demo` writes it and `babysit report` re-renders it."""

from __future__ import annotations

import base64
import io
import json
from html.parser import HTMLParser

import matplotlib.image
import numpy as np
import pytest

import babysit as bs
from babysit import monitors, report
from babysit.cli import main

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
        elif tag == "h2":
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
    expected = {name.removesuffix(".png") for name, _, _ in report.PLOTS}
    assert set(page.figures) == expected
    for name, png in page.figures.items():
        assert png.startswith(PNG_MAGIC), name
        image = matplotlib.image.imread(io.BytesIO(png), format="png")
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100, name
        assert png == (run_dir / f"{name}.png").read_bytes()


def test_the_findings_come_before_the_plots(history, written):
    run_dir, page = written
    assert page.order[0] == "findings"
    assert page.order.index("plots") < page.order.index("img")
    text = (run_dir / "report.html").read_text()
    for f in history.diagnose():
        assert f.what in text


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
    shown = fig.axes[0].images[0].get_array()
    assert shown.shape == (40, 64)  # one row per unit (40), one column per input feature (64)
    assert len(fig.axes) == 2  # the heatmap and its colorbar


def test_a_diverged_run_still_gets_a_report(tmp_path):
    X = np.random.default_rng(0).standard_normal((64, 8)).astype(np.float32)
    y = np.arange(64) % 3
    trainer = bs.Trainer(bs.mlp(8, [16], 3, seed=0), bs.losses.SoftmaxCrossEntropy(),
                         bs.optim.SGD(1e4), batch_size=8, epochs=5, progress=False,
                         callbacks=monitors.default())
    with np.errstate(all="ignore"), pytest.raises(bs.DivergedError) as caught:
        trainer.fit(X, y)
    page = _parse(report.write(caught.value.history, tmp_path))
    assert "loss" in page.figures
    assert "learning rate too high" in (tmp_path / "report.html").read_text()


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
    assert set(_parse(out / "report.html").figures) == {n.removesuffix(".png")
                                                        for n, _, _ in report.PLOTS}


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
