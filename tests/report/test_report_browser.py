"""report.html in a real browser: headless Chromium (Debian package `chromium`) opens the
report of every kind of run (demo, a diverged run, a CSV regression whose penalty dominates, a
search, `train --fix`, a PyTorch run through `watch`, an estimator's `report()`, and several runs
compared) at 800 and 1,400 px wide. Every page must show no console error, decode every image,
draw every chart at a readable size, hold nothing wider than the page and no text spilling out
of its box (with every <details> opened), and start its first plot above 1,500 px; then each
kind is checked for what it must show. Without Chromium the test skips and says why (.ci/run
installs it when missing). With BABYSIT_SCREENSHOTS=DIR set, every page is also saved as
DIR/<kind>-<width>.png, for a person to look at.

The browser is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: JSON
messages ended by a NUL byte on file descriptors 3 and 4), with the standard library only.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

import babysit as bs
from babysit import report
from babysit.cli import main
from babysit.training import monitors

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTH = 1400
WIDTHS = (800, 1400)
FIRST_PLOT_BELOW = 1500  # px: the first plot must start above this
SMALLEST_TEXT = 9  # px: a chart's tick labels drawn smaller than this are unreadable
SCREENSHOTS = os.environ.get("BABYSIT_SCREENSHOTS")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium; "
                             ".ci/run installs it): report.html is not opened in a browser")

# What the page is asked once loaded: every <details> opened first, so that folded text counts;
# every image (an <img>, or an <image> inside a chart) decoded anew. A box of class "scroll"
# scrolls sideways on purpose (the search's trials): what it holds may be wider than the page.
MEASURE = """(async () => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const page = document.documentElement.clientWidth;
  const sources = [...document.images].map(i => ({alt: i.alt, src: i.src})).concat(
    [...document.querySelectorAll('svg image')].map(i => ({
      alt: i.closest('svg').getAttribute('aria-label'), src: i.getAttribute('href')})));
  const images = await Promise.all(sources.map(async s => {
    const im = new Image(); im.src = s.src;
    try { await im.decode(); return {alt: s.alt, complete: true, width: im.naturalWidth}; }
    catch (e) { return {alt: s.alt, complete: false, width: 0}; } }));
  const charts = [...document.querySelectorAll('svg.chart')].map(s => {
    const box = s.getBoundingClientRect();
    return {label: s.getAttribute('aria-label'), width: box.width, height: box.height,
            font: 12 * box.width / s.viewBox.baseVal.width}; });
  const wide = [...document.body.querySelectorAll('*')]
    .filter(e => e.getBoundingClientRect().right > page + 1 && !e.closest('.scroll'))
    .map(e => e.tagName + (e.id ? '#' + e.id : ''));
  const spilling = [...document.body.querySelectorAll('*')]
    .filter(e => !(e instanceof SVGElement) && e.clientWidth > 0
                 && e.scrollWidth > e.clientWidth + 1 && !e.classList.contains('scroll'))
    .map(e => e.tagName + (e.id ? '#' + e.id : ''));
  const outside = [...document.querySelectorAll('svg.chart text')].filter(t => {
    const box = t.getBoundingClientRect(), chart = t.closest('svg').getBoundingClientRect();
    return box.left < chart.left - 1 || box.right > chart.right + 1; })
    .map(t => t.closest('svg').getAttribute('aria-label') + ': ' + t.textContent);
  const plot = document.querySelector('figure svg');
  const figures = [...document.querySelectorAll('figure[id]')].map(f => f.id);
  const trials = [...document.querySelectorAll('table.trials tr')].slice(1).map(
    r => r.children[1].textContent);
  const lines = cell => { const range = document.createRange(); range.selectNodeContents(cell);
                          return new Set([...range.getClientRects()].map(b => b.top)).size; };
  const broken = [...document.querySelectorAll('table.trials tr')].flatMap(
    r => [...r.children].slice(0, -1)).filter(c => lines(c) > 1).map(c => c.textContent);
  return JSON.stringify({page, scrollWidth: document.documentElement.scrollWidth, images,
                         charts, wide, spilling, outside, figures, trials, broken,
                         text: document.body.innerText, title: document.title,
                         firstPlotTop: plot ? plot.getBoundingClientRect().top
                                             + window.scrollY : null});
})()"""


class Browser:
    """Headless Chromium on a DevTools pipe: `open(path)` loads a file in a WIDTH-px window
    and returns what MEASURE found plus the console errors seen."""

    def __init__(self, timeout: float = 60.0):
        self.timeout = timeout
        to_chrome, self._write = os.pipe()
        self._read, from_chrome = os.pipe()

        def child_fds():  # Chromium reads commands on fd 3 and answers on fd 4
            os.dup2(to_chrome, 3)
            os.dup2(from_chrome, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--remote-debugging-pipe", "--no-first-run", "--disable-extensions",
             f"--window-size={WIDTH},1000", "about:blank"],
            preexec_fn=child_fds, pass_fds=(3, 4), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(to_chrome)
        os.close(from_chrome)
        self._buffer, self._id, self.events = b"", 0, []

    def send(self, method: str, session: str | None = None, **params) -> dict:
        """Send one command and wait for its answer; events seen meanwhile are kept."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._next()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        """The first event named `method` (seen already, or the next to come)."""
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._next()
            self.events.append(event)
            if event.get("method") == method:
                return event

    def _next(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer on the DevTools pipe")
            chunk = os.read(self._read, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def open(self, path, width: int = WIDTH, screenshot=None) -> dict:
        """Load `path` in a `width`-px window; what MEASURE found, the console errors, and
        the page's text. `screenshot`: a PNG path to save the whole page into."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.send(domain, session)
        self.send("Emulation.setDeviceMetricsOverride", session, width=width, height=1000,
                  deviceScaleFactor=1, mobile=False)
        self.events.clear()
        self.send("Page.navigate", session, url=path.resolve().as_uri())
        self.wait_for("Page.loadEventFired")
        found = json.loads(self.send("Runtime.evaluate", session, expression=MEASURE,
                                     returnByValue=True, awaitPromise=True)["result"]["value"])
        found["errors"] = [_error_text(e) for e in self.events if _is_error(e)]
        if screenshot is not None:
            shot = self.send("Page.captureScreenshot", session, format="png",
                             captureBeyondViewport=True)
            Path(screenshot).write_bytes(base64.b64decode(shot["data"]))
        self.send("Target.closeTarget", targetId=target)
        return found

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        os.close(self._write)
        os.close(self._read)


