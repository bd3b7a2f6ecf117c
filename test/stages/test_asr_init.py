"""The --init_param that starts an ST acoustic encoder from an ASR model."""

from pathlib import Path

import pytest
import torch
import yaml

from espnet2_ext.stages.asr_init import encoder_blocks, init_param, main

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "egs2" / "mini_st"


def _checkpoint(path: Path, num_blocks: int, wrap: bool = False) -> Path:
    """ESPnet-style parameter names of an ASR model (values do not matter)."""
    state = {"frontend.fbank_proj.weight": torch.zeros(2, 2)}
    state["encoder.embed.0.weight"] = torch.zeros(2, 2)
    for i in range(num_blocks):
        state[f"encoder.encoders.{i}.feed_forward.w_1.weight"] = torch.zeros(2, 2)
    state["encoder.after_norm.weight"] = torch.zeros(2)
    state["decoder.embed.0.weight"] = torch.zeros(3, 2)
    torch.save({"module": state} if wrap else state, path)
    return path


def _st_config(path: Path, num_blocks: int, **conf) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "encoder": "transformer",
                "encoder_conf": {"num_blocks": num_blocks, **conf},
            }
        )
    )
    return path


def test_blocks_beyond_the_st_encoder_are_excluded_with_a_trailing_dot(tmp_path):
    asr = _checkpoint(tmp_path / "asr.pth", num_blocks=12)
    value = init_param(asr, _st_config(tmp_path / "st.yaml", num_blocks=10))
    # "encoder.encoders.1" would also exclude blocks 10 and 11 (ESPnet: startswith)
    assert value == f"{asr}:encoder:encoder:encoder.encoders.10.,encoder.encoders.11."
    same = init_param(asr, _st_config(tmp_path / "st12.yaml", num_blocks=12))
    assert same == f"{asr}:encoder:encoder"


def test_the_exclusions_leave_exactly_the_st_encoders_keys(tmp_path):
    """ESPnet's own loader accepts the result on an encoder of the ST depth."""
    from espnet2.asr.encoder.transformer_encoder import TransformerEncoder
    from espnet2.torch_utils.load_pretrained_model import load_pretrained_model

    def model(num_blocks):
        net = torch.nn.Module()
        net.encoder = TransformerEncoder(
            8, output_size=8, attention_heads=2, linear_units=16,
            num_blocks=num_blocks, input_layer="linear",
        )  # fmt: skip
        return net

    asr, st = model(3), model(2)
    path = tmp_path / "asr.pth"
    torch.save(asr.state_dict(), path)
    value = init_param(path, _st_config(tmp_path / "st.yaml", num_blocks=2))
    load_pretrained_model(value, st, ignore_init_mismatch=False)
    got, want = st.state_dict(), asr.state_dict()
    assert set(got) == {k for k in want if not k.startswith("encoder.encoders.2.")}
    assert all(torch.equal(got[k], want[k]) for k in got)
    with pytest.raises(RuntimeError, match="encoders.2"):  # why the exclusion exists
        load_pretrained_model(f"{path}:encoder:encoder", model(2), False)


def test_fewer_asr_blocks_than_st_blocks_is_an_error(tmp_path):
    asr = _checkpoint(tmp_path / "asr.pth", num_blocks=2, wrap=True)
    with pytest.raises(ValueError, match="2 encoder blocks but .* asks for 3"):
        init_param(asr, _st_config(tmp_path / "st.yaml", num_blocks=3))


def test_the_mini_recipes_encoders_agree_up_to_depth(tmp_path):
    asr = _checkpoint(tmp_path / "asr.pth", num_blocks=3)
    value = init_param(
        asr, MINI / "st1/conf/model_mini.yaml", MINI / "asr1/conf/model_mini.yaml"
    )
    assert value == f"{asr}:encoder:encoder:encoder.encoders.2."


def test_other_encoder_options_are_refused(tmp_path):
    asr = _checkpoint(tmp_path / "asr.pth", num_blocks=3)
    (tmp_path / "config.yaml").write_text(  # found next to the checkpoint
        "encoder: transformer\nencoder_conf: {num_blocks: 3, output_size: 256}\n"
    )
    st = _st_config(tmp_path / "st.yaml", num_blocks=2, output_size=128)
    with pytest.raises(ValueError, match=r"output_size \(256 vs 128\)"):
        init_param(asr, st)
    (tmp_path / "config.yaml").write_text("encoder: conformer\n")
    with pytest.raises(ValueError, match="'conformer' but the ST encoder is"):
        init_param(asr, st)


def test_cli_errors_are_one_line(tmp_path, capsys):
    st = _st_config(tmp_path / "st.yaml", num_blocks=2)
    with pytest.raises(SystemExit) as err:
        main(["--asr_model", str(tmp_path / "missing.pth"), "--st_config", str(st)])
    assert str(err.value).startswith("asr_init: error: ASR model ")
    assert "missing.pth" in str(err.value) and "\n" not in str(err.value)
    asr = _checkpoint(tmp_path / "asr.pth", num_blocks=2)
    main(["--asr_model", str(asr), "--st_config", str(st)])
    assert capsys.readouterr().out == f"{asr}:encoder:encoder\n"


def test_encoder_blocks_reads_only_encoder_block_indices():
    keys = [
        "encoder.encoders.0.x",
        "encoder.encoders.11.y",
        "hier_encoder.encoders.3.z",
    ]
    assert encoder_blocks(keys + ["encoder.embed.0.weight"]) == {0, 11}
