"""The MT driver (egs2/TEMPLATE/mt1/mt.sh) end to end on a tiny text-only recipe.

A recipe dir in a temporary directory (links to the TEMPLATE's mt.sh, utils, path.sh
and cmd.sh, as egs2/mini_st/st1 has) with a local/data.sh copying 40 train, 4 dev and
4 test English-German sentence pairs of the mini_st grammar, and a 1-block transformer
of width 32 on characters: stages 1-12 write BLEU; a re-run skips every stamped stage;
then a model is trained on a given source token list and sentencepiece model (as an
MT of an ASR -> MT cascade takes the ASR's). About 2 minutes on a 2-core CPU. The
--help and option checks at the end take seconds.
"""

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from espnet2_ext.fileio.kaldi_io import read_kaldi_map
from espnet2_ext.recipes.mini_st.grammar import generate_pairs
from espnet2_ext.stages.tokens import build_tokens

pytestmark = pytest.mark.recipe

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "egs2" / "TEMPLATE"
CONFIG = """\
frontend: embed
frontend_conf:
    embed_dim: 32
    positional_dropout_rate: 0.0
encoder: transformer
encoder_conf:
    output_size: 32
    attention_heads: 2
    linear_units: 64
    num_blocks: 1
    dropout_rate: 0.0
    input_layer: null
    normalize_before: true
decoder: transformer
decoder_conf:
    attention_heads: 2
    linear_units: 64
    num_blocks: 1
    dropout_rate: 0.0
model_conf:
    lsm_weight: 0.1
optim: adam
optim_conf:
    lr: 0.005
batch_type: folded
batch_size: 8
max_epoch: 2
num_workers: 0
best_model_criterion:
-   [valid, acc, max]
keep_nbest_models: 1
"""
# A negative maxlenratio is a fixed maximum output length: an untrained model's
# looping hypotheses stop after 8 tokens.
DECODE = "beam_size: 2\nmaxlenratio: -8.0\nminlenratio: 0.0\n"
DATA_SH = """\
#!/usr/bin/env bash
set -euo pipefail
mkdir -p data
for split in train dev test; do
    rm -rf "data/${split}"
    cp -r "corpus/${split}" "data/${split}"
done
"""
TINY = [
    "--mt_config",
    "conf/mt_tiny.yaml",
    "--inference_config",
    "conf/decode.yaml",
    "--src_token_type",
    "char",
    "--tgt_token_type",
    "char",
    "--test_sets",
    "test",
    "--nj",
    "1",
    "--inference_nj",
    "1",
]
EXP = "exp/mt_mt_tiny_en_de_char"


def _recipe(root: Path) -> Path:
    work = root / "egs2" / "toy" / "mt1"
    work.mkdir(parents=True)
    for name, target in [
        ("mt.sh", TEMPLATE / "mt1" / "mt.sh"),
        ("cmd.sh", TEMPLATE / "common" / "cmd.sh"),
        ("path.sh", TEMPLATE / "common" / "path.sh"),
        ("utils", TEMPLATE / "common" / "utils"),
    ]:
        (work / name).symlink_to(target)
    (work / "conf").mkdir()
    (work / "conf" / "mt_tiny.yaml").write_text(CONFIG)
    (work / "conf" / "decode.yaml").write_text(DECODE)
    (work / "local").mkdir()
    (work / "local" / "data.sh").write_text(DATA_SH)
    (work / "local" / "data.sh").chmod(0o755)
    pairs = generate_pairs(48, langs=["de"])
    for split, chunk in [("train", pairs[:40]), ("dev", pairs[40:44])] + [
        ("test", pairs[44:])
    ]:
        d = work / "corpus" / split
        d.mkdir(parents=True)
        ids = [f"{split}_{i:02d}" for i in range(len(chunk))]
        de = [p.tgt["de"] for p in chunk]
        if split == "train":
            de[3] = ""  # an empty target: dropped in stage 3
        (d / "text.en").write_text("".join(f"{u} {p.en}\n" for u, p in zip(ids, chunk)))
        (d / "text.de").write_text("".join(f"{u} {t}\n" for u, t in zip(ids, de)))
    return work


