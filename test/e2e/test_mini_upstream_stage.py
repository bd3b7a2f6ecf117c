"""The trained-upstream stage (``local/upstream.sh``) end to end, tiny.

SSL speech from catalog English that avoids the ST corpus' sentences, HuBERT
pre-training and CTC fine-tuning of the ``tiny`` preset for one epoch each, the layer
probe; then a re-run that must come from the caches. About a minute on 2 cores.
"""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from espnet2_ext.fileio.kaldi_io import read_kaldi_map

pytestmark = pytest.mark.recipe

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "egs2" / "mini_st" / "st1"
TINY = (
    "--max_sentences 14 --heldout_sentences 4 --preset tiny --num_clusters 8 "
    "--pretrain_epochs 1 --finetune_epochs 1 --probe_epochs 1 --threads 1"
).split()


@pytest.fixture(scope="module")
def stage(tmp_path_factory):
    work = tmp_path_factory.mktemp("upstream_stage")
    for name in ("utils", "path.sh"):
        (work / name).symlink_to((RECIPE / name).resolve())
    (work / "local").mkdir()
    (work / "local" / "upstream.sh").symlink_to(
        (RECIPE / "local" / "upstream.sh").resolve()
    )
    excluded = work / "st_text.en"
    excluded.write_text("utt1 this field is required\n", encoding="utf-8")
    env = {
        **os.environ,
        "ESPNET2_EXT_CACHE": str(work / "cache"),
        "ESPNET2_EXT_DOWNLOADS": os.environ.get(
            "ESPNET2_EXT_DOWNLOADS", str(work / "downloads")
        ),
    }
    cmd = ["bash", "-c", '. ./path.sh && local/upstream.sh "$@"', "upstream.sh"]
    cmd += [*TINY, "--exclude_text", str(excluded), "--out", "exp/up/tiny.pt"]
    # twice here, then once in a copy of the folder made before any run (another
    # clone: the speech synthesised again under other absolute paths; the same cache)
    clone = work.parent / f"{work.name}_clone"
    shutil.copytree(work, clone, symlinks=True)
    runs = []
    for cwd in (work, work, clone):
        start = time.time()
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
        runs.append((proc, time.time() - start))
    return work, runs


def test_checkpoint_probe_and_disjoint_text(stage):
    work, _ = stage
    ckpt = work / "exp" / "up" / "tiny.pt"
    assert ckpt.stat().st_size > 0
    probe = json.loads((work / "exp" / "up" / "tiny.probe.json").read_text())
    # the tiny preset: CNN output + 2 transformer layers, and the FBank baseline,
    # each probed as is and standardised
    assert list(probe["per"]) == ["layer0", "layer1", "layer2", "fbank"]
    for row in probe["per"].values():
        assert sorted(row) == ["as is", "standardised"]
        assert all(0.0 <= per for per in row.values())
    assert probe["table"].splitlines()[0] == (
        "| features | PER, as is | PER, standardised |"
    )
    spoken = read_kaldi_map(work / "data" / "ssl_speech" / "train" / "text")
    assert len(spoken) == 14 - 4  # --max_sentences minus --heldout_sentences
    assert "this field is required" not in {v.lower() for v in spoken.values()}


def test_rerun_comes_from_the_caches(stage):
    _, runs = stage
    (first, first_s), (second, second_s), _ = runs
    log = second.stdout + second.stderr
    assert "cache" in log.lower(), log[-2000:]
    assert second_s < first_s


def test_another_clone_finds_the_cached_upstream_and_probe(stage):
    work, runs = stage
    (first, _), _, (clone, _) = runs
    clone_dir = work.parent / f"{work.name}_clone"
    log = clone.stdout + clone.stderr
    assert "is cached for these arguments and data - skipping" in log, log[-2000:]
    assert "has the probe of these inputs - skipping" in log, log[-2000:]
    assert "pretrain epoch" not in log and "; training " not in log
    assert str(clone_dir) in (clone_dir / "data/ssl_speech/train/wav.scp").read_text()
    # the clone printed the same probe table as the first run
    table = json.loads((work / "exp/up/tiny.probe.json").read_text())["table"]
    assert table in first.stdout and table in clone.stdout
    assert (clone_dir / "exp/up/tiny.pt").read_bytes() == (
        work / "exp/up/tiny.pt"
    ).read_bytes()
