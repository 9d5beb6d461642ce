"""viz: the plots draw what they are given, and reject what they cannot draw."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib.train import History  # noqa: E402
from course_lib.viz import plot_accuracies, plot_history, show_attention, show_images  # noqa: E402


def test_show_attention_overlays_the_grid_and_frames_the_targets():
    fig, ax = plt.subplots()
    weights = torch.zeros(16)
    weights[5] = 1.0
    outline = torch.zeros(16, dtype=torch.bool)
    outline[[5, 6]] = True
    show_attention(ax, torch.rand(3, 32, 32), weights, outline=outline, title="q")
    veil = ax.images[1].get_array()[..., 3]                                     # transparency of the dark veil
    assert veil.shape == (4, 4) and veil[1, 1] == 0 and (veil.sum() - veil[1, 1]) == pytest.approx(15 * 0.8)
    assert [tuple(p.get_xy()) for p in ax.patches] == [(7.5, 7.5), (15.5, 7.5)]  # cell 5 = row 1, column 1
    assert ax.get_title() == "q"
    plt.close(fig)


def test_show_attention_rejects_a_non_square_grid():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="square grid"):
        show_attention(ax, torch.rand(3, 32, 32), torch.ones(15) / 15)
    plt.close(fig)


def test_plot_history_and_accuracies_draw_one_line_or_bar_per_model():
    histories = [History(name=n, train_loss=[1.0, 0.5], train_acc=[0.5, 0.7], val_acc=[0.4, 0.6]) for n in "ab"]
    fig = plot_history(histories, chance=0.25)
    assert len(fig.axes[0].lines) == 2 and len(fig.axes[1].lines) == 3          # two models + the chance line
    fig = plot_accuracies({"a": 0.5, "b": 0.9}, chance=0.25)
    assert [round(p.get_width(), 2) for p in fig.axes[0].patches] == [0.5, 0.9]
    fig = show_images(torch.rand(3, 3, 8, 8), titles=["x", "y", "z"], ncols=2)
    assert [ax.get_title() for ax in fig.axes[:3]] == ["x", "y", "z"]
    plt.close("all")


def test_plot_seeds_draws_one_bar_per_name_with_every_seed():
    from course_lib.viz import plot_seeds
    fig = plot_seeds({"a": [0.5, 0.7], "b": [0.9, 0.8]}, chance=0.5)
    ax = fig.axes[0]
    assert len(ax.patches) == 2 and ax.patches[0].get_height() == pytest.approx(0.6)
    assert sum(len(line.get_xdata()) for line in ax.lines if line.get_marker() == "o") == 4
