"""The docs of the parameters every skae estimator shares, put into each class's docstring.

Each estimator repeats the shared parameters in its ``__init__`` signature,
because scikit-learn reads parameters from the signature. Their
documentation is declared once, with their defaults and constraints, in
:data:`skae._params.SHARED`, and put into each class's docstring where it
says ``%(shared_parameters)s``: copies cannot drift apart. A class that
documents one of them itself (the VAE's own ``loss`` default, say) keeps its
text, and the shared one is left out.
"""

from __future__ import annotations

import re
import textwrap

from ._params import SHARED

MARKER = "%(shared_parameters)s"


def _documented(doc):
    return set(re.findall(r"^\s{4}(\w+) : ", doc, flags=re.MULTILINE))


def format_parameters(names, indent="    "):
    """Return the numpydoc entries of the shared parameters ``names``."""
    lines = []
    for name in names:
        param = SHARED[name]
        lines.append(f"{indent}{name} : {param.kind}")
        lines.extend(
            textwrap.wrap(
                param.doc, width=79 - len(indent) - 4, initial_indent=indent + "    ", subsequent_indent=indent + "    "
            )
        )
    return "\n".join(lines)


def fill_shared_parameters(cls):
    """Class decorator: put the shared parameters' docs where the marker is.

    The marker stands alone on a line, indented like the other parameter
    entries, in the Parameters section. Parameters that the docstring
    already documents are skipped.
    """
    doc = cls.__doc__
    if doc is None or MARKER not in doc:
        raise ValueError(f"{cls.__name__}'s docstring lacks the line {MARKER!r}.")
    mine = _documented(doc.replace(MARKER, ""))
    # Only the shared parameters this class has (deep clustering has few).
    own = set(cls._get_param_names())
    names = [name for name in SHARED if name not in mine and name in own]
    cls.__doc__ = doc.replace(f"    {MARKER}", format_parameters(names))
    return cls
