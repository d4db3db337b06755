"""report.html in a real browser: headless Chromium (Debian package `chromium`) opens the
report of a healthy run and of a diverged one, at 1400 px wide, and the page must show no
console error, decode every image, hold nothing wider than the page and no text spilling out
of its box (with every <details> opened), and start its first plot above 1,500 px. Without
Chromium the test skips and says why (.ci/run installs it when missing).

The browser is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: JSON
messages ended by a NUL byte on file descriptors 3 and 4), with the standard library only.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time

import numpy as np
import pytest

import babysit as bs
from babysit import report
from babysit.cli import main
from babysit.training import monitors

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTH = 1400
FIRST_PLOT_BELOW = 1500  # px: the first plot must start above this

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium; "
                             ".ci/run installs it): report.html is not opened in a browser")

# What the page is asked once loaded: every <details> opened first, so that folded text counts.
MEASURE = """(() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const page = document.documentElement.clientWidth;
  const images = [...document.images].map(i => ({alt: i.alt, complete: i.complete,
                                                  width: i.naturalWidth}));
  const wide = [...document.body.querySelectorAll('*')]
    .filter(e => e.getBoundingClientRect().right > page + 1)
    .map(e => e.tagName + (e.id ? '#' + e.id : ''));
  const spilling = [...document.body.querySelectorAll('*')]
    .filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)
    .map(e => e.tagName + (e.id ? '#' + e.id : ''));
  const plot = document.querySelector('figure img');
  return JSON.stringify({page, scrollWidth: document.documentElement.scrollWidth, images,
                         wide, spilling, firstPlotTop: plot ? plot.getBoundingClientRect().top
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

    def open(self, path) -> dict:
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.send(domain, session)
        self.send("Emulation.setDeviceMetricsOverride", session, width=WIDTH, height=1000,
                  deviceScaleFactor=1, mobile=False)
        self.events.clear()
        self.send("Page.navigate", session, url=path.resolve().as_uri())
        self.wait_for("Page.loadEventFired")
        found = json.loads(self.send("Runtime.evaluate", session, expression=MEASURE,
                                     returnByValue=True)["result"]["value"])
        found["errors"] = [_error_text(e) for e in self.events if _is_error(e)]
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
def demo_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--epochs", "3", "--out", str(out)]) == 0
    return out / "report.html"


@pytest.fixture(scope="module")
def diverged_report(tmp_path_factory):
    data = bs.data.load("digits")
    trainer = bs.Trainer(bs.mlp(64, [100, 100], 10, seed=0), bs.losses.SoftmaxCrossEntropy(),
                         bs.optim.SGD(5.5), reg=bs.regularizers.L2(1e-4), batch_size=32,
                         epochs=5, progress=False,
                         callbacks=monitors.default(image_shape=(8, 8), data="digits"))
    X = data.train.X - data.train.X.mean(axis=0)
    with np.errstate(all="ignore"), pytest.raises(bs.DivergedError) as caught:
        trainer.fit(X, data.train.y, val=(data.val.X - data.train.X.mean(axis=0), data.val.y))
    return report.write(caught.value.history, tmp_path_factory.mktemp("diverged"))


@pytest.mark.parametrize("which", ["demo_report", "diverged_report"])
def test_the_report_reads_well_in_a_1400_px_browser_window(browser, which, request):
    found = browser.open(request.getfixturevalue(which))
    assert found["errors"] == []
    assert len(found["images"]) >= 5
    undecoded = [i["alt"] for i in found["images"] if not i["complete"] or i["width"] == 0]
    assert undecoded == []
    assert found["page"] == WIDTH and found["scrollWidth"] <= found["page"], found["wide"]
    assert found["wide"] == [] and found["spilling"] == []  # no box too narrow for its text
    assert found["firstPlotTop"] is not None and found["firstPlotTop"] < FIRST_PLOT_BELOW
