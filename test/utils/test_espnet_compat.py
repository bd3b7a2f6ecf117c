"""Every ESPnet API we use is there on the installed release, through one module."""

import importlib

import pytest
import torch

from espnet2_ext.utils import espnet_compat


def test_every_espnet_module_we_use_imports_on_the_installed_release():
    assert espnet_compat.missing_apis() == []


@pytest.mark.parametrize("path", espnet_compat.MODULES)
def test_module_path_imports(path):
    importlib.import_module(path)  # a failure names the path (the parameter id)


def test_legacy_modules_resolve_to_the_layout_of_the_installed_release():
    release = int(espnet_compat.espnet_version()[:6])
    module = espnet_compat.legacy_module("nets.pytorch_backend.nets_utils")
    expected = "espnet2.legacy" if release >= 202611 else "espnet"
    assert module.__name__ == f"{expected}.nets.pytorch_backend.nets_utils"


def test_an_unknown_legacy_module_names_every_path_tried():
    with pytest.raises(ImportError) as err:
        espnet_compat.legacy_module("nets.no_such_module")
    message = str(err.value)
    assert "espnet2.legacy.nets.no_such_module or espnet.nets.no_such_module" in message
    assert "supports espnet 202511 and 202611" in message


def test_a_missing_path_is_reported_by_name(monkeypatch):
    monkeypatch.setattr(
        espnet_compat, "MODULES", espnet_compat.MODULES + ("espnet2.no_such_module",)
    )
    missing = espnet_compat.missing_apis()
    assert len(missing) == 1 and missing[0].startswith("espnet2.no_such_module: ")


def test_a_changed_trainer_signature_is_reported(monkeypatch):
    monkeypatch.setattr(
        espnet_compat,
        "TRAIN_ONE_EPOCH_ARGS",
        espnet_compat.TRAIN_ONE_EPOCH_ARGS + ("new_argument",),
    )
    assert espnet_compat.missing_apis() == [
        "espnet2.train.trainer.Trainer.train_one_epoch(new_argument=)"
    ]


def test_make_pad_mask_marks_padding():
    mask = espnet_compat.make_pad_mask(torch.tensor([3, 1]))
    assert mask.tolist() == [[False, False, False], [False, True, True]]


def test_make_pad_mask_masks_a_zero_length_row_whole_on_both_releases():
    mask = espnet_compat.make_pad_mask(torch.tensor([2, 0]), torch.zeros(2, 3, 4), 1)
    assert mask[:, :, 0].tolist() == [[False, False, True], [True, True, True]]
    assert mask.shape == (2, 3, 4)


def test_frontend_choices_are_the_task_globals():
    from espnet2.tasks import asr, st

    assert espnet_compat.frontend_choices("st") is st.frontend_choices
    assert espnet_compat.frontend_choices("asr") is asr.frontend_choices


def _espnet_imports_in_package():
    """Every ``espnet2.*`` module the package imports (AST) or the recipes run."""
    import ast
    import re
    from pathlib import Path

    import espnet2_ext

    root = Path(espnet2_ext.__file__).parents[1]
    found = set()
    for path in (root / "espnet2_ext").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found.update(n for n in names if n.split(".")[0] == "espnet2")
    for path in list((root / "egs2").rglob("*.sh")) + list(
        (root / "local").rglob("*.sh")
    ):
        found.update(re.findall(r"-m (espnet2\.[a-z_.]+)", path.read_text()))
    return found


def test_the_module_list_covers_every_espnet_import_of_the_package():
    listed = set(espnet_compat.MODULES)
    unlisted = {
        name
        for name in _espnet_imports_in_package()
        if name not in listed and not name.startswith("espnet2.legacy")
    }
    assert unlisted == set()
