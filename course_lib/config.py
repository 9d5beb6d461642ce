"""Quick/full mode, seeding, device and mixed-precision choice, and the one-line chapter banner.

`COURSE_QUICK=1` (set by `make test` and CI) shrinks data sizes and epochs; every chapter runs the same code
path in both modes, only the numbers in `Sizes` change. `COURSE_DEVICE=cpu|cuda|mps` forces the device.
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


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) so a chapter gives the same numbers on every run."""
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
          f" | seed: {seed} | torch {torch.__version__.split('+')[0]}")
    return device
