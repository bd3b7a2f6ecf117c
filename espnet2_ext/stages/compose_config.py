"""Composes an ESPnet training config from preset fragments in ``espnet2_ext/conf/``.

ESPnet configs are single YAML files, but the things we vary are independent: the model
around the frontend (``conf/model``), the SSL upstream and layer interface
(``conf/frontend``) and the fusion (``conf/fusion``; the comparison's rows are
:mod:`espnet2_ext.stages.rows`). Keeping them apart avoids near-duplicate configs that
differ in one line. Fragments are deep-merged in order (a later fragment wins, dicts
merge key by key, lists are replaced), then ``key.sub=value`` overrides (values parsed
as YAML) are applied::

    python -m espnet2_ext.stages.compose_config \\
        espnet2_ext/conf/model/mustc_paper.yaml \\
        espnet2_ext/conf/frontend/hubert_base.yaml \\
        espnet2_ext/conf/fusion/gsgn_drop.yaml \\
        --set frontend_conf.upstreams.0.path_or_url=exp/upstream/hubert.pt \\
        -o exp/st_gsgn_drop/train.yaml
"""

import argparse
import copy
import sys
from pathlib import Path
from typing import Any, Iterable, List, Optional

import yaml

from espnet2_ext.utils.atomic import write_text_atomic


def deep_merge(base: Any, update: Any) -> Any:
    """``update`` merged into a copy of ``base``: dicts recursively, others replaced."""
    if isinstance(base, dict) and isinstance(update, dict):
        merged = copy.deepcopy(base)
        for key, value in update.items():
            merged[key] = deep_merge(merged[key], value) if key in merged else value
        return merged
    return copy.deepcopy(update)


def set_path(config: dict, dotted: str, value: Any) -> None:
    """Sets ``config[a][b][0]...`` for ``dotted = "a.b.0"`` (list indices allowed)."""
    keys = dotted.split(".")
    node = config
    for i, key in enumerate(keys[:-1]):
        if isinstance(node, list):
            node = node[int(key)]
        else:
            nxt = keys[i + 1]
            node = node.setdefault(key, [] if nxt.isdigit() else {})
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def load_fragment(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a config fragment must be a YAML mapping")
    return data


def apply_overrides(config: dict, overrides: Iterable[str]) -> dict:
    """Applies ``key.sub=value`` overrides (values parsed as YAML) to ``config``.

    Returns:
        ``config``, changed in place.

    Raises:
        ValueError: an override without ``=`` or without a key.
    """
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"override '{item}' is not of the form key.sub=value")
        set_path(config, key, yaml.safe_load(value))
    return config


def compose(paths: Iterable[Path], overrides: Iterable[str] = ()) -> dict:
    """Merges the fragments at ``paths`` and applies ``key=value`` overrides."""
    config: dict = {}
    for path in paths:
        config = deep_merge(config, load_fragment(Path(path)))
    return apply_overrides(config, overrides)


def write_config(config: dict, output: Optional[Path]) -> None:
    """Writes ``config`` as YAML (keys in their order) to ``output`` atomically, or
    to standard output when ``output`` is None."""
    text = yaml.safe_dump(config, sort_keys=False)
    if output is None:
        sys.stdout.write(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(output, text)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(
        description="Merge ESPnet config fragments (later files win)."
    )
    parser.add_argument("fragments", nargs="+", type=Path)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("-o", "--output", type=Path, default=None)
    args = parser.parse_args(argv)
    write_config(compose(args.fragments, args.overrides), args.output)


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
