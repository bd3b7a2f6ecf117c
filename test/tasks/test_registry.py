"""The ``multiview`` frontend is known to every process that trains or decodes.

Module-level imports here are kept to the standard library and pytest on purpose: the
spawned child re-imports this module, and must not inherit a registration from it.
"""

import multiprocessing
import subprocess
import sys

import pytest


def _child_builds_from_config(config_path: str) -> dict:
    """Runs in a fresh ``spawn`` process, as a DDP worker or decoding job would."""
    from espnet2.tasks.st import STTask

    result = {}
    try:  # before any espnet2_ext import: stock ESPnet does not know the name
        STTask.build_model_from_file(config_path, None, "cpu")
        result["before"] = "built"
    except Exception as e:  # noqa: BLE001 - the error type is ESPnet's business
        result["before"] = f"{type(e).__name__}: {e}"
    import espnet2_ext.bin.st_inference  # noqa: F401 - the decoding entry module

    model, _ = STTask.build_model_from_file(config_path, None, "cpu")
    frontend = type(model.frontend)
    result["after"] = f"{frontend.__module__}.{frontend.__qualname__}"
    result["output_size"] = model.frontend.output_size()
    return result


@pytest.fixture(scope="module")
def trained_config(tmp_path_factory, tiny_hubert, toy_st):
    """A config.yaml as training writes it (``--dry_run true``: built, no step)."""
    import yaml

    from espnet2_ext.bin.st_train import main
    from espnet2_ext.synth.toy_st import st_train_args, tiny_st_config

    tmp = tmp_path_factory.mktemp("dry_run")
    conf = tiny_st_config(
        "multiview",
        {"upstreams": [{"name": "hubert_local", "path_or_url": str(tiny_hubert)}],
         "interface": "hconv", "dim": 16},
    )  # fmt: skip
    (tmp / "in.yaml").write_text(yaml.safe_dump(conf))
    main(
        st_train_args(toy_st, tmp / "exp", tmp / "in.yaml", extra=["--dry_run", "true"])
    )
    return tmp / "exp" / "config.yaml"


def test_dry_run_writes_a_config_with_our_frontend(trained_config):
    import yaml

    config = yaml.safe_load(trained_config.read_text())
    assert config["frontend"] == "multiview"
    assert config["frontend_conf"]["interface"] == "hconv"
    assert config["frontend_conf"]["dim"] == 16


def test_spawned_process_builds_the_model_after_importing_our_entry_module(
    trained_config,
):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        result = pool.apply(_child_builds_from_config, (str(trained_config),))
    assert "multiview" in result["before"] and result["before"] != "built"
    assert result["after"] == "espnet2_ext.frontend.multiview.MultiViewFrontend"
    assert result["output_size"] == 16


def test_register_is_idempotent_and_refuses_a_clash(monkeypatch):
    from espnet2.tasks import asr, st

    from espnet2_ext.frontend.multiview import MultiViewFrontend
    from espnet2_ext.tasks import registry

    registry.register()
    registry.register()
    assert st.frontend_choices.classes["multiview"] is MultiViewFrontend
    assert asr.frontend_choices.classes["multiview"] is MultiViewFrontend
    monkeypatch.setitem(st.frontend_choices.classes, "multiview", object)
    with pytest.raises(RuntimeError, match="'multiview' is already taken"):
        registry.register()


def test_print_config_lists_the_frontend_defaults(monkeypatch):
    """What ``st_train --frontend multiview --print_config`` prints (in-process)."""
    import io

    import yaml

    from espnet2_ext.tasks.st import MultiViewSTTask

    # ESPnet's print_config re-parses sys.argv and writes to the stdout it saw at
    # import time, so call it with both given explicitly.
    monkeypatch.setattr(sys, "argv", ["st_train", "--frontend", "multiview"])
    out = io.StringIO()
    MultiViewSTTask.print_config(file=out)
    config = yaml.safe_load(out.getvalue())
    assert config["frontend"] == "multiview"
    conf = config["frontend_conf"]
    assert (conf["interface"], conf["rate"], conf["fusion"], conf["dim"]) == (
        "weighted_sum", "ssl", "gsgn", 256,
    )  # fmt: skip


def test_stock_script_launcher_maps_training_onto_ours_in_a_real_process():
    """What ``st.sh --python "python3 -m espnet2_ext.bin.python_shim"`` runs."""
    out = subprocess.run(
        [sys.executable, "-m", "espnet2_ext.bin.python_shim",
         "-m", "espnet2.bin.st_train", "--frontend", "multiview", "--print_config"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "frontend: multiview" in out.stdout
    assert "fusion: gsgn" in out.stdout


def test_launcher_maps_only_the_entry_points_we_replace():
    from espnet2_ext.bin.python_shim import resolve_module

    assert resolve_module("espnet2.bin.st_train") == "espnet2_ext.bin.st_train"
    assert resolve_module("espnet2.bin.asr_train") == "espnet2_ext.bin.asr_train"
    assert resolve_module("espnet2.bin.tokenize_text") == "espnet2.bin.tokenize_text"
