"""The embedded mini_st ASR recipe (asr.sh) end to end with tiny settings.

The only CI test of the ASR path: ``MultiViewASRTask`` through ``bin/asr_train``
(stages 10-11), ``bin/asr_inference`` (stage 12) and the ASR scorer (stage 13), on a
40-sentence corpus with one epoch of GSGN+Drop (about 1.5 minutes on 2 CPU cores).
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from espnet2_ext.fileio.kaldi_io import read_kaldi_map

pytestmark = pytest.mark.recipe

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "egs2" / "mini_st" / "asr1"


def test_asr_stages_1_to_13_write_wer_and_the_table(tmp_path):
    work = tmp_path / "egs2" / "mini_st" / "asr1"
    work.mkdir(parents=True)
    for name in ("asr.sh", "utils", "path.sh", "cmd.sh", "local"):
        (work / name).symlink_to((RECIPE / name).resolve())
    shutil.copytree(RECIPE / "conf", work / "conf")
    shutil.copy2(RECIPE / "run.sh", work / "run.sh")
    downloads = os.environ.get("ESPNET2_EXT_DOWNLOADS", str(work / "downloads"))
    args = ["--local_data_opts", "--max_pairs 40 --dev_sentences 6 --test_sentences 6"]
    args += ["--token_type", "char", "--max_epoch", "1", "--models", "gsgn_drop"]
    proc = subprocess.run(
        ["./run.sh", *args],
        cwd=work,
        capture_output=True,
        text=True,
        env={**os.environ, "ESPNET2_EXT_DOWNLOADS": downloads},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]

    exp = work / "exp" / "asr_gsgn_drop_char"
    for dset in ("dev", "test"):
        decode = exp / f"decode_{dset}_valid.acc.ave"
        refs = read_kaldi_map(work / "dump" / "raw" / dset / "text")
        assert list(read_kaldi_map(decode / "text")) == list(refs)
        result = json.loads((decode / "score" / "result.json").read_text())
        assert isinstance(result["wer"], float) and isinstance(result["cer"], float)
        assert result["word"]["ref_tokens"] == sum(
            len(t.split()) for t in refs.values()
        )
        text = (decode / "score" / "result.txt").read_text().splitlines()
        assert text[0].startswith("WER = ") and text[1].startswith("CER = ")
    table = (work / "exp" / "results_char.md").read_text().splitlines()
    assert table[0] == (
        "| model | dev WER | dev CER | test WER | test CER | epochs | train time |"
        " conv. epoch | reaches ref @ | speed-up |"
    )
    assert table[2].startswith("| gsgn_drop_char | ") and " | 1 | " in table[2]
