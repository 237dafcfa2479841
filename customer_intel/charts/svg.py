"""Charts drawn as standalone SVG text: no Django, no browser script, nothing from another host.

Every chart is readable in greyscale: magnitudes are lengths or a lightness ramp that darkens
monotonically, lines differ by dash pattern and marker as well as colour, and every mark carries
its number as text. Each mark also carries `data-*` attributes with the exact figure it draws,
so tests compare pictures with data instead of pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

FONT = "font-family='system-ui, -apple-system, Segoe UI, Roboto, sans-serif'"
INK = "#1f2933"
MUTED = "#52606d"
GRID = "#d9dee3"
BAR = "#2f6690"
# Sequential ramp whose lightness falls steadily (light yellow → dark blue), so the order of
# cells survives a greyscale print.
RAMP = ["#f7fbd9", "#d5eeb3", "#a9dcab", "#72c7b1", "#41b0c3", "#2c8bbd", "#2c5fa5", "#253494"]
# Lines: colour, dash pattern and marker differ together.
LINE_STYLES = [
    ("#1b4f72", "", "circle"),
    ("#b9770e", "6 3", "square"),
    ("#1e8449", "2 3", "diamond"),
    ("#6c3483", "8 3 2 3", "triangle"),
    ("#922b21", "12 4", "circle"),
    ("#5d6d7e", "4 2 1 2", "square"),
    ("#117a65", "1 2", "diamond"),
    ("#7e5109", "10 2 2 2", "triangle"),
]

Formatter = Callable[[float], str]


def plain_number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def nice_step(largest: float, steps: int) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that covers `largest` in `steps`."""
    raw = largest / steps
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    note: str = ""  # shown after the value, e.g. a percentage


def _text(
    x: float,
    y: float,
    content: str,
    *,
    size: int = 12,
    anchor: str = "start",
    weight: str = "normal",
    fill: str = INK,
    extra: str = "",
) -> str:
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' text-anchor='{anchor}' "
        f"font-weight='{weight}' fill='{fill}' {extra}>{escape(content)}</text>"
    )


def _document(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img' aria-label={quoteattr(title)} {FONT}>"
        f"<title>{escape(title)}</title>"
        f"<rect width='{width}' height='{height}' fill='#ffffff'/>"
        + _text(12, 22, title, size=15, weight="bold")
        + "".join(body)
        + "</svg>"
    )


def _empty(title: str, message: str, width: int = 640) -> str:
    return _document(width, 80, title, [_text(12, 56, message, fill=MUTED)])


def horizontal_bars(
    bars: Sequence[Bar],
    *,
    title: str,
    value_label: str,
    value_format: Formatter = plain_number,
    width: int = 640,
) -> str:
    """One bar per item, longest = largest value, the value written at the bar's end."""
    if not bars:
        return _empty(title, "No data yet.")
    label_width = min(200, 12 + 7 * max(len(bar.label) for bar in bars))
    row, top = 26, 40
    plot_width = width - label_width - 150
    largest = max((bar.value for bar in bars), default=0) or 1
    body = []
    for index, bar in enumerate(bars):
        y = top + index * row
        length = plot_width * max(bar.value, 0) / largest
        body.append(_text(label_width - 8, y + 16, bar.label, anchor="end"))
        body.append(
            f"<rect x='{label_width}' y='{y + 4}' width='{length:.1f}' height='{row - 8}' "
            f"fill='{BAR}' data-label={quoteattr(bar.label)} data-value='{bar.value}'/>"
        )
        text = value_format(bar.value) + (f"  ({bar.note})" if bar.note else "")
        body.append(_text(label_width + length + 6, y + 16, text, fill=MUTED))
    height = top + row * len(bars) + 30
    body.append(_text(label_width, height - 10, value_label, size=11, fill=MUTED))
    return _document(width, height, title, body)


def _ramp(value: float, largest: float) -> tuple[str, str]:
    """Fill and text colour of a heat-map cell holding `value`."""
    if largest <= 0 or value <= 0:
        return "#ffffff", INK
    step = min(len(RAMP) - 1, int((len(RAMP) - 1) * value / largest + 0.5))
    return RAMP[step], ("#ffffff" if step >= 4 else INK)


