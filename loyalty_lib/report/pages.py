"""The two HTML pages of a stage: without code for managers, with code for analysts.

Cell tags a notebook can use: ``hide-input`` (code hidden on both pages), ``remove-output``
(output hidden on both), ``remove-cell`` (cell left out of both) and ``analyst-only`` (cell
left out of the managers' page). A managers' page also leaves out all code, warnings on stderr,
error tracebacks (the banner names the error), object reprs such as ``<BarContainer ...>``, the
``# NBVAL_CHECK_OUTPUT`` cells (rounded copies kept for the notebook tests) and whole sections
for analysts and teachers: a Markdown heading such as "Checks", "Exercises" or "Versions" and
every cell after it up to the next heading of the same or a higher level
(:data:`~loyalty_lib.report.base.ANALYST_SECTIONS`).
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path

from loyalty_lib.report.base import (
    _REPR_RE,
    ANALYST_ONLY_TAGS,
    ANALYST_SECTIONS,
    ERROR_CELL_TAG,
    HIDE_INPUT_TAGS,
    NBVAL_MARK,
    REMOVE_CELL_TAGS,
    REMOVE_OUTPUT_TAGS,
)
from loyalty_lib.report.files import atomic_write_text
from loyalty_lib.report.templates import TEMPLATES_DIR, render, stylesheet

_HEADING = re.compile(r"^\s*(#{1,6})\s+(.+?)\s*#*\s*$")


#: Images without alternative text, and the input and output areas, in the "lab" template's markup.
_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\salt=)")
_FOCUSABLE = re.compile(r'(<div class="(?:[^"]*\s)?(?:jp-Cell-inputWrapper|jp-OutputArea-output)(?:\s[^"]*)?")')
_NO_ALT = "No description has been provided for this image"


def _page_exporter_class():
    """The HTML exporter of nbconvert without its BeautifulSoup pass over every finished page.

    That pass (a third of a page's time: it parses and prints the whole page again) gives images
    without alternative text a default one and makes the input and output areas focusable with
    the keyboard; here the same attributes are added by substitutions on the template's markup.
    """
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class PageExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            highlight = self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
            resources = self._init_resources(resources)
            data_type = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources)
            self.register_filter("highlight_code", highlight)
            self.register_filter("filter_data_type", data_type)
            html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            html = _IMG_WITHOUT_ALT.sub(f'<img alt="{_NO_ALT}"', html)
            return _FOCUSABLE.sub(r'\1 tabindex="0"', html), resources

    return PageExporter


@functools.lru_cache(maxsize=2)
def _exporter(manager: bool):
    """The HTML exporter of one kind of page, made once per process (a new one compiles its templates again)."""
    from jinja2 import FileSystemLoader
    from nbconvert.preprocessors import TagRemovePreprocessor

    exp = _page_exporter_class()(
        template_name="lab",
        extra_loaders=[FileSystemLoader(TEMPLATES_DIR)],
        template_file="nb_page.html.j2",
        exclude_input=manager,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    tags = TagRemovePreprocessor(
        remove_cell_tags=REMOVE_CELL_TAGS,
        remove_all_outputs_tags=REMOVE_OUTPUT_TAGS,
        remove_input_tags=HIDE_INPUT_TAGS,
        enabled=True,
    )
    exp.register_preprocessor(tags, enabled=True)
    return exp


def analyst_cells(nb) -> set[int]:
    r"""Positions of the cells a managers' page leaves out.

    Those tagged ``analyst-only`` (or papermill's error note), the ``# NBVAL_CHECK_OUTPUT``
    cells, and every cell of a section whose Markdown heading starts with a word of
    :data:`~loyalty_lib.report.base.ANALYST_SECTIONS` ("Checks", "Exercises", "Versions", ...),
    up to the next heading of the same or a higher level.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        An executed notebook.

    Returns
    -------
    set of int
        Cell positions.

    Examples
    --------
    >>> from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
    >>> nb = new_notebook(cells=[new_markdown_cell("## Check size"), new_code_cell("x"),
    ...     new_markdown_cell("## Checks"), new_code_cell("assert x"), new_markdown_cell("### more"),
    ...     new_markdown_cell("## Next"), new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(x)")])
    >>> sorted(analyst_cells(nb))
    [2, 3, 4, 6]
    """
    drop, level = set(), None  # level: heading level of the analysts' section we are in
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                m = _HEADING.match(line)
                if not m:
                    continue
                n = len(m.group(1))
                if level is not None and n <= level:
                    level = None
                words = re.sub(r"[^a-z ]", " ", m.group(2).lower()).split()
                if level is None and words and words[0] in ANALYST_SECTIONS:
                    level = n
                break
        tags = set(cell.get("metadata", {}).get("tags", []))
        if level is not None or tags & (ANALYST_ONLY_TAGS | {ERROR_CELL_TAG}):
            drop.add(i)
        elif cell.cell_type == "code" and NBVAL_MARK in cell.source:
            drop.add(i)
    return drop


def _clean_outputs(nb, *, manager: bool):
    """Drop object reprs (``<matplotlib... at 0x...>``) and, for managers, what analysts alone read.

    For managers: the cells of :func:`analyst_cells`, warnings on stderr and error tracebacks.
    """
    nb = copy.deepcopy(nb)
    if manager:
        drop = analyst_cells(nb)
        nb.cells = [c for i, c in enumerate(nb.cells) if i not in drop]
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        keep = []
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if manager and (kind == "error" or (kind == "stream" and out.get("name") == "stderr")):
                continue
            if kind in ("execute_result", "display_data"):
                data = out.get("data", {})
                if set(data) == {"text/plain"} and _REPR_RE.match(str(data["text/plain"])):
                    continue
            keep.append(out)
        cell["outputs"] = keep
    return nb


def page_header(title: str, name: str, manager: bool, error: str | None, downloads=()) -> str:
    """The bar on top of a stage page (links to the index, the other page, the notebook, downloads).

    Parameters
    ----------
    title, name : str
        Stage title and notebook name (``NN_stage``).
    manager : bool
        The managers' page (else the analysts').
    error : str, optional
        Error of a stage that did not finish, shown in a red banner.
    downloads : sequence of dict
        ``{"href": path relative to the report, "label": text}`` per file to download.

    Returns
    -------
    str
        HTML, every value escaped.
    """
    return render(
        "page_header.html.j2", title=title, name=name, manager=manager, error=error, downloads=list(downloads)
    )


def render_pages(nb, name: str, title: str, pages_dir: Path, error: str | None = None, downloads=()) -> dict:
    """Write the manager's and the analyst's HTML page of one executed notebook.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        Executed notebook.
    name : str
        Notebook name (``NN_stage``); pages are ``<name>.html`` and ``<name>.code.html``.
    title : str
        Title shown in the page's header.
    pages_dir : Path
        Folder of the pages.
    error : str, optional
        Error line to show in a banner when the notebook failed.
    downloads : sequence of dict
        Files to link in the header (see :func:`page_header`).

    Returns
    -------
    dict
        ``{"manager": path, "analyst": path}``.
    """
    paths = {}
    css = stylesheet("page.css", "print.css")
    for flavour, manager, fname in (
        ("manager", True, f"{name}.html"),
        ("analyst", False, f"{name}.code.html"),
    ):
        exp = _exporter(manager)
        body, _ = exp.from_notebook_node(
            _clean_outputs(nb, manager=manager),
            resources={
                "metadata": {"name": title},
                "lr_css": css,
                "lr_header": page_header(title, name, manager, error, downloads),
                "lr_body_class": "lr-manager" if manager else "lr-analyst",
            },
        )
        path = pages_dir / fname
        atomic_write_text(path, body)
        paths[flavour] = path
    return paths


def _error_page(name: str, title: str, error: str, pages_dir: Path) -> dict:
    """Pages for a notebook that produced no executed copy (the kernel did not start, ...)."""
    paths = {}
    css = stylesheet("page.css", "print.css")
    for flavour, manager, fname in (
        ("manager", True, f"{name}.html"),
        ("analyst", False, f"{name}.code.html"),
    ):
        text = render("error_page.html.j2", title=title, css=css, header=page_header(title, name, manager, error))
        path = pages_dir / fname
        atomic_write_text(path, text)
        paths[flavour] = path
    return paths


def notebook_title(nb, default: str) -> str:
    """Return the first Markdown heading of a notebook, or ``default``."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        if ERROR_CELL_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        for line in cell.source.splitlines():
            m = re.match(r"^\s*#{1,3}\s+(.+?)\s*#*\s*$", line)
            if m:
                return re.sub(r"[*_`]", "", m.group(1))
    return default
