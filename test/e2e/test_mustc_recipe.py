"""The MuST-C recipe end to end (stages 1-13 and its results table) on a fake tree.

A copy of ``egs2/mustc/st1`` (linked to the real st.sh, utils, path.sh and cmd.sh)
reads a miniature MuST-C tree (:mod:`espnet2_ext.recipes.mustc.fake_corpus`), trains the
tiny stand-in model (``conf/tuning/model_tiny.yaml``) on a random-weight HuBERT for
one epoch as FBank-only and GSGN+Drop, decodes both test sets and writes the table.
En-De runs in the default suite (about 2 minutes on 2 cores); En-Fr is ``slow``.
"""

import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from espnet2_ext.fileio.kaldi_io import read_kaldi_map
from espnet2_ext.recipes.mustc.fake_corpus import build_fake_mustc

pytestmark = pytest.mark.recipe

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "egs2" / "mustc" / "st1"
MODELS = ("fbank_only", "gsgn_drop")


def _recipe_copy(root: Path) -> Path:
    work = root / "egs2" / "mustc" / "st1"
    work.mkdir(parents=True)
    for name in ("st.sh", "utils", "path.sh", "cmd.sh"):
        (work / name).symlink_to((RECIPE / name).resolve())
    shutil.copytree(RECIPE / "conf", work / "conf", symlinks=False)
    shutil.copytree(RECIPE / "local", work / "local")
    for name in ("run.sh", "db.sh"):
        shutil.copy2(RECIPE / name, work / name)
    return work


def _run(work: Path, mustc: Path, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        ["./run.sh", *args],
        cwd=work,
        capture_output=True,
        text=True,
        env={**os.environ, "MUST_C": str(mustc)},
        timeout=1500,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc


def _tiny_run(tmp: Path, tiny_hubert: Path, tgt: str):
    mustc = build_fake_mustc(tmp / "mustc", (tgt,), talks=3, segments_per_talk=6)
    work = _recipe_copy(tmp)
    args = [
        "--tgt_lang", tgt, "--models", " ".join(MODELS),
        "--model_fragment", "conf/tuning/model_tiny.yaml",
        "--upstream", str(tiny_hubert), "--ngpu", "0", "--gpu_inference", "false",
        "--nj", "2", "--inference_nj", "2", "--src_nbpe", "40", "--tgt_nbpe", "80",
        "--st_args", "--max_epoch 1",
    ]  # fmt: skip
    return work, mustc, _run(work, mustc, *args), args


@pytest.fixture(scope="module")
def en_de(tmp_path_factory, tiny_hubert):
    return _tiny_run(tmp_path_factory.mktemp("mustc_de"), tiny_hubert, "de")


def _check_run(work: Path, mustc: Path, tgt: str) -> None:
    pair = f"en-{tgt}"
    # Stage 1: the sets under ESPnet's names, segments into the fake talk wavs.
    for name in ("train", "dev", "tst-COMMON", "tst-HE"):
        data = work / "data" / f"{name}.{pair}"
        wavs = read_kaldi_map(data / "wav.scp")
        segments = read_kaldi_map(data / "segments")
        assert set(read_kaldi_map(data / f"text.{tgt}")) == set(segments)
        assert all(
            Path(p).parent == mustc / pair / "data" / name / "wav"
            for p in wavs.values()
        )
        assert {v.split()[0] for v in segments.values()} == set(wavs)
    # Stages 12-13: every test utterance decoded and scored, for each model.
    for model in MODELS:
        exp = work / "exp" / f"st_{model}_{tgt}_bpe80"
        assert (exp / "valid.acc.ave.pth").is_file()
        for name in ("tst-COMMON", "tst-HE"):
            dset = f"{name}.{pair}"
            (decode,) = exp.glob(f"decode_{dset}_*")
            ref = read_kaldi_map(work / "dump" / "raw" / dset / f"text.{tgt}")
            assert set(read_kaldi_map(decode / "text")) == set(ref)
            assert (decode / "score" / "result.json").is_file()
    # The results table: one row per experiment, both test sets.
    with open(work / "exp" / "results.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    names = {r["experiment"] for r in rows}
    assert names == {f"st_{m}_{tgt}_bpe80" for m in MODELS}, names
    assert (work / "exp" / "RESULTS.md").read_text().startswith("<!-- Generated")


def test_en_de_stages_1_to_13_and_the_results_table(en_de):
    work, mustc, _, _ = en_de
    _check_run(work, mustc, "de")


def test_a_rerun_skips_every_finished_stage(en_de):
    work, mustc, _, args = en_de
    checkpoints = [work / "exp" / f"st_{m}_de_bpe80" / "checkpoint.pth" for m in MODELS]
    before = {p: p.stat().st_mtime_ns for p in checkpoints}
    log = _run(work, mustc, *args).stderr
    # Per model (st.sh runs once per row): 4 sets formatted and filtered, 2 token
    # lists, the stats, the training and 2 test sets decoded.
    assert log.count("already formatted - skipping") == 4 * len(MODELS)
    assert log.count("already filtered - skipping") == 4 * len(MODELS)
    assert log.count("already has tokens - skipping") == 2 * len(MODELS)
    for model in MODELS:
        assert f"Stage 11: training: exp/st_{model}_de_bpe80: already done" in log
    assert log.count("already decoded - skipping") == 2 * len(MODELS)
    assert {p: p.stat().st_mtime_ns for p in checkpoints} == before


def test_missing_corpus_says_how_to_obtain_it(tmp_path):
    work = _recipe_copy(tmp_path)
    proc = subprocess.run(
        ["./run.sh", "--stop_stage", "1", "--models", "fbank_only"],
        cwd=work, capture_output=True, text=True, timeout=300,
        env={**os.environ, "MUST_C": str(tmp_path / "nowhere")},
    )  # fmt: skip
    assert proc.returncode == 1
    err = proc.stdout + proc.stderr
    assert f"no directory {tmp_path / 'nowhere'}/en-de/data" in err
    assert "https://ict.fbk.eu/must-c/" in err
    assert "set MUST_C=<root> in db.sh" in err


@pytest.mark.slow
def test_en_fr_stages_1_to_13(tmp_path, tiny_hubert):
    work, mustc, _, _ = _tiny_run(tmp_path, tiny_hubert, "fr")
    _check_run(work, mustc, "fr")
