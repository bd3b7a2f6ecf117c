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
    from espnet2_ext.synth.toy_st import st_train_args, tiny_st_config

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


@pytest.fixture(scope="module")
def packed(tmp_path_factory, decoded):
    """The experiment packed from the directory its config's paths are relative to."""
    import yaml

    from espnet2_ext.stages.pack import pack_experiment

    exp = decoded["exp"]
    base = exp.parents[1]  # holds the toy data, the upstream and the experiment
    # The recipe writes paths relative to the recipe dir; make this config so, too.
    config = (exp / "config.yaml").read_text()
    (exp / "config.yaml").write_text(config.replace(f"{base}/", ""))
    assert str(base) not in (exp / "config.yaml").read_text()
    cwd = os.getcwd()
    os.chdir(base)
    try:
        archive = pack_experiment(exp.relative_to(base), "st", "1epoch.pth")
    finally:
        os.chdir(cwd)
    loaded = yaml.safe_load((exp / "config.yaml").read_text())
    return {"archive": base / archive, "config": loaded, "card": exp / "README.md"}


def test_pack_carries_every_file_the_config_names(packed):
    import zipfile

    names = set(zipfile.ZipFile(packed["archive"]).namelist())
    config = packed["config"]
    upstream = config["frontend_conf"]["upstreams"][0]["path_or_url"]
    assert upstream == "upstream0/hubert.pt" and upstream in names
    assert isinstance(config["token_list"], list)  # ESPnet keeps tokens inline
    assert any(n.endswith("1epoch.pth") for n in names)
    assert any(n.endswith("README.md") for n in names)
    card = packed["card"].read_text()
    assert card.startswith("# exp\n") and "- frontend: `multiview`" in card
    assert "  - fusion: `gsgn`" in card


UNPACK_AND_DECODE = """
import json, sys
import soundfile
import yaml
import espnet2_ext
from espnet2.bin.st_inference import Speech2Text
from espnet2.main_funcs.pack_funcs import unpack

archive, outdir, wav_scp, decode = sys.argv[1:5]
files = unpack(archive, outdir)
config = yaml.safe_load(open(files["st_train_config"]))
upstream = config["frontend_conf"]["upstreams"][0]["path_or_url"]
speech2text = Speech2Text(**files, **json.loads(decode))
hyps = {}
for line in open(wav_scp):
    key, path = line.split(maxsplit=1)
    hyps[key] = speech2text(soundfile.read(path.strip())[0])[0][0]
print(json.dumps({"hyps": hyps, "upstream": upstream, "files": files}))
"""


def test_unpacked_model_decodes_the_same_with_no_path_into_the_old_exp(
    packed, decoded, tmp_path
):
    import shutil

    # Only the archive goes to a new place; the experiment's tree is gone.
    archive = tmp_path / "model.zip"
    shutil.copy(packed["archive"], archive)
    shutil.rmtree(decoded["exp"])
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(UNPACK_AND_DECODE), str(archive),
         str(tmp_path / "unpacked"), str(decoded["wav_scp"]), json.dumps(DECODE)],
        capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["hyps"] == decoded["hyps"]
    unpacked = str(tmp_path / "unpacked")
    assert out["upstream"].startswith(unpacked)
    assert all(path.startswith(unpacked) for path in out["files"].values())
    assert str(decoded["exp"]) not in json.dumps(out)
