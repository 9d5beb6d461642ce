"""Quick/full mode, seeding, device and mixed-precision choice, and the one-line chapter banner.

`COURSE_QUICK=1` (set by `make test` and CI) shrinks data sizes and epochs; every chapter runs the same code
path in both modes, only the numbers in `Sizes` change. `COURSE_DEVICE=cpu|cuda|mps` forces the device.

`COURSE_SEED=k` (default 0, the committed outputs) shifts every seed the library is handed, in `seed_everything`,
`make_task` / `make_splits` and `fit`'s batch order, by k * SEED_STRIDE: a chapter re-run at another k draws other
data, other initial weights and another batch order everywhere at once, which is how `make robust` and CI check
that a claim is not one seed's luck. Code that must remake exactly what was stored (the cached bench) uses
`exact_seeds()`.
"""
import contextlib
import os
import random
from dataclasses import dataclass

import numpy as np
import torch


def is_quick() -> bool:
    """True when the environment asks for quick mode (`COURSE_QUICK=1`)."""
    return os.environ.get("COURSE_QUICK", "0").strip().lower() in ("1", "true", "yes")


def mode() -> str:
    return "quick" if is_quick() else "full"


@dataclass(frozen=True)
class Sizes:
    """The sizes a chapter scales by mode: samples, epochs, batch size."""
    n_train: int
    n_test: int
    epochs: int
    batch_size: int = 64


QUICK_SIZES = Sizes(n_train=1500, n_test=1000, epochs=8)
FULL_SIZES = Sizes(n_train=4000, n_test=2000, epochs=12)


def sizes() -> Sizes:
    return QUICK_SIZES if is_quick() else FULL_SIZES


SEED_STRIDE = 7919  # a prime, so shifted seeds do not land on the small seeds chapters already use
_EXACT = {"on": False}


def seed_offset() -> int:
    """The run's seed shift k from `COURSE_SEED` (default 0); 0 inside `exact_seeds()`."""
    if _EXACT["on"]:
        return 0
    raw = os.environ.get("COURSE_SEED", "0").strip() or "0"
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"COURSE_SEED must be an integer, got {raw!r}") from None


def run_seed(seed: int) -> int:
    """The seed actually used for `seed` in this run: `seed + COURSE_SEED * SEED_STRIDE`."""
    return int(seed) + seed_offset() * SEED_STRIDE


@contextlib.contextmanager
def exact_seeds():
    """Inside this block seeds are used as given, whatever COURSE_SEED says (to remake stored test sets)."""
    before, _EXACT["on"] = _EXACT["on"], True
    try:
        yield
    finally:
        _EXACT["on"] = before


def seeds(full: int = 3, quick: int = 2) -> list:
    """The seeds a comparison repeats over: `full` of them in full mode, `quick` in quick mode (0, 1, 2, ...).

    Each is shifted by `run_seed` where it is used, so COURSE_SEED moves all of them.
    """
    if min(full, quick) < 1:
        raise ValueError(f"need at least one seed per mode, got full={full}, quick={quick}")
    return list(range(quick if is_quick() else full))


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) with `run_seed(seed)`: the same numbers on every run."""
    seed = run_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


DEVICES = ("cuda", "mps", "cpu")  # pick_device's order of preference


def _available(kind: str) -> bool:
    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    return True


def pick_device() -> torch.device:
    """The device `COURSE_DEVICE` names (cpu, cuda or mps) when it is set, else CUDA, then Apple MPS, then CPU."""
    forced = os.environ.get("COURSE_DEVICE", "").strip()
    if not forced:
        return torch.device(next(kind for kind in DEVICES if _available(kind)))
    kind = forced.lower()
    if kind not in DEVICES:
        raise ValueError(f"COURSE_DEVICE={forced!r} is not a device: set it to one of {', '.join(DEVICES)}, "
                         "or unset it to pick the best one available")
    if not _available(kind):
        raise RuntimeError(f"COURSE_DEVICE={forced!r}, but torch {torch.__version__} finds no {kind} device on "
                           "this machine: unset COURSE_DEVICE to pick the best one available")
    return torch.device(kind)


def amp_dtype(device: torch.device):
    """The autocast dtype that helps on this device, or None.

    bf16 on CUDA GPUs that compute it natively (compute capability >= 8: Ampere and later), else fp16 on CUDA
    (`fit` adds a gradient scaler). Not `torch.cuda.is_bf16_supported()`: it counts emulation, so it says True on a
    T4 (7.5), whose tensor cores do fp16 but not bf16. On CPU and MPS the course's small models gain nothing from
    autocast.
    """
    if device.type != "cuda":
        return None
    major, _ = torch.cuda.get_device_capability(device)
    return torch.bfloat16 if major >= 8 else torch.float16


def autocast(device: torch.device):
    """The context a forward pass runs in: autocast to `amp_dtype(device)`, or a no-op where that is None.

    A no-op rather than `torch.autocast(device.type, enabled=False)`, which raises on MPS before torch 2.5.
    """
    amp = amp_dtype(device)
    return contextlib.nullcontext() if amp is None else torch.autocast(device.type, dtype=amp)


_CURRENT_CHAPTER = {"name": None}


def current_chapter() -> str | None:
    return _CURRENT_CHAPTER["name"]


def setup(chapter: str, seed: int = 0) -> torch.device:
    """Start a chapter: remember its name (for the claims ledger), seed everything, print one line, return the device."""
    from .claims import begin  # the ledger restarts the chapter's claims in this mode

    _CURRENT_CHAPTER["name"] = chapter
    begin(chapter)
    seed_everything(seed)
    device = pick_device()
    amp = amp_dtype(device)
    print(f"{chapter} | mode: {mode()} | device: {device.type} | AMP: {str(amp).replace('torch.', '') if amp else 'off'}"
          f" | seed: {seed}{f' (COURSE_SEED={seed_offset()})' if seed_offset() else ''}"
          f" | torch {torch.__version__.split('+')[0]}")
    return device
