"""Charts drawn on the server with matplotlib (the only module that imports it): SVG for the
dashboard, PNG for the picture in the evening summary.

Chinese needs a CJK font, found by path at run time (Debian's fonts-noto-cjk, which
scripts/install_system_packages.sh installs, or $JIELONG_CJK_FONT). Without one there is no
chart: `ChartFontMissing` says what to install, and callers go on without the picture. A
character the font lacks (an emoji in a group's name) is left out of the label instead of
being drawn as an empty box.

Figures are built with the object API (no pyplot, no global state), so threads may draw at once.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display, ever; before anything else of matplotlib is imported

from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ft2font import FT2Font  # noqa: E402

FONT_ENV = "JIELONG_CJK_FONT"
# Debian's CJK fonts, the best first (Noto's .ttc holds a Simplified Chinese face).
FONT_PATHS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
)
BAR = "#e4572e"
BAR_SOFT = "#f3a683"
INK = "#333333"
GRID = "#dddddd"
_lock = threading.RLock()


class ChartFontMissing(RuntimeError):
    """No CJK font where jielong looks: charts cannot be drawn."""


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal | int | float
    text: str  # what is written at the end of the bar ("285元")
    rest: bool = False  # “the other N”: drawn paler, and never longer than the longest named bar


@dataclass(frozen=True)
class CjkFont:
    path: str
    family: str

    def has(self, char: str) -> bool:
        with _lock:  # one FreeType face shared by the threads that draw
            return _face(self.path).get_char_index(ord(char)) != 0

    def printable(self, text: str) -> str:
        """The text without characters this font cannot draw (emoji, rare symbols)."""
        if not text:
            return text
        kept = "".join(c for c in text if c.isspace() or self.has(c))
        return " ".join(kept.split()) or "?"


def find_cjk_font() -> CjkFont:
    """The CJK font charts are drawn with; `ChartFontMissing` with what to do when there is none."""
    return _find_cjk_font(os.environ.get(FONT_ENV) or None)


@lru_cache(maxsize=4)
def _find_cjk_font(chosen: str | None) -> CjkFont:
    if chosen is not None:
        if not Path(chosen).is_file():
            raise ChartFontMissing(f"${FONT_ENV} names {chosen}, which is not a file")
        candidates: Sequence[str] = (chosen,)
    else:
        candidates = [path for path in FONT_PATHS if Path(path).is_file()]
        if not candidates:
            raise ChartFontMissing(
                "no Chinese font for charts (looked for " + ", ".join(FONT_PATHS) + "): install Debian's "
                f"fonts-noto-cjk (scripts/install_system_packages.sh) or set ${FONT_ENV} to a .ttf/.otf/.ttc file")
    path = candidates[0]
    with _lock:
        font_manager.fontManager.addfont(path)
        families = [entry.name for entry in font_manager.fontManager.ttflist if entry.fname == path]
    family = next((name for name in families if name.endswith(" SC")), families[0] if families else None)
    if family is None:
        raise ChartFontMissing(f"{path} is not a font matplotlib can read")
    font = CjkFont(path, family)
    if not font.has("团"):
        raise ChartFontMissing(f"{path} has no Chinese characters")
    return font


@lru_cache(maxsize=4)
def _face(path: str) -> FT2Font:
    return FT2Font(path)


def _figure(font: CjkFont, width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    figure.set_facecolor("white")
    return figure


def _style(axes, font: CjkFont) -> None:
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.spines["bottom"].set_color(GRID)
    axes.tick_params(colors=INK, labelsize=10, length=0)
    axes.grid(axis="x", color=GRID, linewidth=0.8)
    axes.set_axisbelow(True)
    for label in axes.get_xticklabels() + axes.get_yticklabels():
        label.set_fontfamily(font.family)


def _bars(axes, font: CjkFont, title: str, bars: Sequence[Bar], empty: str) -> None:
    """Horizontal bars, the largest on top, each with its value written at its end."""
    axes.set_title(font.printable(title), loc="left", fontfamily=font.family, fontsize=13, color=INK, pad=10)
    if not bars:
        axes.set_axis_off()
        axes.text(0.5, 0.5, font.printable(empty), ha="center", va="center", fontfamily=font.family,
                  fontsize=12, color="#888888", transform=axes.transAxes)
        return
    labels = [font.printable(_short(bar.label)) for bar in reversed(bars)]
    named = [float(bar.value) for bar in bars if not bar.rest] or [float(bar.value) for bar in bars]
    top = max(max(named), 0)
    values = [min(float(bar.value), top) if bar.rest else float(bar.value) for bar in reversed(bars)]
    positions = range(len(bars))
    drawn = axes.barh(positions, values, height=0.62,
                      color=[BAR_SOFT if bar.rest else BAR for bar in reversed(bars)])
    axes.set_yticks(list(positions), labels, fontfamily=font.family)
    axes.set_xlim(0, top * 1.22 if top > 0 else 1)
    for rect, bar in zip(drawn, reversed(bars), strict=True):
        axes.text(rect.get_width() + top * 0.015, rect.get_y() + rect.get_height() / 2, font.printable(bar.text),
                  va="center", fontfamily=font.family, fontsize=10, color=INK)
    # Room for three bars at least, so one bar is as thick as one of three, at the top.
    axes.set_ylim(len(bars) - 0.6 - max(len(bars), 3), len(bars) - 0.4)
    _style(axes, font)
    axes.set_xticks([])  # every bar says its value


def _short(label: str, width: int = 14) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def bar_chart(title: str, bars: Sequence[Bar], empty: str, *, font: CjkFont | None = None) -> Figure:
    font = font or find_cjk_font()
    figure = _figure(font, 6, 0.7 + 0.34 * max(len(bars), 3))
    _bars(figure.add_subplot(), font, title, bars, empty)
    return figure


def hourly_chart(title: str, hours: Sequence[tuple[datetime, int]], tz, empty: str, *,
                 font: CjkFont | None = None) -> Figure:
    """Orders per hour as columns, hours labelled in the platform's zone."""
    font = font or find_cjk_font()
    figure = _figure(font, 9, 3.4)
    axes = figure.add_subplot()
    axes.set_title(font.printable(title), loc="left", fontfamily=font.family, fontsize=13, color=INK, pad=10)
    if not hours or not any(n for _, n in hours):
        axes.set_axis_off()
        axes.text(0.5, 0.5, font.printable(empty), ha="center", va="center", fontfamily=font.family, fontsize=12,
                  color="#888888", transform=axes.transAxes)
        return figure
    counts = [n for _, n in hours]
    axes.bar(range(len(hours)), counts, color=BAR, width=0.8)
    step = max(1, len(hours) // 12)
    ticks = list(range(0, len(hours), step))
    axes.set_xticks(ticks, [_hour_label(hours[k][0], tz, k == 0 or hours[k][0].astimezone(tz).hour < step)
                            for k in ticks])
    axes.yaxis.get_major_locator().set_params(integer=True)
    _style(axes, font)
    axes.grid(axis="x", visible=False)
    axes.grid(axis="y", color=GRID, linewidth=0.8)
    return figure


def _hour_label(moment: datetime, tz, with_day: bool) -> str:
    local = moment.astimezone(tz)
    return f"{local.month}/{local.day} {local:%H:%M}" if with_day else f"{local:%H:%M}"


def sales_picture(title: str, by_product: tuple[str, Sequence[Bar]], by_group: tuple[str, Sequence[Bar]],
                  empty: str, *, font: CjkFont | None = None, dpi: int = 110) -> bytes:
    """The evening summary's picture: sales by product above sales by group, as PNG."""
    font = font or find_cjk_font()
    rows = max(len(by_product[1]), 3) + max(len(by_group[1]), 3)
    figure = _figure(font, 7.2, 1.4 + 0.36 * rows)
    figure.suptitle(font.printable(title), x=0.02, ha="left", fontfamily=font.family, fontsize=15, color=INK)
    grid = figure.add_gridspec(2, 1, height_ratios=[max(len(by_product[1]), 3), max(len(by_group[1]), 3)])
    _bars(figure.add_subplot(grid[0]), font, by_product[0], by_product[1], empty)
    _bars(figure.add_subplot(grid[1]), font, by_group[0], by_group[1], empty)
    return png(figure, dpi)


def png(figure: Figure, dpi: int = 110) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def svg(figure: Figure) -> bytes:
    """SVG with the glyphs drawn as paths: the browser needs no Chinese font of its own."""
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "jielong"}):
        figure.savefig(buffer, format="svg", facecolor="white")
    return buffer.getvalue()


def top_bars(rows: Sequence[tuple[str, Decimal | int, str]], total: Decimal | int, count: int, limit: int,
             others: str, text_of) -> list[Bar]:
    """The first `limit` rows as bars; when there are more (`count` in all, summing to `total`),
    one more bar for the rest, labelled with `others` (filled with how many)."""
    bars = [Bar(label, value, text) for label, value, text in rows[:limit]]
    if count > limit:
        rest = total - sum((value for _, value, _ in rows[:limit]), type(total)(0))
        bars.append(Bar(others.format(count=count - limit), rest, text_of(rest), rest=True))
    return bars
