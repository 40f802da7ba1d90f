"""Scan a built book (_build/html) for what a reader should never see, and fail on it.

In the cell outputs of every page: tracebacks, warnings, progress bars, machine paths (/tmp/,
/root/, /home/, /Users/, the repository's own absolute path), stderr boxes (empty or not: a
reader has no use for them), empty output boxes and output lines over 100 characters (clipped in
the page, lost in print). Anywhere in a page: the repository's absolute path, and papermill's
"stopped here" marker. And every code cell's input must be collapsed (tag hide-input, or
remove-input / hide-cell) unless the cell is tagged show-input on purpose.

Usage: python scripts/check_html.py [HTML_DIR] [--root PATH ...]   (default _build/html; prints
one line per finding, exits 1 if there is any). Standard library only; scripts/build_book.py runs
it after jupyter-book, and tests/test_book_html.py on a small book it builds.
"""

from __future__ import annotations

import argparse
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

MAX_LINE = 100
MACHINE_PATHS = ("/tmp/", "/root/", "/home/", "/Users/")
WARNING = re.compile(r"\w*Warning\b")
PROGRESS = re.compile(r"it/s\]|s/it\]|\d+%\|")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
HIDDEN_INPUT = {"tag_hide-input", "tag_remove-input", "tag_hide-cell", "tag_show-input"}


class _Element:
    def __init__(self, tag, attrs):
        self.tag = tag
        self.classes = set((dict(attrs).get("class") or "").split())
        self.id = dict(attrs).get("id")
        self.text = []  # text inside an output element, with the <pre> text marked


class _Page(HTMLParser):
    """Collects a page's output blocks (classes, text, preformatted lines), the code cells whose
    input is shown, and the page's text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[_Element] = []
        self.outputs: list[tuple[set, str, list[str]]] = []  # (classes, text, preformatted lines)
        self.shown_inputs: list[str] = []  # the first line of each code cell input not collapsed
        self.text: list[str] = []
        self.papermill_error = False
        self._input = None  # the shown cell input being read

    def handle_starttag(self, tag, attrs):
        element = _Element(tag, attrs)
        if element.id == "papermill-error-cell":
            self.papermill_error = True
        if "cell_input" in element.classes and self._shown(element):
            self._input = element
        if tag not in VOID:
            self.stack.append(element)

    def _shown(self, cell_input) -> bool:
        for element in reversed(self.stack):
            if element.tag == "details":
                return False
            if "cell" in element.classes:
                return not (element.classes & HIDDEN_INPUT)
        return False

    def handle_endtag(self, tag):
        if not any(e.tag == tag for e in self.stack):
            return
        while self.stack:
            element = self.stack.pop()
            if element is self._input:
                lines = "".join(t for t, _ in element.text).strip().splitlines()
                self.shown_inputs.append(lines[0] if lines else "")
                self._input = None
            if "output" in element.classes and not any("output" in e.classes for e in self.stack):
                text = "".join(t for t, _ in element.text)
                pre = "".join(t for t, in_pre in element.text if in_pre)
                self.outputs.append((element.classes, text, pre.splitlines()))
            if element.tag == tag:
                break

    def handle_data(self, data):
        self.text.append(data)
        in_pre = any(e.tag == "pre" for e in self.stack)
        for element in self.stack:
            if "output" in element.classes or element is self._input:
                element.text.append((data, in_pre))


def _excerpt(text, at=0, width=70) -> str:
    start = max(0, at - 20)
    return " ".join(text[start:start + width].split())


def check_page(html: str, roots=()) -> list[str]:
    """What a reader should not see in one page (HTML text): one finding per line, as
    "what: excerpt". roots are absolute paths (the repository's) that must appear nowhere."""
    page = _Page()
    page.feed(html)
    page.close()
    found = []
    for classes, text, pre_lines in page.outputs:
        kind = "stderr" if "stderr" in classes else "traceback" if "traceback" in classes else "output"
        if "traceback" in classes or "Traceback (most recent call last)" in text:
            found.append(f"traceback: {_excerpt(text, text.find('Error'))}")
        if "stderr" in classes:
            found.append(f"stderr box: {_excerpt(text) or '(empty)'}")
        elif not text.strip() and "text_html" not in classes:
            found.append(f"empty {kind} box")
        if (m := WARNING.search(text)) and "traceback" not in classes:
            found.append(f"warning: {_excerpt(text, m.start())}")
        if m := PROGRESS.search(text):
            found.append(f"progress bar: {_excerpt(text, m.start())}")
        for path in (*MACHINE_PATHS, *roots):
            if path in text:
                found.append(f"machine path {path}: {_excerpt(text, text.find(path))}")
        for line in pre_lines:
            if len(line) > MAX_LINE:
                found.append(f"output line of {len(line)} characters (over {MAX_LINE}): {_excerpt(line)}")
    for first_line in page.shown_inputs:
        found.append(f"code cell not collapsed (tag it hide-input, or show-input on purpose): {first_line[:70]}")
    if page.papermill_error:
        found.append("papermill stopped with an error on this page")
    whole = "".join(page.text)
    for root in roots:
        if root in whole and not any(f.startswith(f"machine path {root}") for f in found):
            found.append(f"machine path {root} in the page text: {_excerpt(whole, whole.find(root))}")
    return found


def check_book(html_dir, roots=()) -> list[str]:
    """check_page on every page of a built book (every .html outside _static), as
    "page: what: excerpt" lines, pages in name order."""
    html_dir = Path(html_dir)
    pages = sorted(p for p in html_dir.rglob("*.html") if "_static" not in p.relative_to(html_dir).parts)
    if not pages:
        raise FileNotFoundError(f"no .html pages under {html_dir}: build the book first")
    return [f"{page.relative_to(html_dir)}: {finding}"
            for page in pages for finding in check_page(page.read_text(errors="replace"), roots)]


def main(argv=None) -> int:
    repo = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html_dir", nargs="?", default=str(repo / "_build" / "html"))
    parser.add_argument("--root", action="append", default=None,
                        help="an absolute path that must not appear (default: this repository's)")
    args = parser.parse_args(argv)
    roots = args.root if args.root is not None else [str(repo)]
    found = check_book(args.html_dir, roots)
    for line in found:
        print(line)
    print(f"check_html: {len(found)} finding(s) in {args.html_dir}" if found else f"check_html: {args.html_dir} is clean")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
