"""The rows of the GSGN paper's comparison, defined once: row -> config fragments.

A row is what one line of the paper's tables varies: how the FBank and SSL views are
fused (a fragment under ``espnet2_ext/conf/fusion/``) and what else it needs (the
``units`` row: a k-means codebook). A recipe composes a row's training config as its
own model and frontend fragments, then the row's fragments, then fragments of its own
for that row (e.g. a shorter branch-dropout schedule), then the row's settings and
``--set`` overrides (:func:`compose_row`). The recipes that do: MuST-C
(:mod:`espnet2_ext.recipes.mustc.presets`), mini_st (``local/model_config.sh``, through
the CLI below) and ML-SUPERB's ``gsgn`` frontend
(:mod:`espnet2_ext.recipes.ml_superb.matrix`).

CLI::

    python -m espnet2_ext.stages.rows list          # fbank_only ssl_only units ...
    python -m espnet2_ext.stages.rows list --ssl    # the rows that run an upstream
    python -m espnet2_ext.stages.rows config gsgn_drop conf/model_mini.yaml \\
        conf/frontend_mini.yaml --extra gsgn_drop=conf/fusion_gsgn_drop_mini.yaml \\
        --codebook exp/units/km100_layer3.pt --set max_epoch=2 \\
        -o exp/configs/gsgn_drop.yaml

``config`` gives ``--codebook`` to the rows that need one and ignores it for the
others, so that a recipe can pass its codebook for every row.
"""

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from espnet2_ext.stages.compose_config import (
    apply_overrides,
    compose,
    set_path,
    write_config,
)
from espnet2_ext.utils.package_data import conf_path

#: Where a row that needs a codebook reads it.
CODEBOOK_KEY = "frontend_conf.units_conf.codebook"


@dataclass(frozen=True)
class Row:
    """One row of the comparison.

    Attributes:
        fragments: Fragments under ``espnet2_ext/conf/``, merged in this order after
            the recipe's model and frontend.
        table: The paper's table and row it reproduces (or why it has none).
        ssl: The row's frontend loads and runs the SSL upstream (False: FBank only,
            its results do not depend on the upstream).
        codebook: The row needs a k-means codebook (:data:`CODEBOOK_KEY`).
    """

    fragments: Sequence[str]
    table: str
    ssl: bool = True
    codebook: bool = False


#: The rows, in the order of the paper's tables: Table I (FBank-only, S-feature only,
#: GSGN, GSGN+Drop), Table II (noise in place of the S-feature), Table III (other
#: fusions). Table IV is any row with an ASR-initialised acoustic encoder (a recipe
#: option, not a row).
ROWS: Dict[str, Row] = {
    "fbank_only": Row(
        ("fusion/fbank_only.yaml",), "Table I, S2T(FBanks-only)", ssl=False
    ),
    "ssl_only": Row(
        ("fusion/ssl_only.yaml",),
        "Table I, S2T(S-feature-only), with the upstream's layers through the"
        " frontend's interface in place of the paper's units",
    ),
    # The paper's S-feature: k-means unit ids of one upstream layer (HuBERT Base
    # layer 9, 500 units).
    "units": Row(("fusion/units.yaml",), "Table I, S2T(S-feature-only)", codebook=True),
    "concat": Row(("fusion/concat.yaml",), "Table III, S2T-Concat"),
    "gated_no_gradient": Row(
        ("fusion/gated_no_gradient.yaml",),
        "none: GSGN's gate with the gate loss off (lambda = 0)",
    ),
    "gsgn": Row(("fusion/gsgn.yaml",), "Table I, S2T-GSGN"),
    "gsgn_drop": Row(("fusion/gsgn_drop.yaml",), "Table I, S2T-GSGN+Drop"),
    "noise": Row(("fusion/noise_gsgn_drop.yaml",), "Table II, Replace, S2T-GSGN+Drop"),
}


def get_row(name: str) -> Row:
    """The row called ``name``.

    Raises:
        ValueError: naming the valid rows for an unknown one.
    """
    if name not in ROWS:
        raise ValueError(f"unknown row '{name}'; valid: {' '.join(ROWS)}")
    return ROWS[name]


def row_fragments(name: str) -> List[Path]:
    """The paths of the row's fragments, in merge order.

    Raises:
        ValueError: an unknown row.
        FileNotFoundError: a fragment missing from the installed package.
    """
    return [conf_path(f) for f in get_row(name).fragments]


