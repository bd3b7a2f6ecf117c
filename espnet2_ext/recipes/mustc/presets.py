"""The training configs of the MuST-C recipe: one per row of the GSGN paper's tables.

Each row of the comparison (:mod:`espnet2_ext.stages.rows`) is the paper's ST model
(``conf/model/mustc_paper.yaml``: 12 acoustic + 6 textual encoder blocks, 6 decoder
blocks, d 512) with HuBERT Base (``conf/frontend/hubert_base.yaml``) and the row's
fragments (``conf/fusion/``), merged by :mod:`espnet2_ext.stages.compose_config`.
``espnet_conformer`` is ESPnet's own ``must_c_v2`` conformer baseline
(``conf/model/mustc_espnet_conformer.yaml``), so a run can be set beside ESPnet's
published numbers.

No width is written in any fragment: the frontend derives its output size from the
loaded upstream and ESPnet sizes the encoder's input from ``frontend.output_size()``.

Usage::

    python -m espnet2_ext.recipes.mustc.presets --row gsgn_drop \\
        -o exp/configs/gsgn_drop.yaml
    python -m espnet2_ext.recipes.mustc.presets --row ssl_only \\
        --upstream /data/hubert_base_ls960.pt -o exp/configs/ssl_only.yaml  # offline
    python -m espnet2_ext.recipes.mustc.presets --row units \\
        --codebook exp/units/hubert_base_L9_km500.pt -o exp/configs/units.yaml
    python -m espnet2_ext.recipes.mustc.presets --list
"""

import argparse
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from espnet2_ext.stages import rows
from espnet2_ext.stages.compose_config import compose, set_path, write_config
from espnet2_ext.stages.rows import upstream_entry
from espnet2_ext.utils.package_data import CONF_ROOT

#: The package's ``conf/`` (fragments).
CONF = CONF_ROOT
PAPER_MODEL = "model/mustc_paper.yaml"
HUBERT_BASE = "frontend/hubert_base.yaml"
BASELINE = "espnet_conformer"

#: Row name -> fragments under ``conf/``, in merge order (later wins): each row of
#: :data:`espnet2_ext.stages.rows.ROWS` on the paper's model and HuBERT Base, then
#: ESPnet's must_c_v2 conformer + ASR-init baseline (its own FBank frontend).
ROWS: Dict[str, Tuple[str, ...]] = {
    **{
        name: (PAPER_MODEL, HUBERT_BASE, *row.fragments)
        for name, row in rows.ROWS.items()
    },
    BASELINE: ("model/mustc_espnet_conformer.yaml",),
}
#: Where each row comes from (``--list``).
SOURCES: Dict[str, str] = {
    **{name: row.table for name, row in rows.ROWS.items()},
    BASELINE: "ESPnet's must_c_v2 conformer baseline",
}
#: Rows with an SSL frontend (``--upstream`` applies to them; ``fbank_only`` writes
#: the upstream but does not load it).
SSL_ROWS = tuple(r for r, frags in ROWS.items() if HUBERT_BASE in frags)
#: The rows ``run.sh --models all`` trains (the baseline is asked for by name).
PAPER_ROWS = tuple(rows.ROWS)


def row_config(
    row: str,
    upstream: Optional[str] = None,
    codebook: Optional[str] = None,
    model: Optional[Path] = None,
) -> dict:
    """The training config of one row.

    Args:
        row: a key of :data:`ROWS`.
        upstream: replaces the fragments' upstream (see
            :func:`~espnet2_ext.stages.rows.upstream_entry`); only for rows in
            :data:`SSL_ROWS`; ``None`` keeps HuBERT Base (``hubert``).
        codebook: the k-means codebook of the ``units`` row (required there, refused
            elsewhere).
        model: a model fragment that replaces the row's first one (the paper's model,
            or the baseline's), e.g. a small model for a quick check.

    Raises:
        ValueError: naming the valid rows for an unknown one, or a misplaced option.
    """
    if row not in ROWS:
        raise ValueError(f"unknown row '{row}'; valid: {' '.join(ROWS)}")
    if upstream is not None and row not in SSL_ROWS:
        raise ValueError(f"row '{row}' runs no SSL upstream: drop --upstream")
    settings = rows.row_overrides(row, codebook)
    fragments = [CONF / f for f in ROWS[row]]
    if model is not None:
        fragments[0] = Path(model)
    config = compose(fragments)
    for key, value in settings.items():
        set_path(config, key, value)
    if upstream is not None:
        config["frontend_conf"]["upstreams"] = [upstream_entry(upstream)]
    return config


def get_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Write the training config of one row of the MuST-C recipe."
    )
    parser.add_argument("--row", choices=sorted(ROWS), help="the paper's row")
    parser.add_argument("--upstream", default=None, help="s3prl name or checkpoint")
    parser.add_argument("--codebook", default=None, help="units row: k-means file")
    parser.add_argument(
        "--model", type=Path, default=None, help="replaces the row's model fragment"
    )
    parser.add_argument("-o", "--output", type=Path, default=None)
    parser.add_argument("--list", action="store_true", help="print the rows and exit")
    args = parser.parse_args(argv)
    if not args.list and args.row is None:
        parser.error("--row is required (or --list)")
    return args


def main(argv: Optional[List[str]] = None) -> None:
    args = get_args(argv)
    if args.list:
        for row, fragments in ROWS.items():
            print(f"{row}: {' + '.join(fragments)}  [{SOURCES[row]}]")
        return
    config = row_config(args.row, args.upstream, args.codebook, args.model)
    write_config(config, args.output)


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
