"""The ML-SUPERB matrix: track names, cells, and the config each cell trains with."""

from pathlib import Path

import pytest
import yaml

from espnet2_ext.recipes.ml_superb.matrix import (
    FBANK_CONF,
    FRONTENDS,
    Cell,
    Track,
    cell_config,
    frontend_fragment,
    lr_tag,
    plan,
)
from espnet2_ext.stages.compose_config import compose, load_fragment
from espnet2_ext.stages.rows import row_fragments
from espnet2_ext.utils.package_data import CONF_ROOT

PROTOCOL = load_fragment(CONF_ROOT / "model" / "ml_superb_asr.yaml")


@pytest.mark.parametrize(
    "name, kind, duration, lang, lid",
    [
        ("mono_eng_10min", "mono", "10min", "eng", False),
        ("mono_cmn_1h", "mono", "1h", "cmn", False),
        ("multi_10min", "multi", "10min", None, False),
        ("multi_lid_1h", "multi_lid", "1h", None, True),
    ],
)
def test_track_names_parse(name, kind, duration, lang, lid):
    track = Track.parse(name)
    assert (track.kind, track.duration, track.lang, track.lid) == (
        kind,
        duration,
        lang,
        lid,
    )
    assert (track.train_set, track.dev_set, track.test_set) == (
        f"train_{name}",
        f"dev_{name}",
        f"test_{name}",
    )


@pytest.mark.parametrize("name", ["mono_10min", "multi_lid_2h", "mono_en_1h", "lid"])
def test_a_bad_track_name_lists_the_forms(name):
    with pytest.raises(
        ValueError, match=f"unknown track '{name}': use mono_<iso>_10min"
    ):
        Track.parse(name)


def test_data_options_of_each_kind_of_track():
    assert Track.parse("mono_eng_1h").data_opts() == [
        "--duration", "1h", "--lid", "false", "--langs", "eng",
        "--train_set", "train_mono_eng_1h", "--dev_set", "dev_mono_eng_1h",
        "--test_set", "test_mono_eng_1h",
    ]  # fmt: skip
    lid = Track.parse("multi_lid_10min")
    assert lid.nlsyms == "data/nlsyms_multi_lid_10min.txt"
    assert lid.data_opts()[:4] == ["--duration", "10min", "--lid", "true"]
    assert lid.data_opts()[-2:] == ["--nlsyms_out", "data/nlsyms_multi_lid_10min.txt"]
    assert Track.parse("multi_10min").nlsyms is None


@pytest.mark.parametrize(
    "lr, tag", [(1e-4, "1e-4"), (0.001, "1e-3"), (2.5e-3, "2.5e-3"), (0.1, "1e-1")]
)
def test_lr_tags(lr, tag):
    assert lr_tag(lr) == tag


def test_plan_is_track_by_track_and_names_every_cell():
    tracks = [Track.parse("multi_lid_10min"), Track.parse("mono_eng_10min")]
    cells = plan(tracks, ["fbank", "hconv"], [1e-4, 1e-3])
    assert [c.tag for c in cells] == [
        "multi_lid_10min_fbank_lr1e-4",
        "multi_lid_10min_fbank_lr1e-3",
        "multi_lid_10min_hconv_lr1e-4",
        "multi_lid_10min_hconv_lr1e-3",
        "mono_eng_10min_fbank_lr1e-4",
        "mono_eng_10min_fbank_lr1e-3",
        "mono_eng_10min_hconv_lr1e-4",
        "mono_eng_10min_hconv_lr1e-3",
    ]
    assert cells[2].config_name == "hconv_lr1e-4"
    assert cells[2].exp(Path("exp")) == Path("exp/asr_multi_lid_10min_hconv_lr1e-4")


def test_plan_rejects_unknown_frontends_bad_rates_and_repeats():
    track = [Track.parse("multi_10min")]
    with pytest.raises(ValueError, match=r"unknown frontends \['wsum'\]"):
        plan(track, ["fbank", "wsum"], [1e-4])
    with pytest.raises(ValueError, match=r"must be positive; got \[0.0\]"):
        plan(track, ["fbank"], [0.0])
    with pytest.raises(ValueError, match="repeats cells"):
        plan(track, ["fbank"], [1e-4, 0.0001])


def test_fbank_is_espnets_default_frontend_at_the_ssl_rate():
    assert frontend_fragment("fbank", []) == {
        "frontend": "default",
        "frontend_conf": {"n_fft": 1024, "hop_length": 320},
    }
    assert FBANK_CONF["hop_length"] / 16000 == 0.02  # 20 ms, the SSL frame rate


