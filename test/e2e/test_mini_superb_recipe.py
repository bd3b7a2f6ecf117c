"""The embedded ML-SUPERB benchmark (egs2/mini_superb/asr1) end to end, tiny.

A two-language corpus of a few sentences, two cells of one epoch (FBank and the
weighted sum of a random-weight mini HuBERT): the driver, asr.sh stages 1-12 with the
language tags as tokens, the ML-SUPERB scoring and the report; then a re-run that
skips both cells, and one more learning rate that runs only its two new cells.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.recipe

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "egs2" / "mini_superb" / "asr1"
CORPUS = (
    "--langs fra deu --train_sentences 6 --train_1h_sentences 8 "
    "--dev_sentences 2 --test_sentences 2"
)


def run(work, *args):
    proc = subprocess.run(
        ["./run.sh", "--corpus_opts", CORPUS, "--frontends", "fbank weighted_sum",
         "--max_epoch", "1", *args],
        cwd=work, capture_output=True, text=True, env=dict(os.environ),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc.stdout + proc.stderr


def test_matrix_runs_skips_and_adds_only_new_cells(tmp_path):
    if shutil.which("espeak-ng") is None:
        pytest.skip("needs espeak-ng: make sysdeps")
    work = tmp_path / "egs2" / "mini_superb" / "asr1"
    work.mkdir(parents=True)
    for name in ("asr.sh", "utils", "path.sh", "cmd.sh", "local", "db.sh", "run.sh"):
        (work / name).symlink_to((RECIPE / name).resolve())
    shutil.copytree(RECIPE / "conf", work / "conf", symlinks=False)

    out = run(work, "--lrs", "1e-3")
    assert "2 cell(s) ran, 0 skipped" in out
    report = (work / "exp" / "superb" / "report.md").read_text().splitlines()
    assert report[0].startswith("| track | frontend | lr | dev CER | test CER |")
    rows = [line for line in report if line.startswith("| multi_lid_10min |")]
    assert [r.split(" | ")[1] for r in rows] == ["fbank", "weighted_sum"]
    data = json.loads((work / "exp" / "superb" / "report.json").read_text())
    cells = {c["tag"]: c for c in data["cells"]}
    fbank = cells["multi_lid_10min_fbank_lr1e-3"]
    # 2 test sentences per language, both languages scored, LID counted
    assert sorted(fbank["test"]["cer_per_language"]) == ["deu", "fra"]
    assert fbank["test"]["lid_total"] == 4
    ws = cells["multi_lid_10min_weighted_sum_lr1e-3"]
    cers = [c["test"]["macro_cer"] for c in (fbank, ws)]
    lids = [c["test"]["lid_accuracy"] for c in (fbank, ws)]
    if min(cers) == cers[0] and max(lids) == lids[0]:
        assert fbank["superb"] is None  # best == baseline: SUPERB_s undefined
    else:
        assert fbank["superb"] == 0.0  # the baseline itself
    assert ws["layer_weights"] is not None and len(ws["layer_weights"]) == 5
    assert sum(ws["layer_weights"]) == pytest.approx(1.0)
    assert (work / "exp" / "superb" / "report_cer_per_language.png").exists()
    configs = work / "exp" / "superb" / "configs"
    ws_conf = (configs / "weighted_sum_lr1e-3.yaml").read_text()
    assert "feature_cache: 2GB" in ws_conf  # run.sh's default, SSL cells only
    assert "feature_cache" not in (configs / "fbank_lr1e-3.yaml").read_text()
    checkpoint = work / "exp" / "asr_multi_lid_10min_fbank_lr1e-3" / "checkpoint.pth"
    mtime = checkpoint.stat().st_mtime

    out = run(work, "--lrs", "1e-3")
    assert "0 cell(s) ran, 2 skipped" in out
    out = run(work, "--lrs", "1e-3 3e-4")
    assert "2 cell(s) ran, 2 skipped" in out
    assert checkpoint.stat().st_mtime == mtime
    rows = (work / "exp" / "superb" / "report.csv").read_text().splitlines()
    assert len(rows) == 1 + 4
