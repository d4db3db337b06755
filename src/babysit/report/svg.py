"""Charts as SVG text, drawn with NumPy and string formatting alone.

Why not Matplotlib: a report holds a dozen figures, and Matplotlib spent seconds laying them
out (longer than the training they describe); an SVG written here takes milliseconds, stays
sharp at any width and keeps its text as text. A `Chart` is one plot area with its axes
(linear, log or symmetric-log on either side), lines, shaded bands, histogram steps, marker
lines, points and an optional image, a title and a legend below; `Chart.svg()` returns an
`<svg>` element whose viewBox is `width` x `height` user units, so the page scales it.

Coordinates: x and y are data arrays (N,); None, NaN and inf break a line rather than being
drawn, and values <= 0 are dropped on a log axis.
"""

from __future__ import annotations

import base64
import html
import math
import struct
import sys
import zlib
from dataclasses import dataclass, field

import numpy as np

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
FONT = 12            # user units: the tick labels; titles are 13
MAX_POINTS = 1500    # a longer series is drawn as its min-max envelope per bucket
CHAR = 0.56          # the width of an average character, in font sizes (legend layout)
LEFT = 70            # user units left of the plot: the y label and tick labels of 7 characters
BIGGEST = sys.float_info.max  # an axis ends within +-BIGGEST: beyond it a number is inf
TOP_DECADE = math.log10(BIGGEST)  # 10 ** TOP_DECADE itself overflows (it rounds up)
FAR = 1e6            # how far off an axis (in axis lengths) a value is drawn, at most


def color(i: int) -> str:
    """The i-th colour of the palette (cycling)."""
    return PALETTE[i % len(PALETTE)]


@dataclass
class Scale:
    """An axis' map from data to [0, 1]: "linear", "log" (base 10) or "symlog" (linear
    within +-linthresh of 0, logarithmic beyond)."""

    kind: str = "linear"
    lo: float = 0.0
    hi: float = 1.0
    linthresh: float = 1.0

    def raw(self, v) -> np.ndarray:
        """The transformed value (before the [0, 1] map)."""
        v = np.asarray(v, dtype=np.float64)
        if self.kind == "log":
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(v > 0, np.log10(np.where(v > 0, v, 1.0)), np.nan)
        if self.kind == "symlog":
            return np.sign(v) * np.log10(1.0 + np.abs(v) / self.linthresh)
        return v

    def __call__(self, v) -> np.ndarray:
        """Where `v` sits on the axis, 0 at lo and 1 at hi, and NaN where `v` has no place (NaN,
        inf, <= 0 on a log axis). A value far off the axis (1e307 on an axis up to 2) is
        kept within +-FAR, so that its pixel stays a finite number and its line still leaves
        the plot towards it. Halves are subtracted: 1e308 - -1e308 is inf."""
        raw = self.raw(v)
        a, b = self.raw([self.lo, self.hi]) / 2
        with np.errstate(over="ignore"):
            t = (raw / 2 - a) / (b - a if b > a else 1.0)
        return np.where(np.isfinite(raw), np.clip(t, -FAR, FAR), np.nan)

    def ticks(self, most: int = 7) -> list[tuple[float, str]]:
        """Tick values inside [lo, hi] with their labels: round numbers, decades on a log
        axis, 0 and +-linthresh x 10^k on a symmetric-log one; at most about `most`."""
        lo, hi = self.lo, self.hi
        if self.kind == "log":
            if math.log10(hi) - math.log10(lo) < 0.6:  # under 4x: round numbers, as linear
                return Scale("linear", lo, hi).ticks(most)
            # 10 ** 309 is past the largest float: the decades end at 10 ** 308
            a, b = math.floor(math.log10(lo)), min(math.ceil(math.log10(hi)), int(TOP_DECADE))
            inside = [v for v in (10.0 ** k for k in range(a, b + 1))
                      if lo * 0.999 <= v <= hi * 1.001]
            step = max(1, math.ceil(len(inside) / most))
            values = inside[::step]
            for mantissas in ((1, 3), (1, 2, 5)):  # too few decades: more marks within each
                if len(values) >= 3:
                    break
                values = [v for v in (m * 10.0 ** k for k in range(a, b + 1) for m in mantissas)
                          if lo * 0.999 <= v <= min(hi * 1.001, BIGGEST)]
            return [(v, number(v)) for v in values]
        if self.kind == "symlog":
            top = max(abs(lo), abs(hi), self.linthresh)
            k = max(1, math.ceil(math.log10(top / self.linthresh)))
            step = max(1, math.ceil(2 * k / most))
            mags = [self.linthresh * 10.0 ** j for j in range(step, k + 1, step)]
            values = sorted([0.0] + mags + [-m for m in mags])
            return [(v, number(v)) for v in values if lo <= v <= hi]
        # halves and whole multiples of the step: hi - lo and lo + i * step overflow near 1e308
        step = nice_step((hi / 2 - lo / 2) / max(most - 1, 1) * 2)
        first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        values = [k * step for k in range(first, last + 1)]
        return [(0.0 if abs(v) < step * 1e-9 else v, number(v, step)) for v in values]


