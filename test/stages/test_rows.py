"""The comparison's rows, defined once: fragments, settings, upstreams and the CLI."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from espnet2_ext.stages.rows import (
    CODEBOOK_KEY,
    ROWS,
    compose_row,
    main,
    row_fragments,
    row_overrides,
    upstream_entry,
)
from espnet2_ext.utils.package_data import CONF_ROOT

REPO = Path(__file__).resolve().parents[2]
NAMES = [
    "fbank_only",
    "ssl_only",
    "units",
    "concat",
    "gated_no_gradient",
    "gsgn",
    "gsgn_drop",
    "noise",
]


def test_rows_are_the_papers_in_table_order_with_what_they_need():
    assert list(ROWS) == NAMES
    assert [r for r, row in ROWS.items() if not row.ssl] == ["fbank_only"]
    assert [r for r, row in ROWS.items() if row.codebook] == ["units"]
    for name, row in ROWS.items():
        assert row.table, name
        assert all(f.startswith("fusion/") for f in row.fragments), name
        assert all((CONF_ROOT / f).is_file() for f in row.fragments), name
    assert ROWS["gsgn_drop"].table == "Table I, S2T-GSGN+Drop"
    assert ROWS["noise"].table.startswith("Table II")


def test_fragments_are_package_paths_and_unknown_rows_list_the_valid_ones():
    assert row_fragments("units") == [CONF_ROOT / "fusion" / "units.yaml"]
    assert row_fragments("noise") == [CONF_ROOT / "fusion" / "noise_gsgn_drop.yaml"]
    with pytest.raises(ValueError, match="unknown row 'gsgn_dorp'; valid: fbank_only"):
        row_fragments("gsgn_dorp")


def test_units_row_is_the_units_view_on_its_own_fusion():
    conf = compose_row("units", [], codebook="km.pt")["frontend_conf"]
    assert conf == {
        "fusion": "ssl",
        "ssl_view": "units",
        "units_conf": {"codebook": "km.pt"},
    }


def test_the_codebook_is_required_by_the_rows_that_need_one_and_refused_elsewhere():
    assert row_overrides("units", "exp/km.pt") == {CODEBOOK_KEY: "exp/km.pt"}
    assert row_overrides("gsgn") == {}
    assert row_overrides("espnet_conformer") == {}  # a recipe's own row
    with pytest.raises(
        ValueError, match="row 'units' needs --codebook.*units_codebook"
    ):
        row_overrides("units")
    with pytest.raises(
        ValueError, match="--codebook is for row 'units' only, not 'gsgn'"
    ):
        row_overrides("gsgn", "km.pt")
    with pytest.raises(ValueError, match="only, not 'espnet_conformer'"):
        row_overrides("espnet_conformer", "km.pt")


def test_compose_order_is_base_row_extra_codebook_then_overrides(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("max_epoch: 9\nfrontend_conf: {dim: 8, fusion: fbank}\n")
    extra = tmp_path / "schedule.yaml"
    extra.write_text(
        "frontend_conf: {fusion_conf: {branch_dropout: [[1, 0.1, 0.0]]}}\n"
    )
    config = compose_row("gsgn_drop", [base], [extra], overrides=["max_epoch=2"])
    conf = config["frontend_conf"]
    assert config["max_epoch"] == 2
    assert (conf["dim"], conf["fusion"]) == (8, "gsgn")  # the row's fusion wins
    assert conf["fusion_conf"]["branch_dropout"] == [[1, 0.1, 0.0]]  # extra wins
    assert conf["fusion_conf"]["gate_loss_weight"] == 1.0  # the row's, kept
    units = compose_row(
        "units",
        [base],
        codebook="a.pt",
        overrides=["frontend_conf.units_conf.codebook=b.pt"],
    )
    assert units["frontend_conf"]["units_conf"] == {"codebook": "b.pt"}


def test_upstream_is_an_s3prl_name_or_an_existing_checkpoint(tmp_path, monkeypatch):
    assert upstream_entry("wavlm_base_plus") == {"name": "wavlm_base_plus"}
    monkeypatch.chdir(tmp_path)
    (tmp_path / "up").mkdir()
    for name in ("up/hubert", "hubert.pth"):  # a "/" or a suffix: a path
        (tmp_path / name).write_bytes(b"")
        assert upstream_entry(name) == {
            "name": "hubert_local",
            "path_or_url": str(tmp_path / name),
        }
    for missing in ("up/nope", "nope.pt"):
        with pytest.raises(ValueError) as err:
            upstream_entry(missing)
        message = str(err.value)
        assert f"--upstream {missing}: no such checkpoint file" in message
        assert "\n" not in message


def test_list_prints_the_rows_on_one_line(capsys):
    main(["list"])
    assert capsys.readouterr().out == " ".join(NAMES) + "\n"
    main(["list", "--ssl"])
    assert capsys.readouterr().out.split() == NAMES[1:]


def test_config_writes_the_row_with_its_extras_only(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("frontend: multiview\nfrontend_conf: {dim: 8}\n")
    extra = tmp_path / "schedule.yaml"
    extra.write_text(
        "frontend_conf: {fusion_conf: {branch_dropout: [[1, 0.1, 0.0]]}}\n"
    )

    def config(row: str, *args: str) -> dict:
        out = tmp_path / "out" / f"{row}.yaml"
        main(
            [
                "config",
                row,
                str(base),
                "--extra",
                f"noise={extra}",
                *args,
                "-o",
                str(out),
            ]
        )
        return yaml.safe_load(out.read_text())

    noise = config("noise", "--codebook", "km.pt", "--set", "max_epoch=2")
    assert noise["max_epoch"] == 2
    assert noise["frontend_conf"]["ssl_view"] == "noise"
    assert noise["frontend_conf"]["fusion_conf"]["branch_dropout"] == [[1, 0.1, 0.0]]
    assert "units_conf" not in noise["frontend_conf"]  # the codebook is the units'
    gsgn_drop = config("gsgn_drop")  # the noise row's extra is not merged here
    assert gsgn_drop["frontend_conf"]["fusion_conf"]["branch_dropout"][1][0] == 11
    units = config("units", "--codebook", "km.pt")
    assert units["frontend_conf"]["units_conf"] == {"codebook": "km.pt"}
    with pytest.raises(ValueError, match="unknown row 'nois'"):
        main(["config", "gsgn", str(base), "--extra", f"nois={extra}"])
    with pytest.raises(ValueError, match="is not of the form ROW=FRAGMENT"):
        main(["config", "gsgn", str(base), "--extra", str(extra)])


def test_cli_errors_are_one_line_and_exit_1(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("frontend: multiview\n")
    out = tmp_path / "units.yaml"
    proc = subprocess.run(
        [sys.executable, "-m", "espnet2_ext.stages.rows", "config", "units", str(base),
         "-o", str(out)],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 1 and not out.exists()
    assert proc.stderr.startswith("espnet2_ext: error: row 'units' needs --codebook")