def _run(work: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["./mt.sh", *args], cwd=work, capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    work = _recipe(tmp_path_factory.mktemp("mt"))
    return work, _run(work, *TINY)


def test_stages_1_to_12_write_bleu(recipe):
    work, first = recipe
    log = first.stderr
    for n in (1, 2, 3, 4, 9, 10, 11, 12):
        assert f"Stage {n}: done in" in log
    assert "dump/raw/train: kept 39 of 40 utterances (dropped: 1 with an empty" in log
    assert "[mt_tiny_en_de_char] epoch 2/2: train loss" in log
    decode = work / EXP / "decode_test_valid.acc.ave"
    refs = read_kaldi_map(work / "dump" / "raw" / "test" / "text.de")
    assert list(read_kaldi_map(decode / "text")) == list(refs) and len(refs) == 4
    result = json.loads((decode / "score" / "result.json").read_text())
    for metric in ("bleu", "chrf", "ter"):
        assert isinstance(result[metric], float)
    assert 0.0 <= result["bleu"] <= 100.0 and result["num_segments"] == 4
    assert (decode / "score" / "result.txt").read_text().startswith("BLEU = ")
    # ESPnet's mt_inference, without the CTC the MT model does not have.
    (inference_log,) = (decode / "logdir").glob("mt_inference.*.log")
    assert "--ctc_weight 0.0" in inference_log.read_text()
    config = yaml.safe_load((work / EXP / "config.yaml").read_text())
    assert config["src_token_type"] == config["token_type"] == "char"
    assert (
        work / "exp" / "mt_stats_en_de_char" / "train" / "text_shape.char"
    ).is_file()


def test_a_rerun_skips_every_stage(recipe):
    work, _ = recipe
    checkpoint = work / EXP / "checkpoint.pth"
    before = checkpoint.stat().st_mtime_ns
    log = _run(work, *TINY).stderr
    assert log.count("already formatted - skipping") == 3
    assert log.count("already filtered - skipping") == 3
    assert log.count("already has tokens - skipping") == 2
    assert "Stage 9: collect stats: already done" in log
    assert f"Stage 10: training: {EXP}: already done" in log
    assert log.count("already decoded - skipping") == 1
    assert checkpoint.stat().st_mtime_ns == before


def test_a_given_source_token_list_and_bpe_model_are_used(recipe):
    work, _ = recipe
    given = build_tokens(
        work / "dump" / "raw" / "train" / "text.en", work / "asr_tokens", "bpe", 40
    )
    args = [
        *TINY,
        "--src_token_type",
        "bpe",
        "--src_token_list",
        "asr_tokens/tokens.txt",
    ]
    # Without its sentencepiece model: one line saying what is missing.
    broken = _run(work, *args, check=False)
    assert broken.returncode == 1
    assert "needs --src_bpemodel" in broken.stderr.strip().splitlines()[-1]
    args += ["--src_bpemodel", "asr_tokens/bpe.model", "--mt_args", "--max_epoch 1"]
    log = _run(work, *args).stderr
    assert "source tokens: the given asr_tokens/tokens.txt asr_tokens/bpe.model" in log
    exp = work / "exp" / "mt_mt_tiny_en_de_given_bpe_char"
    config = yaml.safe_load((exp / "config.yaml").read_text())
    assert config["src_token_list"] == given.read_text(encoding="utf-8").splitlines()
    assert config["src_bpemodel"] == "asr_tokens/bpe.model"
    assert config["src_token_type"] == "bpe" and config["token_type"] == "char"
    assert not list((work / "data" / "token_list").glob("src_bpe*"))
    result = exp / "decode_test_valid.acc.ave" / "score" / "result.json"
    assert isinstance(json.loads(result.read_text())["bleu"], float)


# ESPnet's mt.sh option names (egs2/TEMPLATE/mt1/mt.sh of espnet 202611), and ours for
# a given source token list.
OPTIONS = (
    "stage stop_stage ngpu num_nodes nj inference_nj gpu_inference dumpdir expdir"
    " python local_data_opts train_set valid_set test_sets src_lang tgt_lang"
    " src_token_type src_nbpe src_bpemode tgt_token_type tgt_nbpe tgt_bpemode"
    " mt_tag mt_exp mt_stats_dir mt_config mt_args mt_text_fold_length"
    " inference_config inference_args inference_mt_model"
    " src_token_list src_bpemodel"
).split()


def _bare(tmp_path: Path) -> Path:
    for name in ("utils", "path.sh", "cmd.sh"):
        (tmp_path / name).symlink_to(TEMPLATE / "common" / name)
    return tmp_path


def test_help_lists_every_option(tmp_path):
    p = subprocess.run(
        ["bash", str(TEMPLATE / "mt1" / "mt.sh"), "--help"],
        cwd=_bare(tmp_path),
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr
    listed = re.findall(r"^    --(\w+)", p.stdout, flags=re.M)
    assert set(OPTIONS) <= set(listed), set(OPTIONS) - set(listed)
    assert "    --inference_mt_model       valid.acc.ave.pth" in p.stdout


@pytest.mark.parametrize(
    "args, error",
    [
        ([], "error: --mt_config is required"),
        (["--mt_config", "no.yaml"], "error: --mt_config no.yaml does not exist"),
        (
            ["--mt_config", "c.yaml", "--src_token_list", "no.txt"],
            "error: --src_token_list no.txt does not exist",
        ),
        (
            ["--mt_config", "c.yaml", "--src_bpemodel", "c.yaml"],
            "error: --src_bpemodel goes with --src_token_list",
        ),
        (
            ["--mt_config", "c.yaml", "--src_token_list", "c.yaml"]
            + ["--src_token_type", "char", "--src_bpemodel", "c.yaml"],
            "error: --src_bpemodel is for --src_token_type bpe, not char",
        ),
    ],
)
def test_bad_options_stop_with_one_line(tmp_path, args, error):
    (_bare(tmp_path) / "c.yaml").write_text("{}\n")
    p = subprocess.run(
        ["bash", str(TEMPLATE / "mt1" / "mt.sh"), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 1
    (line,) = p.stderr.strip().splitlines()
    assert "(mt.sh:" in line and error in line
