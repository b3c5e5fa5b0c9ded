"""A griffe extension for `make docs`: Sphinx cross-reference roles in docstrings as code.

The docstrings are reST-flavoured prose (``:class:`~truex_ext.JwtKey```); Markdown would show the role
(``:class:``) before the name. ``:role:`~a.b.C``` becomes ```C``` and ``:role:`a.b.C``` becomes ```a.b.C```.
mkdocs.yml loads it (``extensions: [scripts/griffe_roles.py]``); nothing else imports it.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|data|mod|exc|obj|const):`(~?)([^`]+)`")


def _plain(match: re.Match[str]) -> str:
    short, target = match.group(1), match.group(2)
    return f"``{target.rsplit('.', 1)[-1] if short else target}``"


class SphinxRolesAsCode(griffe.Extension):
    """Rewrite the cross-reference roles of every docstring griffe reads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_plain, obj.docstring.value)