def row_overrides(name: str, codebook: Optional[str] = None) -> Dict[str, str]:
    """The settings (dotted key -> value) the row needs beyond its fragments.

    Args:
        name: a row; a recipe's own row outside :data:`ROWS` (a baseline) needs none.
        codebook: the k-means codebook, for the rows that need one.

    Raises:
        ValueError: a row that needs a codebook without one, or a codebook for a row
            that needs none.
    """
    needs = name in ROWS and ROWS[name].codebook
    if needs and not codebook:
        raise ValueError(
            f"row '{name}' needs --codebook: the k-means codebook (the recipes'"
            " units_codebook), fitted by espnet2_ext.stages.fit_units"
        )
    if codebook and not needs:
        rows = " ".join(f"'{r}'" for r, row in ROWS.items() if row.codebook)
        raise ValueError(f"--codebook is for row {rows} only, not '{name}'")
    return {CODEBOOK_KEY: str(codebook)} if needs else {}


def compose_row(
    name: str,
    base: Sequence[Path],
    extra: Sequence[Path] = (),
    codebook: Optional[str] = None,
    overrides: Sequence[str] = (),
) -> dict:
    """The training config of a row in a recipe.

    Args:
        name: a key of :data:`ROWS`.
        base: the recipe's fragments before the row's (model, frontend).
        extra: the recipe's fragments after the row's, for this row.
        codebook: see :func:`row_overrides`.
        overrides: ``key.sub=value`` overrides applied last.

    Raises:
        ValueError: an unknown row, a misplaced or missing codebook, a bad override.
    """
    config = compose([*base, *row_fragments(name), *extra])
    for key, value in row_overrides(name, codebook).items():
        set_path(config, key, value)
    return apply_overrides(config, overrides)


def upstream_entry(upstream: str) -> dict:
    """The ``frontend_conf.upstreams`` entry of an upstream given on a command line.

    Args:
        upstream: an s3prl upstream name (``hubert``, ``wavlm_base_plus``: s3prl
            downloads the checkpoint), or the path of a checkpoint in s3prl's converted
            HuBERT format (loaded with ``hubert_local``, no download): anything with a
            ``/`` or a ``.pt``/``.pth`` suffix.

    Raises:
        ValueError: for a path-like value that names no file.
    """
    looks_like_path = "/" in upstream or upstream.endswith((".pt", ".pth"))
    if not looks_like_path:
        return {"name": upstream}
    path = Path(upstream)
    if not path.is_file():
        raise ValueError(
            f"--upstream {upstream}: no such checkpoint file - give an s3prl name"
            " (e.g. hubert) or the path of a converted HuBERT checkpoint"
        )
    return {"name": "hubert_local", "path_or_url": str(path.resolve())}


def _extra_fragments(items: Sequence[str]) -> Dict[str, List[Path]]:
    """``ROW=FRAGMENT`` items -> row -> fragments, in the order given.

    Raises:
        ValueError: an item without ``=``, or an unknown row.
    """
    extra: Dict[str, List[Path]] = {}
    for item in items:
        row, sep, fragment = item.partition("=")
        if not sep or not fragment:
            raise ValueError(f"--extra '{item}' is not of the form ROW=FRAGMENT")
        get_row(row)
        extra.setdefault(row, []).append(Path(fragment))
    return extra


def get_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="The rows of the paper's comparison and their training configs."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    names = sub.add_parser("list", help="print the rows on one line, in order")
    names.add_argument(
        "--ssl", action="store_true", help="only the rows that run an SSL upstream"
    )
    config = sub.add_parser(
        "config", help="compose one row's training config (see the module docstring)"
    )
    config.add_argument("row", help="a row (see 'list')")
    config.add_argument(
        "base", nargs="+", type=Path, help="the recipe's model and frontend fragments"
    )
    config.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="ROW=FRAGMENT",
        help="a fragment merged after ROW's own (repeatable; ignored for other rows)",
    )
    config.add_argument(
        "--codebook", default=None, help="k-means codebook, for the rows that need one"
    )
    config.add_argument("--set", dest="overrides", action="append", default=[])
    config.add_argument("-o", "--output", type=Path, default=None)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = get_args(argv)
    if args.command == "list":
        print(*(name for name, row in ROWS.items() if row.ssl or not args.ssl))
        return
    row = get_row(args.row)
    config = compose_row(
        args.row,
        args.base,
        _extra_fragments(args.extra).get(args.row, []),
        args.codebook if row.codebook else None,
        args.overrides,
    )
    write_config(config, args.output)


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
