"""Every measured figure that the project quotes is one of its benchmark results.

``benchmarks/figures.json`` lists each number in the tables of
``benchmarks/results.md`` (written by ``benchmarks/figures.py``). These tests
fail when that file is stale, and when the README, the benchmarks' README
(whose key results the documentation's benchmarks page includes),
CONTRIBUTING.md (CI's timings), a documentation page or a gallery
example's text quotes a decimal number that is not among those figures, so
a page cannot drift from the benchmarks. An
integer with a unit ("618 s", "3 min", "23%", "3x") is checked too, against
the integers that results.md writes with that unit, in its tables and its
prose (``figures.quantities``). Numbers in code (code blocks, inline
literals, doctests), version numbers, arXiv and DOI identifiers are not
figures and are skipped. The package's docstrings and comments quote no
figures at all: they point to the documentation that measures them.
"""

import ast
import functools
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import figures  # noqa: E402  (benchmarks/ is not a package)

# A version ("Python 3.10", "TensorFlow 2.16 or newer") or a target ("target
# 0.80", "at least 0.95", "≥ 0.98") is not a measurement.
NOT_A_FIGURE = re.compile(
    r"(?:python|tensorflow|keras|scikit-learn|numpy|umap|umap-learn|sphinx|dask|version|release|v"
    r"|targets?:?|at least|at most|under|no seed below|≥|<=|>=)\s*$",
    re.IGNORECASE,
)


# Integers with a unit that are settings, not measurements, where a page
# says them in words rather than as the parameter's literal.
SETTINGS = {
    "docs/user_guide/variants.rst": {("40", "%")},  # noise_level=0.4: the pixels erased
    "examples/variants/plot_denoising.py": {("40", "%")},  # the same
    "examples/variants/plot_anomaly_scores.py": {("5", "%")},  # contamination=0.05
}

# An address, an arXiv identifier or a DOI holds digits that are not figures.
NOT_PROSE = re.compile(r"https?://\S+|\b(?:arxiv|doi):\S+", re.IGNORECASE)

SECTION_NAMED = re.compile(r"\bsections? ((?:\d+[a-z]?)(?:(?:, | and | to |-)\d+[a-z]?)*)")


def _paragraphs(text):
    """Paragraphs of ``text`` (blank-line separated; each Markdown table row alone), as lists of lines."""
    paragraph = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("|"):
            if paragraph:
                yield paragraph
            paragraph = [line] if line.strip() else []
            continue
        paragraph.append(line)
    if paragraph:
        yield paragraph


def _quoted_numbers(text, pattern=figures.NUMBER):
    """(line, match, sections) for each match of ``pattern`` in ``text`` that is not a version or a target.

    ``pattern`` is ``figures.NUMBER`` (the match is the decimal's text) or
    ``figures.QUANTITY`` (the match is the ``(integer, unit)`` pair).
    ``sections`` is the set of results sections that the number's paragraph
    names ("section 4b", "sections 3 and 4"), empty when it names none.
    """
    found = []
    for paragraph in _paragraphs(text):
        joined = " ".join(paragraph)
        sections = {s for names in SECTION_NAMED.findall(joined) for s in re.findall(r"\d+[a-z]?", names)}
        for line in paragraph:
            line = NOT_PROSE.sub("", line)
            for match in pattern.finditer(line):
                if NOT_A_FIGURE.search(line[: match.start()][-20:]):
                    continue
                quoted = match.group() if pattern is figures.NUMBER else figures.quantities_in(match.group()).pop()
                found.append((line.strip(), quoted, sections))
    return found


def _markdown_prose(text):
    """Markdown without fenced code blocks and inline code spans (line numbers kept)."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            out.append("")
            continue
        out.append("" if fenced else re.sub(r"`[^`]*`", "", line))
    return "\n".join(out)


def _rst_prose(text):
    """reStructuredText without literal and code blocks, doctest lines, inline literals or roles."""
    out, block_indent = [], None
    for line in text.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if block_indent is not None:
            if not stripped or indent > block_indent:
                out.append("")
                continue
            block_indent = None
        if re.match(r"\.\. (code-block|code|literalinclude|doctest|testcode|math)::", stripped) or (
            stripped.endswith("::") and not stripped.startswith("..")
        ):
            block_indent = indent
            out.append(re.sub(r"``[^`]*``", "", line) if not stripped.startswith("..") else "")
            continue
        if stripped.startswith(">>>") or re.match(r":[\w-]+: ", stripped):
            out.append("")  # a doctest, or a directive's option (":width: 70%")
            continue
        out.append(re.sub(r"``[^`]*``|:\w+:`[^`]*`", "", line))
    return "\n".join(out)


def _example_prose(source):
    """A gallery script's text: its docstring and comments, without inline literals."""
    tree = ast.parse(source)
    lines = [""] * len(source.splitlines())
    doc = ast.get_docstring(tree, clean=False) or ""
    for i, line in enumerate(doc.splitlines()):
        lines[i] = line
    for i, line in enumerate(source.splitlines()):
        if line.lstrip().startswith("#"):
            lines[i] = line
    return _rst_prose("\n".join(lines))


def _pages():
    yield ROOT / "README.md", _markdown_prose
    # The benchmarks' key results (which docs/benchmarks.rst includes).
    yield ROOT / "benchmarks" / "README.md", _markdown_prose
    yield ROOT / "CONTRIBUTING.md", _markdown_prose  # CI's timings
    for path in sorted((ROOT / "docs").rglob("*.rst")):
        parts = set(path.relative_to(ROOT / "docs").parts)
        if parts & {"_build", "auto_examples", "generated", "gen_modules", "_generated"}:
            continue
        if path.name == "sg_execution_times.rst":
            continue
        yield path, _rst_prose
    for path in sorted((ROOT / "examples").rglob("*.py")):
        yield path, _example_prose