def test_ssl_frontends_and_their_upstreams(tmp_path, monkeypatch):
    ws = frontend_fragment("weighted_sum", ["hubert", "x.pt"])["frontend_conf"]
    assert ws["upstreams"] == [{"name": "hubert"}]  # one upstream: the first
    assert (ws["interface"], ws["fusion"], ws["dim"]) == ("weighted_sum", "ssl", 80)
    assert frontend_fragment("concat", ["a"])["frontend_conf"]["interface"] == (
        "concat_proj"
    )
    # A checkpoint path must name a file (rows.upstream_entry); it is written resolved.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "up.pt").write_bytes(b"")
    two = frontend_fragment("chconv_2up", ["hubert", "exp/up.pt"])["frontend_conf"]
    assert two["upstreams"] == [
        {"name": "hubert"},
        {"name": "hubert_local", "path_or_url": str(tmp_path / "exp" / "up.pt")},
    ]
    assert (two["upstream_fusion"], two["interface"]) == ("concat", "hconv")
    assert frontend_fragment("hconv_2up", ["a", "b"])["frontend_conf"][
        "upstream_fusion"
    ] == ("sum")
    gsgn = frontend_fragment("gsgn", ["a"])["frontend_conf"]
    assert (gsgn["fusion"], gsgn["fbank_conf"]) == ("gsgn", FBANK_CONF)
    assert gsgn["fusion_conf"]["gate_activation"] == "2sigmoid"  # conf/fusion/gsgn.yaml
    with pytest.raises(ValueError, match=r"'hconv_2up' needs 2 upstream\(s\)"):
        frontend_fragment("hconv_2up", ["hubert"])


def test_feature_cache_goes_to_the_ssl_frontends_only():
    assert "feature_cache" not in frontend_fragment("hconv", ["a"])["frontend_conf"]
    for frontend in ("weighted_sum", "hconv", "chconv_2up", "gsgn"):
        conf = frontend_fragment(frontend, ["a", "b"], "2GB")["frontend_conf"]
        assert conf["feature_cache"] == "2GB"
    # ESPnet's DefaultFrontend has no such option
    assert frontend_fragment("fbank", [], "2GB")["frontend_conf"] == FBANK_CONF
    cell = Cell(Track.parse("multi_lid_10min"), "gsgn", 1e-3)
    config = cell_config(cell, PROTOCOL, ["a"], feature_cache="1GB")
    assert config["frontend_conf"]["feature_cache"] == "1GB"


def test_a_cell_config_is_the_protocol_with_its_frontend_and_rate():
    cell = Cell(Track.parse("multi_lid_10min"), "hconv", 1e-3)
    config = cell_config(cell, PROTOCOL, ["hubert"])
    assert config["optim_conf"] == {"lr": 1e-3, "weight_decay": 1e-6}
    assert config["frontend"] == "multiview"
    different = {k for k in config if config[k] != PROTOCOL.get(k)}
    assert different == {"frontend", "frontend_conf", "optim_conf"}
    assert PROTOCOL["optim_conf"]["lr"] == 1e-4  # the protocol file is not changed
    assert cell_config(cell, PROTOCOL, ["hubert"], max_epoch=3)["max_epoch"] == 3
    with pytest.raises(ValueError, match="the model config sets 'frontend'"):
        cell_config(cell, {**PROTOCOL, "frontend": "s3prl"}, ["hubert"])


def test_the_protocol_file_is_mlsuperbs_downstream():
    enc = PROTOCOL["encoder_conf"]
    assert (enc["output_size"], enc["attention_heads"], enc["num_blocks"]) == (
        256,
        8,
        2,
    )
    assert enc["input_layer"] == "conv2d2"
    assert PROTOCOL["decoder"] == "none" and PROTOCOL["model_conf"]["ctc_weight"] == 1.0
    assert PROTOCOL["freeze_param"] == ["frontend.upstream"]
    assert PROTOCOL["best_model_criterion"] == [["valid", "loss", "min"]]


