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
README, the documentation or the gallery quotes a number that is not one of
these figures.
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
#: An integer with a unit, as the pages write a measured count of seconds,
#: minutes, percent or times: ``618 s``, ``3 min``, ``23%``, ``3x``. A unit
#: word follows a space (``3s`` is the digit 3 in the plural), ``x`` follows
#: no space (``8 x 8`` is a size).
QUANTITY = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)"
    r"(?:\s(ms|s|seconds?|min|minutes?|h|hours?)|\s?(%)|(x|×))(?![\w.]*\d|\w)"
)
_UNITS = {"second": "s", "seconds": "s", "minute": "min", "minutes": "min", "hour": "h", "hours": "h", "×": "x"}
#: A table header's unit: ``wall (s)``, ``1 row (ms)``, ``total min``, ``pretrain s (CPU s)``.
_HEADER_UNIT = re.compile(r"\((ms|s|min|%)\)|(?<![-\w])(s|min)\b")


def _cells(line):
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _lines(markdown):
    """Walk a results text line by line, headings left out.

    Yields ``(section, table, line, row)``: the heading's number (such as
    ``"4b"``, or ``"preamble"`` before the first), how many tables the
    section has opened so far, the line, and for a table body row its
    ``(header cell, cell)`` pairs (None for prose, a header or a separator).
    """
    section, table, header = "preamble", 0, None
    for line in markdown.splitlines():
        heading = _SECTION.match(line)
        if heading:
            section, table, header = heading.group(1), 0, None
            continue
        row = None
        if not line.startswith("|"):
            header = None
        elif header is None:
            header = _cells(line)
            table += 1
        elif not set(line.replace("|", "").strip()) <= set("-: "):  # not the separator under the header
            # zip: a short row leaves cells out.
            row = list(zip(header, _cells(line), strict=False))
        yield section, table, line, row


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
    for section, table, _, row in _lines(markdown):
        for column, value in row or ():
            if NUMBER.search(value):
                figures.append({"section": section, "table": table, "row": row[0][1], "column": column, "value": value})
    return figures


def quantities(markdown):
    """Integers with a unit that each section of a results text writes.

    Parameters
    ----------
    markdown : str
        The text of ``results.md``.

    Returns
    -------
    quantities : dict of str to set of tuple
        For each section (``"4b"``, or ``"preamble"`` before the first), the
        ``(integer, unit)`` pairs written in its prose and tables
        (``("618", "s")`` for "fit 618 s"), and the integers of table cells
        under a header that names the unit (``("1007", "s")`` for a cell
        ``1007`` under ``wall (s)``). Integers lose their thousands commas;
        units are ``s``, ``ms``, ``min``, ``h``, ``%`` and ``x``.
    """
    found = {}
    for section, _, line, row in _lines(markdown):
        pairs = found.setdefault(section, set())
        pairs |= quantities_in(line)
        for column, value in row or ():
            unit = _HEADER_UNIT.search(column)
            if unit:
                for integer in re.findall(
                    r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?![\w.]*\d)|(?<![\w.,])\d+(?![\w.]*\d)", value
                ):
                    pairs.add((integer.replace(",", ""), unit.group(1) or unit.group(2)))
    return found


def quantities_in(text):
    """The ``(integer, unit)`` pairs of :data:`QUANTITY` in ``text``, normalised as :func:`quantities` does."""
    return {
        (match.group(1).replace(",", ""), _UNITS.get(unit, unit))
        for match in QUANTITY.finditer(text)
        for unit in [match.group(2) or match.group(3) or match.group(4)]
    }


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
