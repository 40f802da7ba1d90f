"""Sphinx extension for book/api.md: show kit's docstrings exactly as they are written.

kit's docstrings are plain text, not reStructuredText: formulas such as |r| or a_D^b_D, and lines
aligned by hand. Parsed as reST they would render with errors and lose their layout, so this hook
turns every docstring autodoc reads into a plain-text literal block (no highlighting) of class
`kit-docstring`, whose lines wrap at page width instead of scrolling (static/plain_docstrings.css,
which book_style, the book's page style, loads with the rest of the static folder).
"""


def verbatim(app, what, name, obj, options, lines):
    """autodoc-process-docstring: replace the docstring's lines by a `code-block:: text` of them."""
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        return
    body = [f"   {line}" if line.strip() else "" for line in lines]
    lines[:] = [".. code-block:: text", "   :class: kit-docstring", ""] + body + [""]


def setup(app):
    app.connect("autodoc-process-docstring", verbatim)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
