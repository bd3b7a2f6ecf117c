"""The comparison rows of the mini_st recipe: configs, their frontends, run.sh options.

``mini_config`` (egs2/mini_st/st1/local/model_config.sh, the rows of
espnet2_ext.stages.rows) is run by bash from the recipe dir for every row of
``--models all``; each written config must parse with st_train's parser and build, with
a tiny random upstream and codebook in place of the recipe's, the frontend its row
stands for.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from espnet2_ext.frontend.fusion import ConcatFusion, FBankOnlyFusion, SSLOnlyFusion
from espnet2_ext.frontend.gsgn import GatedFusion
from espnet2_ext.frontend.multiview import MultiViewFrontend

REPO = Path(__file__).resolve().parents[3]
RECIPE = REPO / "egs2" / "mini_st" / "st1"
ROWS = [
    "fbank_only",
    "ssl_only",
    "units",
    "concat",
    "gated_no_gradient",
    "gsgn",
    "gsgn_drop",
    "noise",
]
MINI_SCHEDULE = [[1, 0.3, 0.0], [5, 0.5, 0.3], [9, 0.3, 0.0]]  # 12 epochs


def _bash(script: str, cwd: Path = RECIPE) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "ESPNET2_EXT_ROOT": str(REPO),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
    }
    return subprocess.run(
        ["bash", "-c", f"set -euo pipefail; . local/model_config.sh; {script}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def configs(tmp_path_factory):
    out = tmp_path_factory.mktemp("configs")
    proc = _bash(
        'echo "${mini_models}"; units_codebook=exp/units/km100_layer3.pt; '
        f'for m in ${{mini_models}}; do mini_config "$m" {out}/"$m".yaml 2; done'
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split(), out


def test_models_all_expands_to_every_row_of_the_comparison(configs):
    names, out = configs
    assert names == ROWS
    assert sorted(p.stem for p in out.glob("*.yaml")) == sorted(ROWS)


def test_unknown_model_fails_with_one_line_naming_the_valid_ones(tmp_path):
    proc = _bash(f"mini_config gsgn_dorp {tmp_path}/x.yaml")
    assert proc.returncode == 1 and not (tmp_path / "x.yaml").exists()
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, lines
    assert "unknown model 'gsgn_dorp'" in lines[0]
    assert all(name in lines[0].split() for name in ROWS), lines[0]


def test_units_row_needs_the_codebook_path(tmp_path):
    proc = _bash(f"mini_config units {tmp_path}/x.yaml")
    assert proc.returncode == 1 and "units_codebook" in proc.stderr


@pytest.mark.parametrize("row", ROWS)
def test_every_row_config_parses_with_st_train(configs, row, tmp_path):
    from espnet2_ext.tasks.st import MultiViewSTTask

    _, out = configs
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("<blank>\n<unk>\na\n<sos/eos>\n")
    args = MultiViewSTTask.get_parser().parse_args(
        ["--config", str(out / f"{row}.yaml"), "--token_list", str(tokens)]
    )
    assert args.frontend == "multiview" and args.max_epoch == 2
    assert args.freeze_param == ["frontend.upstream"]


#: What each row adds to conf/frontend_mini.yaml's frontend_conf, as mini_config wrote
#: it when the rows were a shell ``case``; since the rows come from
#: espnet2_ext.stages.rows, gsgn_drop also carries its fragment's gate_activation and
#: cos_granularity (GatedFusion's defaults) under the mini schedule.
ROW_FRONTEND_CONF = {
    "fbank_only": {"fusion": "fbank"},
    "ssl_only": {"fusion": "ssl"},
    "units": {
        "fusion": "ssl",
        "ssl_view": "units",
        "units_conf": {"codebook": "exp/units/km100_layer3.pt"},
    },
    "concat": {"fusion": "concat"},
    "gated_no_gradient": {"fusion": "gsgn", "fusion_conf": {"gate_loss_weight": 0.0}},
    "gsgn": {
        "fusion": "gsgn",
        "fusion_conf": {
            "gate_activation": "2sigmoid",
            "cos_granularity": "dim",
            "gate_loss_weight": 1.0,
        },
    },
    "gsgn_drop": {
        "fusion": "gsgn",
        "fusion_conf": {
            "gate_activation": "2sigmoid",
            "cos_granularity": "dim",
            "gate_loss_weight": 1.0,
            "branch_dropout": MINI_SCHEDULE,
        },
    },
    "noise": {
        "ssl_view": "noise",
        "fusion": "gsgn",
        "fusion_conf": {"gate_loss_weight": 1.0, "branch_dropout": MINI_SCHEDULE},
    },
}


@pytest.mark.parametrize("row", ROWS)
def test_every_row_config_is_the_mini_model_and_frontend_plus_the_row(configs, row):
    _, out = configs
    config = yaml.safe_load((out / f"{row}.yaml").read_text())
    model = yaml.safe_load((RECIPE / "conf" / "model_mini.yaml").read_text())
    frontend = yaml.safe_load((RECIPE / "conf" / "frontend_mini.yaml").read_text())
    conf = config.pop("frontend_conf")
    assert config == {**model, "max_epoch": 2}
    assert conf == {**frontend["frontend_conf"], **ROW_FRONTEND_CONF[row]}


def _frontend(out: Path, row: str, hubert: Path, codebook: Path) -> tuple:
    config = yaml.safe_load((out / f"{row}.yaml").read_text())
    conf = config["frontend_conf"]
    conf["upstreams"][0]["path_or_url"] = str(hubert)
    if "units_conf" in conf:
        assert conf["units_conf"]["codebook"] == "exp/units/km100_layer3.pt"
        conf["units_conf"]["codebook"] = str(codebook)
    return MultiViewFrontend(**conf), conf


EXPECTED = {  # row: (fusion class, ssl_view, uses FBank, uses SSL)
    "fbank_only": (FBankOnlyFusion, "features", True, False),
    "ssl_only": (SSLOnlyFusion, "features", False, True),
    "units": (SSLOnlyFusion, "units", False, True),
    "concat": (ConcatFusion, "features", True, True),
    "gated_no_gradient": (GatedFusion, "features", True, True),
    "gsgn": (GatedFusion, "features", True, True),
    "gsgn_drop": (GatedFusion, "features", True, True),
    "noise": (GatedFusion, "noise", True, True),
}


@pytest.mark.parametrize("row", ROWS)
def test_every_row_builds_the_frontend_it_claims(
    configs, row, tiny_hubert, tiny_codebook
):
    _, out = configs
    frontend, conf = _frontend(out, row, tiny_hubert, tiny_codebook)
    fusion_class, ssl_view, uses_fbank, uses_ssl = EXPECTED[row]
    assert type(frontend.fusion) is fusion_class
    assert (frontend.ssl_view, frontend.uses_fbank, frontend.uses_ssl) == (
        ssl_view,
        uses_fbank,
        uses_ssl,
    )
    assert frontend.output_size() == conf["dim"] == 128
    assert hasattr(frontend, "upstream") == uses_ssl
    assert hasattr(frontend, "units") == (ssl_view == "units")
    assert hasattr(frontend, "noise") == (ssl_view == "noise")
    if isinstance(frontend.fusion, GatedFusion):
        weight = 0.0 if row == "gated_no_gradient" else 1.0
        assert frontend.fusion.gate_loss_weight == weight
        if row in ("gsgn_drop", "noise"):  # the mini schedule, not the paper's
            assert conf["fusion_conf"]["branch_dropout"] == MINI_SCHEDULE
            assert frontend.fusion.schedule.probabilities(4) == (0.3, 0.0)
            assert frontend.fusion.schedule.probabilities(5) == (0.5, 0.3)
        else:
            assert frontend.fusion.schedule is None
    wav = torch.randn(2, 8000)
    lengths = torch.tensor([8000, 4800])
    feats, lens = frontend.train()(
        wav, lengths
    )  # train: the noise view learns its range
    if uses_ssl:  # the per-utterance minimum of (n - 1) // 320 + 1 and FBank's
        expected = [(n - 1) // 320 + 1 for n in lengths.tolist()]
    else:  # no upstream: ceil((n // 160 + 1) / 2) stacked FBank frames
        expected = [(n // 160 + 2) // 2 for n in lengths.tolist()]
    assert feats.shape == (2, max(expected), frontend.output_size())
    assert lens.tolist() == expected


# ------------------------------------------------------------------ run.sh options
@pytest.fixture()
def recipe_copy(tmp_path):
    work = tmp_path / "egs2" / "mini_st" / "st1"
    work.mkdir(parents=True)
    for name in ("st.sh", "utils", "path.sh", "cmd.sh", "local", "conf"):
        (work / name).symlink_to((RECIPE / name).resolve())
    shutil.copy2(RECIPE / "run.sh", work / "run.sh")
    return work


def _run_sh(work: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ESPNET2_EXT_PYTHON_ENV": str(Path(sys.executable).parents[1])}
    return subprocess.run(
        ["./run.sh", *args], cwd=work, env=env, capture_output=True, text=True
    )


def test_run_sh_rejects_bad_models_and_seeds_before_any_stage(recipe_copy):
    proc = _run_sh(recipe_copy, "--models", "fbank_only nope")
    assert proc.returncode != 0
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith("run.sh: unknown model 'nope'; valid: fbank_only ssl_only units")
    )
    proc = _run_sh(recipe_copy, "--models", "all", "--seeds", "1 x")
    assert proc.returncode != 0
    assert proc.stderr.strip() == "run.sh: --seeds takes integers; got 'x'"
    assert not (recipe_copy / "exp").exists() and not (recipe_copy / "data").exists()


def test_run_sh_writes_a_config_per_row_with_models_all(recipe_copy):
    # --stop_stage 0: configs only, no st.sh stage is selected.
    proc = _run_sh(recipe_copy, "--models", "all", "--stop_stage", "0")
    assert proc.returncode == 0, proc.stderr
    written = sorted(p.stem for p in (recipe_copy / "exp" / "configs").glob("*.yaml"))
    assert written == sorted(ROWS)
    units = yaml.safe_load((recipe_copy / "exp/configs/units.yaml").read_text())
    assert units["frontend_conf"]["units_conf"] == {
        "codebook": "exp/units/km100_layer3.pt"
    }


def test_run_sh_points_the_ssl_view_at_the_trained_upstream_by_default(recipe_copy):
    def upstream_of(model):
        config = yaml.safe_load((recipe_copy / f"exp/configs/{model}.yaml").read_text())
        return [u["path_or_url"] for u in config["frontend_conf"]["upstreams"]]

    proc = _run_sh(recipe_copy, "--models", "ssl_only gsgn_drop", "--stop_stage", "0")
    assert proc.returncode == 0, proc.stderr
    for model in ("ssl_only", "gsgn_drop"):
        assert upstream_of(model) == ["exp/upstream/hubert_mini_trained.pt"]
    proc = _run_sh(
        recipe_copy,
        "--models",
        "ssl_only",
        "--ssl_upstream",
        "random",
        "--stop_stage",
        "0",
    )
    assert proc.returncode == 0, proc.stderr
    assert upstream_of("ssl_only") == ["exp/upstream/hubert_mini.pt"]
    proc = _run_sh(recipe_copy, "--ssl_upstream", "pretrained", "--stop_stage", "0")
    assert proc.returncode != 0
    assert proc.stderr.strip() == (
        "run.sh: --ssl_upstream is trained or random, not 'pretrained'"
    )
