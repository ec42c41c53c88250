"""The results table (targets, PASS/FAIL) and its JSON copy."""

import json
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def table(rows: list[dict]) -> str:
    headers = ("Measure", "Result", "Target", "")
    lines = [(row["name"], row["value"], row.get("target", ""), row.get("verdict", "")) for row in rows]
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *lines, strict=True)]

    def line(cells):
        return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(cells) for cells in lines)])


def write_json(data: dict) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / "latest.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path
