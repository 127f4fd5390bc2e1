"""Several photos of one find: tempered product of experts, the poison rule, sets, rejections."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mushroom.combine import CombineConfig, combine_find, combine_probs, repeats
from mushroom.combine_verdict import NOT_ONE_MUSHROOM, find_verdict
from mushroom.conformal import fit_mondrian
from mushroom.taxonomy import GENERA, POISONOUS
from mushroom.verdict import decide, poison_probability
from test_verdict import named_in

RUSSULA, AMANITA, LACTARIUS, BOLETUS = (GENERA.index(g) for g in (
    "Russula", "Amanita", "Lactarius", "Boletus"))


def peaked(genus: int, p: float, n_classes: int = len(GENERA)) -> np.ndarray:
    """A probability vector with ``p`` on ``genus`` and the rest spread evenly."""
    row = np.full(n_classes, (1 - p) / (n_classes - 1))
    row[genus] = p
    return row


def test_one_photo_comes_back_unchanged():
    row = peaked(RUSSULA, 0.7)
    np.testing.assert_allclose(combine_probs(row[None]), row, atol=1e-6)


def test_agreeing_photos_gain_confidence_but_less_than_independent_evidence():
    photos = np.stack([peaked(RUSSULA, 0.6)] * 4)
    tempered = combine_probs(photos, exponent=0.5)[RUSSULA]
    independent = combine_probs(photos, exponent=1.0)[RUSSULA]
    geometric = combine_probs(photos, exponent=0.0)[RUSSULA]
    assert geometric == pytest.approx(0.6, abs=1e-6)
    assert 0.6 < tempered < independent


def test_a_zero_probability_does_not_veto_a_genus():
    photos = np.stack([peaked(RUSSULA, 0.9), peaked(RUSSULA, 0.9)])
    photos[1, RUSSULA], photos[1, LACTARIUS] = 0.0, photos[1, LACTARIUS] + 0.9
    combined = combine_probs(photos)
    assert np.isfinite(combined).all() and combined.sum() == pytest.approx(1.0)
    assert combined[RUSSULA] > 0


def test_one_poisonous_looking_photo_makes_the_find_warn():
    # Cap and stem look like Russula; the base (volva) looks like Amanita.
    photos = np.stack([peaked(RUSSULA, 0.95), peaked(RUSSULA, 0.95), peaked(AMANITA, 0.8)])
    tau = 0.3
    find = combine_find(photos, GENERA, tau)
    assert find.probs.argmax() == RUSSULA  # two photos out-vote one for the genus...
    assert find.p_poisonous < tau  # ...and the combined poison mass alone would not warn...
    assert find.poison_flag  # ...but the single photo does
    assert any("photo 3" in r for r in find.flag_reasons)
    verdict = find_verdict(find, GENERA, tau)
    assert verdict.level == "poisonous" and verdict.genus == "Russula"
    # The headline names the outvoted photo, not only "most likely Russula".
    assert "photo 3 looks like Amanita (80%)" in verdict.message
    assert NOT_ONE_MUSHROOM in verdict.message  # worded as when edible photos disagree
    assert verdict.reasons[0] == "photo 3 looks like Amanita (80%)"
    assert "death cap" in verdict.notes["edibility"].lower() + verdict.notes["lookalikes"].lower()
    calm = find_verdict(combine_find(photos[:2], GENERA, tau), GENERA, tau)
    assert calm.level == "edible_genus"  # the same find without the base photo


def test_the_poison_head_of_one_photo_also_warns():
    photos = np.stack([peaked(RUSSULA, 0.95)] * 3)
    quiet = combine_find(photos, GENERA, 0.3, poison_head=np.array([0.1, 0.1, 0.1]),
                         head_tau=0.4)
    loud = combine_find(photos, GENERA, 0.3, poison_head=np.array([0.1, 0.6, 0.1]),
                        head_tau=0.4)
    assert not quiet.poison_flag and loud.poison_flag
    assert loud.flag_reasons == ["photo 2: the poison detector gives 60% (threshold 40%)"]


def test_rejected_photos_leave_the_genus_vote_but_keep_their_poison_signal():
    photos = np.stack([peaked(RUSSULA, 0.9), peaked(AMANITA, 0.9)])
    find = combine_find(photos, GENERA, 0.3, rejected=np.array([False, True]))
    np.testing.assert_allclose(find.probs, photos[0], atol=1e-6)
    assert find.used.tolist() == [True, False]
    assert find.poison_flag
    assert find.flag_reasons == ["photo 2 (not recognized, still counted for safety): "
                                 "P(poisonous genus) 92% is at or above 30%"]  # 0.9 + 2 x 0.0125
    verdict = find_verdict(find, GENERA, 0.3)
    assert verdict.level == "poisonous" and verdict.genus == "Russula"
    assert "looks like" not in verdict.message  # an unrecognized photo names no genus
    # The headline names the photo that fired. "Cannot rule out Amanita" would blame the
    # recognized photo, whose Amanita share (1.25%) is far below tau.
    assert verdict.message.startswith("Possibly poisonous: photo 1 points to Russula, but "
                                      "photo 2 is not recognized")
    assert "Amanita" not in verdict.message


def test_several_unrecognized_photos_are_all_named():
    photos = np.stack([peaked(RUSSULA, 0.9), peaked(AMANITA, 0.9), peaked(RUSSULA, 0.8),
                       peaked(AMANITA, 0.5)])
    find = combine_find(photos, GENERA, 0.3, rejected=np.array([False, True, False, True]))
    assert ("photos 1 and 3 point to Russula, but photos 2 and 4 are not recognized"
            in find_verdict(find, GENERA, 0.3).message)


def test_all_photos_rejected_means_not_recognized():
    photos = np.stack([peaked(RUSSULA, 0.5)] * 2)
    find = combine_find(photos, GENERA, 0.3, rejected=np.array([True, True]))
    assert not find.recognized and find.probs is None and find.prediction_set == []
    assert find_verdict(find, GENERA, 0.3).level == "not_recognized"
    amanitas = combine_find(np.stack([peaked(AMANITA, 0.9)] * 2), GENERA, 0.3,
                            rejected=np.array([True, True]))
    verdict = find_verdict(amanitas, GENERA, 0.3)
    assert verdict.level == "not_recognized" and "do not eat" in verdict.message.lower()
    assert sum("still counted for safety" in r for r in verdict.reasons) == 2  # not dropped


def test_a_find_of_several_unrecognized_photos_speaks_of_these_photos():
    # "This photo does not look like the nine genera" under a find of three photos read as
    # if only one of them had been looked at.
    photos = np.stack([peaked(RUSSULA, 0.5)] * 3)
    find = combine_find(photos, GENERA, 0.3, rejected=np.array([True, True, True]))
    message = find_verdict(find, GENERA, 0.3).message
    assert "These photos do not look like the nine genera" in message
    assert "This photo" not in message and "do not eat" in message.lower()
    one = combine_find(photos[:1], GENERA, 0.3, rejected=np.array([True]))
    assert find_verdict(one, GENERA, 0.3).message == decide(
        dict(zip(GENERA, photos[0])), 0.3, recognized=False).message  # as /identify says


def test_a_find_of_several_unrecognized_photos_gives_its_reason_for_these_photos():
    """Under "These photos do not look like the nine genera" the reasons, on the card too,
    still said "the photo is unlike the photos the model was trained on"."""
    from mushroom.ui.cards import verdict_card
    from mushroom.verdict import NOT_RECOGNIZED_FIND_REASON, NOT_RECOGNIZED_REASON

    photos = np.stack([peaked(RUSSULA, 0.5), peaked(AMANITA, 0.9)])
    verdict = find_verdict(combine_find(photos, GENERA, 0.3, rejected=np.array([True, True])),
                           GENERA, 0.3)
    assert verdict.reasons[0] == NOT_RECOGNIZED_FIND_REASON
    assert "still counted for safety" in verdict.reasons[1]  # photo 2's Amanita, kept
    card = verdict_card(verdict.to_dict())
    assert "none of these photos is like the photos the model was trained on" in card
    assert "the photo is" not in card and "the photo is" not in " ".join(verdict.reasons)
    one = find_verdict(combine_find(photos[:1], GENERA, 0.3, rejected=np.array([True])),
                       GENERA, 0.3)
    assert one.reasons == (NOT_RECOGNIZED_REASON,)  # one photo: as /identify says


def test_poisonous_genus_in_the_find_set_makes_it_uncertain_and_empty_set_too():
    params = _conformal()
    # The gills photo leans to Russula but keeps Amanita in its set (a wider Amanita
    # threshold, as a rare genus gets); a tie would make Amanita its top genus: poisonous.
    torn = np.zeros(len(GENERA))
    torn[[RUSSULA, AMANITA]] = 0.6, 0.4
    photos = np.stack([peaked(RUSSULA, 0.7), torn])
    wide = {**params, "qhat": [0.65 if c == AMANITA else q for c, q in enumerate(params["qhat"])]}
    risky = combine_find(photos, GENERA, 0.9, conformal=wide)
    assert AMANITA in risky.prediction_set and not risky.poison_flag
    assert find_verdict(risky, GENERA, 0.9).level == "uncertain"
    vague = combine_find(np.stack([peaked(RUSSULA, 0.45)] * 2), GENERA, 0.9,
                         conformal=params)
    assert vague.prediction_set == []
    assert find_verdict(vague, GENERA, 0.9, uncertain_top1=0.3).level == "uncertain"


def _conformal() -> dict:
    """Thresholds qhat = 0.5 for every genus: a genus is in a set when p >= 0.5."""
    labels = np.repeat(np.arange(len(GENERA)), 40)
    probs = np.stack([peaked(c, 0.5) for c in labels])
    return fit_mondrian(probs, labels, alpha=0.05)


def test_find_set_is_the_union_of_photo_sets_by_default():
    params = _conformal()
    photos = np.stack([peaked(RUSSULA, 0.7), peaked(LACTARIUS, 0.55), peaked(RUSSULA, 0.8)])
    union = combine_find(photos, GENERA, 0.3, conformal=params)
    assert union.photo_sets == [[RUSSULA], [LACTARIUS], [RUSSULA]]
    assert union.prediction_set == [RUSSULA, LACTARIUS]  # ordered by combined probability
    combined = combine_find(photos, GENERA, 0.3, conformal=params,
                            cfg=CombineConfig(set_rule="combined"))
    assert combined.prediction_set == [RUSSULA]


def test_a_rejected_photo_adds_nothing_to_the_set():
    photos = np.stack([peaked(RUSSULA, 0.7), peaked(AMANITA, 0.9)])
    find = combine_find(photos, GENERA, 0.3, rejected=np.array([False, True]),
                        conformal=_conformal())
    assert find.prediction_set == [RUSSULA]


@pytest.mark.parametrize("n", [0, 6])
def test_photo_count_is_limited(n):
    with pytest.raises(ValueError, match="1 to 5 photos"):
        combine_find(np.full((n, len(GENERA)), 1 / len(GENERA)), GENERA, 0.3)


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="one entry per photo"):
        combine_find(np.stack([peaked(RUSSULA, 0.7)] * 2), GENERA, 0.3,
                     rejected=np.array([False]))


def test_a_poisonous_combined_answer_still_names_the_outvoted_photo():
    # Boletus from above, a sure Amanita from the side: the combined poison mass alone
    # already fires, and the headline must say which photo, not "cannot rule out ...".
    photos = np.stack([peaked(GENERA.index("Boletus"), 0.999), peaked(AMANITA, 0.9)])
    find = combine_find(photos, GENERA, 0.01)
    verdict = find_verdict(find, GENERA, 0.01)
    assert verdict.genus == "Boletus" and verdict.level == "poisonous"
    assert verdict.message.startswith("Possibly poisonous: photo 2 looks like Amanita (90%)")
    assert "porcini" not in verdict.notes["edibility"]
    assert sum(r.startswith("combined") or r.startswith("P(poisonous)")
               for r in verdict.reasons) == 1  # the combined signal is stated once


def test_a_repeated_photo_is_counted_once_and_still_warns():
    assert repeats(["a", "b", "a", "a", "c"]) == [None, None, 0, 0, None]
    photos = np.stack([peaked(RUSSULA, 0.6), peaked(AMANITA, 0.8), peaked(RUSSULA, 0.6)])
    find = combine_find(photos, GENERA, 0.3, repeat_of=[None, None, 0])
    assert find.used.tolist() == [True, True, False]
    np.testing.assert_allclose(find.probs, combine_probs(photos[:2]), atol=1e-9)
    verdict = find_verdict(find, GENERA, 0.3)
    assert verdict.level == "poisonous"
    assert verdict.reasons[-1] == "photo 3 is the same photo as photo 1: counted once"
    # Copies of an Amanita-looking photo keep its warning, named as a recognized photo.
    amanitas = combine_find(photos[[1, 1]], GENERA, 0.3, repeat_of=[None, 0])
    assert amanitas.poison_flag and not any("not recognized" in r
                                            for r in amanitas.flag_reasons)
    with pytest.raises(ValueError, match="one entry per photo"):
        combine_find(photos, GENERA, 0.3, repeat_of=[None])


def _top1_amanita_below(tau: float) -> np.ndarray:
    """A photo whose most likely genus is Amanita (30%) while P(poisonous) stays below tau."""
    row = np.full(len(GENERA), 0.45 / 7)
    row[AMANITA], row[GENERA.index("Boletus")] = 0.30, 0.25
    assert poison_probability(dict(zip(GENERA, row))) < tau
    return row


def test_a_photo_whose_top_genus_is_poisonous_warns_even_below_tau():
    """tau on the genus sum is the 0.5 veto when the poison head ships as primary: one
    photo's own verdict is "poisonous" (its top genus is Amanita), so the find's must be,
    however the other photos vote."""
    tau = 0.5
    amanita, porcini = _top1_amanita_below(tau), peaked(GENERA.index("Boletus"), 0.99)
    assert decide(dict(zip(GENERA, amanita)), tau).level == "poisonous"
    find = combine_find(np.stack([amanita, porcini]), GENERA, tau)
    verdict = find_verdict(find, GENERA, tau)
    assert verdict.level == "poisonous" and verdict.genus == "Boletus"
    assert verdict.message.startswith("Possibly poisonous: photo 1 looks like Amanita (30%)")
    assert verdict.reasons.count("photo 1 looks like Amanita (30%)") == 1  # named once
    # Unrecognized, the same photo still warns, and its headline says it was not recognized.
    left_out = combine_find(np.stack([amanita, porcini]), GENERA, tau,
                            rejected=np.array([True, False]))
    verdict = find_verdict(left_out, GENERA, tau)
    assert verdict.level == "poisonous" and "photo 1 is not recognized" in verdict.message
    assert "photo 1 (not recognized, still counted for safety) looks like Amanita (30%)" \
        in verdict.reasons



def test_outvoted_poisonous_photos_of_two_genera_give_the_notes_of_both():
    """The card named photo 1's Amanita and photo 2's Cortinarius in its headline but gave
    only Amanita's notes, as if the find were an Amanita; never porcini's, outvoting both."""
    from mushroom.genus_notes import genus_notes

    tau, cortinarius = 0.5, GENERA.index("Cortinarius")
    amanita = _top1_amanita_below(tau)
    other = amanita.copy()
    other[[AMANITA, cortinarius]] = amanita[[cortinarius, AMANITA]]
    photos = np.stack([amanita, other, peaked(GENERA.index("Boletus"), 0.99)])
    verdict = find_verdict(combine_find(photos, GENERA, tau), GENERA, tau)
    assert verdict.level == "poisonous" and verdict.genus == "Boletus"
    first, second = genus_notes("Amanita"), genus_notes("Cortinarius")
    assert verdict.notes == {k: f"Amanita: {first[k]} Cortinarius: {second[k]}" for k in first}
    one = find_verdict(combine_find(photos[[0, 2]], GENERA, tau), GENERA, tau)
    assert one.notes == first

def test_photos_that_confidently_disagree_make_the_find_uncertain():
    # A porcini photo and a brittlegill photo are two mushrooms: "most likely Boletus 83%"
    # was an answer for neither, though each photo alone is a confident edible genus.
    photos = np.stack([peaked(BOLETUS, 0.999), peaked(RUSSULA, 0.97)])
    for row in photos:
        assert find_verdict(combine_find(row[None], GENERA, 0.3), GENERA, 0.3).level \
            == "edible_genus"
    verdict = find_verdict(combine_find(photos, GENERA, 0.3), GENERA, 0.3)
    assert verdict.level == "uncertain" and verdict.genus == "Boletus"
    named = "photo 1 looks like Boletus (>99%), photo 2 like Russula (97%)"
    assert verdict.message == (f"The photos disagree: {named}. {NOT_ONE_MUSHROOM} Treat it as "
                               "poisonous: do not eat.")
    assert verdict.reasons == (
        f"the photos name different genera, each at or above 55%: {named}",)
    # The find's own doubt stays among the reasons, after the disagreement.
    doubtful = find_verdict(combine_find(photos, GENERA, 0.3), GENERA, 0.3, uncertain_top1=0.95)
    assert doubtful.level == "uncertain" and doubtful.message.startswith(
        "The photos disagree: photo 1 looks like Boletus (>99%), photo 2 like Russula (97%).")
    assert doubtful.reasons[1].startswith("the top genus has only")



def test_the_card_of_photos_that_disagree_gives_the_notes_of_each_genus_named():
    """The card's "Edibility range" and "Dangerous lookalikes" were the combined top genus's
    (porcini's "Many are edible") under "The photos disagree: ... Boletus ..., ... Russula",
    as if the find were settled on Boletus."""
    from mushroom.genus_notes import genus_notes
    from mushroom.ui.cards import verdict_card

    photos = np.stack([peaked(BOLETUS, 0.999), peaked(RUSSULA, 0.97), peaked(BOLETUS, 0.9)])
    verdict = find_verdict(combine_find(photos, GENERA, 0.3), GENERA, 0.3)
    boletus, russula = genus_notes("Boletus"), genus_notes("Russula")
    for key in ("edibility", "lookalikes"):
        assert verdict.notes[key] == f"Boletus: {boletus[key]} Russula: {russula[key]}"
    card = verdict_card(verdict.to_dict())
    assert "Russula: Many edible brittlegills" in card and "Boletus: Many are edible" in card
    # one genus, or photos that agree, keep the plain notes of that genus
    agree = find_verdict(combine_find(photos[[0, 2]], GENERA, 0.3), GENERA, 0.3)
    assert agree.level == "edible_genus" and agree.notes == boletus

def test_a_photo_that_disputes_a_poisonous_top_genus_is_named_and_the_find_stays_poisonous():
    """Two Amanita photos and a confident porcini photo gave "Likely a poisonous genus: do not
    eat." alone, as if the photos agreed: the forager was not told photo 3 names Boletus."""
    from mushroom.genus_notes import genus_notes
    from mushroom.ui.cards import verdict_card

    photos = np.stack([peaked(AMANITA, 0.99), peaked(AMANITA, 0.95), peaked(BOLETUS, 0.97)])
    verdict = find_verdict(combine_find(photos, GENERA, 0.3), GENERA, 0.3)
    assert verdict.level == "poisonous" and verdict.genus == "Amanita"
    assert verdict.message.startswith("Likely a poisonous genus: do not eat.")
    assert "but photo 3 looks like Boletus (97%)" in verdict.message
    assert NOT_ONE_MUSHROOM in verdict.message
    assert verdict.message.endswith("Treat the find as poisonous.")
    assert "photo 3 looks like Boletus (97%), not Amanita" in " ".join(verdict.reasons)
    assert verdict.notes == genus_notes("Amanita")  # never porcini's "Many are edible" here
    card = verdict_card(verdict.to_dict())
    assert "POISONOUS GENUS LIKELY" in card and "POSSIBLY POISONOUS" not in card
    # a second poisonous genus named adds its notes; an unsure porcini photo is no dispute
    cort = find_verdict(combine_find(np.stack([peaked(AMANITA, 0.99), peaked(
        GENERA.index("Cortinarius"), 0.97)]), GENERA, 0.3), GENERA, 0.3)
    assert "photo 2 looks like Cortinarius" in cort.message
    assert cort.notes["edibility"].startswith("Amanita: ") and "Cortinarius: " in cort.notes[
        "edibility"]
    unsure = find_verdict(combine_find(np.stack([peaked(AMANITA, 0.99), peaked(
        BOLETUS, 0.5)]), GENERA, 0.3), GENERA, 0.3)
    assert unsure.message == "Likely a poisonous genus: do not eat."


def test_a_photo_that_disputes_a_possibly_poisonous_edible_top_genus_is_named():
    """Two porcini-like photos (one with Amanita mass) and a confident Russula photo gave
    "Possibly poisonous: most likely Boletus..." alone, as if the photos agreed on Boletus."""
    from mushroom.ui.cards import verdict_card

    def row(genus: int, p: float, amanita: float) -> np.ndarray:
        out = peaked(genus, p)
        out[AMANITA] += amanita
        return out / out.sum()

    photos = np.stack([row(BOLETUS, 0.99, 0), row(BOLETUS, 0.7, 0.25), row(RUSSULA, 0.97, 0)])
    verdict = find_verdict(combine_find(photos, GENERA, 0.1), GENERA, 0.1)
    assert verdict.level == "poisonous" and verdict.genus == "Boletus"  # never weakened
    assert verdict.message.startswith("Possibly poisonous: most likely Boletus, but the model "
                                      "cannot rule out Amanita")
    assert "and photo 3 looks like Russula (97%)." in verdict.message
    assert NOT_ONE_MUSHROOM in verdict.message and verdict.message.endswith("Do not eat.")
    assert "photo 3 looks like Russula (97%), not Boletus" in " ".join(verdict.reasons)
    assert verdict.notes["edibility"].startswith("Boletus: ") and "Russula: " in verdict.notes[
        "edibility"]
    assert "Amanita: " in verdict.notes["edibility"]  # the genus the headline warns of, too
    assert "POSSIBLY POISONOUS" in verdict_card(verdict.to_dict())
    # without the Russula photo nothing disputes Boletus: the headline is as before
    agree = find_verdict(combine_find(photos[:2], GENERA, 0.1), GENERA, 0.1)
    assert agree.level == "poisonous" and "looks like" not in agree.message
    assert "Amanita: " in agree.notes["lookalikes"]
    assert agree.message.endswith("for these photos. Do not eat.")


def test_a_find_of_one_photo_reads_as_identify_for_that_photo():
    """/identify_find with one photo said "cannot rule out Amanita ... for these photos"
    where /identify said "for this photo" for the very same photo."""
    photo = peaked(BOLETUS, 0.8)
    photo[AMANITA] += 0.1
    photo /= photo.sum()
    find = find_verdict(combine_find(photo[None], GENERA, 0.1), GENERA, 0.1)
    alone = decide(dict(zip(GENERA, photo)), 0.1)
    assert find.level == alone.level == "poisonous"
    assert find.message == alone.message
    assert find.message.endswith("for this photo. Do not eat.")


def test_disagreement_needs_two_confident_recognized_distinct_photos():
    sure, lactarius = peaked(BOLETUS, 0.999), peaked(LACTARIUS, 0.96)
    cases = {  # photos, rejected, repeat_of
        "the same photo twice": ([sure, sure], None, [None, 0]),
        "a second photo below the cut-off": ([sure, peaked(RUSSULA, 0.5)], None, None),
        "an unrecognized second photo": ([sure, peaked(RUSSULA, 0.97)], [False, True], None),
        "two views of one genus": ([sure, peaked(BOLETUS, 0.9)], None, None),
    }
    for name, (photos, rejected, repeat_of) in cases.items():
        find = combine_find(np.stack(photos), GENERA, 0.3, rejected=rejected,
                            repeat_of=repeat_of)
        verdict = find_verdict(find, GENERA, 0.3)
        assert verdict.level == "edible_genus", name
        assert "disagree" not in verdict.message + " ".join(verdict.reasons), name
    # At the cut-off counts: three photos, two genera, each named in order.
    photos = np.stack([sure, peaked(BOLETUS, 0.9), peaked(RUSSULA, 0.55)])
    verdict = find_verdict(combine_find(photos, GENERA, 0.3), GENERA, 0.3)
    assert verdict.level == "uncertain" and verdict.message.startswith(
        "The photos disagree: photo 1 looks like Boletus (>99%), photo 2 like Boletus (90%), "
        "photo 3 like Russula (55%).")
    assert find_verdict(combine_find(np.stack([sure, lactarius]), GENERA, 0.3), GENERA,
                        0.3).level == "uncertain"


def test_a_poisonous_find_stays_poisonous_when_its_photos_disagree():
    photos = np.stack([peaked(BOLETUS, 0.999), peaked(RUSSULA, 0.97)])
    find = combine_find(photos, GENERA, 0.3, poison_head=np.array([0.1, 0.6]), head_tau=0.4)
    verdict = find_verdict(find, GENERA, 0.3)
    assert verdict.level == "poisonous"
    assert verdict.reasons == ("photo 2 looks like Russula (97%), not Boletus: the photos may "
                               "not show one mushroom",
                               "photo 2: the poison detector gives 60% (threshold 40%)")


@st.composite
def finds(draw) -> tuple[np.ndarray, np.ndarray, list[int | None]]:
    """1-5 photos (rows often peaked, some repeated exactly), which ones the detector
    rejects, and each photo's earlier identical one."""
    n = draw(st.integers(1, 5))
    rows, repeat_of = [], []
    for i in range(n):
        first = draw(st.sampled_from([None, *range(i)]))
        if first is not None and repeat_of[first] is None:
            rows.append(rows[first])
            repeat_of.append(first)
            continue
        raw = np.array(draw(st.lists(st.floats(0, 1), min_size=len(GENERA),
                                     max_size=len(GENERA))))
        raw[draw(st.sampled_from(range(len(GENERA))))] += draw(st.floats(0, 30))
        rows.append(raw / raw.sum() if raw.sum() > 0 else np.full(len(GENERA), 1 / len(GENERA)))
        repeat_of.append(None)
    rejected = np.array([draw(st.booleans()) for _ in range(n)])
    for i, first in enumerate(repeat_of):  # the same pixels get the same detector answer
        if first is not None:
            rejected[i] = rejected[first]
    return np.stack(rows), rejected, repeat_of


@settings(max_examples=400, deadline=None)
@given(finds(), st.floats(0.01, 1.0), st.floats(0.0, 1.0), st.booleans())
def test_a_photo_poisonous_on_its_own_never_lets_the_find_be_edible(find_in, tau, top1, sets):
    """The one-photo rule carried over to a find, for every tau a checkpoint may ship."""
    probs, rejected, repeat_of = find_in
    find = combine_find(probs, GENERA, tau, rejected=rejected, repeat_of=repeat_of,
                        conformal=_conformal() if sets else None)
    verdict = find_verdict(find, GENERA, tau, uncertain_top1=top1)
    alone_verdicts = [decide(dict(zip(GENERA, row)), tau, uncertain_top1=top1) for row in probs]
    alone = [v.level for v in alone_verdicts]
    if "poisonous" in alone:
        assert verdict.level in (("poisonous",) if find.recognized else ("not_recognized",))
        assert find.poison_flag and verdict.reasons
    if verdict.level == "edible_genus":
        assert find.p_poisonous < tau and (find.photo_p_poisonous < tau).all()
        assert verdict.genus not in POISONOUS
        assert not {GENERA[c] for c in find.prediction_set} & POISONOUS
        assert find.prediction_set or not sets
        assert "checked by an expert" in verdict.message
        sure = {d.genus for d, u in zip(alone_verdicts, find.used)
                if u and d.top1_probability >= top1}
        assert len(sure) <= 1  # photos that confidently disagree are not one answer
    assert "safe to eat" not in " ".join([verdict.message, *verdict.reasons]).lower()


def test_a_find_resting_on_one_photo_gives_its_poison_reason_once():
    """Seen with a real Amanita photo alone in a find: "P(poisonous) >99% is at or above the
    threshold 1.2%" and "photo 1: P(poisonous genus) >99% is at or above 1.2%", the one
    photo's P(poisonous) being the find's. The same holds when the other photos repeat it."""
    amanita = peaked(AMANITA, 0.97)
    cases = {"one photo": (amanita[None], None), "the same photo twice": (
        np.stack([amanita, amanita]), [None, 0])}
    for name, (photos, repeat_of) in cases.items():
        verdict = find_verdict(combine_find(photos, GENERA, 0.1, repeat_of=repeat_of,
                                            poison_head=np.full(len(photos), 0.9),
                                            head_tau=0.5), GENERA, 0.1)
        assert verdict.level == "poisonous", name
        said = [r for r in verdict.reasons if "P(poisonous" in r]
        assert len(said) == 1 + (repeat_of is not None), (name, verdict.reasons)
        assert said[0].startswith("P(poisonous) 98% is at or above the threshold"), name
        # the detector's own signal is not the P(poisonous) line: it stays
        assert "photo 1: the poison detector gives 90% (threshold 50%)" in verdict.reasons
    # two photos that each count keep their own lines: which of them fired matters
    two = find_verdict(combine_find(np.stack([amanita, peaked(AMANITA, 0.9)]), GENERA, 0.1),
                       GENERA, 0.1)
    assert [r.split(":")[0] for r in two.reasons if ": P(poisonous genus)" in r] == [
        "photo 1", "photo 2"]


@settings(max_examples=300, deadline=None)
@given(finds(), st.floats(0.01, 1.0), st.floats(0.0, 1.0), st.booleans())
def test_a_finds_warned_genera_are_the_poisonous_genera_its_headline_names(find_in, tau, top1,
                                                                           sets):
    """The find's headlines (an outvoted photo, a disputing photo...) name poisonous genera
    of their own: the field the card and API clients read must follow each one."""

    probs, rejected, repeat_of = find_in
    find = combine_find(probs, GENERA, tau, rejected=rejected, repeat_of=repeat_of,
                        conformal=_conformal() if sets else None)
    verdict = find_verdict(find, GENERA, tau, uncertain_top1=top1)
    assert list(verdict.warned_genera) == named_in(verdict.message), verdict.message
