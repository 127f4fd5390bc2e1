"""``python -m mushroom labels add | undo | retire-species | export | merge | hash-password``:
bulk work on the store.

Every write goes through :func:`mushroom.labels.record`, the same validation the Review tab
uses. Invalid input exits with status 2 and a one-line message, and writes nothing.
The CLI trusts ``--annotator``: whoever can run it can already write the store's files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mushroom.cli import add_data_flag, check_csv_out
from mushroom.decision import FLAGS
from mushroom.labels import existing_store


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``labels`` and its subcommands."""
    p = sub.add_parser("labels", help="expert label store: add, undo, retire-species, export, "
                       "merge, hash-password",
                       description="The experts' label store (labels/README.md). `python -m "
                                   "mushroom labels COMMAND --help` describes a command.")
    # the metavar is what a bare `labels` names as missing (not "labels_command")
    cmds = p.add_subparsers(dest="labels_command", required=True, metavar="COMMAND")

    _add_add_command(cmds)

    undo = cmds.add_parser("undo", help="withdraw the annotator's latest decision")
    undo.add_argument("--labels", required=True, help="label store folder")
    undo.add_argument("--annotator", required=True, help="expert name")
    undo.set_defaults(func=run_undo)

    retire = cmds.add_parser("retire-species",
                             help="take a species an expert added (a typo) off the list")
    retire.add_argument("--labels", required=True, help="label store folder")
    retire.add_argument("--species", required=True, help="the binomial, e.g. 'Amanita muscria'")
    retire.add_argument("--annotator", required=True, help="expert name")
    retire.set_defaults(func=run_retire)

    export = cmds.add_parser("export", help="write one consensus row per reviewed photo")
    export.add_argument("--labels", required=True, help="label store folder")
    export.add_argument("--out", required=True, help="CSV file to write")
    export.set_defaults(func=run_export)

    merge = cmds.add_parser("merge", help="append what a downloaded store (zip or folder) has "
                            "and this store lacks; safe to repeat")
    merge.add_argument("--labels", required=True, help="label store folder to append to")
    merge.add_argument("--from", dest="source", required=True,
                       help="a zip from the Review tab's Download label store, or a store folder")
    merge.set_defaults(func=run_merge)

    hashp = cmds.add_parser("hash-password", help="print a MUSHROOM_EXPERTS entry for an expert")
    hashp.add_argument("name", help="expert login name")
    hashp.set_defaults(func=run_hash)


def _add_add_command(cmds: argparse._SubParsersAction) -> None:
    """Register ``labels add``: one decision about one photo, with the Review tab's fields."""
    add = cmds.add_parser("add", help="record one decision about one photo")
    add.add_argument("--labels", required=True, help="label store folder (labels/)")
    add.add_argument("--image", required=True,
                     help="the photo: a file under <data>/<Genus>/, or a path relative to --data")
    add_data_flag(add, required=False,
                  help="photo root (default: the folder above the photo's genus folder)")
    add.add_argument("--genus", default=None,
                     help="genus to assign, in any case (omit for flags and notes)")
    add.add_argument("--species", default="",
                     help="species within --genus, e.g. 'Amanita muscaria'")
    add.add_argument("--flag", action="append", default=[], choices=FLAGS,
                     help="exclude the photo from training (repeatable)")
    add.add_argument("--note", default="", help="free-text note")
    add.add_argument("--annotator", required=True, help="expert name")
    add.add_argument("--model-version", default="", help="model whose queue you worked from")
    add.set_defaults(func=run_add)


def locate(image: str, data: str | None) -> tuple[Path, str]:
    """Split ``--image`` into (photo root, path relative to it), refusing escapes."""
    from mushroom.decision import relative_to_data, resolve_image, safe_relpath
    from mushroom.taxonomy import GENERA, canonical_genus

    if data is not None:
        rel = (relative_to_data(data, image) if Path(image).is_absolute()
               else safe_relpath(image))
        resolve_image(data, rel)
        return Path(data), rel
    full = Path(image).resolve()
    if not full.is_file():
        raise FileNotFoundError(f"no photo at {image}")
    if canonical_genus(full.parent.name) not in GENERA:  # "amanita/" too, as in the scan
        raise ValueError(f"{image} is not inside a <Genus>/ folder; pass --data ROOT")
    root = full.parent.parent
    return root, relative_to_data(root, full)


