"""The verdict rules, including properties that must hold for every probability vector."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mushroom.poison_rule import poison_flags, poison_probabilities
from mushroom.genus_notes import GENUS_NOTES
from mushroom.taxonomy import GENERA, POISONOUS
from mushroom.percent import pct, pct_pair
from mushroom.verdict import LEVELS, UNCERTAIN_TOP1, Thresholds, decide, poison_probability

EDIBLE_SIDE = [g for g in GENERA if g not in POISONOUS]


def one_hot(genus: str, p: float) -> dict[str, float]:
    """``genus`` gets ``p``; the rest is shared evenly by the other genera."""
    rest = (1 - p) / (len(GENERA) - 1)
    return {g: (p if g == genus else rest) for g in GENERA}


@st.composite
def distributions(draw) -> dict[str, float]:
    """Random probability vectors over the nine genera, often peaked on one genus."""
    raw = draw(st.lists(st.floats(0, 1), min_size=len(GENERA), max_size=len(GENERA)))
    peak = draw(st.sampled_from(range(len(GENERA))))
    raw[peak] += draw(st.floats(0, 30))
    total = sum(raw)
    if total == 0:
        raw, total = [1.0] * len(GENERA), float(len(GENERA))
    return {g: v / total for g, v in zip(GENERA, raw)}


taus = st.floats(0.01, 1.0)
top1s = st.floats(0.0, 1.0)


@settings(max_examples=400, deadline=None)
@given(distributions(), taus, top1s, st.none() | st.lists(st.sampled_from(GENERA), max_size=4))
def test_poisonous_top1_never_edible(probs, tau, uncertain_top1, pset):
    v = decide(probs, tau, uncertain_top1=uncertain_top1, prediction_set=pset)
    if max(probs, key=probs.get) in POISONOUS:
        assert v.level == "poisonous"
    assert v.level in LEVELS


@settings(max_examples=400, deadline=None)
@given(distributions(), taus, top1s, st.booleans(), st.none() | st.floats(0, 1))
def test_no_message_ever_says_safe_to_eat(probs, tau, uncertain_top1, recognized, head):
    v = decide(probs, tau, uncertain_top1=uncertain_top1, recognized=recognized,
               p_poison_head=head, poison_head_tau=0.5)
    text = " ".join([v.message, *v.reasons, *v.notes.values()]).lower()
    assert "safe to eat" not in text
    assert "edible" not in v.message.lower() or v.level == "edible_genus"
    if v.level == "edible_genus":  # the one verdict a forager might act on
        assert "checked by an expert" in v.message.lower()
        assert "never eat it" in v.message.lower()


@pytest.mark.parametrize("genus", GENERA)
def test_no_genus_note_tells_how_to_prepare_it_for_eating(genus):
    """Seen on an edible-genus card for Suillus: "peel the slimy cap", a kitchen step that
    reads as a go-ahead beside "never eat it on the strength of this app"."""
    note = " ".join(vars(GENUS_NOTES[genus]).values()).lower()
    steps = ("peel", "cook", "boil", "fry", "blanch", "soak", "discard the", "remove the")
    assert [step for step in steps if step in note] == []


@settings(max_examples=300, deadline=None)
@given(distributions(), taus, top1s)
def test_edible_genus_only_when_every_safety_rule_passes(probs, tau, uncertain_top1):
    v = decide(probs, tau, uncertain_top1=uncertain_top1)
    if v.level == "edible_genus":
        assert poison_probability(probs) < tau
        assert probs[v.genus] >= uncertain_top1
        assert v.genus not in POISONOUS
    assert v.poison_probability == pytest.approx(sum(probs[g] for g in POISONOUS))
    assert v.threshold == tau


@settings(max_examples=300, deadline=None)
@given(st.lists(distributions(), min_size=1, max_size=5), taus, st.none() | st.floats(0, 1))
def test_array_rule_flags_exactly_the_photos_decide_calls_poisonous(rows, tau, head_tau):
    """Evaluation and calibration count with the array form; the app shows decide()."""
    probs = np.array([[row[g] for g in GENERA] for row in rows])
    heads = np.linspace(0, 1, len(rows)).astype(np.float32)
    flags = poison_flags(probs, GENERA, tau, heads, head_tau)
    for row, head, flag in zip(rows, heads, flags):
        verdict = decide(row, tau, p_poison_head=float(head), poison_head_tau=head_tau)
        assert flag == (verdict.level == "poisonous")
    assert poison_probabilities(probs, GENERA).tolist() == [poison_probability(r) for r in rows]


def test_array_forms_follow_the_columns_they_are_given():
    classes = ("Amanita", "Boletus", "Cortinarius", "Entoloma")
    probs = np.array([[0.1, 0.6, 0.2, 0.1], [0.0, 1.0, 0.0, 0.0], [0.5, 0.4, 0.1, 0.0]])
    assert poison_probabilities(probs, classes) == pytest.approx([0.4, 0.0, 0.6])
    assert poison_flags(probs, classes, 0.5).tolist() == [False, False, True]
    # a poisonous top-1 is flagged whatever tau is; the head only counts with a threshold
    assert poison_flags(probs[[0, 2]], classes, 0.9).tolist() == [False, True]
    head = np.array([0.0, 0.7, 0.0])
    assert poison_flags(probs, classes, 0.5, head).tolist() == [False, False, True]
    assert poison_flags(probs, classes, 0.5, head, 0.7).tolist() == [False, True, True]
    # compared in float64 as decide() does: 1e-50 rounds to 0 in float32
    assert not poison_flags(probs[:1], classes, 0.5, np.float32([0.0]), 1e-50).any()


def test_thresholds_read_from_a_checkpoint_fall_back_to_the_defaults():
    default = Thresholds(0.02, UNCERTAIN_TOP1, None)
    assert Thresholds.from_meta({"poison_threshold": 0.02}) == default
    meta = {"poison_threshold": 0.02, "thresholds": {"poison_head": 0.5, "uncertain_top1": 0.7}}
    assert Thresholds.from_meta(meta) == Thresholds(0.02, 0.7, 0.5)


def test_poison_mass_at_tau_is_poisonous():
    probs = one_hot("Boletus", 0.7)
    tau = poison_probability(probs)
    v = decide(probs, tau)
    assert v.level == "poisonous"
    # An edible genus leads: the headline says what the rule found, not "likely poisonous".
    assert v.message.startswith("Possibly poisonous: most likely Boletus")
    assert "Do not eat" in v.message
    assert decide(probs, tau + 1e-6).level == "edible_genus"


def test_possibly_poisonous_card_gives_the_named_poisonous_genus_notes_too():
    # "Most likely Russula, but the model cannot rule out Amanita" over Russula's notes
    # alone ("Many edible brittlegills..."): the genus the forager is warned of got none.
    probs = {g: 0.0 for g in GENERA}
    probs.update({"Russula": 0.96, "Amanita": 0.03, "Entoloma": 0.01})
    v = decide(probs, tau=0.0125)
    assert v.level == "poisonous" and "cannot rule out Amanita" in v.message
    russula, amanita = GENUS_NOTES["Russula"], GENUS_NOTES["Amanita"]
    assert v.notes == {"edibility": f"Russula: {russula.edibility} Amanita: {amanita.edibility}",
                       "lookalikes": f"Russula: {russula.lookalikes} "
                                     f"Amanita: {amanita.lookalikes}"}


def test_poisonous_top_genus_is_called_likely_poisonous():
    v = decide(one_hot("Cortinarius", 0.8), tau=0.3)
    assert v.level == "poisonous" and v.message.startswith("Likely a poisonous genus")
    mixed = {g: 0.0 for g in GENERA}
    mixed.update({"Russula": 0.9, "Entoloma": 0.06, "Amanita": 0.04})
    assert "cannot rule out Entoloma" in decide(mixed, tau=0.05).message


def test_confident_edible_side_names_genus_and_warns():
    v = decide(one_hot("Agaricus", 0.97), tau=0.3)
    assert v.level == "edible_genus"
    assert v.genus == "Agaricus"
    assert "Agaricus" in v.message and "toxic" in v.message and "expert" in v.message
    # a mushroom outside the nine genera is still named as one of them: the forager is told
    assert "only nine genera" in v.message and "Galerina" in v.message
    assert v.notes["lookalikes"] == GENUS_NOTES["Agaricus"].lookalikes
    assert "Amanita" in v.notes["lookalikes"]


def test_low_top1_is_uncertain_and_says_do_not_eat():
    others = [g for g in EDIBLE_SIDE if g != "Boletus"]
    probs = {g: 0.0 for g in POISONOUS} | {g: 0.5 / len(others) for g in others} | {"Boletus": 0.5}
    v = decide(probs, tau=0.3, uncertain_top1=0.6)
    assert v.level == "uncertain"
    assert "do not eat" in v.message.lower()
    assert "not sure (Boletus only 50%)" in v.message
    assert decide(probs, tau=0.3, uncertain_top1=0.5).level == "edible_genus"


def test_poisonous_genus_in_prediction_set_is_uncertain():
    probs = one_hot("Russula", 0.99)
    assert decide(probs, 0.3, prediction_set=["Russula"]).level == "edible_genus"
    v = decide(probs, 0.3, prediction_set=["Russula", "Amanita"])
    assert v.level == "uncertain"
    assert any("Amanita" in r for r in v.reasons)
    # The headline gives that reason; "not sure" beside "Russula 99%" would contradict it.
    assert "most likely Russula (99%), but the model cannot rule out Amanita" in v.message
    assert "not sure" not in v.message and "do not eat" in v.message


def test_poison_head_can_flag_alone():
    probs = one_hot("Lactarius", 0.99)
    assert decide(probs, 0.3, p_poison_head=0.8, poison_head_tau=None).level == "edible_genus"
    assert decide(probs, 0.3, p_poison_head=0.8, poison_head_tau=0.5).level == "poisonous"
    assert decide(probs, 0.3, p_poison_head=0.2, poison_head_tau=0.5).level == "edible_genus"


def test_not_recognized_claims_no_genus():
    v = decide(one_hot("Amanita", 0.99), 0.3, recognized=False)
    assert v.level == "not_recognized"
    assert v.genus is None and v.notes == {}
    assert not any(g in v.message for g in GENERA)


def test_invalid_output_is_uncertain_never_edible():
    probs = one_hot("Suillus", 0.99)
    probs["Boletus"] = math.nan
    assert decide(probs, 0.3).level == "uncertain"
    unnormalized = {g: 0.9 for g in EDIBLE_SIDE}
    assert decide(unnormalized, 0.3).level == "uncertain"


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="no genus probabilities"):  # said, not a max() crash
        decide({}, 0.3)
    with pytest.raises(ValueError, match=r"tau must be in \(0, 1\], got 0"):
        decide(one_hot("Boletus", 0.9), 0.0)


def test_to_dict_has_api_fields():
    v = decide(one_hot("Entoloma", 0.9), 0.3)
    d = v.to_dict()
    assert set(d) == {"level", "message", "poison_probability", "threshold", "genus",
                      "top1_probability", "reasons", "notes", "warned_genera"}
    assert d["warned_genera"] == []  # "Likely a poisonous genus" names none
    assert (d["level"], d["genus"], d["message"]) == ("poisonous", "Entoloma", v.message)
    assert (d["poison_probability"], d["threshold"]) == (pytest.approx(0.9 + 2 * 0.1 / 8), 0.3)
    assert d["reasons"] == list(v.reasons) and d["reasons"]
    note = GENUS_NOTES["Entoloma"]
    assert d["notes"] == {"edibility": note.edibility, "lookalikes": note.lookalikes}
    assert json.loads(json.dumps(d)) == d  # JSON-ready: lists and plain values only


def test_small_thresholds_are_shown_with_enough_digits():
    probs = {g: 0.0 for g in GENERA} | {"Boletus": 0.988, "Amanita": 0.012}
    v = decide(probs, tau=0.0092)
    assert v.level == "poisonous"
    assert "1.2%" in v.reasons[0] and "0.92%" in v.reasons[0]
    assert pct(0.55) == "55%" and pct(0.0) == "0%"


def test_a_value_and_its_threshold_never_print_the_same_when_they_differ():
    assert pct_pair(0.01255, 0.0126) == ("1.255%", "1.26%")  # pct: 1.3% and 1.3%
    assert pct_pair(0.019, 0.0126) == ("1.9%", "1.3%")  # already distinct: unchanged
    assert pct_pair(0.0126, 0.0126) == ("1.3%", "1.3%")  # equal numbers may print equal
    assert pct_pair(0.5502, 0.55) == ("55.02%", "55%")
    assert pct_pair(0.9996, 0.9999) == (">99%", ">99%")
    # The reasons the card prints use it.
    probs = {g: 0.0 for g in GENERA} | {"Boletus": 0.987401, "Amanita": 0.012599}
    reason = decide(probs, tau=0.0125001).reasons[0]
    assert "1.26% is at or above the threshold 1.25%" in reason
    probs = {g: 0.0 for g in GENERA} | {"Boletus": 0.5498, "Russula": 0.4502}
    assert "only 54.98% (needs 55%)" in " ".join(decide(probs, tau=0.01).reasons)


def test_no_probability_reads_as_certain():
    assert pct(1.0) == ">99%" and pct(0.9996) == ">99%" and pct(0.994) == "99%"
    assert pct(3e-7) == "<0.01%" and pct(0.00012) == "0.012%"
    probs = {g: 0.0 for g in GENERA} | {"Amanita": 1.0}
    assert "100%" not in " ".join(decide(probs, tau=0.0077).reasons)


def test_genus_bars_print_the_card_numbers_never_a_bare_0_or_100_percent():
    import re

    from mushroom.ui.bars import genus_bars

    bars = genus_bars([("Boletus", 0.99971), ("Entoloma", 0.0021), ("Russula", 0.00003)],
                      "Most likely genera")
    shown = re.findall(r'<span class="genus">([A-Za-z]+).*?<span class="p"[^>]*>([^<]+)<', bars)
    assert shown == [("Boletus", "&gt;99%"), ("Entoloma", "0.21%"), ("Russula", "&lt;0.01%")]
    assert bars.count('class="poison-tag"') == 1  # Entoloma only
    assert 'aria-valuenow="0.21"' in bars and "width:0.21%" in bars  # the bar is exact
    assert 'aria-label="Entoloma, poisonous genus: 0.21%"' in bars  # named for screen readers
    assert bars.count("#c0392b") == 2  # Entoloma's tag and its red bar; no other red
    assert genus_bars([], "Most likely genera") == ""


def test_identify_page_prints_small_probabilities_and_keeps_the_json():
    from mushroom.ui.cards import render

    probs = {g: 0.0 for g in GENERA} | {"Boletus": 0.9975, "Entoloma": 0.0025}
    result = {"top_k": [{"genus": "Boletus", "probability": 0.9975},
                        {"genus": "Entoloma", "probability": 0.0025}],
              "verdict": decide(probs, tau=0.0077).to_dict()}
    bars, card = render(result)
    assert "0.25%" in bars and "&gt;99%" in bars
    assert result["top_k"][0]["probability"] == 0.9975  # the API value is untouched
    text = re.sub(r"<[^>]+>", " ", bars + card)  # what the page prints, not the styles
    assert "100%" not in text and " 0% " not in text


@pytest.mark.parametrize("top, title", [("Amanita", "POISONOUS GENUS LIKELY"),
                                        ("Boletus", "POSSIBLY POISONOUS")])
def test_card_title_says_possibly_when_an_edible_genus_leads(top, title):
    """The poison sum flags a Boletus-led photo: the card must not call the genus poisonous."""
    from mushroom.ui.cards import verdict_card

    other = "Boletus" if top == "Amanita" else "Amanita"
    probs = {g: 0.0 for g in GENERA} | {top: 0.9, other: 0.1}
    verdict = decide(probs, tau=0.01)
    assert verdict.level == "poisonous"
    card = verdict_card(verdict.to_dict())
    assert f">{title}: do not eat</h2>" in card
    assert ("POISONOUS GENUS LIKELY" in card) == (top == "Amanita")


def test_card_shows_p_poisonous_and_tau_with_the_digits_that_tell_them_apart():
    from mushroom.ui.cards import verdict_card

    probs = {g: 0.0 for g in GENERA} | {"Boletus": 0.98745, "Amanita": 0.01255}
    card = verdict_card(decide(probs, tau=0.0126).to_dict())
    assert "<b>1.255%</b> (flagged at &ge; 1.26%)" in card


def test_card_says_why_the_headline_names_a_genus_outside_the_prediction_set():
    """"Cannot rule out Amanita" above "Plausible genera: Russula, Entoloma, Cortinarius"
    read as a contradiction: P(poisonous) >= tau is stricter than the 95 % set."""
    from mushroom.ui.cards import outside_set, verdict_card

    probs = {g: 0.0 for g in GENERA} | {"Russula": 0.966, "Amanita": 0.02, "Entoloma": 0.014}
    verdict = decide(probs, tau=0.0125, prediction_set=["Russula", "Entoloma"]).to_dict()
    assert "cannot rule out Amanita" in verdict["message"]
    assert outside_set(verdict, ["Russula", "Entoloma"]) == ["Amanita"]
    card = re.sub(r"<[^>]+>", "", verdict_card(verdict, ["Russula", "Entoloma"], 0.95))
    assert ("of photos of each genus) Amanita is outside this set, but P(poisonous genus) "
            "reaches its threshold (a stricter test than the set), so the headline names it "
            "for safety.") in card
    # inside the set, without sets, or an uncertain headline (it names set members only)
    assert "outside this set" not in verdict_card(verdict, ["Russula", "Amanita"], 0.95)
    assert "outside this set" not in verdict_card(verdict)
    unsure = decide(probs, tau=0.5, prediction_set=["Russula", "Entoloma"]).to_dict()
    assert unsure["level"] == "uncertain" and outside_set(unsure, ["Russula", "Entoloma"]) == []


def test_set_note_names_the_poison_check_that_fired_when_p_poisonous_is_below_tau():
    from mushroom.ui.cards import verdict_card

    probs = {g: 0.0 for g in GENERA} | {"Boletus": 0.99, "Cortinarius": 0.01}
    verdict = decide(probs, tau=0.3, prediction_set=["Boletus"], p_poison_head=0.9,
                     poison_head_tau=0.5).to_dict()
    card = verdict_card(verdict, ["Boletus"], 0.95)
    assert "Cortinarius is outside this set, but a poison check fired (a stricter" in card
    assert verdict["level"] == "poisonous"  # the note explains; the rule is untouched


def test_an_empty_prediction_set_is_uncertain_inside_decide_itself():
    probs = one_hot("Boletus", 0.99)
    assert decide(probs, 0.3, prediction_set=None).level == "edible_genus"  # no sets shipped
    v = decide(probs, 0.3, prediction_set=[])
    assert v.level == "uncertain" and v.reasons == ("no genus is plausible enough to name",)
    assert decide(one_hot("Amanita", 0.99), 0.3, prediction_set=[]).level == "poisonous"


anything = st.floats(allow_nan=True, allow_infinity=True) | st.floats(0, 1) \
    | st.sampled_from([0.0, 0.5, 1.0, 1 / len(GENERA)])


@st.composite
def outputs(draw) -> list[float]:
    """Anything a broken model could emit, or (half the time) a valid distribution, ties
    included, so the edible path is reached too."""
    raw = draw(st.lists(anything, min_size=len(GENERA), max_size=len(GENERA)))
    if draw(st.booleans()):
        raw = list(draw(distributions()).values())
        if draw(st.booleans()):  # an exact tie for the top between two genera
            top = max(range(len(raw)), key=raw.__getitem__)
            other = draw(st.sampled_from([i for i in range(len(raw)) if i != top]))
            raw[top] = raw[other] = (raw[top] + raw[other]) / 2
    return raw


@settings(max_examples=1000, deadline=None)
@given(outputs(), taus, top1s,
       st.none() | st.lists(st.sampled_from(GENERA), max_size=len(GENERA)),
       st.none() | st.floats(allow_nan=True), st.none() | st.floats(0, 1))
def test_edible_genus_needs_a_valid_output_whatever_the_model_emits(raw, tau, uncertain_top1,
                                                                     pset, head, head_tau):
    """NaN, inf, negative or unnormalized outputs (a broken checkpoint, an fp16 overflow),
    ties, empty or risky sets and a NaN poison head never reach "edible_genus"."""
    probs = dict(zip(GENERA, raw))
    v = decide(probs, tau, uncertain_top1=uncertain_top1, prediction_set=pset,
               p_poison_head=head, poison_head_tau=head_tau)
    assert v.level in LEVELS
    if v.level == "edible_genus":
        assert all(math.isfinite(p) and p >= 0 for p in raw) and abs(sum(raw) - 1) < 1e-3
        assert poison_probability(probs) < tau and probs[v.genus] >= uncertain_top1
        assert all(probs[g] < probs[v.genus] for g in POISONOUS)
        assert pset is None or (pset and not set(pset) & POISONOUS)
        assert head is None or head_tau is None or not head >= head_tau
    heads = None if head is None else np.array([head])
    flag = poison_flags(np.array([raw]), GENERA, tau, heads, head_tau)[0]
    assert flag == (v.level == "poisonous")  # evaluation counts what the app says


def test_a_tie_with_a_poisonous_genus_for_the_top_is_poisonous():
    """Agaricus and Amanita at 30 % each: Agaricus came first in the class order, so the
    verdict was "edible_genus" (with a low uncertain_top1 and a high tau)."""
    probs = {g: 0.4 / 7 for g in GENERA}
    probs["Agaricus"] = probs["Amanita"] = 0.3
    v = decide(probs, 0.9, uncertain_top1=0.2)
    assert v.level == "poisonous" and v.genus == "Amanita"
    assert poison_flags(np.array([list(probs.values())]), GENERA, 0.9).tolist() == [True]
    garbage = {g: math.nan for g in GENERA}  # all tied at "no value": no genus blamed
    assert decide(garbage, 0.3).level == "uncertain"


def named_in(message: str) -> list[str]:
    """The poisonous genera a headline names, in its order: what the card once parsed."""
    found = {g: re.search(rf"\b{g}\b", message) for g in POISONOUS}
    return sorted((g for g, m in found.items() if m), key=lambda g: found[g].start())


@settings(max_examples=500, deadline=None)
@given(outputs(), taus, top1s,
       st.none() | st.lists(st.sampled_from(GENERA), max_size=len(GENERA), unique=True))
def test_warned_genera_are_the_poisonous_genera_the_headline_names(raw, tau, uncertain_top1,
                                                                   pset):
    """The card and API clients read the field, not the prose: it must match the prose."""
    v = decide(dict(zip(GENERA, raw)), tau, uncertain_top1=uncertain_top1, prediction_set=pset)
    assert list(v.warned_genera) == named_in(v.message)
    assert v.to_dict()["warned_genera"] == list(v.warned_genera)


def test_the_card_reads_the_warned_genera_not_the_headline():
    """A reworded (or translated) headline keeps the note: the card no longer parses text."""
    from mushroom.ui.cards import verdict_card

    probs = {g: 0.0 for g in GENERA} | {"Russula": 0.966, "Amanita": 0.02, "Entoloma": 0.014}
    verdict = decide(probs, tau=0.0125, prediction_set=["Russula", "Entoloma"]).to_dict()
    assert verdict["warned_genera"] == ["Amanita"]
    reworded = {**verdict, "message": "Possibly poisonous: do not eat."}
    assert "Amanita is outside this set" in verdict_card(reworded, ["Russula", "Entoloma"], 0.95)
    assert "outside this set" not in verdict_card({**verdict, "warned_genera": []},
                                                  ["Russula", "Entoloma"], 0.95)
