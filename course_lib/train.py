"""The training loop every chapter shares: `fit`, `evaluate`, `predict`, and the progress bar.

A model here is any `nn.Module` whose forward takes a batch dict (the keys of `WorldData.tensors()`) and
returns logits (B, C), or any output its `loss_fn` understands (a similarity matrix, caption logits). The loop
knows no particular fusion. Data is moved to the device once when it fits.
"""
import copy
import math
import os
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

from .config import amp_dtype, autocast, pick_device, run_seed


def progress(iterable=None, **kwargs):
    """A `tqdm.auto` bar; `COURSE_PROGRESS=0` turns bars off (an env var alone does not silence notebook bars)."""
    kwargs.setdefault("disable", os.environ.get("COURSE_PROGRESS", "1") == "0")
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, **kwargs)


@dataclass
class History:
    """Per-epoch numbers of one training run."""
    name: str = ""
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)  # empty when a custom loss_fn has no accuracy
    val_acc: list = field(default_factory=list)    # accuracy, or the score a custom val_fn returns
    best_epoch: int | None = None                  # 1-based epoch whose weights `keep_best` kept

    @property
    def final_val_acc(self) -> float:
        return self.val_acc[-1] if self.val_acc else float("nan")

    @property
    def best_val_acc(self) -> float:
        """The validation score of the kept epoch (the last one when nothing was selected)."""
        return self.val_acc[self.best_epoch - 1] if self.best_epoch else self.final_val_acc


def _tensors(data) -> dict:
    """Accept a WorldData (anything with `.tensors()`) or a dict of tensors with a 'label' key."""
    tensors = data.tensors() if hasattr(data, "tensors") else data
    if not isinstance(tensors, dict) or "label" not in tensors:
        raise TypeError(f"expected a WorldData or a dict of tensors with a 'label' key, got {type(data).__name__}")
    return tensors


def to_device(tensors: dict, device: torch.device) -> dict:
    """Move a dict of tensors to `device` once (non-tensor values pass through)."""
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in tensors.items()}


def _fits_on(tensors: dict, device: torch.device) -> bool:
    """Whole-set tensors fit on the device when they take under half of its free memory."""
    if device.type != "cuda":
        return True
    size = sum(v.numel() * v.element_size() for v in tensors.values() if torch.is_tensor(v))
    return size < 0.5 * torch.cuda.mem_get_info(device)[0]


def batches(tensors: dict, batch_size: int, *, shuffle: bool = False, generator=None, device=None):
    """Yield dicts of row slices of whole-set tensors; `device` moves each batch (only when the set did not fit)."""
    n = len(tensors["label"])
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size].to(tensors["label"].device)
        batch = {k: v[idx] if torch.is_tensor(v) else v for k, v in tensors.items()}
        yield to_device(batch, device) if device is not None else batch


def _place(data, device):
    """Return (tensors, per_batch_device): whole set on the device if it fits, else on CPU moved per batch."""
    tensors = _tensors(data)
    if _fits_on(tensors, device):
        return to_device(tensors, device), None
    return tensors, device


@torch.no_grad()
def predict(model: nn.Module, data, *, batch_size: int = 512, device=None) -> torch.Tensor:
    """Logits (N, C) of `model` on all of `data`, in order, on the CPU."""
    device = device or next(model.parameters()).device
    tensors, per_batch = _place(data, device)
    model.eval()
    outs = []
    for batch in batches(tensors, batch_size, device=per_batch):
        with autocast(device):
            outs.append(model(batch).float().cpu())
    return torch.cat(outs)


def evaluate(model: nn.Module, data, **kwargs) -> float:
    """Accuracy of `model` on `data` (a float in [0, 1])."""
    logits = predict(model, data, **kwargs)
    return (logits.argmax(-1) == _tensors(data)["label"].cpu()).float().mean().item()


def fit(model: nn.Module, train, val=None, *, epochs: int, lr: float = 3e-3, batch_size: int = 64,
        weight_decay: float = 1e-4, seed: int = 0, device=None, name: str = "", loss_fn=None, val_fn=None,
        keep_best: bool = False, patience: int | None = None, show: bool = True) -> History:
    """Train `model` with AdamW; return its History (one entry per epoch).

    loss_fn(output, batch) -> scalar loss; default: cross-entropy of logits (B, C) against batch["label"], with
    training accuracy recorded. val_fn(model, val_tensors) -> float: the validation score; default: accuracy.
    Early stopping on validation data (never the test set): `keep_best` puts back the weights of the epoch with
    the best validation score (the earliest, on ties); `patience` also stops after that many epochs without a
    better one (and implies keep_best).
    The whole training set is moved to the device once when it fits; on CUDA the forward pass runs under
    autocast (bf16, or fp16 with a gradient scaler). A loss that is NaN or inf stops training with an error naming
    the epoch and step (both counted from 1), before the update would spread it into the weights.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if patience is not None and patience < 1:
        raise ValueError(f"patience must be >= 1 (or None), got {patience}")
    keep_best = keep_best or patience is not None
    if keep_best and val is None:
        raise ValueError("keep_best / patience choose an epoch on validation data: pass val=")
    device = device or pick_device()
    model.to(device)
    tensors, per_batch = _place(train, device)
    classify = loss_fn is None
    loss_fn = loss_fn or (lambda logits, batch: F.cross_entropy(logits.float(), batch["label"]))
    val_fn = val_fn or (lambda model, tensors: evaluate(model, tensors, device=device))
    amp = amp_dtype(device)
    scaler = torch.amp.GradScaler(device.type, enabled=amp == torch.float16)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    generator = torch.Generator().manual_seed(run_seed(seed))
    history = History(name=name)
    val_tensors = _place(val, device)[0] if val is not None else None
    best_state = None
    bar = progress(range(epochs), desc=name or "fit", leave=False, **({} if show else {"disable": True}))
    for epoch in bar:
        model.train()
        total_loss, correct, seen = 0.0, 0, 0
        epoch_batches = batches(tensors, batch_size, shuffle=True, generator=generator, device=per_batch)
        for step, batch in enumerate(epoch_batches):
            with autocast(device):
                output = model(batch)
                loss = loss_fn(output, batch)
            value = loss.item()  # read before backward: a NaN loss must never reach the weights
            if not math.isfinite(value):
                raise FloatingPointError(f"loss is {value} at epoch {epoch + 1}, step {step + 1} ({name or 'fit'}): try "
                                         "a lower lr, and look for NaN or inf in the inputs and in the model's output")
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            n = len(batch["label"])
            total_loss += value * n
            correct += (output.argmax(-1) == batch["label"]).sum().item() if classify else 0
            seen += n
        history.train_loss.append(total_loss / seen)
        if classify:
            history.train_acc.append(correct / seen)
        if val_tensors is not None:
            model.eval()
            with torch.no_grad():
                history.val_acc.append(val_fn(model, val_tensors))
        bar.set_postfix(loss=f"{history.train_loss[-1]:.3f}",
                        val=f"{history.val_acc[-1]:.3f}" if history.val_acc else "-")
        if keep_best:
            if history.best_epoch is None or history.val_acc[-1] > history.best_val_acc:
                history.best_epoch, best_state = epoch + 1, copy.deepcopy(model.state_dict())
            elif patience is not None and epoch + 1 - history.best_epoch >= patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    return history
