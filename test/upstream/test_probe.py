"""The layer probe's features: each utterance as ``hubert_local`` gives it alone."""

from argparse import Namespace

import pytest
import torch

from espnet2_ext.upstream.probe import _inputs_digest, get_args, upstream_features
from espnet2_ext.upstream.speech_data import load_dir


def _alone(ckpt, wav):
    from s3prl.nn import S3PRLUpstream

    upstream = S3PRLUpstream("hubert_local", path_or_url=str(ckpt)).eval()
    with torch.no_grad():
        hs, lens = upstream(wav[None], torch.tensor([len(wav)]))
    return [h[0, : n[0]] for h, n in zip(hs, lens)]


def test_features_do_not_depend_on_the_other_utterances(tiny_hubert, tiny_speech_dir):
    utts = load_dir(tiny_speech_dir)  # 0.6 s ... 1.2 s: padding would change the
    feats = upstream_features(tiny_hubert, utts)  # group-normalised CNN output
    assert sorted(feats) == ["layer0", "layer1", "layer2"]
    short = _alone(tiny_hubert, utts[0].wav)
    for k, ref in enumerate(short):
        got = feats[f"layer{k}"][0]
        assert got.shape == (len(utts[0].wav) // 320, 32)
        torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)


def test_the_cache_key_follows_contents_and_settings_not_paths(
    tiny_speech_dir, tmp_path, copy_elsewhere
):
    ckpt = tmp_path / "a" / "hubert.pt"
    ckpt.parent.mkdir()
    ckpt.write_bytes(b"weights")
    args = get_args(
        ["--upstream", str(ckpt), "--train_dir", str(tiny_speech_dir)]
        + ["--test_dir", str(tiny_speech_dir), "--out_json", "p.json"]
    )
    key = _inputs_digest(args)
    assert len(key) == 64
    # another clone: the checkpoint and the speech under other paths
    clone = tmp_path / "b" / "hubert.pt"
    clone.parent.mkdir()
    clone.write_bytes(b"weights")
    speech = copy_elsewhere(tiny_speech_dir, tmp_path / "speech")
    moved = dict(vars(args), upstream=clone, train_dir=speech, test_dir=speech)
    assert _inputs_digest(Namespace(**moved)) == key
    # another checkpoint, train or test set, or setting: another key
    clone.write_bytes(b"weights2")
    assert _inputs_digest(Namespace(**moved)) != key
    other = copy_elsewhere(tiny_speech_dir, tmp_path / "other")
    (other / "text").write_text((other / "text").read_text().replace("page", "Page"))
    for name in ("train_dir", "test_dir"):
        assert _inputs_digest(Namespace(**dict(vars(args), **{name: other}))) != key
    for name, value in dict(max_train_utts=3, epochs=2, lr=0.1, seed=1).items():
        assert _inputs_digest(Namespace(**dict(vars(args), **{name: value}))) != key
    with pytest.raises(FileNotFoundError, match="no_such.pt"):
        _inputs_digest(Namespace(**dict(vars(args), upstream=tmp_path / "no_such.pt")))
