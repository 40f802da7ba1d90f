"""Sphinx extension: the book's page style (static/book.css) on every page, and the folder static/
for every local extension's files (plain_docstrings.css, the API page's docstrings).

Tables set in smaller type with wrapping cells so that they fit the page width on screen and in
print; glued numbers in ordinary weight; in print, the collapsed code cells (a "Show code cell
source" button each) are left out.
"""

from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"


def add_static_path(app, config):
    config.html_static_path.append(str(STATIC))


def setup(app):
    app.connect("config-inited", add_static_path)
    app.add_css_file("book.css")
    app.add_css_file("plain_docstrings.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
