"""The cascade task builds its model from the sub-models' own training configs."""

import pytest

from espnet2_ext.cascade.model import ExporterCascadeModel
from espnet2_ext.tasks.asr import MultiViewASRTask
from espnet2_ext.tasks.cascade import ExporterCascadeTask, read_token_list

SRC = ["<blank>", "<unk>", "a", "b", "c", "<sos/eos>"]
TGT = ["<blank>", "<unk>", "x", "y", "z", "<sos/eos>"]


def _tokens(path, tokens):
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return str(path)


def _asr_conf(tmp_path):
    from espnet2.tasks.asr import ASRTask  # noqa: F401 - the parser's owner

    args = MultiViewASRTask.get_parser().parse_args(
        ["--token_list", _tokens(tmp_path / "src.txt", SRC), "--normalize", "none"]
        + ["--frontend_conf", "n_fft=128", "--frontend_conf", "hop_length=64"]
        + ["--frontend_conf", "n_mels=20", "--encoder", "transformer"]
        + ["--encoder_conf", "output_size=16", "--encoder_conf", "linear_units=32"]
        + ["--encoder_conf", "num_blocks=1", "--encoder_conf", "attention_heads=2"]
        + ["--model_conf", "ctc_weight=1.0"]
    )
    return vars(args)


def _mt_conf(tmp_path, src=SRC):
    from espnet2.tasks.mt import MTTask

    args = MTTask.get_parser().parse_args(
        ["--token_list", _tokens(tmp_path / "tgt.txt", TGT)]
        + ["--src_token_list", _tokens(tmp_path / "mt_src.txt", src)]
        + ["--frontend", "embed", "--frontend_conf", "embed_dim=24"]
        + ["--encoder", "transformer", "--encoder_conf", "output_size=24"]
        + ["--encoder_conf", "input_layer=null", "--encoder_conf", "num_blocks=1"]
        + ["--encoder_conf", "linear_units=32", "--decoder", "transformer"]
        + ["--decoder_conf", "num_blocks=1", "--decoder_conf", "linear_units=32"]
    )
    return vars(args)


def _cascade_args(tmp_path, extra=(), mt_src=SRC):
    args = ExporterCascadeTask.get_parser().parse_args(
        ["--token_list", str(tmp_path / "tgt.txt")]
        + ["--src_token_list", str(tmp_path / "src.txt")]
        + list(extra)
    )
    args.asr_conf = _asr_conf(tmp_path)
    args.mt_conf = _mt_conf(tmp_path, mt_src)
    return args


def test_build_model_composes_asr_exporter_and_mt_from_their_configs(tmp_path):
    args = _cascade_args(tmp_path, ["--exporter", "mlp"])
    assert args.model_conf == {
        "l2_weight": 1.0,
        "mt_weight": 1.0,
        "ctc_weight": 0.0,
        "pooling": "mean",
    }
    model = ExporterCascadeTask.build_model(args)
    assert isinstance(model, ExporterCascadeModel)
    assert (model.exporter.input_size, model.exporter.output_size) == (16, 24)
    assert type(model.exporter).__name__ == "MLPExporter"
    assert not any(p.requires_grad for p in model.mt.parameters())


def test_token_lists_that_do_not_chain_are_named(tmp_path):
    args = _cascade_args(tmp_path)
    args.src_token_list = _tokens(tmp_path / "other.txt", SRC[:2] + ["q"] + SRC[3:])
    with pytest.raises(
        ValueError,
        match="--src_token_list of the cascade is not the"
        " ASR's token list: token 2 is 'q' in the cascade's and 'a'",
    ):
        ExporterCascadeTask.build_model(args)
    args = _cascade_args(tmp_path, mt_src=SRC + ["d"])
    with pytest.raises(ValueError, match="the ASR token list and the MT source token"):
        ExporterCascadeTask.build_model(args)


def test_missing_sub_model_config_and_token_file_are_named(tmp_path):
    args = _cascade_args(tmp_path)
    args.mt_conf = {}
    with pytest.raises(ValueError, match="--mt_conf is empty"):
        ExporterCascadeTask.build_model(args)
    with pytest.raises(FileNotFoundError, match="mt_conf.src_token_list: no token"):
        read_token_list(str(tmp_path / "nope.txt"), "mt_conf.src_token_list")
    assert read_token_list(["a", "b"], "x") == ["a", "b"]


def test_the_exporter_is_an_option_of_the_parser():
    parser = ExporterCascadeTask.get_parser()
    args = parser.parse_args(
        ["--token_list", "t", "--exporter", "transformer"]
        + ["--exporter_conf", "num_blocks=2"]
    )
    assert (args.exporter, args.exporter_conf) == ("transformer", {"num_blocks": 2})
    assert parser.parse_args(["--token_list", "t"]).exporter == "linear"
    with pytest.raises(SystemExit):
        parser.parse_args(["--token_list", "t", "--exporter", "conv"])
