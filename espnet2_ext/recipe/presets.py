"""The training configs of the MuST-C recipe: one per row of the GSGN paper's tables.

Each row is the paper's ST model (``conf/model/mustc_paper.yaml``: 12 acoustic + 6
textual encoder blocks, 6 decoder blocks, d 512) with one SSL frontend
(``conf/frontend/``) and one fusion (``conf/fusion/``), merged by
:mod:`espnet2_ext.recipe.compose_config`. ``espnet_conformer`` is ESPnet's own
``must_c_v2`` conformer baseline (``conf/model/mustc_espnet_conformer.yaml``), so a
run can be set beside ESPnet's published numbers.

No width is written in any fragment: the frontend derives its output size from the
loaded upstream and ESPnet sizes the encoder's input from ``frontend.output_size()``.

Usage::

    python -m espnet2_ext.recipe.presets --row gsgn_drop -o exp/configs/gsgn_drop.yaml
    python -m espnet2_ext.recipe.presets --row ssl_only \\
        --upstream /data/hubert_base_ls960.pt -o exp/configs/ssl_only.yaml  # offline
    python -m espnet2_ext.recipe.presets --row units \\
        --codebook exp/units/hubert_base_L9_km500.pt -o exp/configs/units.yaml
    python -m espnet2_ext.recipe.presets --list
"""

import argparse
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from espnet2_ext.recipe.compose_config import compose
from espnet2_ext.utils.atomic import write_text_atomic

#: The project's ``conf/`` (fragments).
CONF = Path(__file__).resolve().parents[2] / "conf"
PAPER_MODEL = "model/mustc_paper.yaml"
HUBERT_BASE = "frontend/hubert_base.yaml"

#: Row name -> fragments under ``conf/``, in merge order (later wins). The paper's
#: tables: Table I (FBank-only, S-feature only, GSGN, GSGN+Drop), Table II (noise in
#: place of the S-feature), Table III (other fusions); Table IV is any row with an
#: ASR-initialised acoustic encoder (the recipe's ``--pretrained_asr``).
ROWS: Dict[str, Tuple[str, ...]] = {
    "fbank_only": (PAPER_MODEL, HUBERT_BASE, "fusion/fbank_only.yaml"),
    "ssl_only": (PAPER_MODEL, HUBERT_BASE, "fusion/ssl_only.yaml"),
    # The paper's S-feature: k-means units (500) of HuBERT Base layer 9.
    "units": (PAPER_MODEL, "frontend/hubert_base_units.yaml", "fusion/ssl_only.yaml"),
    "concat": (PAPER_MODEL, HUBERT_BASE, "fusion/concat.yaml"),
    "gated_no_gradient": (PAPER_MODEL, HUBERT_BASE, "fusion/gated_no_gradient.yaml"),
    "gsgn": (PAPER_MODEL, HUBERT_BASE, "fusion/gsgn.yaml"),
    "gsgn_drop": (PAPER_MODEL, HUBERT_BASE, "fusion/gsgn_drop.yaml"),
    "noise": (PAPER_MODEL, HUBERT_BASE, "fusion/noise_gsgn_drop.yaml"),
    # ESPnet's must_c_v2 conformer + ASR-init baseline (its own FBank frontend).
    "espnet_conformer": ("model/mustc_espnet_conformer.yaml",),
}
#: Rows whose frontend runs an SSL upstream (``--upstream`` applies to them).
SSL_ROWS = tuple(r for r, frags in ROWS.items() if any("frontend/" in f for f in frags))
#: The rows ``run.sh --models all`` trains (the baseline is asked for by name).
PAPER_ROWS = tuple(r for r in ROWS if r != "espnet_conformer")


def upstream_entry(upstream: str) -> dict:
    """The ``frontend_conf.upstreams[0]`` entry for ``--upstream``.

    Args:
        upstream: an s3prl upstream name (``hubert``, ``wavlm_base_plus``: s3prl
            downloads the checkpoint), or the path of a checkpoint in s3prl's converted
            HuBERT format (loaded with ``hubert_local``, no download).

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


def row_config(
    row: str,
    upstream: Optional[str] = None,
    codebook: Optional[str] = None,
    model: Optional[Path] = None,
) -> dict:
    """The training config of one row.

    Args:
        row: a key of :data:`ROWS`.
        upstream: replaces the fragments' upstream (see :func:`upstream_entry`); only
            for rows in :data:`SSL_ROWS`; ``None`` keeps HuBERT Base (``hubert``).
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
    if row == "units" and not codebook:
        raise ValueError(
            "row 'units' needs --codebook (fitted by espnet2_ext.bin.fit_units)"
        )
    if row != "units" and codebook:
        raise ValueError(f"--codebook is for row 'units' only, not '{row}'")
    fragments = [CONF / f for f in ROWS[row]]
    if model is not None:
        fragments[0] = Path(model)
    config = compose(fragments)
    if upstream is not None:
        config["frontend_conf"]["upstreams"] = [upstream_entry(upstream)]
    if codebook:
        config["frontend_conf"]["units_conf"]["codebook"] = str(codebook)
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
            print(f"{row}: {' + '.join(fragments)}")
        return
    config = row_config(args.row, args.upstream, args.codebook, args.model)
    text = yaml.safe_dump(config, sort_keys=False)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(args.output, text)


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
