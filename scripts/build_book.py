"""Build the book: execute every chapter with papermill at its default parameters, then render.

Chapters are the notebooks in book/chapters (committed without outputs). Each is executed into
book/_executed/ (what the table of contents points at) with its working directory set to
book/chapters; a chapter trains only the runs that runs/ lacks. Then `jupyter-book build .`
renders _build/html. Usage: python scripts/build_book.py [chapter-name-substring ...]
"""

import sys
import subprocess
from pathlib import Path

import papermill

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "book" / "chapters"
EXECUTED = ROOT / "book" / "_executed"


def main(selected: list[str]) -> None:
    EXECUTED.mkdir(parents=True, exist_ok=True)
    for nb in sorted(CHAPTERS.glob("*.ipynb")):
        if selected and not any(s in nb.stem for s in selected):
            continue
        print(f"executing {nb.relative_to(ROOT)}", flush=True)
        papermill.execute_notebook(nb, EXECUTED / nb.name, cwd=CHAPTERS, kernel_name="python3",
                                   progress_bar=False)
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    subprocess.run([str(jupyter_book), "build", str(ROOT)], check=True)
    print(f"book: {ROOT / '_build' / 'html' / 'index.html'}")


if __name__ == "__main__":
    main(sys.argv[1:])
