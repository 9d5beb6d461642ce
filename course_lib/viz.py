"""Plots the chapters share: training curves, image grids, waveforms, accuracy bars.

Each function draws into a new (small) figure and returns it; notebooks end plot cells with `plt.show()`.
"""
import matplotlib.pyplot as plt
import numpy as np
import torch

plt.rcParams.update({"figure.dpi": 80, "axes.spines.top": False, "axes.spines.right": False})
COLOURS = {"image": "tab:orange", "text": "tab:blue", "audio": "tab:green"}  # one colour per modality, everywhere


def plot_history(histories, title: str = "", chance: float | None = None, metric: str = "test accuracy"):
    """Training loss and the validation score (accuracy unless `metric` names another) per epoch, for one History
    or a list of them."""
    histories = histories if isinstance(histories, (list, tuple)) else [histories]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3))
    for h in histories:
        epochs = np.arange(1, len(h.train_loss) + 1)
        ax_loss.plot(epochs, h.train_loss, label=h.name)
        if h.val_acc:
            ax_acc.plot(epochs, h.val_acc, label=h.name)
    if chance is not None:
        ax_acc.axhline(chance, color="gray", ls="--", lw=1, label="chance")
    ax_loss.set(xlabel="epoch", ylabel="train loss", title=title)
    ax_acc.set(xlabel="epoch", ylabel=metric, ylim=(0, 1.02))
    ax_acc.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def _as_hwc(img) -> np.ndarray:
    img = img.detach().cpu().numpy() if torch.is_tensor(img) else np.asarray(img)
    return np.clip(img.transpose(1, 2, 0), 0, 1)


def show_images(images, titles=None, ncols: int = 8, size: float = 1.3):
    """A grid of (3, H, W) images in [0, 1] with optional titles."""
    n = len(images)
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * (size + 0.25)), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(_as_hwc(images[i]), interpolation="nearest")
            if titles is not None:
                ax.set_title(titles[i], fontsize=7)
    fig.tight_layout()
    return fig


def plot_waveforms(waves, titles=None, sample_rate: int = 1000):
    """One row per 1-D waveform (trimmed, unpadded), time in seconds."""
    fig, axes = plt.subplots(len(waves), 1, figsize=(8, 1.1 * len(waves)), squeeze=False, sharex=True)
    for i, (ax, w) in enumerate(zip(axes[:, 0], waves)):
        w = w.detach().cpu().numpy() if torch.is_tensor(w) else np.asarray(w)
        ax.plot(np.arange(len(w)) / sample_rate, w, lw=0.7)
        ax.set_ylim(-1.5, 1.5)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8, loc="left")
    axes[-1, 0].set_xlabel("seconds")
    fig.tight_layout()
    return fig


def plot_accuracies(results: dict, chance: float | None = None, title: str = ""):
    """Horizontal bars of {name: accuracy}, with the chance level as a dashed line."""
    names = list(results)
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(names) + 0.8))
    ax.barh(names, [results[n] for n in names], color="tab:blue")
    for y, n in enumerate(names):
        ax.text(results[n] + 0.01, y, f"{100 * results[n]:.1f}%", va="center", fontsize=8)
    if chance is not None:
        ax.axvline(chance, color="gray", ls="--", lw=1, label="chance")
        ax.legend(fontsize=8, loc="lower right")
    ax.set(xlim=(0, 1.12), xlabel="test accuracy", title=title)
    ax.invert_yaxis()
    fig.tight_layout()
    return fig


def plot_seeds(results: dict, ax=None, chance: float | None = None, title: str = "", ylabel: str = "test accuracy"):
    """{name: one value per seed} as bars of the mean with ±1 sd error bars and every seed as a dot."""
    fig, ax = (plt.subplots(figsize=(1.1 * len(results) + 2, 3)) if ax is None else (ax.figure, ax))
    names = list(results)
    for i, name in enumerate(names):
        v = np.asarray(results[name], dtype=float)
        ax.bar(i, v.mean(), yerr=v.std(ddof=1) if len(v) > 1 else 0, capsize=4, color="tab:blue", alpha=0.6)
        ax.plot(np.full(len(v), i), v, "o", color="black", ms=3)
    if chance is not None:
        ax.axhline(chance, color="gray", ls="--", lw=1, label="chance")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right", fontsize=8)
    ax.set(ylabel=ylabel, title=title)
    fig.tight_layout()
    return fig


def show_attention(ax, image, weights, outline=None, title: str = ""):
    """Draw an image (3, H, W) lit by attention weights over its grid cells (N = g * g): the most-attended cell
    shows at full brightness, a cell with no weight is dimmed to dark. outline: optional bool (N,) of cells to
    frame (e.g. the asked object's cells from `cell_targets`).
    """
    w = weights.detach().cpu().float().numpy() if torch.is_tensor(weights) else np.asarray(weights, dtype=float)
    g = int(round(len(w) ** 0.5))
    if w.ndim != 1 or g * g != len(w):
        raise ValueError(f"weights must be (N,) over a square grid of cells, got shape {w.shape}")
    img = _as_hwc(image)
    size, cell = img.shape[0], img.shape[0] / g
    shade = np.zeros((g, g, 4))
    shade[..., 3] = 0.8 * (1 - w.reshape(g, g) / max(w.max(), 1e-8))     # black veil, thinner where attention is
    extent = (-0.5, size - 0.5, size - 0.5, -0.5)                          # pixel edges, as imshow draws the image
    ax.imshow(img, interpolation="nearest")
    ax.imshow(shade, interpolation="nearest", extent=extent)
    for j in np.flatnonzero(np.asarray(outline)) if outline is not None else ():
        ax.add_patch(plt.Rectangle(((j % g) * cell - 0.5, (j // g) * cell - 0.5), cell, cell, fill=False, ec="cyan",
                                   lw=1.2))
    ax.set(xticks=[], yticks=[], title=title)
    return ax
