"""The shipped checkpoint's poison threshold against the real photos it was fitted on.

Needs the real photos (../shared or $MUSHROOM_DATA) and skips without them: it rebuilds
the manifest, checks it is the one the checkpoint was made from, and re-predicts the
validation split on the CPU as the app does.
"""

import numpy as np
import pytest

from mushroom.config import CalibConfig
from mushroom.data import build_manifest
from mushroom.manifest import manifest_sha256
from mushroom.evaluate import poison_flags, predict_frame
from mushroom.poison_rule import poison_probabilities
from mushroom.predict import load_model
from mushroom.taxonomy import POISONOUS


@pytest.mark.slow
def test_shipped_tau_follows_the_margin_rule_and_flags_every_poisonous_photo(
        real_data, shipped_model):
    frame, _ = build_manifest(real_data)
    predictor = load_model(shipped_model)
    # Same photos, same split: otherwise the validation photos below are not the ones tau saw.
    assert manifest_sha256(frame) == predictor.meta["manifest_sha256"]
    val = frame[frame["split"] == "val"].reset_index(drop=True)
    prediction = predict_frame(predictor, real_data, val)
    scores = poison_probabilities(prediction.probs, predictor.classes)
    poison = val["genus"].isin(POISONOUS).to_numpy()
    assert poison.sum() > 100
    # tau = the code's default margin x the lowest poisonous validation score.
    assert predictor.poison_threshold == pytest.approx(CalibConfig().margin * scores[poison].min(),
                                                       rel=0.01)
    flagged = poison_flags(predictor, prediction)
    assert flagged[poison].all()
    pass_rate = float(np.mean(~flagged[~poison]))
    assert pass_rate == pytest.approx(predictor.meta["metrics"]["val"]["edible_pass_rate"],
                                      abs=0.006)
