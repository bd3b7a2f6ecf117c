"""ESPnet's own ``egs2/TEMPLATE/st1/st.sh`` with ``--python "python3 -m
espnet2_ext.bin.python_shim"``: where each of its ``espnet2.bin.*`` calls goes."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from espnet2_ext.bin.python_shim import STOCK_ST_SH_MODULES, resolve_module

ROOT = Path(__file__).resolve().parents[2]
SHIM = [sys.executable, "-m", "espnet2_ext.bin.python_shim"]
#: The calls that must reach our entry points (frontend reporting, epoch-aware trainer).
OURS = {
    "espnet2.bin.st_train": "espnet2_ext.bin.st_train",
    "espnet2.bin.st_inference": "espnet2_ext.bin.st_inference",
}


@pytest.mark.parametrize("module", STOCK_ST_SH_MODULES)
def test_every_stock_st_sh_call_resolves_to_an_installed_module(module):
    resolved = resolve_module(module)
    assert resolved == OURS.get(module, module)
    assert importlib.util.find_spec(resolved) is not None, resolved


def test_launch_through_the_shim_runs_our_st_train_in_the_job(tmp_path):
    """st.sh stage 11: ``${python} -m espnet2.bin.launch --cmd run.pl ... --
    ${python} -m espnet2.bin.st_train ...``; the job's log must show our task's
    config (the multiview frontend with its GSGN default)."""
    log = tmp_path / "train.log"
    run_pl = ROOT / "egs2" / "TEMPLATE" / "common" / "utils" / "run.pl"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        SHIM + ["-m", "espnet2.bin.launch", "--cmd", str(run_pl), "--log", str(log),
                "--ngpu", "0", "--"]
        + SHIM + ["-m", "espnet2.bin.st_train", "--frontend", "multiview",
                  "--print_config"],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:] + log.read_text()[-2000:]
    text = log.read_text()
    assert "frontend: multiview" in text and "fusion: gsgn" in text, text[-2000:]