def run_add(args: argparse.Namespace) -> int:
    """Validate and append one decision."""
    from mushroom.authority import split_authority
    from mushroom.labels import record

    if not (args.genus or args.species or args.flag or args.note.strip()):
        raise ValueError("say what to record: --genus (with --species), --flag or --note")
    root, rel = locate(args.image, args.data)
    row = record(args.labels, root, rel, args.annotator, genus=args.genus, species=args.species,
                 flags=tuple(args.flag), note=args.note, model_version=args.model_version)
    what = ",".join(row.flags) if row.flags else (row.species or row.genus)
    print(f"{row.action}: {row.path} [{row.image_id}] {row.previous_genus} -> {what}")
    cited = split_authority(args.species)[1] if row.species else ""
    if cited:
        print(f"(author citation “{cited}” dropped: the species list keeps the bare name)")
    return 0


def run_undo(args: argparse.Namespace) -> int:
    """Append an undo row for the annotator's latest decision still in force."""
    from mushroom.labels import undo_last

    row = undo_last(existing_store(args.labels), args.annotator)
    if row is None:  # an error like any other: "error: ...", status 2
        raise ValueError(f"nothing to undo for {args.annotator}: no decision of theirs is in "
                         f"force in {args.labels}")
    print(f"undone: {row.path} [{row.image_id}]")
    return 0


def run_retire(args: argparse.Namespace) -> int:
    """Append a row that takes an expert's addition off the species list."""
    from mushroom.species import retire_species

    name = " ".join(args.species.split())
    if not name:
        raise ValueError("--species is empty: give the binomial to retire, e.g. "
                         "'Amanita muscria'")
    row = retire_species(args.labels, name.split(" ")[0], name, args.annotator)
    print(f"retired: {row.species} ({row.notes}); experts no longer see it in the "
          f"{row.genus} species list")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Write the consensus CSV."""
    from mushroom.consensus import export_csv

    existing_store(args.labels)
    if Path(args.out).resolve().parent == Path(args.labels).resolve():
        raise ValueError(f"--out {args.out} is inside the label store {args.labels}: the store's "
                         "files are append-only; write the export elsewhere")
    check_csv_out(args.out)
    n = export_csv(args.labels, args.out)
    print(f"wrote {args.out} ({n} photo{'' if n == 1 else 's'})")
    _warn_stray_undos(args.labels)
    return 0


def _warn_stray_undos(labels_dir: str) -> None:
    """Name undo rows that cancel nothing (hand-written, or naming another expert's row):
    the export ignored them, and whoever wrote them should know."""
    from mushroom.consensus import stray_undos
    from mushroom.labels import read_rows

    stray = stray_undos(read_rows(labels_dir))
    if stray:
        first = stray[0]
        print(f"warning: {len(stray)} undo row(s) cancel nothing and were ignored (an undo "
              f"cancels only its own expert's earlier row on the same photo), e.g. "
              f"{first.annotator}'s undo {first.row_id} on {first.path}", file=sys.stderr)


def run_merge(args: argparse.Namespace) -> int:
    """Append the rows of another store that this one lacks (by row id)."""
    from mushroom.store_merge import merge

    new, known, species = merge(args.labels, args.source)
    print(f"merged {args.source} into {args.labels}: {new} new decision(s), {known} already "
          f"there, {species} species-list row(s)")
    return 0


def run_hash(args: argparse.Namespace) -> int:
    """Ask for a password twice and print ``name:hash`` for MUSHROOM_EXPERTS."""
    import getpass

    from mushroom.auth import hash_password, valid_name

    if not valid_name(args.name):
        raise ValueError(f"expert name {args.name!r} must be 1-64 letters, digits or _.@-")
    if sys.stdin.isatty():
        first, second = getpass.getpass("password: "), getpass.getpass("again: ")
    else:  # scripted use: the password comes on stdin, never on the command line
        first = second = sys.stdin.readline().rstrip("\n")
    if first != second:
        raise ValueError("the passwords differ")
    print(f"{args.name}:{hash_password(first)}")
    return 0
