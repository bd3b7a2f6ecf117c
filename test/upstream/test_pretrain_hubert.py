"""Training the HuBERT upstream: loss, determinism, cache, resume, s3prl loading."""

import multiprocessing
import time

import numpy as np
import pytest
import torch

from espnet2_ext.frontend.upstreams import load_upstream
from espnet2_ext.upstream import pretrain_hubert
from espnet2_ext.upstream.hubert_steps import ctc_finetune_loss, masked_prediction_loss
from espnet2_ext.upstream.pretrain_hubert import HubertTrainConfig, train_hubert
from espnet2_ext.upstream.random_weights import build_hubert, hubert_configs
from espnet2_ext.utils.ssl_checkpoint import CheckpointError

TINY = dict(
    preset="tiny",
    num_clusters=8,
    kmeans_frames=1000,
    pretrain_epochs=2,
    finetune_epochs=2,  # the first trains only the CTC head
    batch_seconds=2.0,
)


def test_masked_prediction_loss_decreases():
    model_cfg, task_cfg = hubert_configs("tiny")
    model = build_hubert(model_cfg, task_cfg, [[str(i) for i in range(4)]], seed=0)
    model.skip_nomask = True
    gen = torch.Generator().manual_seed(0)
    wavs = 0.1 * torch.randn(2, 8000, generator=gen)
    labels = (torch.arange(24) // 6 % 4).expand(2, 24)  # 8000 samples -> 24 frames
    optim = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(10):
        np.random.seed(0)  # the same masks every step
        loss, _, n = masked_prediction_loss(model, wavs, labels)
        assert n > 0
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0], losses


@pytest.mark.parametrize("update_model", [False, True])
def test_ctc_finetune_loss_reaches_the_model_only_when_asked(update_model):
    model_cfg, task_cfg = hubert_configs("tiny")
    model = build_hubert(model_cfg, task_cfg, [[str(i) for i in range(4)]], seed=0)
    model.mask_prob = 0.0
    head = torch.nn.Linear(model_cfg.encoder_embed_dim, 5)
    wavs = [0.1 * torch.randn(8000), 0.1 * torch.randn(6400)]
    loss = ctc_finetune_loss(model, head, wavs, [[1, 2, 3], [4, 1]], update_model)
    loss.backward()
    assert head.weight.grad is not None and head.weight.grad.abs().sum() > 0
    fc1 = model.encoder.layers[0].fc1.weight.grad
    assert (fc1 is not None) is update_model


def test_tri_stage_schedule_by_hand():
    # 20 steps: warm-up 2 (10%), hold 8 (40%), then linear decay over the last 10.
    lrs = [pretrain_hubert._lr(k, 20, 1.0, 0.1, 0.4) for k in range(20)]
    assert lrs[:2] == [0.5, 1.0]
    assert lrs[2:10] == [1.0] * 8
    assert lrs[10:] == pytest.approx([1.0 - k / 10 for k in range(10)])
    # without a hold: the decay starts after the warm-up
    assert pretrain_hubert._lr(11, 20, 1.0, 0.1) == 0.5


def _weights(path):
    return torch.load(path)["model_weight"]


