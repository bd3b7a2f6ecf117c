"""Shared fixtures: a tiny random-weight HuBERT checkpoint, a codebook of it and the
toy ST set.

The recipe tests that read gettext catalogs (the trained-upstream stage, the gettext
corpus) share one wheel cache outside the clone, as the environments do, so a test
run downloads each catalog wheel at most once per machine instead of once per run.
"""

import os
from pathlib import Path

import pytest
import torch

DOWNLOADS = Path.home() / ".cache" / "espnet2_ext" / "downloads"


def pytest_configure(config):
    os.environ.setdefault("ESPNET2_EXT_DOWNLOADS", str(DOWNLOADS))


@pytest.fixture(scope="session")
def tiny_hubert(tmp_path_factory):
    """Path of a 2-layer, 32-wide random HuBERT loadable as ``hubert_local``."""
    from espnet2_ext.upstream.random_weights import write_dummy_hubert

    return write_dummy_hubert(tmp_path_factory.mktemp("upstream") / "hubert.pt")


@pytest.fixture(scope="session")
def tiny_wav2vec2(tmp_path_factory):
    """Path of a 2-layer, 32-wide random wav2vec 2.0 loadable as ``wav2vec2_local``."""
    from espnet2_ext.upstream.random_weights import write_dummy_wav2vec2

    return write_dummy_wav2vec2(tmp_path_factory.mktemp("upstream") / "w2v2.pt")


@pytest.fixture(scope="session")
def tiny_codebook(tmp_path_factory, tiny_hubert):
    """A 5-unit k-means codebook of ``tiny_hubert``'s last hidden state (of 3, width
    32), random centroids."""
    from espnet2_ext.frontend.units import save_codebook

    g = torch.Generator().manual_seed(0)
    path = tmp_path_factory.mktemp("units") / "km5.pt"
    meta = dict(upstream="hubert_local", path_or_url=str(tiny_hubert), layer=2)
    return save_codebook(path, torch.randn(5, 32, generator=g), meta)


@pytest.fixture(scope="session")
def toy_st(tmp_path_factory):
    from espnet2_ext.synth.toy_st import make_toy_st

    return make_toy_st(tmp_path_factory.mktemp("toy_st"), n_train=8, n_valid=4)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
