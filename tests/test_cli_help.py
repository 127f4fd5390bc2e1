"""``python -m mushroom [COMMAND] --help``: written for the person at the terminal, every
option explained with its default, no names from inside the code."""

from __future__ import annotations

import argparse
import re

import pytest

from mushroom.cli import build_parser


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command words, parser) for every command and subcommand."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name), sub
                yield from commands(sub, (*path, name))


ALL = list(commands(build_parser()))


def option_help(parser: argparse.ArgumentParser, option: str) -> str:
    """The help text printed beside ``option``, its default included."""
    action = next(a for a in parser._actions if option in a.option_strings)
    return parser._get_formatter()._expand_help(action) if action.help else ""


def test_the_overview_speaks_to_the_user_not_of_the_code():
    text = build_parser().format_help()
    assert "add_parser" not in text and "this file" not in text
    assert "COMMAND --help" in text


@pytest.mark.parametrize("words, parser", ALL, ids=[" ".join(w) for w, _ in ALL])
def test_every_option_is_explained_with_its_default(words, parser):
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS \
                or isinstance(action, argparse._HelpAction):
            continue
        option = action.option_strings[-1]
        text = option_help(parser, option)
        assert len(text.split()) > 1, f"{' '.join(words)} {option}: no help"
        # a class or constant from the code (RebalanceConfig.lr, models.ARCHS) means nothing
        # at a prompt
        assert not re.search(r"\b[A-Z][a-z]+[A-Z]\w*\.\w|\b[a-z_]+\.[A-Z_]{3,}\b", text), text
        default = action.default
        if default is None or default is False or default in ("", []):
            continue
        assert "default" in text, f"{' '.join(words)} {option}: default {default} unsaid"


def test_train_names_every_backbone_it_takes():
    from mushroom.models import ARCHS

    train = dict(ALL)[("train",)]
    text = option_help(train, "--arch")
    assert all(name in text for name in ARCHS), text


def test_the_help_of_the_config_flags_says_what_they_do():
    rebalance = dict(ALL)[("rebalance",)]
    assert option_help(rebalance, "--power") == (
        "sampling weight ~ genus count^-power; 1: every genus drawn equally (default: 1.0)")


@pytest.mark.parametrize("words, parser", ALL, ids=[" ".join(w) for w, _ in ALL])
def test_every_description_reads_as_plain_text(words, parser):
    """``margin --help`` printed its docstring: ``evaluate``'s, **halving**, *and*, and a
    name from the code (``holdout_poisonous``) for the flag --holdout-poisonous."""
    text = parser.format_help()
    assert "``" not in text and "**" not in text, text
    assert not re.search(r"(?<![\w*])\*\w[^*\n]*\*(?![\w*])", text), text
    assert not re.search(r"^- ", text, re.M), text  # an RST bullet
    options = {a.dest for a in parser._actions if a.option_strings and "_" in a.dest}
    assert not [d for d in options if re.search(rf"(?<![-\w]){d}\b", text)], text


def test_the_max_images_help_says_how_many_photos_train_keeps():
    """"use at most this many training photos": a cap of 100 trained on 99, a cap of 5 on 9
    (one per genus). Each "N gives M" the help states is what the cap keeps."""
    import pandas as pd

    from mushroom.manifest import cap_train
    from mushroom.taxonomy import GENERA

    text = option_help(dict(ALL)[("train",)], "--max-images")
    examples = re.findall(r"(\d+) gives (\d+)", text)
    assert len(examples) >= 2, text
    frame = pd.DataFrame({"genus": [g for g in GENERA for _ in range(40)] + ["Russula"] * 5,
                          "split": ["train"] * 40 * len(GENERA) + ["val"] * 5})
    for cap, kept in examples:
        capped = cap_train(frame, int(cap))
        assert (capped.split == "train").sum() == int(kept), (cap, kept)
        assert (capped.split == "val").sum() == 5
    assert "at most" not in text


@pytest.mark.parametrize("module", ["bench", "bench_review"])
def test_the_benchmarks_explain_every_option_and_refuse_zero_counts(module):
    """``python -m mushroom.bench`` and ``.bench_review``, run as the README shows: their
    --cache, --out and --root had no help and no default said, and ``--repeats 0`` (or
    ``--rows 0``, ``--per-genus 0``) ended in an IndexError traceback after the setup."""
    import importlib
    import subprocess
    import sys

    from conftest import ROOT

    parser = importlib.import_module(f"mushroom.{module}").build_parser()
    test_every_option_is_explained_with_its_default((module,), parser)
    for flag in ("--repeats", "--per-genus") if module == "bench" else ("--repeats", "--rows"):
        proc = subprocess.run([sys.executable, "-m", f"mushroom.{module}", flag, "0"],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert proc.stderr.splitlines()[-1].endswith(f"argument {flag}: must be at least 1, "
                                                     "not 0"), proc.stderr


def test_evaluate_out_names_every_file_it_writes():
    """"folder for report.json, predictions.csv, png": the README lists four files, the
    safety report among them, and "png" named none."""
    text = option_help(dict(ALL)[("evaluate",)], "--out")
    for name in ("report.json", "predictions.csv", "confusion_matrix.png", "safety_report.json"):
        assert name in text, text


def test_a_bare_labels_command_names_what_is_missing_in_the_user_s_words(capsys):
    """``python -m mushroom labels`` said "the following arguments are required:
    labels_command", a name from the code."""
    from mushroom.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["labels"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "labels_command" not in err
    assert err.endswith("error: the following arguments are required: COMMAND\n"), err
    help_text = dict(ALL)[("labels",)].format_help()
    assert "labels COMMAND --help" in help_text and "labels_command" not in help_text
