"""Consistency checks between the package and its documentation sources.

The docs build itself (``sphinx-build -W`` in ``.ci/run``) runs the gallery
and fails on broken docstrings and cross-references; these fast checks catch
what it cannot: a public name missing from the API reference, a gallery
script that the gallery would not pick up or that does not say its sizes, a
README whose quick start changed or whose example fails (run here on 200
MNIST images, one epoch a fit), a landing page (docs/index.rst) that tells
another story than the README.
"""

import ast
import importlib
import inspect
import re
import textwrap
from pathlib import Path

import pytest
from _helpers import MNIST_PATH, needs_mnist

import skae

ROOT = Path(__file__).resolve().parents[1]
API = (ROOT / "docs" / "api.rst").read_text()
README = (ROOT / "README.md").read_text()
EXAMPLES = sorted((ROOT / "examples").rglob("plot_*.py"))
# Public submodules whose own __all__ the API reference must cover, once
# they exist on this branch.
SUBMODULES = ["skae.datasets", "skae.metrics", "skae.plotting", "skae.presets", "skae.onnx"]


def _autosummary_entries(text):
    """Names listed under the autosummary directives of an rst file, with their currentmodule."""
    entries, module, in_list = set(), "", False
    for line in text.splitlines():
        if m := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = m.group(1)
        if line.startswith(".. autosummary::"):
            in_list = True
            continue
        if in_list:
            if line.strip() and not line.startswith(" "):
                in_list = False
            elif line.strip() and not line.strip().startswith(":"):
                entries.add(f"{module}.{line.strip()}")
    return entries


def test_every_public_name_is_in_the_api_reference():
    documented = _autosummary_entries(API)
    public = {
        f"skae.{name}"
        for name in skae.__all__
        if name != "__version__" and not inspect.ismodule(getattr(skae, name))  # modules: their names below
    }
    for modname in SUBMODULES:
        try:
            module = importlib.import_module(modname)
        except ModuleNotFoundError:
            continue
        public |= {f"{modname}.{name}" for name in getattr(module, "__all__", []) if not name.isupper()}
    missing = sorted(public - documented)
    assert not missing, f"public names missing from docs/api.rst's autosummary lists: {missing}"


def test_autosummary_parser_reads_the_reference():
    # Guards the test above against passing on an empty parse.
    assert "skae.DenseAutoencoder" in _autosummary_entries(API)
    assert "skae.ConvAutoencoder" in _autosummary_entries(API)


def test_there_is_a_gallery_in_sections_that_each_have_a_readme():
    assert len(EXAMPLES) >= 6, [p.name for p in EXAMPLES]
    assert (ROOT / "examples" / "README.txt").exists()
    sections = {p.parent for p in EXAMPLES}
    assert ROOT / "examples" not in sections, "every example belongs to a section (a subfolder)"
    for section in sections:
        assert (section / "README.txt").exists(), section


def test_the_gallery_order_lists_every_example():
    import sys

    sys.path.insert(0, str(ROOT / "docs"))
    from _gallery_order import ORDER

    assert sorted(ORDER) == sorted(p.name for p in EXAMPLES)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_gallery_script_has_a_title_and_states_its_sizes(path):
    docstring = ast.get_docstring(ast.parse(path.read_text()), clean=False)
    assert docstring, f"{path.name} needs a module docstring: sphinx-gallery takes its title from it"
    lines = docstring.strip("\n").splitlines()
    # reST title: an overline and underline of '=' at least as long as the title.
    assert set(lines[0]) == {"="} and lines[2] == lines[0] and len(lines[0]) >= len(lines[1].rstrip()), (
        f"{path.name}: the docstring must open with a title between two '=' lines of its length; got {lines[:3]}"
    )
    assert "Sizes on this page" in docstring, (
        f"{path.name} must say how many samples and epochs it uses, compared with the tutorial"
    )


def test_readme_names_every_extra_with_a_checkout_install_line():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    missing = [name for name in extras if f'pip install -e ".[{name}]"' not in README]
    assert not missing, f"README's install list lacks the extras {missing}"


def test_the_benchmarks_page_includes_the_key_results():
    # docs/benchmarks.rst includes the key-results table of benchmarks/README.md between two markers.
    page = (ROOT / "docs" / "benchmarks.rst").read_text()
    start, end = (re.search(rf":{option}: (.+)", page).group(1) for option in ("start-after", "end-before"))
    readme = (ROOT / "benchmarks" / "README.md").read_text()
    assert start in readme and end in readme, "docs/benchmarks.rst's markers are missing from benchmarks/README.md"
    key_results = readme.split(start, 1)[1].split(end, 1)[0]
    rows = [line for line in key_results.splitlines() if line.startswith("| ") and "section" in line]
    assert len(rows) >= 5, f"the key results hold {len(rows)} rows that name their results section"


def _fenced_blocks(markdown, language):
    """The code of each fenced block of ``language`` in a Markdown text."""
    return re.findall(rf"^```{language}\n(.*?)^```", markdown, re.MULTILINE | re.DOTALL)


