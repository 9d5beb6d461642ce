"""Quick/full mode, seeding, device and mixed-precision choice, and the one-line chapter banner.

`COURSE_QUICK=1` (set by `make test` and CI) shrinks data sizes and epochs; every chapter runs the same code
path in both modes, only the numbers in `Sizes` change.
"""
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


def pick_device() -> torch.device:
    """CUDA, then Apple MPS, then CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def amp_dtype(device: torch.device):
    """The autocast dtype that helps on this device, or None: bf16 where CUDA supports it, else fp16 on CUDA.

    On CPU and MPS the course's small models gain nothing from autocast, so it stays off.
    """
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


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