def heat_map(
    cells: Sequence[Sequence[float]],
    *,
    title: str,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    row_axis: str,
    column_axis: str,
    names: Sequence[Sequence[str]] | None = None,
    cell_width: int = 112,
    cell_height: int = 48,
) -> str:
    """A grid of counts, darker = more, each cell with its count (and a name when given)."""
    label_width = max(90, 12 + 7 * max((len(label) for label in row_labels), default=0))
    left, top = label_width + 30, 62
    largest = max((value for row in cells for value in row), default=0)
    body = [
        _text(
            left + cell_width * len(column_labels) / 2,
            44,
            column_axis,
            anchor="middle",
            size=12,
            weight="bold",
        )
    ]
    for column, label in enumerate(column_labels):
        body.append(
            _text(
                left + column * cell_width + cell_width / 2,
                top - 4,
                label,
                anchor="middle",
                fill=MUTED,
            )
        )
    for row, label in enumerate(row_labels):
        y = top + row * cell_height
        body.append(_text(left - 8, y + cell_height / 2 + 4, label, anchor="end", fill=MUTED))
        for column, value in enumerate(cells[row]):
            x = left + column * cell_width
            fill, ink = _ramp(value, largest)
            name = names[row][column] if names else ""
            body.append(
                f"<rect x='{x}' y='{y}' width='{cell_width}' height='{cell_height}' "
                f"fill='{fill}' stroke='{GRID}' data-row={quoteattr(label)} "
                f"data-column={quoteattr(column_labels[column])} data-value='{value}'"
                + (f" data-name={quoteattr(name)}" if name else "")
                + "/>"
            )
            body.append(
                _text(
                    x + cell_width / 2,
                    y + (20 if name else cell_height / 2 + 4),
                    plain_number(value),
                    anchor="middle",
                    weight="bold",
                    fill=ink,
                )
            )
            if name:
                body.append(
                    _text(x + cell_width / 2, y + 37, name, anchor="middle", size=10, fill=ink)
                )
    grid_bottom = top + cell_height * len(row_labels)
    axis_y = (top + grid_bottom) / 2
    body.append(
        _text(
            14,
            axis_y,
            row_axis,
            anchor="middle",
            weight="bold",
            extra=f"transform='rotate(-90 14 {axis_y:.1f})'",
        )
    )
    width = left + cell_width * len(column_labels) + 16
    return _document(width, grid_bottom + 16, title, body)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    if shape == "square":
        return f"<rect x='{x - 3.5:.1f}' y='{y - 3.5:.1f}' width='7' height='7' fill='{colour}'/>"
    if shape == "diamond":
        return (
            f"<path d='M{x:.1f} {y - 5:.1f} L{x + 5:.1f} {y:.1f} L{x:.1f} {y + 5:.1f} "
            f"L{x - 5:.1f} {y:.1f} Z' fill='{colour}'/>"
        )
    if shape == "triangle":
        return (
            f"<path d='M{x:.1f} {y - 5:.1f} L{x + 5:.1f} {y + 4:.1f} L{x - 5:.1f} "
            f"{y + 4:.1f} Z' fill='{colour}'/>"
        )
    return f"<circle cx='{x:.1f}' cy='{y:.1f}' r='3.5' fill='{colour}'/>"


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    x_axis: str,
    y_axis: str,
    width: int = 860,
    height: int = 360,
) -> str:
    """Lines over shared x positions; each line named at its end and in the legend."""
    if not x_labels or not series:
        return _empty(title, "No history yet: a point is added by each successful run.", width)
    left, right, top, bottom = 64, 170, 40, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    tick = nice_step(max((max(s.values, default=0) for s in series), default=0) or 1, 4)
    largest = tick * 4
    step = plot_w / max(1, len(x_labels) - 1)

    def xy(index: int, value: float) -> tuple[float, float]:
        return left + index * step, top + plot_h - plot_h * value / largest

    body = []
    for tick in range(5):
        value = largest * tick / 4
        y = top + plot_h - plot_h * tick / 4
        body.append(
            f"<line x1='{left}' x2='{left + plot_w}' y1='{y:.1f}' y2='{y:.1f}' stroke='{GRID}'/>"
        )
        body.append(
            _text(left - 6, y + 4, plain_number(round(value)), anchor="end", size=11, fill=MUTED)
        )
    every = max(1, len(x_labels) // 8)
    for index, label in enumerate(x_labels):
        if index % every == 0 or index == len(x_labels) - 1:
            x, _ = xy(index, 0)
            body.append(_text(x, top + plot_h + 16, label, anchor="middle", size=11, fill=MUTED))
    for number, line in enumerate(series):
        colour, dash, shape = LINE_STYLES[number % len(LINE_STYLES)]
        points = [xy(index, value) for index, value in enumerate(line.values)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        dash_attr = f" stroke-dasharray='{dash}'" if dash else ""
        body.append(
            f"<polyline points='{path}' fill='none' stroke='{colour}' stroke-width='2'"
            f"{dash_attr} data-series={quoteattr(line.name)} "
            f"data-values={quoteattr(' '.join(plain_number(v) for v in line.values))}/>"
        )
        body.extend(_marker(shape, x, y, colour) for x, y in points)
        legend_y = top + 14 + number * 20
        legend_x = left + plot_w + 16
        body.append(
            f"<line x1='{legend_x}' x2='{legend_x + 26}' y1='{legend_y - 4}' "
            f"y2='{legend_y - 4}' stroke='{colour}' stroke-width='2'{dash_attr}/>"
        )
        body.append(_marker(shape, legend_x + 13, legend_y - 4, colour))
        body.append(_text(legend_x + 32, legend_y, line.name, size=11))
    body.append(
        _text(left + plot_w / 2, height - 12, x_axis, anchor="middle", size=11, weight="bold")
    )
    mid = top + plot_h / 2
    body.append(
        _text(
            16,
            mid,
            y_axis,
            anchor="middle",
            size=11,
            weight="bold",
            extra=f"transform='rotate(-90 16 {mid:.1f})'",
        )
    )
    return _document(width, height, title, body)


def histogram(
    edges: Sequence[float],
    counts: Sequence[int],
    *,
    title: str,
    x_axis: str,
    edge_format: Formatter = plain_number,
    width: int = 640,
    height: int = 300,
) -> str:
    """Counts of values in consecutive bins [edges[i], edges[i+1]); counts written on bars."""
    if not counts or sum(counts) == 0:
        return _empty(title, "No values yet.", width)
    left, right, top, bottom = 56, 16, 40, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    largest = max(counts) or 1
    bar_w = plot_w / len(counts)
    body = []
    for index, count in enumerate(counts):
        x = left + index * bar_w
        bar_h = plot_h * count / largest
        low, high = edges[index], edges[index + 1]
        body.append(
            f"<rect x='{x + 1:.1f}' y='{top + plot_h - bar_h:.1f}' width='{bar_w - 2:.1f}' "
            f"height='{bar_h:.1f}' fill='{BAR}' data-low='{low}' data-high='{high}' "
            f"data-value='{count}'/>"
        )
        body.append(
            _text(
                x + bar_w / 2,
                top + plot_h - bar_h - 4,
                plain_number(count),
                anchor="middle",
                size=10,
                fill=MUTED,
            )
        )
    for index, edge in enumerate(edges):
        if index % max(1, len(edges) // 6) == 0 or index == len(edges) - 1:
            x = left + index * bar_w
            body.append(
                _text(x, top + plot_h + 16, edge_format(edge), anchor="middle", size=10, fill=MUTED)
            )
    body.append(
        f"<line x1='{left}' x2='{left + plot_w}' y1='{top + plot_h}' "
        f"y2='{top + plot_h}' stroke='{MUTED}'/>"
    )
    body.append(
        _text(left + plot_w / 2, height - 14, x_axis, anchor="middle", size=11, weight="bold")
    )
    mid = top + plot_h / 2
    body.append(
        _text(
            16,
            mid,
            "customers",
            anchor="middle",
            size=11,
            weight="bold",
            extra=f"transform='rotate(-90 16 {mid:.1f})'",
        )
    )
    return _document(width, height, title, body)