def _is_error(event: dict) -> bool:
    method, params = event.get("method"), event.get("params", {})
    return (method == "Runtime.exceptionThrown"
            or (method == "Runtime.consoleAPICalled" and params.get("type") == "error")
            or (method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error"))


def _error_text(event: dict) -> str:
    params = event.get("params", {})
    return json.dumps(params.get("entry") or params.get("exceptionDetails") or params)[:300]


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    yield b
    b.close()


@pytest.fixture(scope="module")
def digits():
    return bs.data.load("digits")


def _demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--epochs", "3", "--out", str(out)]) == 0
    return out / "report.html"


def _diverged(tmp_path_factory, digits):
    trainer = bs.Trainer(bs.mlp(64, [100, 100], 10, seed=0), bs.losses.SoftmaxCrossEntropy(),
                         bs.optim.SGD(5.5), reg=bs.regularizers.L2(1e-4), batch_size=32,
                         epochs=5, progress=False,
                         callbacks=monitors.default(image_shape=(8, 8), data="digits"))
    mean = digits.train.X.mean(axis=0)
    with np.errstate(all="ignore"), pytest.raises(bs.DivergedError) as caught:
        trainer.fit(digits.train.X - mean, digits.train.y, val=(digits.val.X - mean,
                                                               digits.val.y))
    return report.write(caught.value.history, tmp_path_factory.mktemp("diverged"))


def _regression(tmp_path_factory, digits):
    """A CSV regression with a penalty that dominates its first loss."""
    folder = tmp_path_factory.mktemp("regression")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = 3 * X[:, 0] - X[:, 1] + rng.normal(0, 0.3, 300)
    (folder / "t.csv").write_text("a,b,c,y\n" + "".join(
        f"{a:.5f},{b:.5f},{c:.5f},{v:.4f}\n" for (a, b, c), v in zip(X, y, strict=True)))
    assert main(["train", "--data", str(folder / "t.csv"), "--target", "y", "--epochs", "8",
                 "--reg", "0.05", "--out", str(folder / "run")]) == 0
    return folder / "run" / "report.html"


def _search(tmp_path_factory, digits):
    out = tmp_path_factory.mktemp("search")
    assert main(["search", "--data", "digits", "--trials", "5", "--epochs", "2",
                 "--stages", "3:1,2:2", "--top-k", "1", "--out", str(out)]) == 0
    return out / "report.html"


def _fix(tmp_path_factory, digits):
    out = tmp_path_factory.mktemp("fix")
    main(["train", "--data", "digits", "--optimizer", "sgd", "--lr", "3", "--epochs", "4",
          "--fix", "--max-rounds", "1", "--out", str(out)])
    return out / "report.html"


def _torch(tmp_path_factory, digits):
    torch = pytest.importorskip("torch")
    from babysit.torch import watch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 50), torch.nn.ReLU(), torch.nn.Linear(50, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    X = torch.tensor(digits.train.X / 16, dtype=torch.float32)
    y = torch.tensor(digits.train.y, dtype=torch.long)
    sitter = watch(model, opt, image_shape=(8, 8))
    for _ in range(3):
        for i in range(0, len(X), 64):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(X[i:i + 64]), y[i:i + 64])
            loss.backward()
            opt.step()
            sitter.log(loss)
        sitter.end_epoch(train_acc=(model(X).argmax(1) == y).float().mean().item())
    sitter.close()
    return report.write(sitter.history, tmp_path_factory.mktemp("torch"))


def _estimator(tmp_path_factory, digits):
    from babysit.sklearn import BabysitClassifier

    est = BabysitClassifier(epochs=3, hidden=(40,)).fit(digits.train.X, digits.train.y)
    return est.report(tmp_path_factory.mktemp("estimator"), validation=(digits.val.X,
                                                                        digits.val.y))


def _compare(tmp_path_factory, digits):
    runs = []
    for lr in ("0.001", "0.01"):
        out = tmp_path_factory.mktemp(f"lr{lr}")
        assert main(["train", "--data", "digits", "--epochs", "2", "--lr", lr,
                     "--out", str(out)]) == 0
        runs.append(str(out))
    page = tmp_path_factory.mktemp("compare") / "compare.html"
    assert main(["report", *runs, "--out", str(page)]) == 0
    return page


KINDS = {"demo": _demo, "diverged": _diverged, "regression": _regression, "search": _search,
         "fix": _fix, "torch": _torch, "estimator": _estimator, "compare": _compare}


@pytest.fixture(scope="module")
def pages(tmp_path_factory, digits, browser):
    """Every kind's page opened at each of WIDTHS: {(kind, width): what the browser found}."""
    found = {}
    for kind, make in KINDS.items():
        path = make(tmp_path_factory) if kind == "demo" else make(tmp_path_factory, digits)
        for width in WIDTHS:
            shot = Path(SCREENSHOTS) / f"{kind}-{width}.png" if SCREENSHOTS else None
            found[kind, width] = browser.open(path, width, screenshot=shot)
    return found


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_of_report_reads_well_at_800_and_1400_px(pages, kind, width):
    found = pages[kind, width]
    assert found["errors"] == []
    assert len(found["charts"]) >= 3
    undecoded = [i["alt"] for i in found["images"] if not i["complete"] or i["width"] == 0]
    assert undecoded == []
    assert found["page"] == width and found["scrollWidth"] <= found["page"], found["wide"]
    assert found["wide"] == [] and found["spilling"] == []  # no box too narrow for its text
    assert found["outside"] == []  # no chart's text cut off at its edge
    small = [c["label"] for c in found["charts"] if c["font"] < SMALLEST_TEXT]
    assert small == []
    if kind != "compare":
        assert found["firstPlotTop"] is not None and found["firstPlotTop"] < FIRST_PLOT_BELOW
        assert "babysit report: run" not in found["title"] and "?" not in found["title"]


def test_every_run_says_who_it_is_and_what_it_checked(pages):
    for kind in ("demo", "regression", "search", "fix"):
        text = pages[kind, 1400]["text"]
        assert "command babysit " in text and "finished 20" in text and "folder /" in text, kind
    assert "This run made no checks before training" in pages["regression", 1400]["text"]
    assert "Sanity checks: all pass" in pages["demo", 1400]["text"]


def test_classification_draws_its_validation_loss_and_the_table_speaks_in_words(pages):
    demo = pages["demo", 1400]
    assert {"loss", "epoch_loss", "accuracy", "activation_bands", "unit_health"} <= set(
        demo["figures"])
    assert "Adam, lr 0.001 at the start" in demo["text"] and "64-100-100-10, ReLU" in demo["text"]
    assert "Adam(lr=" not in demo["text"] and "n_in=" not in demo["text"]


def test_a_blowup_is_marked_where_it_stays_and_histograms_switch_to_area_bars(pages):
    text = pages["diverged", 1400]["text"]
    assert "The run diverged" in text and "loss NaN from iteration" in text
    assert "loss above 3x its start from iteration" in text
    assert "count per axis unit" in text and "symmetric-log" in text


def test_a_regression_whose_penalty_dominates_is_not_called_healthy(pages):
    text = pages["regression", 1400]["text"]
    assert "The penalty is" in text and "of the first loss" in text
    assert "the run looks healthy" not in text
    assert "data loss (no penalty)" in text  # drawn apart on the loss plots
    assert {"epoch_loss", "predictions"} <= set(pages["regression", 1400]["figures"])
    assert "accuracy" not in pages["regression", 1400]["figures"]
    assert "in the target's units" in text and "mean predictor" in text


def test_the_search_report_shows_every_trial_and_its_scores(pages):
    found = pages["search", 1400]
    assert len(found["trials"]) == 5
    for width in WIDTHS:  # no number or name broken across lines, at 800 px neither
        assert pages["search", width]["broken"] == [], width
    assert "Best of 5 trials" in found["text"] and "test accuracy" in found["text"]
    assert "search_params" in found["figures"] or "search_params" in found["text"]


def test_a_fix_report_overlays_its_rounds(pages):
    found = pages["fix", 1400]
    assert "Rounds compared" in found["text"] and "round 0" in found["text"]
    assert "compare_loss" in found["figures"]


def test_pytorch_and_estimator_reports_name_their_model_and_their_validation(pages):
    torch_text = pages["torch", 1400]["text"]
    assert "PyTorch" in pages["torch", 1400]["title"] and "64-50-10" in torch_text
    assert "Data\t?" not in torch_text and "not named" in torch_text
    est = pages["estimator", 1400]["text"]
    assert "BabysitClassifier" in pages["estimator", 1400]["title"]
    assert "validation examples given to report()" in est
    assert "on the validation split" not in est and "no validation split" in est


def test_compared_runs_share_one_page_with_their_differences_highlighted(pages):
    text = pages["compare", 1400]["text"]
    assert "2 runs compared" in text and "1 setting differs" in text
