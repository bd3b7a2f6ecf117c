"""A trained model is used from Python the ESPnet way, with only ``import espnet2_ext``.

This is the README's "Use a trained model from Python" example: in a fresh process,
``import espnet2_ext`` and ESPnet's own ``Speech2Text`` must decode exactly what the
recipe's decoding stage (``espnet2_ext.bin.st_inference``) wrote.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

#: The decoding options of both paths (small: the model is a one-epoch toy).
DECODE = {"beam_size": 2, "maxlenratio": 0.5, "penalty": 0.0}


@pytest.fixture(scope="module")
def decoded(tmp_path_factory, tiny_hubert, toy_st):
    """A one-epoch toy experiment and the hypotheses its decoding stage wrote."""
    import yaml

    from espnet2_ext.bin.st_inference import main as st_inference
    from espnet2_ext.bin.st_train import main as st_train
    from espnet2_ext.corpora.toy_st import st_train_args, tiny_st_config

    tmp = tmp_path_factory.mktemp("python_use")
    conf = tiny_st_config(
        "multiview",
        {"upstreams": [{"name": "hubert_local", "path_or_url": str(tiny_hubert)}],
         "dim": 16, "fusion": "gsgn"},
    )  # fmt: skip
    (tmp / "in.yaml").write_text(yaml.safe_dump(conf))
    exp = tmp / "exp"
    st_train(st_train_args(toy_st, exp, tmp / "in.yaml", max_epoch=1))
    wav_scp = toy_st["valid"] / "wav.scp"
    st_inference(
        [
            "--output_dir", str(tmp / "decode"),
            "--ngpu", "0",
            "--batch_size", "1",
            "--data_path_and_name_and_type", f"{wav_scp},speech,sound",
            "--st_train_config", str(exp / "config.yaml"),
            "--st_model_file", str(exp / "1epoch.pth"),
        ]  # fmt: skip
        + [f"--{k}={v}" for k, v in DECODE.items()]
    )
    hyps = {}
    for line in (tmp / "decode" / "1best_recog" / "text").read_text().splitlines():
        key, _, text = line.partition(" ")
        hyps[key] = text
    return {"exp": exp, "wav_scp": wav_scp, "hyps": hyps}


FRESH_PROCESS = """
import json, sys
import soundfile
import espnet2_ext  # the only espnet2_ext line a user writes
from espnet2.bin.st_inference import Speech2Text

exp, wav_scp, decode = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
speech2text = Speech2Text(
    st_train_config=f"{exp}/config.yaml", st_model_file=f"{exp}/1epoch.pth", **decode
)
hyps = {}
for line in open(wav_scp):
    key, path = line.split(maxsplit=1)
    speech, rate = soundfile.read(path.strip())
    text, tokens, token_ids, hyp = speech2text(speech)[0]
    hyps[key] = text
print(json.dumps(hyps))
"""


def test_speech2text_after_import_espnet2_ext_decodes_like_the_recipe(decoded):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(FRESH_PROCESS), str(decoded["exp"]),
         str(decoded["wav_scp"]), json.dumps(DECODE)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    hyps = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(hyps) == 4
    assert any(hyps.values())  # not only empty strings on both sides
    assert hyps == decoded["hyps"]


def test_stock_espnet_without_import_does_not_know_the_frontend(decoded):
    """The failure ``import espnet2_ext`` prevents (and the README explains)."""
    code = (
        "from espnet2.bin.st_inference import Speech2Text\n"
        f"Speech2Text(st_train_config='{decoded['exp']}/config.yaml')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode != 0
    assert "--frontend must be one of" in proc.stderr
    assert "multiview" in proc.stderr.splitlines()[-1]


def test_import_espnet2_ext_imports_neither_torch_nor_espnet():
    code = (
        "import sys, espnet2_ext\n"
        "print(sorted({'torch', 'espnet2'} & set(sys.modules)))"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