def nice_step(raw: float) -> float:
    """The round step (1, 2, 2.5 or 5 x 10^k) at or above `raw`."""
    if not raw > 0 or not math.isfinite(raw):
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))


def number(v: float, step: float | None = None) -> str:
    """A tick label: plain decimals to the step's precision (3 significant digits without a
    step), or 1e-3 style when tiny or huge."""
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3 or (step is None and abs(v) >= 1e3):
        mantissa, exponent = f"{v:.2g}".split("e") if "e" in f"{v:.2g}" else \
            f"{v:.1e}".split("e")
        return f"{float(mantissa):g}e{int(exponent)}"
    if step is None:
        return f"{v:.3g}"
    power = math.floor(math.log10(step) + 1e-9)
    quarter = step / 10.0 ** power == 2.5  # 2.5, 7.5: one digit more
    return f"{v:.{max(0, -power + (1 if quarter else 0))}f}"


def limits(values, kind: str, pad: float = 0.04) -> tuple[float, float]:
    """A [lo, hi] range that holds the finite (positive, on a log axis) `values`, padded. On a
    log axis values under the smallest normal float (a rate decayed to 1e-320) count as 0,
    off the axis, and the range never reaches 0 (its decades would be infinite). The range
    stays within +-BIGGEST, so that any finite data (a loss of 1e307) has an axis."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if kind == "log":
        v = v[v >= sys.float_info.min]
    if v.size == 0:
        return (1.0, 10.0) if kind == "log" else (0.0, 1.0)
    lo, hi = float(v.min()), float(v.max())
    if kind == "log":
        a, b = math.log10(lo), math.log10(hi)
        if b - a < 1e-3:  # one value: a band around it
            a, b = a - 0.05, b + 0.05
        span = (b - a) * pad
        return max(10.0 ** (a - span), sys.float_info.min), _decade(b + span)
    if hi == lo:
        half = abs(lo) * 0.1 or 1.0
        return _within_floats(lo - half), _within_floats(hi + half)
    span = (hi / 2 - lo / 2) * (2 * pad)  # halves: hi - lo overflows for -1e308..1e308
    return _within_floats(lo - span), _within_floats(hi + span)


def _decade(exponent: float) -> float:
    """10 ** exponent, or the largest float where that would overflow."""
    return BIGGEST if exponent >= TOP_DECADE else 10.0 ** exponent


def _within_floats(v: float) -> float:
    """`v` clamped to +-BIGGEST (a padded end past the largest float is inf)."""
    return min(max(v, -BIGGEST), BIGGEST)


def png(pixels: np.ndarray) -> bytes:
    """A PNG file of `pixels`: (H, W) or (H, W, 3) uint8, with zlib (no imaging library)."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = pixels.shape[:2]
    kind = 2 if pixels.ndim == 3 else 0
    rows = np.concatenate([np.zeros((h, 1), np.uint8), pixels.reshape(h, -1)], axis=1)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(
            ">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, kind, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + chunk(b"IEND", b""))


def diverging(values: np.ndarray, top: float) -> np.ndarray:
    """RGB uint8 (..., 3) of `values` on a blue-white-red scale centred at 0, +-top at the ends."""
    anchors = np.array([[33, 102, 172], [103, 169, 207], [247, 247, 247], [239, 138, 98],
                        [178, 24, 43]], dtype=np.float64)
    t = np.clip(np.asarray(values, dtype=np.float64) / (top or 1.0), -1, 1) * 2 + 2
    where = np.arange(5.0)
    return np.stack([np.interp(t, where, anchors[:, c]) for c in range(3)], axis=-1) \
        .round().astype(np.uint8)


@dataclass
class _Item:
    kind: str
    args: dict
    label: str | None = None
    style: dict = field(default_factory=dict)


class Chart:
    """One plot: add lines, bands, steps, marker lines, points or an image, then `svg()`.

    x and y take "linear", "log" or "symlog" (`linthresh` for the latter); `xlim`/`ylim`
    fix a range, otherwise it holds every item's data. axes=False draws no ticks, labels or
    frame (a picture); yticks=False no y ticks (a strip too low for them, such as a colour key).
    """

    def __init__(self, title: str, xlabel: str = "", ylabel: str = "", *, x: str = "linear",
                 y: str = "linear", width: int = 560, height: int = 300,
                 xlim=None, ylim=None, xlinthresh: float = 1.0, ylinthresh: float = 1.0,
                 axes: bool = True, yticks: bool = True):
        self.axes, self.yticks = axes, yticks
        self.title, self.xlabel, self.ylabel = title, xlabel, ylabel
        self.x, self.y = Scale(x, linthresh=xlinthresh), Scale(y, linthresh=ylinthresh)
        self.width, self.height, self.xlim, self.ylim = width, height, xlim, ylim
        self.items: list[_Item] = []

    # -- what can be drawn ------------------------------------------------------------------
    def line(self, x, y, *, color: str = PALETTE[0], width: float = 1.6, dash: str = "",
             opacity: float = 1.0, label: str | None = None, markers: bool = False):
        """A series through (x, y), with a dot at every point when `markers`; a point with no
        finite neighbour (a series of one sample, a value between gaps) gets its dot anyway,
        since a line through one point draws nothing."""
        x, y = np.asarray(x, np.float64), _floats(y)
        if len(x) > MAX_POINTS:  # a smooth series loses nothing to every k-th point
            stride = math.ceil(len(x) / MAX_POINTS)
            x, y = np.append(x[::stride], x[-1]), np.append(y[::stride], y[-1])
        self.items.append(_Item("line", {"x": x, "y": y}, label, dict(
            color=color, width=width, dash=dash, opacity=opacity, markers=markers)))

    def spread(self, x, y, *, color: str = PALETTE[0], opacity: float = 0.35,
               label: str | None = None):
        """A noisy series (a loss per batch): a thin line, or past MAX_POINTS its min-max
        envelope per bucket, so that every spike stays visible."""
        x, y = np.asarray(x, np.float64), _floats(y)
        if len(x) <= MAX_POINTS:
            self.line(x, y, color=color, width=0.9, opacity=opacity, label=label)
        else:
            self.band(*_envelope(x, y), color=color, opacity=opacity, label=label)

    def band(self, x, lo, hi, *, color: str = PALETTE[0], opacity: float = 0.25,
             label: str | None = None):
        self.items.append(_Item("band", {"x": np.asarray(x, np.float64), "lo": _floats(lo),
                                         "hi": _floats(hi)}, label,
                                dict(color=color, opacity=opacity)))

    def steps(self, edges, heights, *, color: str = PALETTE[0], filled: bool = False,
              label: str | None = None):
        """A histogram: `heights` (B,) over bins `edges` (B + 1,)."""
        self.items.append(_Item("steps", {"edges": np.asarray(edges, np.float64),
                                          "h": _floats(heights)}, label,
                                dict(color=color, filled=filled)))

    def vline(self, x: float, *, color: str = "#b00020", dash: str = "4 3",
              label: str | None = None):
        self.items.append(_Item("vline", {"v": float(x)}, label, dict(color=color, dash=dash)))

    def hline(self, y: float, *, color: str = "#777777", dash: str = "2 3",
              label: str | None = None):
        self.items.append(_Item("hline", {"v": float(y)}, label, dict(color=color, dash=dash)))

    def points(self, x, y, *, color: str = PALETTE[0], r: float = 2.2, opacity: float = 0.6,
               label: str | None = None):
        self.items.append(_Item("points", {"x": _floats(x), "y": _floats(y)}, label,
                                dict(color=color, r=r, opacity=opacity)))

    def image(self, pixels: np.ndarray, extent: tuple[float, float, float, float]):
        """`pixels` (H, W[, 3]) uint8 over data (x0, x1, y0, y1), its first row at the top."""
        self.items.append(_Item("image", {"png": png(pixels), "extent": extent}))

    def note(self, label: str, color: str = "#555555"):
        """A legend entry with no mark (e.g. "off the scale: up to 1e9")."""
        self.items.append(_Item("note", {}, label, dict(color=color)))

    # -- drawing ----------------------------------------------------------------------------
    def _ranges(self) -> None:
        xs = [it.args[k] for it in self.items for k in ("x", "edges") if k in it.args]
        xs += [np.asarray(it.args["extent"][:2]) for it in self.items if it.kind == "image"]
        ys = [it.args[k] for it in self.items for k in ("y", "lo", "hi", "h") if k in it.args]
        ys += [np.asarray(it.args["extent"][2:]) for it in self.items if it.kind == "image"]
        ys += [np.asarray([it.args["v"]]) for it in self.items if it.kind == "hline"]
        scatter = any(it.kind == "points" for it in self.items)  # a point needs room
        self.x.lo, self.x.hi = self.xlim or limits(_joined(xs), self.x.kind,
                                                   pad=0.05 if scatter else 0.0)
        picture = any(it.kind == "image" for it in self.items)  # no margin around a picture
        self.y.lo, self.y.hi = self.ylim or limits(_joined(ys), self.y.kind,
                                                   pad=0.0 if picture else 0.04)

    def svg(self) -> str:
        """The chart as one `<svg>` element (no XML prolog: it is placed inside the page)."""
        self._ranges()
        # the right margin holds half of the last x tick's label
        left, right, top = (LEFT, 26, 26) if self.axes else (4, 4, 24)
        legend = self._legend_rows()
        plot_h = self.height - top - (40 if self.axes else 4)
        total_h = self.height + 18 * len(legend)
        plot_w = self.width - left - right
        X = lambda v: left + self.x(v) * plot_w  # noqa: E731
        Y = lambda v: top + (1 - self.y(v)) * plot_h  # noqa: E731
        out = [f'<svg class="chart" viewBox="0 0 {self.width} {total_h}" role="img" '
               f'aria-label="{_esc(self.title)}" '
               f'font-size="{FONT}" font-family="system-ui,sans-serif">',
               f'<text x="{self.width / 2:.0f}" y="16" text-anchor="middle" font-size="13" '
               f'font-weight="600">{_esc(self.title)}</text>',
               f'<clipPath id="{(clip := _clip_id())}"><rect x="{left}" y="{top}" '
               f'width="{plot_w}" height="{plot_h}"/></clipPath>']
        out += self._grid(X, Y, left, top, plot_w, plot_h) if self.axes else []
        out.append(f'<g clip-path="url(#{clip})">')
        for it in self.items:
            out.append(self._draw(it, X, Y, top, plot_h, left, plot_w))
        out.append("</g>")
        if not self.axes:
            return "\n".join(out + ["</svg>"])
        out.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" '
                   'fill="none" stroke="#888"/>')
        out.append(f'<text x="{left + plot_w / 2:.0f}" y="{top + plot_h + 34}" '
                   f'text-anchor="middle">{_esc(self.xlabel)}</text>')
        out.append(f'<text transform="translate(13 {top + plot_h / 2:.0f}) rotate(-90)" '
                   f'text-anchor="middle">{_esc(self.ylabel)}</text>')
        y0 = self.height + 4
        for r, row in enumerate(legend):
            for x, it in row:
                out.append(_legend_mark(it, x, y0 + 18 * r))
                out.append(f'<text x="{x + 24}" y="{y0 + 18 * r + 4}">{_esc(it.label)}</text>')
        out.append("</svg>")
        return "\n".join(o for o in out if o)

    def _grid(self, X, Y, left, top, plot_w, plot_h) -> list[str]:
        out = []
        for v, text in self.x.ticks(8 if self.width > 400 else 5):
            px = X(v)
            out.append(f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{top}" y2="{top + plot_h}" '
                       f'stroke="#e4e4e4"/><text x="{px:.1f}" y="{top + plot_h + 15}" '
                       f'text-anchor="middle">{text}</text>')
        for v, text in self.y.ticks(6) if self.yticks else []:
            py = Y(v)
            out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{py:.1f}" y2="{py:.1f}" '
                       f'stroke="#e4e4e4"/><text x="{left - 5}" y="{py + 4:.1f}" '
                       f'text-anchor="end">{text}</text>')
        return out

    def _draw(self, it: _Item, X, Y, top, plot_h, left, plot_w) -> str:
        s, a = it.style, it.args
        tip = f"<title>{_esc(it.label)}</title>" if it.label else ""
        if it.kind == "line":
            px, py = X(a["x"]), Y(a["y"])
            d = _path(px, py)
            dash = f' stroke-dasharray="{s["dash"]}"' if s["dash"] else ""
            ok = np.isfinite(px) & np.isfinite(py)
            shown = ok if s["markers"] else ok & _lone(ok)
            r = max(2.4, 1.5 * s["width"])
            dots = "".join(f'<circle cx="{u:.1f}" cy="{v:.1f}" r="{r:.1f}"/>'
                           for u, v in zip(px[shown], py[shown], strict=True))
            dots = f'<g fill="{s["color"]}" fill-opacity="{s["opacity"]}">{dots}</g>' \
                if dots else ""
            return (f'<path d="{d}" fill="none" stroke="{s["color"]}" stroke-width="{s["width"]}"'
                    f' stroke-opacity="{s["opacity"]}"{dash} stroke-linejoin="round">{tip}</path>'
                    + dots)
        if it.kind == "band":
            px, lo, hi = X(a["x"]), Y(a["lo"]), Y(a["hi"])
            parts = []
            for seg in _segments(np.isfinite(lo) & np.isfinite(hi) & np.isfinite(px)):
                pts = [f"{u:.1f},{v:.1f}" for u, v in zip(px[seg], hi[seg], strict=True)] + \
                      [f"{u:.1f},{v:.1f}" for u, v in zip(px[seg][::-1], lo[seg][::-1],
                                                            strict=True)]
                parts.append("M" + " L".join(pts) + "Z")
            return (f'<path d="{"".join(parts)}" fill="{s["color"]}" '
                    f'fill-opacity="{s["opacity"]}" stroke="none">{tip}</path>')
        if it.kind == "steps":
            e, h = a["edges"], a["h"]
            base = self.y.lo if self.y.kind == "log" else max(self.y.lo, 0.0)
            ok = np.isfinite(h) & ((h > 0) if self.y.kind == "log" else True)
            bx = np.repeat(X(e), 2)[1:-1]
            by = np.repeat(np.where(ok, Y(np.where(ok, h, base)), Y(base)), 2)
            pts = " L".join(f"{u:.1f},{v:.1f}" for u, v in zip(bx, by, strict=True))
            d = f"M{X(e[0]):.1f},{Y(base):.1f} L{pts} L{X(e[-1]):.1f},{Y(base):.1f}"
            fill = f'fill="{s["color"]}" fill-opacity="0.4"' if s["filled"] else 'fill="none"'
            return f'<path d="{d}" {fill} stroke="{s["color"]}" stroke-width="1.2">{tip}</path>'
        if it.kind == "vline":
            px = X(a["v"])
            if not self._in_range(it):
                return ""
            return (f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{top}" y2="{top + plot_h}" '
                    f'stroke="{s["color"]}" stroke-width="1.4" stroke-dasharray="{s["dash"]}">'
                    f'{tip}</line>')
        if it.kind == "hline":
            py = Y(a["v"])
            if not self._in_range(it):
                return ""
            return (f'<line x1="{left}" x2="{left + plot_w}" y1="{py:.1f}" y2="{py:.1f}" '
                    f'stroke="{s["color"]}" stroke-width="1.3" stroke-dasharray="{s["dash"]}">'
                    f'{tip}</line>')
        if it.kind == "points":
            px, py = X(a["x"]), Y(a["y"])
            ok = np.isfinite(px) & np.isfinite(py)
            dots = "".join(f'<circle cx="{u:.1f}" cy="{v:.1f}" r="{s["r"]}"/>'
                           for u, v in zip(px[ok], py[ok], strict=True))
            return f'<g fill="{s["color"]}" fill-opacity="{s["opacity"]}">{tip}{dots}</g>'
        if it.kind == "image":
            x0, x1, y0, y1 = it.args["extent"]
            ux, uy = sorted((X(x0), X(x1))), sorted((Y(y0), Y(y1)))
            data = base64.b64encode(a["png"]).decode("ascii")
            return (f'<image x="{ux[0]:.1f}" y="{uy[0]:.1f}" width="{ux[1] - ux[0]:.1f}" '
                    f'height="{uy[1] - uy[0]:.1f}" preserveAspectRatio="none" '
                    f'style="image-rendering:pixelated" href="data:image/png;base64,{data}"/>')
        return ""

    def _legend_rows(self) -> list[list[tuple[float, _Item]]]:
        """The labelled items laid out in rows under the plot, each entry 24 + its text wide;
        a marker line outside the axis' range is not drawn, so not named either."""
        rows, x = [[]], float(LEFT)
        for it in self.items:
            if not it.label or not self._in_range(it):
                continue
            w = 34 + len(it.label) * FONT * CHAR
            if rows[-1] and x + w > self.width - 8:
                rows.append([])
                x = float(LEFT)
            rows[-1].append((x, it))
            x += w
        return rows if rows[0] else []


    def _in_range(self, it: _Item) -> bool:
        """Whether a marker line (vline, hline) lies within its axis' range; True for others."""
        scale = {"vline": self.x, "hline": self.y}.get(it.kind)
        return scale is None or 0.0 <= float(scale(it.args["v"])) <= 1.0