# The quick start's two commands, run from the repository root: they stay as they are.
QUICK_START = [
    'python3 -m venv .venv && .venv/bin/pip install -e ".[plots,umap]" && .venv/bin/skae demo',
    'python3 -m venv .venv && .venv/bin/pip install -e ".[tests]" && .venv/bin/python -m pytest -n auto',
]


def test_the_readme_quick_start_is_the_two_commands_and_ci_runs_its_tests():
    commands = [line for block in _fenced_blocks(README, "bash") for line in block.splitlines()]
    missing = [command for command in QUICK_START if command not in commands]
    assert not missing, f"the README's quick start lacks {missing}"
    test_command = QUICK_START[1].rsplit(" && ", 1)[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert any(line.strip().endswith(test_command) for line in ci.splitlines()), (
        f"CI no longer runs the README's test command {test_command!r}"
    )


# The README's example at test sizes: each literal must be in it, and becomes the small one.
README_EXAMPLE_SIZES = {"n_samples=5000": "n_samples=200", "epochs=10": "epochs=1", "cv=3": "cv=2"}


@needs_mnist
def test_the_readme_example_runs(monkeypatch):
    blocks = _fenced_blocks(README, "python")
    assert blocks, "the README has no Python example"
    code = "\n".join(blocks)
    for literal, small in README_EXAMPLE_SIZES.items():
        assert literal in code, f"the README's example no longer says {literal}: update README_EXAMPLE_SIZES"
        code = code.replace(literal, small)
    monkeypatch.setenv("SKAE_MNIST", str(MNIST_PATH))
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    search = namespace["search"]
    kinds = {(type(params["ae"]).__name__, params["ae__activation"]) for params in search.cv_results_["params"]}
    assert kinds == {
        (kind, activation) for kind in ("DenseAutoencoder", "ConvAutoencoder") for activation in ("relu", "elu")
    }
    assert namespace["clusters"].shape == (200,)
    assert namespace["codes"].shape == (200, 64)


INDEX = (ROOT / "docs" / "index.rst").read_text()


def _plain(text):
    """What a reader sees of Markdown or reST: markup dropped, whitespace collapsed."""
    text = re.sub(r":\w+:`([^`<]*?)\s*<[^`]*>`", r"\1", text)  # :doc:`title <target>`
    text = re.sub(r":\w+:`~?([\w.]*\.)?(\w+)`", r"\2", text)  # :class:`~sklearn.cluster.KMeans`
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [title](target)
    text = re.sub(r"`+|\*\*", "", text)
    return " ".join(text.split())


def _rst_code_blocks(rst, language):
    """The code of each ``code-block`` of ``language`` in a reST text, dedented."""
    blocks = re.findall(rf"^\.\. code-block:: {language}\n\n((?:(?: {{3}}.*)?\n)+)", rst, re.MULTILINE)
    return [textwrap.dedent(block).strip("\n") + "\n" for block in blocks]


def _markdown_table(markdown, header):
    """The body rows of the Markdown table under ``header``, as lists of plain cells."""
    lines = markdown.split(header, 1)[1].lstrip("\n").splitlines()[1:]  # after the separator
    rows = lines[: next((i for i, line in enumerate(lines) if not line.startswith("|")), None)]
    return [[_plain(cell) for cell in row.strip().strip("|").split("|")] for row in rows]


def _rst_list_table(rst):
    """The body rows of the first ``list-table`` of a reST text, as lists of plain cells."""
    table = rst.split(".. list-table::", 1)[1]
    rows = re.findall(r"^   \* - (.*)\n((?:     - .*\n)+)", table, re.MULTILINE)
    return [[_plain(first)] + [_plain(cell) for cell in re.findall(r"- (.*)", rest)] for first, rest in rows][1:]


def test_the_readme_and_the_landing_page_tell_the_same_story():
    # The two sentences that say what skae is: the first paragraph of each.
    readme_pitch = README.split("\n\n")[1]
    index_pitch = re.split(r"\n\n", INDEX.split("====\nskae\n====\n", 1)[1].strip("\n"))[0]
    assert _plain(readme_pitch) == _plain(index_pitch)
    # The quick start, the MNIST commands and the extras: the same shell blocks in the same order.
    assert _fenced_blocks(README, "bash")[:3] == _rst_code_blocks(INDEX, "bash")[:3]
    # The example.
    assert _fenced_blocks(README, "python") == _rst_code_blocks(INDEX, "python")
    # The estimators, each of them.
    estimators = _markdown_table(README, "| estimator | what it is |")
    assert estimators == _rst_list_table(INDEX)
    # skae's public estimators: its classes that fit (not InferencePlan and the like).
    public = {
        name for name in skae.__all__ if inspect.isclass(getattr(skae, name)) and hasattr(getattr(skae, name), "fit")
    }
    assert {row[0] for row in estimators} == public
