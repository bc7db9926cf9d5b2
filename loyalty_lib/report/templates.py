"""The Jinja2 environment of the report's HTML: templates and stylesheets in ``loyalty_lib/templates``.

Every page is self-contained (styles inlined, images embedded) and names other files by
relative paths only, so a report folder can be moved, mailed as a zip or opened offline.
"""

from __future__ import annotations

from functools import lru_cache

from loyalty_lib import config

#: Folder of the report's templates (``*.html.j2``) and stylesheets (``*.css``).
TEMPLATES_DIR = config.PACKAGE_DIR / "templates"


@lru_cache(maxsize=1)
def environment():
    """Return the report's Jinja2 environment (HTML autoescaped, blocks trimmed).

    Returns
    -------
    jinja2.Environment
        Loads from :data:`TEMPLATES_DIR`; ``{{ x }}`` in an ``.html.j2`` template is
        HTML-escaped, so a value from the data or a folder name reads as text.
    """
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, /, **context) -> str:
    """Render the template ``template`` of :data:`TEMPLATES_DIR` with ``context``."""
    return environment().get_template(template).render(**context)


def stylesheet(*names: str) -> str:
    """Return the text of stylesheets of :data:`TEMPLATES_DIR`, joined, for a ``<style>`` element."""
    return "\n".join((TEMPLATES_DIR / n).read_text(encoding="utf-8") for n in names)
