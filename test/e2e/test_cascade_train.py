"""The exporter cascade through ESPnet's trainer: an ASR and an MT trained by ESPnet's
own tasks on the toy set, then the cascade (its configs embedding theirs, their
weights loaded with ``--init_param``), then both decoding modes."""

import pytest
import torch
import yaml

from espnet2_ext.bin.cascade_inference import main as cascade_inference
from espnet2_ext.fileio.kaldi_io import read_kaldi_map
from espnet2_ext.synth.toy_st import make_toy_st, st_train_args
from espnet2_ext.tasks.cascade import ExporterCascadeTask

pytestmark = pytest.mark.recipe

COMMON = [
    "--batch_type", "unsorted", "--batch_size", "4", "--max_epoch", "1",
    "--num_workers", "0", "--ngpu", "0", "--seed", "0", "--use_tensorboard", "false",
    "--use_matplotlib", "false", "--num_att_plot", "0", "--cleaner", "none",
    "--non_linguistic_symbols", "none",
]  # fmt: skip
SMALL = dict(output_size=16, attention_heads=2, linear_units=32, num_blocks=1)
DECODER = dict(attention_heads=2, linear_units=32, num_blocks=1)


def _data_args(data, streams, shape="speech_shape"):
    args = []
    for split in ("train", "valid"):
        for file, name, kind in streams:
            args += [
                f"--{split}_data_path_and_name_and_type",
                f"{data[split] / file},{name},{kind}",
            ]
        args += [f"--{split}_shape_file", str(data[split] / shape)]
    return args


def _write(path, config):
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return str(path)


def _train_asr(data, out):
    from espnet2_ext.tasks.asr import MultiViewASRTask

    config = dict(
        frontend="default", frontend_conf=dict(n_fft=256, hop_length=128, n_mels=20),
        normalize="utterance_mvn", encoder="transformer",
        encoder_conf=dict(SMALL, input_layer="linear"),
        decoder="transformer", decoder_conf=DECODER, model_conf=dict(ctc_weight=0.5),
        optim="adam", optim_conf=dict(lr=0.005),
    )  # fmt: skip
    MultiViewASRTask.main(
        cmd=["--config", _write(out.parent / "asr.yaml", config)]
        + ["--output_dir", str(out), "--token_type", "char"]
        + ["--token_list", str(data["tokens_en"])]
        + COMMON
        + _data_args(
            data, [("wav.scp", "speech", "sound"), ("text.en", "text", "text")]
        )
    )


def _train_mt(data, out):
    from espnet2.tasks.mt import MTTask

    config = dict(
        frontend="embed", frontend_conf=dict(embed_dim=24), encoder="transformer",
        encoder_conf=dict(SMALL, output_size=24, input_layer=None),
        decoder="transformer", decoder_conf=DECODER, optim="adam",
        optim_conf=dict(lr=0.005),
    )  # fmt: skip
    MTTask.main(
        cmd=["--config", _write(out.parent / "mt.yaml", config)]
        + ["--output_dir", str(out), "--token_type", "char"]
        + ["--src_token_type", "char", "--token_list", str(data["tokens_de"])]
        + ["--src_token_list", str(data["tokens_en"])]
        + COMMON
        + _data_args(
            data,
            [("text.de", "text", "text"), ("text.en", "src_text", "text")],
            shape="text_shape",
        )
    )


def test_train_a_cascade_on_trained_asr_and_mt_then_decode_both_ways(tmp_path):
    data = make_toy_st(tmp_path / "toy", n_train=8, n_valid=4)
    exp = tmp_path / "exp"
    exp.mkdir()
    _train_asr(data, exp / "asr")
    _train_mt(data, exp / "mt")
    config = dict(
        asr_conf=yaml.safe_load((exp / "asr" / "config.yaml").read_text()),
        mt_conf=yaml.safe_load((exp / "mt" / "config.yaml").read_text()),
        exporter="linear",
        model_conf=dict(l2_weight=1.0, mt_weight=1.0, ctc_weight=0.3),
        optim="adam",
        optim_conf=dict(lr=0.005),
    )
    cascade = exp / "cascade"
    init = [
        "--init_param",
        f"{exp / 'asr' / '1epoch.pth'}::asr",
        f"{exp / 'mt' / '1epoch.pth'}::mt",
        "--freeze_param",
        "mt",
    ]
    ExporterCascadeTask.main(
        cmd=st_train_args(data, cascade, _write(exp / "cascade.yaml", config)) + init
    )
    train_config = yaml.safe_load((cascade / "config.yaml").read_text())
    assert train_config["asr_conf"]["encoder_conf"]["output_size"] == 16  # embedded
    model, _ = ExporterCascadeTask.build_model_from_file(
        cascade / "config.yaml", cascade / "1epoch.pth", "cpu"
    )
    mt_trained = torch.load(exp / "mt" / "1epoch.pth", map_location="cpu")
    mt_now = model.mt.state_dict()
    assert all(torch.equal(mt_now[k], v) for k, v in mt_trained.items())
    asr_trained = torch.load(exp / "asr" / "1epoch.pth", map_location="cpu")
    encoder = [k for k in asr_trained if k.startswith("encoder.")]
    assert any(
        not torch.equal(model.asr.state_dict()[k], asr_trained[k]) for k in encoder
    ), "the ASR encoder should have trained in the cascade"

    outputs = {}
    for mode in ("onebest", "exporter"):
        out = cascade / f"decode_{mode}"
        cascade_inference(
            ["--train_config", str(cascade / "config.yaml")]
            + ["--model_file", str(cascade / "1epoch.pth")]
            + ["--wav_scp", str(data["valid"] / "wav.scp"), "--mode", mode]
            + ["--beam_size", "2", "--maxlenratio", "1.0", "--output_dir", str(out)]
        )
        outputs[mode] = {n: read_kaldi_map(out / n) for n in ("text", "onebest")}
    utts = list(read_kaldi_map(data["valid"] / "wav.scp"))
    for mode, files in outputs.items():
        assert list(files["text"]) == utts == list(files["onebest"])
    assert outputs["onebest"]["onebest"] == outputs["exporter"]["onebest"]