PAGES = list(_pages())


@functools.cache
def _figures_document():
    return json.loads((ROOT / "benchmarks" / "figures.json").read_text(encoding="utf-8"))


@functools.cache
def _known_quantities():
    """The (integer, unit) pairs of all of results.md, and of each section."""
    by_section = figures.quantities((ROOT / "benchmarks" / "results.md").read_text(encoding="utf-8"))
    return set().union(*by_section.values()), by_section


@functools.cache
def _known_numbers():
    """Every number of the figures, and the numbers of each results section (read once per run)."""
    document = _figures_document()
    by_section = {}
    for figure in document["figures"]:
        by_section.setdefault(figure["section"], []).append(figure)
    return figures.numbers(document["figures"]), {k: figures.numbers(v) for k, v in by_section.items()}


def test_figures_json_matches_results():
    current = (ROOT / "benchmarks" / "figures.json").read_text(encoding="utf-8")
    expected = figures.render((ROOT / "benchmarks" / "results.md").read_text(encoding="utf-8"))
    assert current == expected, "benchmarks/figures.json is stale: run `python benchmarks/figures.py`"


def test_figures_are_found():
    """The extraction itself: a known cell of results.md comes out with its row and column."""
    document = _figures_document()
    assert len(document["figures"]) > 50
    sections = {figure["section"] for figure in document["figures"]}
    assert {"3", "4", "4b", "10"} <= sections
    markdown = "## 7. Made up\n\n| model | MSE |\n|---|---|\n| PCA | 0.0090 |\n| none | - |\n"
    assert figures.extract(markdown) == [{"section": "7", "table": 1, "row": "PCA", "column": "MSE", "value": "0.0090"}]


@pytest.mark.parametrize("path, prose", PAGES, ids=[str(p.relative_to(ROOT)) for p, _ in PAGES])
def test_quoted_figures_come_from_the_benchmarks(path, prose):
    text = prose(path.read_text(encoding="utf-8"))
    unknown = []
    for pattern, (known, by_section) in [
        (figures.NUMBER, _known_numbers()),
        (figures.QUANTITY, _known_quantities()),
    ]:
        for line, number, sections in _quoted_numbers(text, pattern):
            if number in SETTINGS.get(path.relative_to(ROOT).as_posix(), ()):
                continue
            # A paragraph that names its results sections must quote from them.
            allowed = set().union(*(by_section.get(s, set()) for s in sections)) if sections else known
            if number not in allowed:
                where = f"section {', '.join(sorted(sections))} of " if sections else ""
                shown = number if isinstance(number, str) else " ".join(number)
                unknown.append(f"{shown} (not in {where}results.md) in {line!r}")
    assert not unknown, (
        f"{path.relative_to(ROOT)} quotes numbers that are not in benchmarks/results.md's tables "
        "(copy them from there, write a parameter value as a literal, or drop them):\n" + "\n".join(unknown)
    )


def test_the_check_catches_a_made_up_figure():
    known, by_section = _known_numbers()
    assert "0.1234" not in known
    prose = _rst_prose("The model reaches 0.1234 accuracy.\n\n.. code-block:: python\n\n   x = 0.5678\n")
    assert [number for _, number, _ in _quoted_numbers(prose)] == ["0.1234"]
    assert _quoted_numbers(_markdown_prose("TensorFlow 2.16 or newer, `lr=0.01`, target 0.80")) == []
    assert _quoted_numbers("see <https://arxiv.org/abs/1908.05968>") == []
    # A figure of section 3 quoted as if it came from section 4b is caught.
    assert "0.0059" in by_section["3"] and "0.0059" not in by_section["4b"]
    [(_, number, sections)] = _quoted_numbers("The preset reached 0.0059 (section 4b).")
    assert number == "0.0059" and sections == {"4b"}


def test_the_check_catches_a_made_up_quantity():
    known, by_section = _known_quantities()
    assert ("618", "s") in by_section["4"]  # "fit 618 s", a table's row label
    assert ("1007", "s") in by_section["4b"]  # a cell under "wall (s)"
    prose = "The fit took 6197 s, 3 min and 45% more; 8 x 8 images, arXiv:1511.06335."
    quoted = [number for _, number, _ in _quoted_numbers(prose, figures.QUANTITY)]
    assert quoted == [("6197", "s"), ("3", "min"), ("45", "%")]
    assert ("6197", "s") not in known
    assert _quoted_numbers("see arXiv:1511.06335 and doi:10.1145/1390156.1390294") == []


@pytest.mark.parametrize(("note", "section"), [("DEEP_CLUSTERING_NOTE", "10"), ("PRESET_NOTE", "4c")])
def test_the_demo_report_quotes_clustering_figures_from_the_benchmarks(note, section):
    from skae import _demo

    text = getattr(_demo, note)
    quoted = figures.NUMBER.findall(text)
    known = _known_numbers()[1][section]
    assert quoted and not [number for number in quoted if number not in known]
    # Integers with a unit ("481 s") are the section's too.
    units = [number for _, number, _ in _quoted_numbers(text, figures.QUANTITY)]
    assert not [pair for pair in units if pair not in _known_quantities()[1].get(section, set())], units
