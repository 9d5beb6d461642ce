"""Execute chapters top to bottom with their outputs written in place (what `make full` runs), timing each.

Usage: `python -m course_lib.execute notebooks/*.ipynb`. nbclient's stand-in for a browser's Output widget
answers the kernel over the shell channel while a cell still runs; a cell that moves a slider then stalls the
run, so that stand-in is switched off: a widget's figures land in the cell's outputs instead.
"""
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path: Path, timeout: int = 1800) -> float:
    """Run one notebook in a fresh python3 kernel, in its own folder; write it back; return the seconds taken."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.comm_open_handlers = {}
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.write(nb, path)
    return seconds


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{name}: {execute(Path(name)):.0f} s", flush=True)
