"""The layer probe's features: each utterance as ``hubert_local`` gives it alone."""

import torch

from espnet2_ext.upstream.probe import upstream_features
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
