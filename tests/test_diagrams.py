"""The architecture diagrams: each draws, names what its chapter's math names, and each chapter shows its own."""
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from course_lib import diagrams  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHOWN = {"01_early_late_hybrid": ["early_late_hybrid"], "02_gated_fusion": ["gated_fusions"],
         "03_attention_fusion": ["attention_fusions"], "04_bilinear_tensor_lowrank": ["tfn_and_lmf"],
         "05_mmbt": ["mmbt_sequence"], "06_pmf": ["pmf_layer"],
         "07_coordinated_and_sequence": ["dual_encoder", "mult_block"]}
NAMES = {"early_late_hybrid": ["[h_{img};\\ h_{txt}]", "p_{early}", "\\frac{1}{M+1}"],
         "gated_fusions": ["r \\odot x_1", "(1 - z) \\odot x_2", "h_v = \\tanh(W_v x_v)", "\\sigma(W_z [x_v; x_t])"],
         "attention_fusions": ["V + P", "s_{img}", "X'_{\\mathtt{CLS}}"],
         "tfn_and_lmf": ["z_a \\otimes z_b \\otimes z_c", "W_a^{(i)} z_a", "[h_a;\\, 1]"],
         "mmbt_sequence": ["[CLS]", "[SEP]", "$v_1$", "$w_1$", "S_s"],
         "pmf_layer": ["Q^t_l", "C^v_l", "F^v_l", "g^{t\\to v}_l", "z^{v\\to t}_l"],
         "dual_encoder": ["/ \\tau", "z^{img}_i", "z^{txt}_j"],
         "mult_block": ["X_\\beta W_K", "T_\\alpha \\times T_\\beta", "\\mathrm{CM}_{\\beta\\to\\alpha}"]}


def texts(fig) -> list:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


@pytest.mark.parametrize("name", NAMES)
def test_each_diagram_draws_the_names_of_its_math(name):
    fig = getattr(diagrams, name)()
    try:
        shown = " ".join(texts(fig))
        for symbol in NAMES[name]:
            assert symbol in shown, f"{name} should name {symbol!r}"
        fig.canvas.draw()          # every label's mathtext parses (a bad one fails here, not in a learner's notebook)
    finally:
        plt.close(fig)


def test_mmbt_diagram_restarts_positions_and_splits_segments_as_the_math_says():
    """s = (0^{N+2}, 1^T), p = (0..N+1, 0..T-1): chapter 05's formula, which MMBT.inputs implements."""
    for n_image, n_words in [(3, 4), (1, 2)]:
        fig = diagrams.mmbt_sequence(n_image, n_words)
        labels = texts(fig)
        plt.close(fig)
        assert [t for t in labels if t.startswith("$s$=")] == \
            [f"$s$={s}" for s in [0] * (n_image + 2) + [1] * n_words]
        assert [t for t in labels if t.startswith("$p$=")] == \
            [f"$p$={p}" for p in [*range(n_image + 2), *range(n_words)]]


def test_a_box_of_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown box kind 'weights'"):
        diagrams.draw({"a": diagrams.Box(0, 0, "a", "weights")})
    plt.close("all")


@pytest.mark.parametrize("stem", SHOWN)
def test_each_chapter_shows_its_architecture(stem):
    nb = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())
    for name in SHOWN[stem]:
        cell = next((c for c in nb["cells"] if c["cell_type"] == "code"
                     and f"diagrams.{name}()" in "".join(c["source"])), None)
        assert cell is not None, f"{stem} should draw diagrams.{name}()"
        assert any("image/png" in o.get("data", {}) for o in cell["outputs"]), "commit the drawn figure"


def test_modalities_keep_the_colours_of_every_other_plot():
    """A diagram's image boxes are a pale version of viz.COLOURS['image'] (the course's one colour per modality)."""
    import numpy as np
    from matplotlib.colors import to_rgb

    from course_lib.viz import COLOURS
    for modality, colour in COLOURS.items():
        pale, full = np.array(diagrams.KINDS[modality]), np.array(to_rgb(colour))
        white_share = (pale - full) / (1 - full + 1e-9)           # how far toward white each channel moved
        assert np.allclose(white_share[full < 1], white_share[full < 1][0], atol=1e-6), modality
