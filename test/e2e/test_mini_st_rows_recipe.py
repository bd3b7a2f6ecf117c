"""mini_st/st1's units stage, --asr_init and --seeds end to end with tiny settings.

Copies of ``egs2/mini_st/{st1,asr1}`` (linked to the real scripts) build a 40-sentence
corpus; ``run.sh --models units --asr_init true --seeds "1 2"`` fits the codebook,
trains the FBank-only ASR model of asr1, then two ST models initialised from it, and
a re-run must skip the codebook. Marked ``slow`` (about 10 minutes on a 2-core CPU).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from espnet2_ext.frontend.units import load_codebook

pytestmark = [pytest.mark.recipe, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "egs2" / "mini_st"
ARGS = [
    "--models", "units", "--ssl_upstream", "random", "--asr_init", "true",
    "--seeds", "1 2",
    "--max_epoch", "1", "--token_type", "char", "--num_units", "20",
    "--fit_units_args", "--n_init 2",
    "--local_data_opts", "--max_pairs 40 --dev_sentences 6 --test_sentences 6",
]  # fmt: skip


def _copy(root: Path) -> Path:
    for task in ("st1", "asr1"):
        work = root / "egs2" / "mini_st" / task
        work.mkdir(parents=True)
        for entry in (MINI / task).iterdir():
            if entry.name == "run.sh":
                (work / "run.sh").write_bytes(entry.read_bytes())
                (work / "run.sh").chmod(0o755)
            else:
                (work / entry.name).symlink_to(entry.resolve())
    return root / "egs2" / "mini_st" / "st1"


def _run(work: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "ESPNET2_EXT_PYTHON_ENV": str(Path(sys.executable).parents[1]),
        "ESPNET2_EXT_DOWNLOADS": os.environ.get(
            "ESPNET2_EXT_DOWNLOADS", str(work.parent / "downloads")
        ),
    }
    proc = subprocess.run(
        ["./run.sh", *ARGS], cwd=work, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


def test_units_asr_init_and_seeds(tmp_path):
    work = _copy(tmp_path)
    _run(work)

    _, meta = load_codebook(work / "exp/units/km20_layer3_random.pt")
    assert (meta["layer"], meta["num_units"], meta["dim"]) == (3, 20, 128)
    assert meta["args"]["wav_scp"] == "dump/raw/train/wav.scp"
    assert meta["args"]["path_or_url"] == "exp/upstream/hubert_mini.pt"

    asr = Path("../asr1/exp/asr_fbank_only_char/valid.acc.ave.pth")
    assert (work / asr).is_file()
    for seed in (1, 2):
        exp = work / f"exp/st_units_de_char_random_asrinit_seed{seed}"
        config = yaml.safe_load((exp / "config.yaml").read_text())
        assert config["seed"] == seed
        assert config["init_param"] == [f"{asr}:encoder:encoder:encoder.encoders.2."]
        assert config["frontend_conf"]["ssl_view"] == "units"
        log = (exp / "train.log").read_text()
        assert f"Loading pretrained params from {asr}:encoder:encoder:" in log
        state = torch.load(exp / "valid.acc.ave.pth", map_location="cpu")
        assert torch.equal(
            state["frontend.units.centroids"],
            load_codebook(work / "exp/units/km20_layer3_random.pt")[0],
        )
    assert (work / "exp/results_de_char.md").is_file()

    again = _run(work)
    assert "already fitted with these arguments - skipping" in again.stderr
    assert (
        again.stderr.count("Stage 11: training: exp/st_units_de_char_random_asrinit")
        == 2
    )
