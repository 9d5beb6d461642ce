"""Execute chapters top to bottom with their outputs written in place (what `make full` runs), timing each.

Usage: `python -m course_lib.execute notebooks/*.ipynb`. nbclient's stand-in for a browser's Output widget
answers the kernel over the shell channel while a cell still runs; a cell that moves a slider then stalls the
run, so that stand-in is switched off: a widget's figures land in the cell's outputs instead. Progress bars are then
settled: their plain-text fallback is redrawn from the widgets' final state (`settle_progress_bars`), and the cells
that move an explorer's controls to check it are collapsed (`hide_widget_checks`).
"""
import html
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from tqdm import tqdm

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
PROGRESS_PARTS = ["HTMLModel", "FloatProgressModel", "HTMLModel"]  # a tqdm.auto bar: an HBox of these three
WIDGET_CHECK = re.compile(r"^# Move the .* as a learner would")       # the first line of an explorer's check cell
WIDGET_CHECK_TAG = "widget-check"


def _plain(label: str) -> str:
    """A tqdm widget label as plain text: it is HTML-escaped and padded with figure spaces (U+2007)."""
    return html.unescape(label).replace("\u2007", " ")


def progress_bar_text(state: dict, model_id: str) -> str | None:
    """The final state of the bar `model_id` as plain text, None when that widget is not a progress bar, e.g.
    'GMU:  58%|█████▊    | 7/12 [loss=0.512, val=0.643]'.

    `state` maps model ids to widget models (the notebook's `metadata.widgets[WIDGET_STATE]["state"]`). n comes from
    the bar's value, not its label: a bar with `leave=False` sets the value when it closes but leaves the label as it
    was at the last refresh (e.g. '29/30'). The timing part (elapsed<remaining, rate) is dropped: it differs each run.
    """
    box = state.get(model_id, {})
    refs = box.get("state", {}).get("children", []) if box.get("model_name") == "HBoxModel" else []
    parts = [state.get(ref.removeprefix("IPY_MODEL_"), {}) for ref in refs]
    if [part.get("model_name") for part in parts] != PROGRESS_PARTS:
        return None
    label, bar, info = (part["state"] for part in parts)  # 'desc: 100%', bar, ' 12/12 [00:12<00:00, 1.05s/it, loss=..]'
    desc = _plain(label["value"]).rpartition(":")[0]  # '' when the bar has no description
    timing_and_postfix = _plain(info["value"]).partition("[")[2].removesuffix("]").split(",", 2)
    postfix = timing_and_postfix[2].strip() if len(timing_and_postfix) == 3 else ""
    text = tqdm.format_meter(int(bar["value"]), int(bar["max"]), 0, prefix=desc,
                             bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt}")  # tqdm's own drawing, minus the timing
    return f"{text} [{postfix}]" if postfix else text


def settle_progress_bars(nb) -> int:
    """Rewrite each progress bar's `text/plain` (shown by GitHub and any viewer without widget state: the bar as it was
    first drawn, a stale '0%| 0/12') to the bar's final state; leave other widgets alone; return how many changed."""
    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    changed = 0
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            text = progress_bar_text(state, data[WIDGET_VIEW]["model_id"]) if WIDGET_VIEW in data else None
            if text is not None and data.get("text/plain") != text:
                data["text/plain"] = text
                changed += 1
    return changed


def hide_widget_checks(nb) -> int:
    """Collapse every cell whose first line says it moves an explorer's controls as a learner would (and asserts
    that the explorer followed): a check for CI, not part of the lesson. nbval still runs it; JupyterLab shows it as
    one collapsed line (`jupyter.source_hidden`, `outputs_hidden`), tagged `widget-check`. Returns how many changed."""
    changed = 0
    for cell in nb["cells"]:
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        if cell["cell_type"] != "code" or not WIDGET_CHECK.match(source):
            continue
        meta = cell.setdefault("metadata", {})
        before = repr(meta)
        meta.setdefault("jupyter", {}).update(source_hidden=True, outputs_hidden=True)
        if WIDGET_CHECK_TAG not in meta.setdefault("tags", []):
            meta["tags"].append(WIDGET_CHECK_TAG)
        changed += repr(meta) != before
    return changed


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
    settle_progress_bars(nb)
    hide_widget_checks(nb)
    nbformat.write(nb, path)
    return seconds


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{name}: {execute(Path(name)):.0f} s", flush=True)
