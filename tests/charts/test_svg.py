"""Charts are checked against the numbers they draw, read back from the SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from customer_intel.charts.svg import (
    Bar,
    Series,
    heat_map,
    histogram,
    horizontal_bars,
    line_chart,
)

SVG = "{http://www.w3.org/2000/svg}"


def _marks(svg: str, tag: str, attribute: str) -> list[ET.Element]:
    return [e for e in ET.fromstring(svg).iter(SVG + tag) if attribute in e.attrib]


def test_bars_draw_each_value_with_length_proportional_to_it():
    svg = horizontal_bars(
        [Bar("vip", 10), Bar("lost", 5, "33.33%"), Bar("new", 0)],
        title="Segments",
        value_label="customers",
    )
    bars = _marks(svg, "rect", "data-value")
    assert [(b.get("data-label"), float(b.get("data-value"))) for b in bars] == [
        ("vip", 10),
        ("lost", 5),
        ("new", 0),
    ]
    widths = [float(b.get("width")) for b in bars]
    assert widths[1] * 2 == widths[0] and widths[2] == 0
    assert "33.33%" in svg


def test_heat_map_cells_carry_counts_and_names_and_darken_with_count():
    svg = heat_map(
        [[0, 4], [8, 2]],
        title="RFM",
        row_labels=["R5", "R4"],
        column_labels=["F1", "F2"],
        row_axis="Recency",
        column_axis="Frequency",
        names=[["New Customers", "Potential Loyalists"], ["Promising", "Loyal"]],
    )
    cells = _marks(svg, "rect", "data-value")
    assert [
        (c.get("data-row"), c.get("data-column"), float(c.get("data-value")), c.get("data-name"))
        for c in cells
    ] == [
        ("R5", "F1", 0, "New Customers"),
        ("R5", "F2", 4, "Potential Loyalists"),
        ("R4", "F1", 8, "Promising"),
        ("R4", "F2", 2, "Loyal"),
    ]
    fills = {float(c.get("data-value")): c.get("fill") for c in cells}
    assert fills[0] == "#ffffff" and fills[8] != fills[2]


def test_line_chart_draws_each_series_values_in_order():
    svg = line_chart(
        ["2026-01-01", "2026-01-02"],
        [Series("vip", [3, 5]), Series("lost", [1, 0])],
        title="History",
        x_axis="date",
        y_axis="customers",
    )
    lines = _marks(svg, "polyline", "data-series")
    assert [(line.get("data-series"), line.get("data-values")) for line in lines] == [
        ("vip", "3 5"),
        ("lost", "1 0"),
    ]
    assert lines[0].get("stroke-dasharray") is None and lines[1].get("stroke-dasharray")


def test_histogram_draws_each_bin():
    svg = histogram([0, 0.5, 1], [3, 7], title="P(alive)", x_axis="probability")
    bins = _marks(svg, "rect", "data-value")
    assert [
        (float(b.get("data-low")), float(b.get("data-high")), int(b.get("data-value")))
        for b in bins
    ] == [(0, 0.5, 3), (0.5, 1, 7)]


def test_empty_data_says_so_instead_of_drawing_nothing():
    assert "No data yet." in horizontal_bars([], title="t", value_label="v")
    assert "No history yet" in line_chart([], [], title="t", x_axis="x", y_axis="y")
    assert "No values yet." in histogram([0, 1], [0], title="t", x_axis="x")


def test_text_is_escaped():
    svg = horizontal_bars([Bar("<script>&", 1)], title="A & B", value_label="v")
    ET.fromstring(svg)  # well-formed
    assert "<script>" not in svg
