"""The dashboard's charts as geometry for server-rendered inline SVG: no script, no inline style (the site's CSP).

Each function takes a figure's rows and returns what the template draws: coordinates in a
fixed ``viewBox`` and the labels. Colours are classes in ``static/staff/admin.css`` (a tier's
own colour is an SVG ``fill`` presentation attribute, which the CSP allows). The numbers are
also in a table beside each chart, for screen readers and for copying.
"""

import re

WIDTH = 640
BAR_HEIGHT = 18
BAR_GAP = 6
LABEL_WIDTH = 170  # the bars' labels, left of the bars
VALUE_WIDTH = 80  # the bars' values, right of the bars
LINE_HEIGHT = 220
PAD = {"left": 56, "right": 16, "top": 12, "bottom": 28}
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_COLOUR = "#6b7280"
LINES = ("issued", "redeemed", "expired")


def line_chart(points: list[dict]) -> dict:
    """Issued, redeemed and expired per bucket as three polylines, with the y axis's top value and the first and
    last bucket's dates under the x axis."""
    top = max([1, *(point[name] for point in points for name in LINES)])
    inner_w = WIDTH - PAD["left"] - PAD["right"]
    inner_h = LINE_HEIGHT - PAD["top"] - PAD["bottom"]
    step = inner_w / max(len(points) - 1, 1)

    def xy(index: int, value: int) -> str:
        x = PAD["left"] + index * step
        y = PAD["top"] + inner_h - inner_h * value / top
        return f"{x:.1f},{y:.1f}"

    lines = [
        {"name": name, "points": " ".join(xy(index, point[name]) for index, point in enumerate(points))}
        for name in LINES
    ]
    return {
        "width": WIDTH,
        "height": LINE_HEIGHT,
        "lines": lines,
        "top": top,
        "axis": {
            "x0": PAD["left"],
            "x1": WIDTH - PAD["right"],
            "y0": PAD["top"],
            "y1": PAD["top"] + inner_h,
            "label_y": LINE_HEIGHT - 8,
            "top_y": PAD["top"] + 4,
            "label_x": PAD["left"] - 6,
        },
        "first": points[0]["start"] if points else None,
        "last": points[-1]["start"] if points else None,
    }


def bar_chart(rows: list[dict], *, value: str, colour: str | None = None) -> dict:
    """Horizontal bars, one per row (``label``, ``row[value]``), scaled to the largest; ``colour`` names the rows'
    key holding a colour (else the bars take their class's colour)."""
    top = max([1, *(row[value] for row in rows)])
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = []
    for index, row in enumerate(rows):
        y = BAR_GAP + index * (BAR_HEIGHT + BAR_GAP)
        width = span * row[value] / top
        fill = row.get(colour) if colour else None
        bars.append(
            {
                "label": row["label"],
                "value": row[value],
                "x": LABEL_WIDTH,
                "y": y,
                "width": f"{width:.1f}",
                "text_y": y + BAR_HEIGHT - 5,
                "value_x": f"{LABEL_WIDTH + width + 6:.1f}",
                "fill": (fill if fill and COLOUR.match(fill) else DEFAULT_COLOUR) if colour else None,
            }
        )
    return {
        "width": WIDTH,
        "height": BAR_GAP + len(rows) * (BAR_HEIGHT + BAR_GAP) or BAR_GAP,
        "bars": bars,
        "label_x": LABEL_WIDTH - 6,
        "bar_height": BAR_HEIGHT,
    }


def funnel_chart(stages: list[tuple[str, int]]) -> dict:
    """A funnel: one centred bar per stage, its width its count's share of the first stage's."""
    top = max([1, *(count for _label, count in stages)])
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    centre = LABEL_WIDTH + span / 2
    height = 28
    steps = []
    for index, (label, count) in enumerate(stages):
        width = max(span * count / top, 2)
        y = BAR_GAP + index * (height + BAR_GAP)
        steps.append(
            {
                "label": label,
                "value": count,
                "x": f"{centre - width / 2:.1f}",
                "y": y,
                "width": f"{width:.1f}",
                "text_y": y + height - 9,
                "value_x": f"{centre + width / 2 + 6:.1f}",
            }
        )
    return {
        "width": WIDTH,
        "height": BAR_GAP + len(stages) * (height + BAR_GAP),
        "steps": steps,
        "label_x": LABEL_WIDTH - 6,
        "bar_height": height,
    }