@pytest.fixture(scope="module")
def trained(tiny_speech_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    out = tmp_path_factory.mktemp("exp") / "hubert.pt"
    final = train_hubert(tiny_speech_dir, out, HubertTrainConfig(**TINY), root=root)
    return root, out, final


def test_saved_in_s3prl_format_and_copied(trained):
    root, out, final = trained
    state = torch.load(out)
    assert set(state) == {
        "task_cfg",
        "model_cfg",
        "model_weight",
        "dictionaries_symbols",
    }
    assert state["dictionaries_symbols"] == [[str(i) for i in range(8)]]
    assert final.parent.parent == root / "upstream" and final.name == "hubert.pt"
    assert out.read_bytes() == final.read_bytes()
    log = (final.parent / "train_log.json").read_text()
    assert '"finetune"' in log and '"masked_acc"' in log


def test_rerun_uses_the_cache(trained, tiny_speech_dir, tmp_path):
    root, _, final = trained
    mtime = final.stat().st_mtime_ns
    start = time.time()
    again = train_hubert(
        tiny_speech_dir, tmp_path / "x.pt", HubertTrainConfig(**TINY), root=root
    )
    assert again == final and final.stat().st_mtime_ns == mtime
    assert time.time() - start < 5
    other = HubertTrainConfig(**dict(TINY, seed=1))
    assert pretrain_hubert.cache_key(other, tiny_speech_dir) != final.parent.name


def test_cache_key_follows_the_speech_by_content(
    tiny_speech_dir, tmp_path, copy_elsewhere
):
    config = HubertTrainConfig(**TINY)
    key = pretrain_hubert.cache_key(config, tiny_speech_dir)
    assert len(key) == 16 and int(key, 16) >= 0
    clone = copy_elsewhere(tiny_speech_dir, tmp_path / "clone")
    assert pretrain_hubert.cache_key(config, clone) == key
    (clone / "text").write_text((clone / "text").read_text().replace("page", "Page"))
    assert pretrain_hubert.cache_key(config, clone) != key
    for field, value in dict(num_clusters=9, finetune_cnn=False, warmup=0.2).items():
        other = HubertTrainConfig(**dict(TINY, **{field: value}))
        assert pretrain_hubert.cache_key(other, tiny_speech_dir) != key


def test_same_seed_same_weights(trained, tiny_speech_dir, tmp_path):
    _, out, _ = trained
    again = train_hubert(
        tiny_speech_dir, tmp_path / "b.pt", HubertTrainConfig(**TINY), root=tmp_path
    )
    a, b = _weights(out), _weights(again)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    init = build_hubert(*hubert_configs("tiny"), [[str(i) for i in range(8)]], 0)
    key = "encoder.layers.0.fc1.weight"
    assert not torch.equal(a[key], init.state_dict()[key])  # it did train


@pytest.mark.parametrize("finetune_cnn", [False, True])
def test_finetune_trains_the_cnn_only_when_asked(
    finetune_cnn, tiny_speech_dir, tmp_path
):
    config = HubertTrainConfig(
        **dict(TINY, pretrain_epochs=0, finetune_cnn=finetune_cnn)
    )
    out = train_hubert(tiny_speech_dir, tmp_path / "f.pt", config, root=tmp_path)
    weights = _weights(out)
    init = build_hubert(*hubert_configs("tiny"), [[str(i) for i in range(8)]], 0)
    cnn = [k for k in weights if k.startswith("feature_extractor.")]
    assert cnn
    unchanged = [torch.equal(weights[k], init.state_dict()[k]) for k in cnn]
    assert all(unchanged) is not finetune_cnn
    key = "encoder.layers.0.fc1.weight"
    assert not torch.equal(weights[key], init.state_dict()[key])


def test_frozen_finetune_epochs_train_only_the_head(tiny_speech_dir, tmp_path):
    config = HubertTrainConfig(
        **dict(TINY, pretrain_epochs=0, finetune_freeze_epochs=2)
    )
    out = train_hubert(tiny_speech_dir, tmp_path / "h.pt", config, root=tmp_path)
    weights = _weights(out)
    init = build_hubert(*hubert_configs("tiny"), [[str(i) for i in range(8)]], 0)
    assert all(torch.equal(v, init.state_dict()[k]) for k, v in weights.items())
    saved = torch.load(next(tmp_path.glob("upstream/*/ctc_head.pt")))
    dim = weights["encoder.layers.0.fc1.weight"].shape[1]
    start = torch.nn.Linear(dim, len(saved["inventory"]))
    torch.manual_seed(config.seed)
    start.reset_parameters()  # the head's initial weights, as the trainer draws them
    assert not torch.equal(saved["head"]["weight"], start.weight)


def test_finetune_cnn_flag_parses_false():
    base = ["--data_dir", "d", "--out", "o.pt"]
    assert pretrain_hubert.get_args(base).finetune_cnn is True
    args = pretrain_hubert.get_args(base + ["--finetune_cnn", "false"])
    assert args.finetune_cnn is False


def test_interrupted_run_resumes_to_the_same_weights(
    trained, tiny_speech_dir, tmp_path, monkeypatch
):
    _, out, _ = trained
    real = pretrain_hubert.masked_prediction_loss
    calls = {"n": 0}

    def dies_in_epoch_two(*args):
        calls["n"] += 1
        if calls["n"] > 3:  # 4 utterances of <= 1.2 s: 2+ batches per epoch
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(pretrain_hubert, "masked_prediction_loss", dies_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        train_hubert(
            tiny_speech_dir, tmp_path / "c.pt", HubertTrainConfig(**TINY), root=tmp_path
        )
    state_file = next(tmp_path.glob("upstream/*/work/state.pt"))
    assert torch.load(state_file, weights_only=False)["epoch"] == 1
    monkeypatch.setattr(pretrain_hubert, "masked_prediction_loss", real)
    train_hubert(
        tiny_speech_dir, tmp_path / "c.pt", HubertTrainConfig(**TINY), root=tmp_path
    )
    a, c = _weights(out), _weights(tmp_path / "c.pt")
    assert all(torch.equal(a[k], c[k]) for k in a)


def _load_in_child(path, queue):
    from espnet2_ext.frontend.upstreams import load_upstream

    upstream = load_upstream({"name": "hubert_local", "path_or_url": str(path)})
    with torch.no_grad():
        hs, lens = upstream(torch.zeros(2, 16000), torch.tensor([16000, 8001]))
    queue.put((len(hs), tuple(hs[0].shape), lens[0].tolist()))


def test_loads_through_hubert_local_in_a_spawned_process(trained):
    _, out, _ = trained
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_load_in_child, args=(out, queue))
    proc.start()
    result = queue.get(timeout=600)  # a loaded CPU: s3prl imports are slow
    proc.join(timeout=30)
    assert proc.exitcode == 0
    # tiny preset: 2 transformer layers -> 3 hidden states, 32 wide, 50 Hz
    assert result == (3, (2, 50, 32), [50, 26])


def test_corrupt_checkpoints_give_one_clear_error(trained, tmp_path):
    _, out, _ = trained
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(out.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="truncated.pt.*cannot be read"):
        load_upstream({"name": "hubert_local", "path_or_url": str(truncated)})
    state = torch.load(out)
    del state["model_cfg"]
    no_cfg = tmp_path / "no_cfg.pt"
    torch.save(state, no_cfg)
    with pytest.raises(
        CheckpointError, match=r"no_cfg.pt.*\['model_cfg'\] are missing"
    ):
        load_upstream({"name": "hubert_local", "path_or_url": str(no_cfg)})
