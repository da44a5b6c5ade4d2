"""Sphinx configuration for skae's documentation.

Build it from the repository root with::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The gallery runs the scripts in ``examples/`` on real MNIST. They find it
through the environment variable ``SKAE_MNIST``; when that is unset and
``../shared/data/mnist.npz`` exists beside the repository, this file points
``SKAE_MNIST`` at it. Nothing here fetches anything from the internet (no
intersphinx), so ``-W`` never fails on a network error, and no page loads
anything from the internet either: maths is written as plain text, not
MathJax (which comes from a CDN and shows raw TeX offline).
"""

import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS))  # for _gallery_order

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_default_mnist = ROOT.parent / "shared" / "data" / "mnist.npz"
if "SKAE_MNIST" not in os.environ and _default_mnist.exists():
    os.environ["SKAE_MNIST"] = str(_default_mnist)

from sphinx_gallery.sorting import ExplicitOrder  # noqa: E402

import skae  # noqa: E402

project = "skae"
author = "The skae developers"
copyright = "the skae developers"
version = release = skae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext"}
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "_generated",
    "**.ipynb_checkpoints",
    "auto_examples/**.md",
    "auto_examples/**.py",
    "_gallery_order.py",
]
root_doc = "index"
# Single backticks are code, as in scikit-learn's documentation.
default_role = "literal"
# Every cross-reference must resolve, so a reference to a skae name that does
# not exist fails the -W build. Without intersphinx (no network) references
# into other projects cannot resolve; they render as code without a link.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(sklearn|keras|tensorflow|numpy|scipy|matplotlib|pandas|joblib|umap|scikeras)(\..*)?"),
    (r"py:.*", r"(np|tf|plt|pd)\..*"),
]

# -- API reference ------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {}  # the class template lists members itself
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# numpydoc checks these on every documented object; with -W a violation
# fails the build. GL08: object without a docstring; PR01/PR02: parameters
# missing from, or documented but absent in, the signature; RT03: no
# description of a return value; SS03: summary not ending in a period.
numpydoc_validation_checks = {"GL08", "PR01", "PR02", "RT03", "SS03"}
# Methods that scikit-learn's base classes give every estimator: their
# docstrings are scikit-learn's, not ours.
numpydoc_validation_exclude = {
    r"\.get_metadata_routing$",
    r"\.set_\w+_request$",
    r"\.get_params$",
    r"\.set_params$",
    r"\.set_output$",
    r"\.fit_transform$",
    r"\.get_feature_names_out$",
}

# -- Gallery ------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    # Only plot_*.py scripts belong to the gallery (quickstart.py is a
    # command-line script, not an example page).
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"(^|/)(?!plot_)[^/]+\.py$",
    "doc_module": ("skae",),
    "backreferences_dir": "gen_modules/backreferences",
    "reference_url": {"skae": None},
    # Sections in the order that teaches (basics first), and so the examples
    # within each; see docs/_gallery_order.py.
    "subsection_order": ExplicitOrder(
        [f"../examples/{section}" for section in ("basics", "latent_space", "variants", "practice")]
    ),
    "within_subsection_order": "_gallery_order.TeachingOrder",
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "show_memory": False,
    "min_reported_time": 1,
    "download_all_examples": False,
}

# -- HTML ---------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skae {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_prev_next": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "benchmarks": []}
html_static_path = ["_static"]
html_css_files = ["skae.css"]
html_show_sourcelink = False


# -- Benchmarks page ----------------------------------------------------------
# benchmarks.rst includes _generated/benchmark_results.md: a copy of
# benchmarks/results.md when the benchmark script has written it, else a
# note saying how to produce it. The page builds without a warning either way.
def _stage_benchmark_results(app):
    target = DOCS / "_generated" / "benchmark_results.md"
    target.parent.mkdir(exist_ok=True)
    source = ROOT / "benchmarks" / "results.md"
    if source.exists():
        # The page has its own title; the file's "# skae benchmarks" would be a
        # second one. Without it the file's headings move up one level, since
        # MyST wants an included document's headings to start at the top.
        text = source.read_text(encoding="utf-8")
        if text.startswith("# "):
            text = text.split("\n", 1)[1].lstrip("\n")
        lines, fenced = [], False
        for line in text.splitlines():
            fenced ^= line.startswith("```")
            lines.append(line[1:] if not fenced and line.startswith("##") else line)
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        target.write_text(
            "*No benchmark results yet: `benchmarks/results.md` does not exist in this checkout. "
            "Run the benchmark script (see `benchmarks/`) and rebuild the docs to show its table here.*\n"
        )


# -- Docstrings inherited from scikit-learn ------------------------------------
# Methods such as set_output come from scikit-learn's mixins, and their
# docstrings point at labels of scikit-learn's own documentation, which this
# site does not have (and, offline, cannot link to): left alone they render as
# raw labels ("sphx_glr_auto_examples_..."), and their "Added in version 1.4"
# notes are about scikit-learn, not skae. In those docstrings only, a
# paragraph that cites scikit-learn's pages becomes one plain sentence, and
# version notes are dropped. skae's own docstrings are left alone, so a broken
# reference there still fails the build.
_SKLEARN_NOTE = "This method comes from scikit-learn; its documentation there has more detail and examples."
_VERSION_NOTE = re.compile(r"^(\s*)\.\. (versionadded|versionchanged|deprecated)::")


def _clean_sklearn_docstring(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", None) or ""
    if not module.startswith("sklearn"):
        return
    out, skip_indent, noted = [], None, False
    paragraphs, current = [], []
    for line in lines:
        if skip_indent is not None:
            if not line.strip() or len(line) - len(line.lstrip()) > skip_indent:
                continue
            skip_indent = None
        match = _VERSION_NOTE.match(line)
        if match:
            skip_indent = len(match.group(1))
            continue
        current.append(line)
        if not line.strip():
            paragraphs.append(current)
            current = []
    paragraphs.append(current)
    for paragraph in paragraphs:
        if any(":ref:" in line for line in paragraph):
            if not noted:
                out.extend([_SKLEARN_NOTE, ""])
                noted = True
            continue
        out.extend(paragraph)
    lines[:] = out


def setup(app):
    app.connect("builder-inited", _stage_benchmark_results)
    app.connect("autodoc-process-docstring", _clean_sklearn_docstring)