#: Every frontend's fragment (upstreams ``hubert wavlm_large``, feature cache 2GB) as
#: the matrix built it in code before its frontends became conf fragments, in key
#: order too: a config whose text changes reruns its finished cells.
BEFORE_FRAGMENTS = {
    "fbank": {
        "frontend": "default",
        "frontend_conf": {"n_fft": 1024, "hop_length": 320},
    },
    "weighted_sum": {
        "frontend": "multiview",
        "frontend_conf": {
            "upstreams": [{"name": "hubert"}],
            "rate": "ssl",
            "dim": 80,
            "freeze_upstream": True,
            "fusion": "ssl",
            "interface": "weighted_sum",
            "feature_cache": "2GB",
        },
    },
    "hconv": {
        "frontend": "multiview",
        "frontend_conf": {
            "upstreams": [{"name": "hubert"}],
            "rate": "ssl",
            "dim": 80,
            "freeze_upstream": True,
            "fusion": "ssl",
            "interface": "hconv",
            "feature_cache": "2GB",
        },
    },
    "concat": {
        "frontend": "multiview",
        "frontend_conf": {
            "upstreams": [{"name": "hubert"}],
            "rate": "ssl",
            "dim": 80,
            "freeze_upstream": True,
            "fusion": "ssl",
            "interface": "concat_proj",
            "feature_cache": "2GB",
        },
    },
    "hconv_2up": {
        "frontend": "multiview",
        "frontend_conf": {
            "upstreams": [{"name": "hubert"}, {"name": "wavlm_large"}],
            "rate": "ssl",
            "dim": 80,
            "freeze_upstream": True,
            "fusion": "ssl",
            "interface": "hconv",
            "feature_cache": "2GB",
            "upstream_fusion": "sum",
        },
    },
    "chconv_2up": {
        "frontend": "multiview",
        "frontend_conf": {
            "upstreams": [{"name": "hubert"}, {"name": "wavlm_large"}],
            "rate": "ssl",
            "dim": 80,
            "freeze_upstream": True,
            "fusion": "ssl",
            "interface": "hconv",
            "feature_cache": "2GB",
            "upstream_fusion": "concat",
        },
    },
    "gsgn": {
        "frontend": "multiview",
        "frontend_conf": {
            "upstreams": [{"name": "hubert"}],
            "rate": "ssl",
            "dim": 80,
            "freeze_upstream": True,
            "fusion": "gsgn",
            "interface": "hconv",
            "feature_cache": "2GB",
            "fusion_conf": {
                "gate_activation": "2sigmoid",
                "cos_granularity": "dim",
                "gate_loss_weight": 1.0,
            },
            "fbank_conf": {"n_fft": 1024, "hop_length": 320},
        },
    },
}


def _text(config: dict) -> str:
    return yaml.safe_dump(config, sort_keys=False)


@pytest.mark.parametrize("frontend", list(BEFORE_FRAGMENTS))
def test_every_frontend_composes_to_the_config_it_had(frontend):
    assert list(FRONTENDS) == list(BEFORE_FRAGMENTS)
    before = BEFORE_FRAGMENTS[frontend]
    ups = ["hubert", "wavlm_large"]
    assert _text(frontend_fragment(frontend, ups, "2GB")) == _text(before)
    without_cache = {
        "frontend": before["frontend"],
        "frontend_conf": {
            k: v for k, v in before["frontend_conf"].items() if k != "feature_cache"
        },
    }
    assert _text(frontend_fragment(frontend, ups)) == _text(without_cache)
    # a cell: the protocol's keys, then the frontend's (its learning rate in place)
    cell = Cell(Track.parse("multi_10min"), frontend, 1e-3)
    config = cell_config(cell, PROTOCOL, ups)
    assert list(config) == [*PROTOCOL, "frontend", "frontend_conf"]
    assert config["frontend_conf"] == without_cache["frontend_conf"]


def test_gsgn_frontend_fuses_as_the_comparisons_gsgn_row():
    conf = frontend_fragment("gsgn", ["hubert"])["frontend_conf"]
    row = compose(row_fragments("gsgn"))["frontend_conf"]
    assert {k: conf[k] for k in row} == row
    assert conf["fbank_conf"] == FBANK_CONF  # the FBank view is the baseline's


def test_a_checkpoint_path_must_name_a_file(tmp_path):
    missing = tmp_path / "missing.pt"
    with pytest.raises(ValueError, match=r"--upstream .*missing\.pt: no such"):
        frontend_fragment("hconv", [str(missing)])
    # a path without the suffix is a path too, not an s3prl name
    with pytest.raises(ValueError, match="hubert_dir/hubert: no such checkpoint"):
        frontend_fragment("hconv", [str(tmp_path / "hubert_dir" / "hubert")])
