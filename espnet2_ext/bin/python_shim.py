"""A ``--python`` replacement that lets ESPnet's stock recipe scripts use espnet2_ext.

ESPnet's ``st.sh`` / ``asr.sh`` run every Python step as ``${python} -m espnet2.bin.X``
or ``${python} path/to/script.py``. Pointing ``--python`` here::

    ./st.sh --python "python3 -m espnet2_ext.bin.python_shim" \
        --st_config conf/multiview.yaml

runs each step in a process where our frontends are registered, and maps the training
entry points (``espnet2.bin.st_train``, ``espnet2.bin.asr_train``) onto ours, which add
frontend reporting and the epoch-aware trainer. Any other module or script runs
unchanged (``runpy``, as ``python -m`` / ``python script.py`` would).
"""

import runpy
import sys
from typing import List, Optional

#: Stock ESPnet entry points replaced by ours.
REPLACEMENTS = {
    "espnet2.bin.st_train": "espnet2_ext.bin.st_train",
    "espnet2.bin.asr_train": "espnet2_ext.bin.asr_train",
    "espnet2.bin.st_inference": "espnet2_ext.bin.st_inference",
    "espnet2.bin.asr_inference": "espnet2_ext.bin.asr_inference",
}

#: Every ``${python} -m espnet2.bin.*`` call of ESPnet's ``egs2/TEMPLATE/st1/st.sh``
#: (data, LM, ST stats/training through ``launch``, decoding, packing), as read from the
#: script. ``test/e2e/test_stock_st_path.py`` checks where each one goes.
STOCK_ST_SH_MODULES = (
    "espnet2.bin.tokenize_text",
    "espnet2.bin.lm_train",
    "espnet2.bin.aggregate_stats_dirs",
    "espnet2.bin.split_scps",
    "espnet2.bin.lm_calc_perplexity",
    "espnet2.bin.launch",
    "espnet2.bin.st_train",
    "espnet2.bin.st_inference",
    "espnet2.bin.st_inference_streaming",
    "espnet2.bin.pack",
)

USAGE = (
    "usage: python -m espnet2_ext.bin.python_shim (-m MODULE | SCRIPT | -c CODE) "
    "[ARGS ...]"
)


def resolve_module(module: str) -> str:
    """The module that actually runs for a requested ``-m`` module."""
    return REPLACEMENTS.get(module, module)


def main(argv: Optional[List[str]] = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        print("replaces: " + ", ".join(f"{k} -> {v}" for k, v in REPLACEMENTS.items()))
        sys.exit(0 if argv else 2)

    from espnet2_ext.tasks import registry

    registry.register()
    if argv[0] == "-m":
        if len(argv) < 2:
            sys.exit(USAGE)
        module = resolve_module(argv[1])
        sys.argv = [module] + argv[2:]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    elif argv[0] == "-c":
        if len(argv) < 2:
            sys.exit(USAGE)
        sys.argv = ["-c"] + argv[2:]
        exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__"})
    else:
        sys.argv = argv
        runpy.run_path(argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
