"""The benchmark figures in machine-readable form: ``figures.json`` from ``results.md``.

Every cell of every table in ``results.md`` that holds a number becomes one
figure, named by its section, table, row and column::

    {"section": "4b", "table": 1, "row": "mean ± std", "column": "accuracy", "value": "0.875 ± 0.052"}

``run.py`` rewrites ``figures.json`` whenever it writes ``results.md``. The
other scripts (``preset_seeds.py``, ``deep_clustering.py``, ``demo.py``)
print tables that are pasted into ``results.md`` by hand; after such an
edit, run this script::

    python benchmarks/figures.py            # rewrite figures.json
    python benchmarks/figures.py --check    # exit 1 if figures.json is stale

``tests/test_figures.py`` fails when ``figures.json`` is stale, or when the
README, the documentation, the gallery or a docstring quotes a number that is
not one of these figures.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.md"
FIGURES = HERE / "figures.json"

#: A decimal number as the pages write it: ``0.875``, ``1.023``, ``8.6``, ``-0.5``.
NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d+(?![\w.]*\d)")
_SECTION = re.compile(r"^##+\s+(\w+)\.\s")


def _cells(line):
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def extract(markdown):
    """Return the figures of a results Markdown text, in the order they appear.

    Parameters
    ----------
    markdown : str
        The text of ``results.md``.

    Returns
    -------
    figures : list of dict
        One dict per table cell that holds a decimal number, with the keys
        ``section`` (the heading's number, such as ``"4b"``), ``table``
        (1 for the section's first table), ``row`` (the row's first cell),
        ``column`` (the header cell) and ``value`` (the cell's text).
    """
    figures = []
    section, table_index, header = "preamble", 0, None
    for line in markdown.splitlines():
        heading = _SECTION.match(line)
        if heading:
            section, table_index, header = heading.group(1), 0, None
            continue
        if not line.startswith("|"):
            header = None
            continue
        if header is None:
            header = _cells(line)
            table_index += 1
            continue
        if set(line.replace("|", "").strip()) <= set("-: "):
            continue  # the separator row under the header
        cells = _cells(line)
        for column, value in zip(header, cells, strict=False):  # a short row leaves cells out
            if NUMBER.search(value):
                figures.append(
                    {"section": section, "table": table_index, "row": cells[0], "column": column, "value": value}
                )
    return figures


def numbers(figures):
    """The set of decimal numbers, as written, that the figures contain."""
    return {match for figure in figures for match in NUMBER.findall(figure["value"])}


def render(markdown):
    """The text of ``figures.json`` for a results Markdown text."""
    # One figure per line, so that a benchmark rerun reads as a short diff.
    rows = ",\n".join("  " + json.dumps(figure, ensure_ascii=False) for figure in extract(markdown))
    return (
        '{\n "source": "benchmarks/results.md",\n'
        ' "about": "Every table cell of results.md that holds a decimal number; written by benchmarks/figures.py.",\n'
        f' "figures": [\n{rows}\n ]\n}}\n'
    )


def write(results=RESULTS, output=FIGURES):
    """Rewrite ``output`` from ``results``; ``run.py`` calls this after writing results."""
    Path(output).write_text(render(Path(results).read_text(encoding="utf-8")), encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if figures.json does not match results.md")
    args = parser.parse_args(argv)
    expected = render(RESULTS.read_text(encoding="utf-8"))
    if args.check:
        current = FIGURES.read_text(encoding="utf-8") if FIGURES.exists() else ""
        if current != expected:
            print(f"{FIGURES.name} is stale: run `python benchmarks/figures.py`.", file=sys.stderr)
            return 1
        return 0
    FIGURES.write_text(expected, encoding="utf-8")
    print(f"wrote {len(json.loads(expected)['figures'])} figures to {FIGURES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
