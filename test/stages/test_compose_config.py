"""Config fragments merge deterministically; overrides reach nested keys."""

import pytest
import yaml

from espnet2_ext.stages.compose_config import (
    apply_overrides,
    compose,
    deep_merge,
    main,
    write_config,
)


def test_deep_merge_merges_dicts_and_replaces_lists_and_scalars():
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1}
    update = {"a": {"y": [3], "z": 2}, "b": {"c": 3}}
    assert deep_merge(base, update) == {"a": {"x": 1, "y": [3], "z": 2}, "b": {"c": 3}}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1}  # inputs untouched


def test_compose_applies_fragments_in_order_then_overrides(tmp_path):
    (tmp_path / "a.yaml").write_text(
        "frontend_conf: {dim: 8, upstreams: [{name: a}]}\n"
    )
    (tmp_path / "b.yaml").write_text("frontend_conf: {dim: 16}\n")
    config = compose(
        [tmp_path / "a.yaml", tmp_path / "b.yaml"],
        ["frontend_conf.upstreams.0.path_or_url=x.pt", "max_epoch=3"],
    )
    assert config == {
        "frontend_conf": {
            "dim": 16,
            "upstreams": [{"name": "a", "path_or_url": "x.pt"}],
        },
        "max_epoch": 3,
    }


def test_overrides_change_a_config_in_place_with_yaml_values():
    config = {"frontend_conf": {"upstreams": [{"name": "a"}]}}
    out = apply_overrides(config, ["frontend_conf.upstreams.0.name=b", "lr=0.001"])
    assert out is config
    assert config == {"frontend_conf": {"upstreams": [{"name": "b"}]}, "lr": 0.001}


def test_bad_override_and_non_mapping_fragment_are_explained(tmp_path):
    with pytest.raises(ValueError, match="not of the form key.sub=value"):
        compose([], ["max_epoch"])
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(ValueError, match="list.yaml: a config fragment must be"):
        compose([tmp_path / "list.yaml"])


def test_cli_writes_the_merged_yaml(tmp_path):
    (tmp_path / "a.yaml").write_text("x: 1\n")
    main(
        [
            str(tmp_path / "a.yaml"),
            "--set",
            "y.z=[1, 2]",
            "-o",
            str(tmp_path / "o.yaml"),
        ]
    )
    assert yaml.safe_load((tmp_path / "o.yaml").read_text()) == {
        "x": 1,
        "y": {"z": [1, 2]},
    }


def test_write_config_keeps_key_order_to_a_file_or_stdout(tmp_path, capsys):
    config = {"b": 1, "a": {"z": [1, 2], "y": "x"}}
    out = tmp_path / "sub" / "c.yaml"
    write_config(config, out)
    text = out.read_text(encoding="utf-8")
    assert text == "b: 1\na:\n  z:\n  - 1\n  - 2\n  y: x\n"
    assert [p.name for p in out.parent.iterdir()] == ["c.yaml"]  # no temporary left
    write_config(config, None)
    assert capsys.readouterr().out == text
