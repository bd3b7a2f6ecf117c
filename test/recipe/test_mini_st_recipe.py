"""The embedded mini_st recipe end to end (stages 1-13) with tiny settings.

A copy of ``egs2/mini_st/st1`` in a temporary directory (links to the real st.sh,
utils, path.sh and cmd.sh) builds a 40-sentence corpus, trains GSGN+Drop for one
epoch, decodes and scores; then a re-run must skip every finished stage, and a
training killed after its first epoch must resume from that epoch's checkpoint.
About 4 minutes on a 2-core CPU.
"""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from espnet2_ext.recipe.kaldi_io import read_kaldi_map

pytestmark = pytest.mark.recipe

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "egs2" / "mini_st" / "st1"
TINY = [
    "--local_data_opts",
    "--max_pairs 40 --dev_sentences 6 --test_sentences 6",
    "--token_type",
    "char",
    "--nj",
    "2",
    "--inference_nj",
    "2",
]


def _recipe_copy(root: Path) -> Path:
    """A recipe dir like the repo's, linked to the shared TEMPLATE scripts."""
    work = root / "egs2" / "mini_st" / "st1"
    work.mkdir(parents=True)
    for name in ("st.sh", "utils", "path.sh", "cmd.sh"):
        (work / name).symlink_to((RECIPE / name).resolve())
    for name in ("conf", "local"):
        shutil.copytree(RECIPE / name, work / name)
    shutil.copy2(RECIPE / "run.sh", work / "run.sh")
    return work


def _run(work: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        ["./run.sh", *args],
        cwd=work,
        capture_output=True,
        text=True,
        env=_env(work),
        **kwargs,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


def _env(work: Path) -> dict:
    # Catalog wheels are cached across runs where the caller says so.
    downloads = os.environ.get("ESPNET2_EXT_DOWNLOADS", str(work / "downloads"))
    return {**os.environ, "ESPNET2_EXT_DOWNLOADS": downloads}


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    work = _recipe_copy(tmp_path_factory.mktemp("recipe"))
    first = _run(work, *TINY, "--max_epoch", "1", "--models", "gsgn_drop")
    return work, first


def test_stages_1_to_13_write_scores_and_the_table(recipe):
    work, first = recipe
    exp = work / "exp" / "st_gsgn_drop_de_char"
    for dset in ("dev", "test"):
        decode = exp / "decode_{}_valid.acc.ave".format(dset)
        refs = read_kaldi_map(work / "dump" / "raw" / dset / "text.de")
        hyps = read_kaldi_map(decode / "text")
        assert list(hyps) == list(refs) and len(refs) >= 6
        result = json.loads((decode / "score" / "result.json").read_text())
        for metric in ("bleu", "chrf", "ter"):
            assert isinstance(result[metric], float)
        assert 0.0 <= result["bleu"] <= 100.0 and 0.0 <= result["chrf"] <= 100.0
        text = (decode / "score" / "result.txt").read_text()
        assert text.startswith("BLEU = ")
        assert "case: cased" in text
    table = (work / "exp" / "results_de_char.md").read_text().splitlines()
    assert table[0].startswith("| model | dev BLEU | dev chrF | test BLEU |")
    assert table[2].startswith("| gsgn_drop_de_char | ") and " | 1 | " in table[2]
    assert "\n".join(table) in first.stdout
    assert (work / "exp" / "results_de_char.png").stat().st_size > 0
    # The corpus README names each source package, version and licence.
    readme = (work / "data" / "corpus" / "README.md").read_text()
    assert "Django" in readme and "licen" in readme.lower()


def test_references_score_100_against_themselves(recipe, tmp_path):
    work, _ = recipe
    ref = work / "dump" / "raw" / "test" / "text.de"
    subprocess.run(
        [
            "bash",
            "-c",
            ". ./path.sh && python3 -m espnet2_ext.recipe.st_scoring "
            f"--hyp {ref} --ref {ref} --outdir {tmp_path}",
        ],
        cwd=work,
        check=True,
        capture_output=True,
        env=_env(work),
    )
    result = json.loads((tmp_path / "result.json").read_text())
    assert (result["bleu"], result["chrf"], result["ter"]) == (100.0, 100.0, 0.0)


def test_rerun_skips_finished_stages(recipe):
    work, _ = recipe
    exp = work / "exp" / "st_gsgn_drop_de_char"
    before = {
        p: p.stat().st_mtime_ns for p in (exp / "checkpoint.pth", exp / "train.log")
    }
    again = _run(work, *TINY, "--max_epoch", "1", "--models", "gsgn_drop")
    log = again.stderr
    assert "is already built with these arguments" in log
    assert log.count("already formatted - skipping") == 3
    assert log.count("already filtered - skipping") == 3
    assert log.count("already has tokens - skipping") == 2
    assert "Stage 10: collect stats: already done" in log
    assert "Stage 11: training: exp/st_gsgn_drop_de_char: already done" in log
    assert log.count("already decoded - skipping") == 2
    assert {p: p.stat().st_mtime_ns for p in before} == before


def _reporter_epochs(exp: Path) -> dict:
    from espnet2.train.reporter import Reporter

    state = torch.load(exp / "checkpoint.pth", map_location="cpu", weights_only=False)
    reporter = Reporter()
    reporter.load_state_dict(state["reporter"])
    return {e: reporter.stats[e]["train"]["loss"] for e in sorted(reporter.stats)}


def test_training_killed_midway_resumes_from_its_checkpoint(recipe):
    work, _ = recipe
    args = [*TINY, "--max_epoch", "2", "--models", "fbank_only"]
    args += ["--stage", "11", "--stop_stage", "11"]
    exp = work / "exp" / "st_fbank_only_de_char"
    proc = subprocess.Popen(
        ["./run.sh", *args],
        cwd=work,
        env=_env(work),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 600
        while not (exp / "1epoch.pth").exists():
            assert proc.poll() is None, "training ended before its first epoch finished"
            assert time.time() < deadline, "no checkpoint after 10 minutes"
            time.sleep(0.5)
        time.sleep(0.2)  # into epoch 2
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (exp / "2epoch.pth").exists() and not (exp / ".train.done").exists()
    killed = _reporter_epochs(exp)
    assert list(killed) == [1]

    _run(work, *args)
    resumed = _reporter_epochs(exp)
    assert list(resumed) == [1, 2]
    assert resumed[1] == killed[1]  # epoch 1 was not trained again
    log = (exp / "train.log").read_text()
    assert "The training was resumed using" in log
    assert (exp / "2epoch.pth").exists() and (exp / ".train.done").exists()
