"""Logit adjustment: the prior, the choice of alpha, and folding it into the head."""

import numpy as np
import pandas as pd
import torch

from mushroom.models import create_model
from mushroom.prior import adjust, choose_alpha, log_prior, undo
from mushroom.taxonomy import GENERA


def _frame(counts: dict) -> pd.DataFrame:
    rows = [{"genus": g, "split": "train"} for g, n in counts.items() for _ in range(n)]
    return pd.DataFrame(rows + [{"genus": "Suillus", "split": "val"}] * 50)


def test_log_prior_counts_training_photos_only():
    prior = log_prior(_frame({"Amanita": 30, "Boletus": 10}))
    share = np.exp(prior)
    amanita, boletus, suillus = (GENERA.index(g) for g in ("Amanita", "Boletus", "Suillus"))
    assert np.isclose(share[amanita] / share[boletus], 3.0)
    assert np.isclose(share[suillus], share[GENERA.index("Entoloma")])  # absent -> counted once
    assert np.isclose(share.sum(), 1.0)


def test_choose_alpha_moves_rare_genus_votes_off_the_big_genus():
    prior = np.log(np.array([0.9, 0.1]))
    # Rare-class photos score 1 logit below the big class: argmax misses every one of them.
    targets = np.array([0] * 20 + [1] * 5)
    logits = np.zeros((25, 2))
    logits[:20, 0] = 4.0
    logits[20:, 0] = 1.0
    alpha, scores = choose_alpha(logits, targets, prior)
    assert alpha > 0 and scores[alpha] == 1.0 and scores[0.0] < 1.0
    perfect = np.eye(2)[targets] * 5
    assert choose_alpha(perfect, targets, prior)[0] == 0.0  # ties keep the model as trained


def _outputs(model, x):
    with torch.no_grad():
        return model(x).numpy()


def test_adjust_folds_into_the_head_and_does_not_stack_on_recalibration():
    torch.manual_seed(0)
    model = create_model("efficientnet_lite0", len(GENERA), pretrained=False).eval()
    x = torch.rand(4, 3, 64, 64)
    raw = _outputs(model, x)
    frame = _frame({g: 5 * (i + 1) for i, g in enumerate(GENERA)})
    targets = np.arange(4)
    outs = {"val": {"logits": raw.copy(), "targets": targets}}
    first = adjust(model, outs, None, frame, enabled=True, log=lambda *_: None)
    shift = -first["alpha"] * log_prior(frame)
    assert np.allclose(_outputs(model, x), raw + shift, atol=1e-4)
    assert np.allclose(outs["val"]["logits"], raw + shift)
    again = adjust(model, outs, None, frame, enabled=True, previous=first["alpha"],
                   log=lambda *_: None)
    assert again["alpha"] == first["alpha"]
    assert np.allclose(_outputs(model, x), raw + shift, atol=1e-4)  # not shifted twice
    adjust(model, outs, None, frame, enabled=False, previous=first["alpha"], log=lambda *_: None)
    assert np.allclose(_outputs(model, x), raw, atol=1e-4)


def test_undo_removes_a_recorded_adjustment():
    torch.manual_seed(1)
    model = create_model("efficientnet_lite0", len(GENERA), pretrained=False).eval()
    before = model.head[-1].bias.clone()
    prior = np.linspace(-3, -1, len(GENERA))
    model.head[-1].bias.data -= 0.3 * torch.as_tensor(prior, dtype=torch.float32)
    undo(model, {"logit_adjustment": {"alpha": 0.3, "log_prior": prior.tolist()}})
    assert torch.allclose(model.head[-1].bias, before, atol=1e-6)
