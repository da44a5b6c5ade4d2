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
# into scikit-learn, SciPy and Keras are linked by ``_link_elsewhere`` below,
# from the name alone; other projects' names render as code without a link.
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
    # Each example page ends with its running time. The summary pages of
    # times (sg_execution_times) are not written: their memory column reads
    # 0.0 throughout unless memory_profiler measures it, which costs build
    # time, and they load jQuery and DataTables from a CDN, which this site
    # never does.
    "show_memory": False,
    "write_computation_times": False,
    "min_reported_time": 1,
    # Two examples at a time: one uses about 1.4 of CI's 2 cores (Python
    # between the kernels), so two side by side finish the gallery sooner.
    "parallel": 2,
    "download_all_examples": False,
    # Figures at twice the pixels, for sharp plots on high-density screens.
    "image_srcset": ["2x"],
}

# -- HTML ---------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skae {release}"
# The pages outside the user guide that are written as prose.
_PROSE_PAGES = ("index", "tutorial", "api", "benchmarks", "cli", "faq", "development", "changelog", "citing")
html_theme_options = {
    "navbar_align": "left",
    "show_prev_next": False,
    # The first navbar links; the rest sit under "More".
    "header_links_before_dropdown": 5,
    # The on-page contents on the right, on the pages written as prose. The
    # gallery's examples (their code and output take the whole column) and
    # the API pages (whose long method names the narrow column cannot hold)
    # match no pattern, so they have none. (A catch-all "**" beside their
    # patterns would make the theme warn that a page matches two.)
    "secondary_sidebar_items": {"user_guide/*": ["page-toc"], **{page: ["page-toc"] for page in _PROSE_PAGES}},
    # No icon links: the project has no public address yet.
    "icon_links": [],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
# Pages that stand alone, without pages of their own section to list on the
# left: no left sidebar, rather than an empty one.
html_sidebars = {
    page: [] for page in ("index", "tutorial", "benchmarks", "cli", "faq", "development", "changelog", "citing")
}
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


# -- The command line's reference ----------------------------------------------
# cli.rst includes the help of ``skae demo`` as the installed command prints it
# at build time, so the page cannot fall behind the options.
def _stage_demo_help(app):
    import subprocess

    out = DOCS / "_generated"
    out.mkdir(exist_ok=True)
    env = {**os.environ, "COLUMNS": "79", "PYTHONPATH": str(ROOT)}
    for command, name in ((["--help"], "skae_help.txt"), (["demo", "--help"], "skae_demo_help.txt")):
        result = subprocess.run(
            [sys.executable, "-m", "skae", *command], capture_output=True, text=True, env=env, cwd=ROOT, check=True
        )
        (out / name).write_text(result.stdout, encoding="utf-8")


# -- Docstrings inherited from scikit-learn ------------------------------------
# Methods such as set_output come from scikit-learn's mixins, and their
# docstrings point at labels of scikit-learn's own documentation, which this
# site does not have (and, offline, cannot link to): left alone they render as
# raw labels ("sphx_glr_auto_examples_..."), and their "Added in version 1.4"
# notes are about scikit-learn, not skae. In those docstrings only, a
# paragraph that cites scikit-learn's pages becomes one plain sentence, and
# version notes are dropped; a parameter X said to take a sparse matrix says
# where skae takes one. skae's own docstrings are left alone, so a broken
# reference there still fails the build.
_SKLEARN_NOTE = "This method comes from scikit-learn; its documentation there has more detail and examples."
_VERSION_NOTE = re.compile(r"^(\s*)\.\. (versionadded|versionchanged|deprecated)::")
# scikit-learn's mixins say X may be sparse; in skae that holds only for models
# of flat samples (the dense models, and DEC around one), so the inherited
# parameter says which.
_SPARSE_X = re.compile(r"^(\s*)X : \{array-like, sparse matrix\}(.*)$")
_SPARSE_NOTE = (
    "A scipy sparse matrix (CSR) is accepted where the model's samples are flat rows "
    "(DenseAutoencoder, a dense VariationalAutoencoder, DeepEmbeddedClustering around one); "
    "a model that reads images, such as ConvAutoencoder, raises TypeError."
)


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
        sparse_x = _SPARSE_X.match(line)
        if sparse_x:
            indent = sparse_x.group(1)
            current.append(f"{indent}X : array-like or scipy sparse matrix{sparse_x.group(2)}")
            current.append(f"{indent}    {_SPARSE_NOTE}")
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


# -- Links into scikit-learn, SciPy and Keras ------------------------------------
# Intersphinx would fetch each project's inventory over the network, which the
# build must not need. Their API pages have addresses that follow from the
# name instead: scikit-learn and SciPy have one page per public class or
# function, and Keras's pages are listed below for the names skae's pages use.
_GENERATED_PAGES = {
    "sklearn": "https://scikit-learn.org/stable/modules/generated/{}.html",
    "scipy": "https://docs.scipy.org/doc/scipy/reference/generated/{}.html",
}
_SKLEARN_MODULE_PAGE = "https://scikit-learn.org/stable/api/{}.html"
_KERAS_API = "https://keras.io/api/"
_KERAS_PAGES = {
    "keras.Model": "models/model/",
    "keras.Model.fit": "models/model_training_apis/#fit-method",
    "keras.Model.predict": "models/model_training_apis/#predict-method",
    "keras.Model.compile": "models/model_training_apis/#compile-method",
    "keras.Sequential": "models/sequential/",
    "keras.Input": "layers/core_layers/input/",
    "keras.layers.Layer": "layers/base_layer/",
    "keras.layers.Dense": "layers/core_layers/dense/",
    "keras.layers.Conv2D": "layers/convolution_layers/convolution2d/",
    "keras.layers.Conv2DTranspose": "layers/convolution_layers/convolution2d_transpose/",
    "keras.layers.Lambda": "layers/core_layers/lambda/",
    "keras.callbacks.Callback": "callbacks/base_callback/",
    "keras.callbacks.EarlyStopping": "callbacks/early_stopping/",
    "keras.optimizers.Optimizer": "optimizers/",
    "keras.optimizers.Adam": "optimizers/adam/",
    "keras.optimizers.SGD": "optimizers/sgd/",
    "keras.saving.load_model": "models/model_saving_apis/model_saving_and_loading/#loadmodel-function",
    "keras.saving.register_keras_serializable": (
        "models/model_saving_apis/serialization_utils/#registerkerasserializable-function"
    ),
    "keras.utils.PyDataset": "utils/python_utils/#pydataset-class",
    "keras.random.SeedGenerator": "random/seed_generator/",
}


def _external_url(name):
    """The API page of a scikit-learn, SciPy or Keras name, or None."""
    import importlib

    if name in _KERAS_PAGES:
        return _KERAS_API + _KERAS_PAGES[name]
    package = name.split(".")[0]
    if package not in _GENERATED_PAGES:
        return None
    parts = name.split(".")
    # The longest importable public module, then the object it holds.
    for i in range(len(parts), 0, -1):
        module_name = ".".join(parts[:i])
        if any(part.startswith("_") for part in parts[:i]):
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if i == len(parts):
            return _SKLEARN_MODULE_PAGE.format(module_name) if package == "sklearn" and i > 1 else None
        if not hasattr(module, parts[i]):
            return None
        page = ".".join(parts[: i + 1])
        anchor = f"#{name}" if i + 1 < len(parts) else ""
        return _GENERATED_PAGES[package].format(page) + anchor
    return None


def _link_elsewhere(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    url = _external_url(node.get("reftarget", ""))
    if url is None:
        return None
    from docutils import nodes

    reference = nodes.reference("", "", internal=False, refuri=url, reftitle=node["reftarget"])
    reference.append(contnode)
    return reference


def setup(app):
    app.connect("missing-reference", _link_elsewhere)
    app.connect("builder-inited", _stage_benchmark_results)
    app.connect("builder-inited", _stage_demo_help)
    app.connect("autodoc-process-docstring", _clean_sklearn_docstring)