_CLIPS = iter(range(1, 1 << 62))


def _clip_id() -> str:
    """A clip-path id unique on the page (charts share one document)."""
    return f"clip{next(_CLIPS)}"


def _joined(arrays: list) -> np.ndarray:
    """Every value of `arrays`, flattened into one (0,) when there are none."""
    return np.concatenate([np.ravel(a) for a in arrays]) if arrays else np.zeros(0)


def _floats(values) -> np.ndarray:
    return np.asarray([math.nan if v is None else v for v in values], dtype=np.float64) \
        if isinstance(values, list) else np.asarray(values, dtype=np.float64)


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _segments(ok: np.ndarray) -> list[slice]:
    """The runs of True in `ok` as slices."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
    return [slice(a, b) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _lone(ok: np.ndarray) -> np.ndarray:
    """Where `ok` is True with no True neighbour: points a line cannot join to another."""
    padded = np.concatenate([[False], ok, [False]])
    return ok & ~padded[:-2] & ~padded[2:]


def _path(px: np.ndarray, py: np.ndarray) -> str:
    """An SVG path through the finite points, broken where a value is missing."""
    ok = np.isfinite(px) & np.isfinite(py)
    return "".join("M" + " L".join(f"{u:.1f},{v:.1f}" for u, v in
                                   zip(px[s], py[s], strict=True)) for s in _segments(ok))


def _envelope(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bucket mid x, min y, max y) over buckets of k consecutive points, about MAX_POINTS / 2
    of them; non-finite values are left out (a bucket of none gives NaN, a gap)."""
    k = math.ceil(len(x) / (MAX_POINTS // 2))
    m = math.ceil(len(x) / k)
    pad = np.full(m * k - len(x), np.nan)
    ys = np.concatenate([np.where(np.isfinite(y), y, np.nan), pad]).reshape(m, k)
    xs = np.concatenate([x, np.full(len(pad), x[-1])]).reshape(m, k)
    return xs.mean(axis=1), np.fmin.reduce(ys, axis=1), np.fmax.reduce(ys, axis=1)


def _legend_mark(it: _Item, x: float, y: float) -> str:
    s = it.style
    if it.kind in ("band", "image") or (it.kind == "steps" and s.get("filled")):
        return (f'<rect x="{x}" y="{y - 5}" width="18" height="10" fill="{s["color"]}" '
                f'fill-opacity="{max(s.get("opacity", 0.4), 0.3)}"/>')
    if it.kind == "points":
        return f'<circle cx="{x + 9}" cy="{y}" r="3" fill="{s["color"]}"/>'
    if it.kind == "note":
        return ""
    dash = s.get("dash", "")
    dash = f' stroke-dasharray="{dash}"' if dash else ""
    faint = f' stroke-opacity="{max(s["opacity"], 0.3)}"' if s.get("opacity", 1) < 1 else ""
    return (f'<line x1="{x}" x2="{x + 18}" y1="{y}" y2="{y}" stroke="{s["color"]}" '
            f'stroke-width="2"{dash}{faint}/>')


__all__ = ["CHAR", "FONT", "LEFT", "MAX_POINTS", "PALETTE", "Chart", "Scale", "color", "diverging",
           "limits", "nice_step", "number", "png"]
