"""Missing optional pieces give one clear line saying what to install."""

import sys

import pytest
import torch

from espnet2_ext.utils.deps import MissingDependencyError, check_ngpu, require, run_cli


def test_missing_s3prl_names_the_pip_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "s3prl.nn", None)  # makes the import fail
    with pytest.raises(MissingDependencyError) as err:
        require("s3prl.nn", "pip install espnet-s3prl", "the SSL view")
    message = str(err.value)
    assert "\n" not in message
    assert "the SSL view needs 's3prl.nn'" in message
    assert message.endswith("install it with: pip install espnet-s3prl")


def test_missing_s3prl_reaches_the_frontend_user(monkeypatch, tiny_hubert):
    from espnet2_ext.frontend.upstreams import load_upstream

    monkeypatch.setitem(sys.modules, "s3prl.nn", None)
    with pytest.raises(MissingDependencyError, match="pip install espnet-s3prl"):
        load_upstream({"name": "hubert_local", "path_or_url": str(tiny_hubert)})


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_ngpu_without_cuda_is_one_line_exit(capsys):
    with pytest.raises(MissingDependencyError, match="--ngpu 1 was given but torch"):
        check_ngpu(["--ngpu", "1", "--other", "x"])
    check_ngpu(["--ngpu", "0"])  # fine
    ran = []
    with pytest.raises(SystemExit) as exit_info:
        run_cli(ran.append, ["--ngpu", "2"])
    assert ran == []
    assert str(exit_info.value).startswith("espnet2_ext: error: --ngpu 2 was given")
    assert "\n" not in str(exit_info.value)
