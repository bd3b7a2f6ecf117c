"""The MuST-C recipe's presets: every row builds the paper-size model, the encoder takes
what the frontend gives (no width written by hand), and the printed config is ours."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from espnet2_ext.recipes.mustc import presets
from espnet2_ext.recipes.mustc.presets import PAPER_ROWS, ROWS, SSL_ROWS, row_config

ROOT = Path(__file__).resolve().parents[3]


def _walk_keys(node, prefix=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield f"{prefix}{key}"
            yield from _walk_keys(value, f"{prefix}{key}.")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk_keys(value, f"{prefix}{i}.")


@pytest.fixture(scope="module")
def token_lists(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tokens")
    for name in ("src", "tgt"):
        (tmp / f"{name}.txt").write_text("<blank>\n<unk>\na\nb\n<sos/eos>\n")
    return tmp / "src.txt", tmp / "tgt.txt"


def _config(row, tiny_hubert, tiny_codebook):
    return row_config(
        row,
        upstream=str(tiny_hubert) if row in SSL_ROWS else None,
        codebook=str(tiny_codebook) if row == "units" else None,
    )


def test_rows_are_the_papers_and_the_espnet_baseline():
    assert list(ROWS) == [
        "fbank_only", "ssl_only", "units", "concat", "gated_no_gradient", "gsgn",
        "gsgn_drop", "noise", "espnet_conformer",
    ]  # fmt: skip
    assert "espnet_conformer" not in PAPER_ROWS
    assert set(SSL_ROWS) == set(PAPER_ROWS)
    for fragments in ROWS.values():
        assert all((presets.CONF / f).is_file() for f in fragments), fragments


def test_paper_rows_are_the_comparisons_rows_on_the_paper_model_and_hubert_base():
    from espnet2_ext.stages import rows

    assert PAPER_ROWS == tuple(rows.ROWS)
    for row, spec in rows.ROWS.items():
        assert ROWS[row] == (presets.PAPER_MODEL, presets.HUBERT_BASE, *spec.fragments)
    units = row_config("units", codebook="km.pt")["frontend_conf"]
    assert (units["ssl_view"], units["units_conf"]) == ("units", {"codebook": "km.pt"})
    assert units["upstreams"] == [{"name": "hubert"}]  # HuBERT Base's units


def test_list_shows_each_rows_fragments_and_source(capsys):
    presets.main(["--list"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == list(ROWS)
    assert lines[6] == (
        "gsgn_drop: model/mustc_paper.yaml + frontend/hubert_base.yaml"
        " + fusion/gsgn_drop.yaml  [Table I, S2T-GSGN+Drop]"
    )


@pytest.mark.parametrize("row", list(ROWS))
def test_no_preset_writes_a_width_that_the_model_derives(
    row, tiny_hubert, tiny_codebook
):
    keys = set(_walk_keys(_config(row, tiny_hubert, tiny_codebook)))
    assert not {k for k in keys if k.endswith(("input_size", "idim", "odim"))}, keys


@pytest.mark.parametrize("row", list(ROWS))
def test_every_row_builds_the_paper_size_model_and_encodes(
    row, tiny_hubert, tiny_codebook, token_lists, tmp_path
):
    """The preset's model, as ST training builds it, runs frontend -> encoder on 1 s:
    a frontend width the encoder did not expect would fail in the first layer."""
    from espnet2_ext.tasks.st import MultiViewSTTask

    config = _config(row, tiny_hubert, tiny_codebook)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    src, tgt = token_lists
    args = MultiViewSTTask.get_parser().parse_args(
        ["--config", str(tmp_path / "c.yaml"), "--token_list", str(tgt),
         "--src_token_list", str(src), "--frontend_conf", "fs=16k"]
    )  # fmt: skip
    model = MultiViewSTTask.build_model(args)
    # The noise view learns the S-feature's range in training mode first.
    model.train(row == "noise")
    enc = config["encoder_conf"]
    if row == "espnet_conformer":
        assert (enc["num_blocks"], enc["output_size"]) == (12, 256)
        assert model.frontend.output_size() == 80  # ESPnet's 80 mel bins
    else:  # the paper: 12 acoustic + 6 textual blocks, 6 decoder blocks, d 512
        assert len(model.encoder.encoders) == 12
        assert len(model.hier_encoder.encoders) == 6
        assert len(model.decoder.decoders) == 6
        assert model.encoder.output_size() == 512
        assert model.frontend.output_size() == 512  # frontend_conf.dim
    with torch.no_grad():
        out, lens = model.encode(torch.randn(1, 16000), torch.tensor([16000]))
    # 1 s = 16000 samples. Paper rows, conv2d2 ((T - 1) // 2 - 2): HuBERT gives
    # (16000 - 400) // 320 + 1 = 49 frames, and the fused views take the shorter one,
    # so 49 -> 22; FBank alone at 50 Hz: ceil(101 / 2) = 51 -> 23. ESPnet's FBank
    # (101 frames at 100 Hz) through conv2d (4x): (101 - 3) // 2 + 1 = 50 -> 24.
    frames = {"fbank_only": 23, "espnet_conformer": 24}.get(row, 22)
    assert tuple(out.shape) == (1, frames, enc["output_size"]), (row, out.shape)
    assert lens.tolist() == [frames]


def test_units_row_needs_its_codebook_and_others_refuse_one(tiny_hubert):
    with pytest.raises(ValueError, match="row 'units' needs --codebook"):
        row_config("units")
    with pytest.raises(ValueError, match="--codebook is for row 'units' only"):
        row_config("gsgn", codebook="km.pt")
    with pytest.raises(ValueError, match="row 'espnet_conformer' runs no SSL"):
        row_config("espnet_conformer", upstream=str(tiny_hubert))
    with pytest.raises(ValueError, match="unknown row 'gsgn_dorp'; valid: fbank_only"):
        row_config("gsgn_dorp")


def test_upstream_is_an_s3prl_name_or_a_converted_checkpoint(tiny_hubert, tmp_path):
    assert presets.upstream_entry("wavlm_base_plus") == {"name": "wavlm_base_plus"}
    assert presets.upstream_entry(str(tiny_hubert)) == {
        "name": "hubert_local",
        "path_or_url": str(Path(tiny_hubert).resolve()),
    }
    with pytest.raises(ValueError, match=r"--upstream .*missing\.pt: no such"):
        presets.upstream_entry(str(tmp_path / "missing.pt"))
    # The default keeps the paper's HuBERT Base (downloaded by s3prl).
    assert row_config("gsgn_drop")["frontend_conf"]["upstreams"] == [{"name": "hubert"}]


def test_printed_config_of_a_preset_is_the_merged_one_without_widths(
    tiny_hubert, token_lists, tmp_path
):
    """``st_train --config <preset> --print_config`` in a real process."""
    out = tmp_path / "gsgn_drop.yaml"
    subprocess.run(
        [sys.executable, "-m", "espnet2_ext.recipes.mustc.presets",
         "--row", "gsgn_drop", "--upstream", str(tiny_hubert), "-o", str(out)],
        check=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    src, tgt = token_lists
    proc = subprocess.run(
        [sys.executable, "-m", "espnet2_ext.bin.st_train", "--config", str(out),
         "--token_list", str(tgt), "--src_token_list", str(src), "--print_config"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    printed = yaml.safe_load(proc.stdout[proc.stdout.index("config:") :])
    conf = printed["frontend_conf"]
    assert (printed["frontend"], conf["fusion"], conf["interface"]) == (
        "multiview", "gsgn", "hconv",
    )  # fmt: skip
    assert conf["fusion_conf"]["branch_dropout"] == [
        [1, 0.3, 0.0], [11, 0.5, 0.3], [26, 0.3, 0.0],
    ]  # fmt: skip
    assert printed["encoder_conf"]["num_blocks"] == 12
    assert "input_size" not in printed["encoder_conf"]
    assert printed["input_size"] is None  # raw speech: the frontend sizes the encoder


def test_every_row_and_its_asr_initialised_variant_has_a_published_mapping():
    """The results table sets each row beside the paper's (or says it has none)."""
    from espnet2_ext.recipes.mustc import published

    for row in ROWS:
        assert row in published.ROWS and f"{row}_asrinit" in published.ROWS, row
