"""Packs a finished experiment with ESPnet's own ``espnet2.bin.pack`` and a model card.

Run from the recipe directory (the paths in ``config.yaml`` are relative to it)::

    python -m espnet2_ext.stages.pack exp/st_gsgn_drop_de_bpe150 --task st
    # -> exp/st_gsgn_drop_de_bpe150/packed.zip

Everything the model needs travels in the archive: the training config, the model
file (``valid.acc.ave.pth`` by default), and every file the config refers to (token
lists, sentencepiece models, normalisation statistics, the SSL upstream checkpoint,
a units codebook). A model card, ``README.md`` beside the config, summarises the
model, its data and its scores with their sacreBLEU signatures. ESPnet's
``espnet2.main_funcs.pack_funcs.unpack`` (what ``espnet_model_zoo`` uses) rewrites
those paths on unpacking, so nothing points back into the old ``exp/``::

    import espnet2_ext
    from espnet2.bin.st_inference import Speech2Text
    from espnet2.main_funcs.pack_funcs import unpack

    speech2text = Speech2Text(**unpack("packed.zip", "model_dir"))
"""

import argparse
import json
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import yaml

#: ``espnet2.bin.pack`` subcommands and the option names of their two files.
TASK_FILES = {
    "st": ("st_train_config", "st_model_file"),
    "asr": ("asr_train_config", "asr_model_file"),
}


def referenced_files(config: Any, root: Path) -> Iterator[str]:
    """Every string in ``config`` (nested) that names an existing file under root."""
    if isinstance(config, dict):
        for value in config.values():
            yield from referenced_files(value, root)
    elif isinstance(config, (list, tuple)):
        for value in config:
            yield from referenced_files(value, root)
    elif isinstance(config, str) and config and (root / config).is_file():
        yield config


def check_relative(paths: List[str], root: Path) -> None:
    """Packed paths must be relative to ``root``, or unpacking cannot rewrite them."""
    outside = [p for p in paths if Path(p).is_absolute()]
    if outside:
        raise SystemExit(
            f"pack: {', '.join(outside)}: absolute path(s) in the config; unpacking "
            f"rewrites only paths relative to the directory packed from ({root}) - "
            "run the recipe with relative paths, or pack from the recipe directory"
        )


def _scores(exp: Path) -> List[Dict[str, Any]]:
    rows = []
    for result in sorted(exp.glob("decode_*/score/result.json")):
        data = json.loads(result.read_text(encoding="utf-8"))
        rows.append({"decode": result.parent.parent.name, **data})
    return rows


def model_card(exp: Path, config: Dict[str, Any], model_file: str) -> str:
    """The README.md of a packed model (Markdown)."""
    frontend = config.get("frontend_conf") or {}
    lines = [
        f"# {exp.name}",
        "",
        "Trained with espnet2_ext (an ESPnet2 extension: FBank + SSL fusion).",
        "Load it after `import espnet2_ext`, which registers the `multiview`",
        "frontend into ESPnet's tasks.",
        "",
        "## Model",
        "",
        f"- frontend: `{config.get('frontend')}`",
    ]
    for key in ("interface", "fusion", "rate", "dim", "ssl_view"):
        if key in frontend:
            lines.append(f"  - {key}: `{frontend[key]}`")
    for up in frontend.get("upstreams") or []:
        lines.append(f"  - upstream: `{up.get('name')}` {up.get('path_or_url', '')}")
    for key in ("encoder", "decoder", "extra_asr_decoder", "normalize"):
        if config.get(key):
            lines.append(f"- {key}: `{config[key]}`")
    lines.append(f"- model file: `{Path(model_file).name}`")
    lines += ["", "## Data", ""]
    for split in ("train", "valid"):
        for entry in config.get(f"{split}_data_path_and_name_and_type") or []:
            path, name, kind = entry.split(",") if isinstance(entry, str) else entry
            lines.append(f"- {split}: `{name}` from `{path}` ({kind})")
    scores = _scores(exp)
    lines += ["", "## Scores", ""]
    if not scores:
        lines.append("No scored decoding in the experiment directory.")
    for row in scores:
        numbers = ", ".join(
            f"{k} {row[k]:.2f}"
            for k in ("bleu", "chrf", "ter", "wer", "cer")
            if isinstance(row.get(k), (int, float))
        )
        lines.append(f"- `{row['decode']}`: {numbers}")
        for key, value in row.items():
            if key.endswith("signature"):
                lines.append(f"  - {key}: `{value}`")
    return "\n".join(lines) + "\n"


def pack_experiment(
    exp: Path, task: str = "st", model_file: str = "valid.acc.ave.pth",
    out: Optional[Path] = None,
) -> Path:  # fmt: skip
    """Packs ``exp`` (run from the directory its config's paths are relative to).

    Returns:
        The archive's path.
    """
    from espnet2.bin.pack import main as espnet_pack

    root = Path.cwd()
    config_path = exp / "config.yaml"
    model_path = exp / model_file
    for path in (config_path, model_path):
        if not path.is_file():
            raise SystemExit(f"pack: {path}: no such file - is the experiment done?")
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    options = sorted(set(referenced_files(config, root)))
    check_relative(options, root)
    card = exp / "README.md"
    card.write_text(model_card(exp, config, model_file), encoding="utf-8")
    out = out or exp / "packed.zip"
    config_key, model_key = TASK_FILES[task]
    cmd = [task, "--outpath", str(out), f"--{config_key}", str(config_path)]
    cmd += [f"--{model_key}", str(model_path), "--option", str(card)]
    for option in options:
        cmd += ["--option", option]
    espnet_pack(cmd)
    return out


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exp", type=Path, help="experiment directory (exp/st_...)")
    parser.add_argument("--task", choices=sorted(TASK_FILES), default="st")
    parser.add_argument("--model_file", default="valid.acc.ave.pth")
    parser.add_argument(
        "--out", type=Path, default=None, help="default: EXP/packed.zip"
    )
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    pack_experiment(args.exp, args.task, args.model_file, args.out)


if __name__ == "__main__":
    from espnet2_ext.utils.deps import run_cli

    run_cli(main, input_errors=True)
