"""k-means codebook, unit assignment, the ``units`` view and the fit_units tool."""

import dataclasses
import logging

import numpy as np
import pytest
import soundfile
import torch

from espnet2_ext.fileio.stamp import file_digest, read_stamp
from espnet2_ext.frontend.units import (
    UnitsView,
    assign_units,
    fit_codebook,
    load_codebook,
    save_codebook,
)
from espnet2_ext.stages import fit_units

CENTERS = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 5.0]])


def blobs(n_per: int = 100, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(CENTERS)), n_per)
    feats = CENTERS[labels] + 0.5 * rng.standard_normal((len(labels), 3))
    perm = rng.permutation(len(labels))
    return feats[perm].astype(np.float32), labels[perm]


def write_codebook(path, num_units=7, dim=6, layer=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    centroids = torch.randn(num_units, dim, generator=g)
    meta = dict(upstream="hubert_local", layer=layer, seed=seed, num_frames=123)
    return save_codebook(path, centroids, meta), centroids


# ------------------------------------------------------------------ fitting
def test_fit_recovers_well_separated_blobs_exactly():
    feats, labels = blobs()
    centroids = fit_codebook(feats, 3, seed=0)
    assert centroids.shape == (3, 3) and centroids.dtype == np.float32
    units = assign_units(torch.from_numpy(feats)[None], torch.from_numpy(centroids))[0]
    units = units.numpy()
    # every true cluster maps to one unit, and the mapping is a permutation
    mapping = {c: np.unique(units[labels == c]) for c in range(3)}
    assert all(len(u) == 1 for u in mapping.values()), mapping
    assert sorted(int(u[0]) for u in mapping.values()) == [0, 1, 2]
    perm = np.array([int(mapping[c][0]) for c in range(3)])
    np.testing.assert_array_equal(units, perm[labels])
    np.testing.assert_allclose(centroids[perm], CENTERS, atol=0.2)


def test_fit_is_deterministic_given_the_seed():
    feats, _ = blobs(n_per=60, seed=1)
    a = fit_codebook(feats, 5, seed=3, batch_size=64)
    b = fit_codebook(feats, 5, seed=3, batch_size=64)
    np.testing.assert_array_equal(a, b)


def test_fit_rejects_more_units_than_frames():
    with pytest.raises(ValueError, match="num_units"):
        fit_codebook(np.zeros((4, 2), np.float32), 5)


# -------------------------------------------------------------- file format
def test_save_load_roundtrip_is_exact_and_weights_only(tmp_path):
    path, centroids = write_codebook(tmp_path / "sub" / "km.pt")
    loaded, meta = load_codebook(path)
    assert loaded.dtype == torch.float32
    assert torch.equal(loaded, centroids)
    assert meta == dict(
        upstream="hubert_local", layer=1, seed=0, num_frames=123, num_units=7, dim=6
    )
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"centroids", "meta"}
    assert not (tmp_path / "sub" / "km.pt.tmp").exists()


def test_save_rejects_inconsistent_meta(tmp_path):
    with pytest.raises(ValueError, match="num_units"):
        save_codebook(tmp_path / "km.pt", np.zeros((3, 2)), {"num_units": 4})


def test_load_missing_file_names_it(tmp_path):
    path = tmp_path / "nope.pt"
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_codebook(path)


@pytest.mark.parametrize(
    "content",
    [
        b"this is not a torch file",
        {"weights": torch.zeros(2, 2)},
        {"centroids": torch.zeros(4), "meta": {}},
        {"centroids": torch.zeros(2, 3, dtype=torch.long), "meta": {}},
        {"centroids": torch.zeros(2, 3), "meta": [1, 2]},
        {"centroids": torch.zeros(2, 3), "meta": {"num_units": 5}},
    ],
)
def test_load_malformed_file_names_it(tmp_path, content):
    path = tmp_path / "bad_codebook.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    with pytest.raises(ValueError, match="bad_codebook.pt"):
        load_codebook(path)


# --------------------------------------------------------------- assignment
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_assign_units_matches_brute_force(dtype):
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(3, 17, 5, generator=g, dtype=dtype)
    centroids = torch.randn(11, 5, generator=g, dtype=dtype)
    brute = ((feats[:, :, None, :] - centroids) ** 2).sum(-1).argmin(-1)
    units = assign_units(feats, centroids)
    assert units.dtype == torch.int64 and units.shape == (3, 17)
    assert torch.equal(units, brute)


def test_assign_units_ties_go_to_the_lowest_index():
    centroids = torch.tensor([[5.0, 5.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    feats = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [3.0, 3.0]]])
    # distances: [50,1,1,1] -> 1; [41,0,2,0] -> 1; [41,2,0,2] -> 2; [8,13,13,13] -> 0
    assert assign_units(feats, centroids).tolist() == [[1, 1, 2, 0]]


def test_assign_units_checks_widths():
    with pytest.raises(ValueError, match="same D"):
        assign_units(torch.zeros(1, 2, 3), torch.zeros(4, 5))


# --------------------------------------------------------------------- view
def test_units_view_shapes_padding_and_lookup(tmp_path):
    path, centroids = write_codebook(tmp_path / "km.pt")
    view = UnitsView(str(path), output_dim=16)
    assert view.layer == 1 and view.output_size() == 16
    hs = torch.randn(3, 2, 5, 6)
    lengths = torch.tensor([5, 3])
    out = view(hs, lengths)
    assert out.shape == (2, 5, 16)
    assert torch.all(out[1, 3:] == 0)
    ids = assign_units(hs[1], centroids)
    expected = view.embed.weight[ids]
    assert torch.equal(out[0], expected[0])
    assert torch.equal(out[1, :3], expected[1, :3])
    # the upstream's other layers do not matter
    hs2 = hs.clone()
    hs2[0] += 100.0
    hs2[2] -= 100.0
    assert torch.equal(view(hs2, lengths), out)
    # the embedding is trained; padded frames give it no gradient
    out.sum().backward()
    assert view.embed.weight.grad is not None
    counts = torch.bincount(
        torch.cat([ids[0], ids[1, :3]]), minlength=view.num_units
    ).float()
    assert torch.equal(view.embed.weight.grad, counts[:, None].expand(-1, 16))


def test_units_view_explicit_layer_overrides_meta(tmp_path):
    path, centroids = write_codebook(tmp_path / "km.pt", layer=0)
    view = UnitsView(str(path), output_dim=4, layer=-1)
    hs = torch.randn(3, 1, 4, 6)
    expected = view.embed.weight[assign_units(hs[2], centroids)]
    assert torch.equal(view(hs, torch.tensor([4])), expected)


def test_units_view_eval_deterministic_and_param_count(tmp_path):
    path, centroids = write_codebook(tmp_path / "km.pt", num_units=9, dim=6)
    view = UnitsView(str(path), output_dim=12).eval()
    assert sum(p.numel() for p in view.parameters()) == 9 * 12
    assert [n for n, _ in view.named_parameters()] == ["embed.weight"]
    assert torch.equal(view.state_dict()["centroids"], centroids)
    hs = torch.randn(2, 3, 7, 6)
    lengths = torch.tensor([7, 1, 4])
    assert torch.equal(view(hs, lengths), view(hs, lengths))


def test_units_view_state_dict_carries_the_codebook(tmp_path):
    path, _ = write_codebook(tmp_path / "km.pt", seed=0)
    trained = UnitsView(str(path), output_dim=4)
    state = trained.state_dict()
    write_codebook(path, seed=1)  # the file changes after training
    fresh = UnitsView(str(path), output_dim=4)
    assert not torch.equal(fresh.centroids, state["centroids"])
    fresh.load_state_dict(state)
    assert torch.equal(fresh.centroids, state["centroids"])


def test_units_view_errors(tmp_path):
    path, _ = write_codebook(tmp_path / "km.pt", dim=6)
    view = UnitsView(str(path), output_dim=4)
    with pytest.raises(ValueError, match=r"width 6 .* width 5"):
        view(torch.randn(3, 1, 2, 5), torch.tensor([2]))
    with pytest.raises(ValueError, match="out of range"):
        UnitsView(str(path), output_dim=4, layer=3)(torch.randn(3, 1, 2, 6))
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        UnitsView(str(tmp_path / "missing.pt"), output_dim=4)
    save_codebook(tmp_path / "nolayer.pt", torch.zeros(2, 6), {})
    with pytest.raises(ValueError, match="layer"):
        UnitsView(str(tmp_path / "nolayer.pt"), output_dim=4)


# ---------------------------------------------------------------- CLI tool
def _write_tiny_hubert(path):
    # Fallback, only used when espnet2_ext.upstream.random_weights is not importable.
    from s3prl.upstream.hubert.hubert_model import (
        HubertConfig,
        HubertModel,
        HubertPretrainingConfig,
    )

    mc = HubertConfig(
        label_rate=50.0,
        encoder_layers=2,
        encoder_embed_dim=32,
        encoder_ffn_embed_dim=64,
        encoder_attention_heads=2,
        conv_feature_layers="[(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32,2,2)] * 2",
        final_dim=16,
        conv_pos=8,
        conv_pos_groups=4,
    )
    tc = HubertPretrainingConfig(label_rate=50.0, sample_rate=16000, normalize=False)
    symbols = [["a", "b"]]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = HubertModel(mc, tc, symbols)
    torch.save(
        dict(
            task_cfg=dataclasses.asdict(tc),
            model_cfg=dataclasses.asdict(mc),
            model_weight=model.state_dict(),
            dictionaries_symbols=symbols,
        ),
        path,
    )
    return path


@pytest.fixture(scope="module")
def hubert_ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp("upstream") / "hubert.pt"
    try:
        from espnet2_ext.upstream.random_weights import write_dummy_hubert
    except ImportError:  # fallback: the package helper is not there yet
        return _write_tiny_hubert(path)
    return write_dummy_hubert(path, num_layers=2, dim=32)


def write_scp(folder, durations, rates=None):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    lines = []
    for i, seconds in enumerate(durations):
        rate = 16000 if rates is None else rates[i]
        wav = folder / f"utt{i}.wav"
        soundfile.write(wav, 0.1 * rng.standard_normal(int(seconds * rate)), rate)
        lines.append(f"utt{i} {wav}\n")
    scp = folder / "wav.scp"
    scp.write_text("".join(lines))
    return scp


def test_fit_units_end_to_end(tmp_path, hubert_ckpt, caplog):
    scp = write_scp(tmp_path / "data", [1.0, 1.5, 0.8])
    out = tmp_path / "exp" / "km.pt"
    argv = [
        "--wav_scp", str(scp), "--output", str(out),
        "--upstream", "hubert_local", "--path_or_url", str(hubert_ckpt),
        "--layer", "-1", "--num_units", "4", "--max_frames", "100",
        "--n_init", "2", "--seed", "5",
    ]  # fmt: skip
    torch.manual_seed(0)
    assert fit_units.main(argv) == out
    centroids, meta = load_codebook(out)
    assert centroids.shape == (4, 32)
    frames_seen = 50 + 75 + 40  # (n - 1) // 320 + 1 per utterance
    record = meta.pop("args")
    assert record == dict(
        upstream="hubert_local",
        path_or_url=str(hubert_ckpt),
        layer=-1,  # as given
        num_units=4,
        max_utts=None,
        max_frames=100,
        seed=5,
        batch_size=10000,
        max_iter=100,
        n_init=2,
        wav_scp=str(scp),
    )
    # the stamp beside the codebook: the inputs by content, the arguments
    stamp = read_stamp(out.parent / ".km.pt.done")
    assert stamp.inputs == {
        str(scp): file_digest(scp),
        str(hubert_ckpt): file_digest(hubert_ckpt),
    }
    assert stamp.options == {k: str(v) for k, v in record.items()}
    assert meta == dict(
        upstream="hubert_local",
        path_or_url=str(hubert_ckpt),
        layer=2,  # 2 transformer layers -> 3 hidden states; -1 resolved
        num_layers=3,
        num_units=4,
        dim=32,
        seed=5,
        num_frames=100,
        num_frames_seen=frames_seen,
        wav_scp=str(scp),
    )
    # the codebook plugs into the units view at the recorded layer
    view = UnitsView(str(out), output_dim=8)
    assert view.layer == 2 and view.num_units == 4

    before = out.read_bytes()
    with caplog.at_level(logging.INFO):
        assert fit_units.main(argv) is None
    assert "skipping" in caplog.text
    assert out.read_bytes() == before

    # --overwrite refits; the same seed gives the same codebook
    assert fit_units.main(argv + ["--overwrite"]) == out
    assert torch.equal(load_codebook(out)[0], centroids)


def test_fit_units_input_errors(tmp_path, hubert_ckpt):
    base = ["--upstream", "hubert_local", "--path_or_url", str(hubert_ckpt)]
    base += ["--layer", "1", "--num_units", "2", "--n_init", "1"]
    out = str(tmp_path / "km.pt")
    with pytest.raises(FileNotFoundError, match="no_such_wav.scp"):
        fit_units.main(
            ["--wav_scp", str(tmp_path / "no_such_wav.scp"), "--output", out] + base
        )
    scp = write_scp(tmp_path / "rates", [0.5, 0.5], rates=[16000, 8000])
    with pytest.raises(ValueError, match=r"utt1\.wav.*8000 Hz"):
        fit_units.main(["--wav_scp", str(scp), "--output", out] + base)
    broken = tmp_path / "rates" / "broken.wav"
    broken.write_bytes(b"not audio at all")
    scp.write_text(scp.read_text().splitlines()[0] + f"\nutt9 {broken}\n")
    with pytest.raises(ValueError, match=r"wav\.scp:2 .*broken\.wav"):
        fit_units.main(["--wav_scp", str(scp), "--output", out] + base)
    assert not (tmp_path / "km.pt").exists()


# ------------------------------------------------- fit_units: the arguments record
def _fit_argv(scp, out, hubert_ckpt, *extra):
    return [
        "--wav_scp", str(scp), "--output", str(out),
        "--upstream", "hubert_local", "--path_or_url", str(hubert_ckpt),
        "--layer", "1", "--num_units", "3", "--max_frames", "60",
        "--n_init", "1", "--seed", "2", *extra,
    ]  # fmt: skip


def test_fit_units_skips_only_with_the_same_arguments_and_inputs(
    tmp_path, hubert_ckpt, caplog
):
    scp = write_scp(tmp_path / "data", [0.6, 0.7])
    out = tmp_path / "km.pt"
    argv = _fit_argv(scp, out, hubert_ckpt)
    assert fit_units.main(argv) == out
    stamp = read_stamp(fit_units.stamp_path(out))
    options = stamp.options
    assert options["num_units"] == "3" and options["layer"] == "1"
    assert options["seed"] == "2" and options["wav_scp"] == str(scp)
    assert stamp.inputs[str(scp)] == file_digest(scp)
    assert len(stamp.inputs[str(scp)]) == len("sha256:") + 64
    assert stamp.inputs[str(hubert_ckpt)] == file_digest(hubert_ckpt)
    with caplog.at_level(logging.INFO):
        assert fit_units.main(argv) is None
    assert "already fitted with these arguments - skipping" in caplog.text
    # another argument refits, and says which one changed
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert fit_units.main(_fit_argv(scp, out, hubert_ckpt, "--seed", "3")) == out
    assert "option seed changed (2 -> 3)" in caplog.text and "refitting" in caplog.text
    # so does a changed wav.scp with the same path
    write_scp(tmp_path / "data", [0.6, 0.7, 0.5])
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert fit_units.main(_fit_argv(scp, out, hubert_ckpt, "--seed", "3")) == out
    assert f"{scp} changed since it was made - refitting" in caplog.text


def test_fit_units_refits_when_its_training_config_changes(
    tmp_path, hubert_ckpt, caplog
):
    scp = write_scp(tmp_path / "data", [0.6, 0.7])
    config = tmp_path / "units.yaml"
    config.write_text(
        "frontend_conf:\n  upstreams:\n  - name: hubert_local\n"
        f"    path_or_url: {hubert_ckpt}\n  ssl_view: units\n"
    )
    out = tmp_path / "km.pt"
    argv = ["--wav_scp", str(scp), "--output", str(out), "--config", str(config)]
    argv += ["--layer", "1", "--num_units", "3", "--max_frames", "60", "--n_init", "1"]
    assert fit_units.main(argv) == out
    stamp = read_stamp(fit_units.stamp_path(out))
    assert stamp.inputs[str(config)] == file_digest(config)
    assert stamp.options["path_or_url"] == str(hubert_ckpt)
    assert fit_units.main(argv) is None
    config.write_text(config.read_text() + "  dim: 8\n")
    with caplog.at_level(logging.INFO):
        assert fit_units.main(argv) == out
    assert f"{config} changed since it was made - refitting" in caplog.text


def test_fit_units_refits_a_corrupt_or_missing_codebook(tmp_path, hubert_ckpt, caplog):
    scp = write_scp(tmp_path / "data", [0.6, 0.7])
    out = tmp_path / "km.pt"
    argv = _fit_argv(scp, out, hubert_ckpt)
    assert fit_units.main(argv) == out
    fitted = load_codebook(out)[0]
    out.write_bytes(b"truncated")
    with caplog.at_level(logging.INFO):
        assert fit_units.main(argv) == out
    assert f"{out} cannot be used ('{out}' is not a readable codebook" in caplog.text
    assert "refitting" in caplog.text and "skipping" not in caplog.text
    assert torch.equal(load_codebook(out)[0], fitted)
    out.unlink()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert fit_units.main(argv) == out
    assert f"{out} cannot be used (k-means codebook '{out}' does not exist" in (
        caplog.text
    )
    assert torch.equal(load_codebook(out)[0], fitted)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert fit_units.main(argv) is None
    assert "already fitted with these arguments - skipping" in caplog.text


def test_fit_units_takes_the_upstream_from_a_training_config(tmp_path, hubert_ckpt):
    scp = write_scp(tmp_path / "data", [0.6, 0.7])
    config = tmp_path / "units.yaml"
    config.write_text(
        "frontend_conf:\n  upstreams:\n  - name: hubert_local\n"
        f"    path_or_url: {hubert_ckpt}\n  ssl_view: units\n"
    )
    args = fit_units.get_args(["--wav_scp", str(scp), "--output", "x", "--layer", "1"])
    assert (args.upstream, args.path_or_url) == ("hubert_local", None)
    args = fit_units.get_args(
        [
            "--wav_scp",
            str(scp),
            "--output",
            "x",
            "--layer",
            "1",
            "--config",
            str(config),
        ]
    )
    assert (args.upstream, args.path_or_url) == ("hubert_local", str(hubert_ckpt))
    with pytest.raises(SystemExit):
        fit_units.get_args(
            ["--wav_scp", "s", "--output", "x", "--layer", "1"]
            + ["--config", str(config), "--upstream", "wavlm_local"]
        )
    config.write_text("frontend_conf: {fusion: fbank}\n")
    with pytest.raises(ValueError, match="units.yaml.*upstreams"):
        fit_units.get_args(
            ["--wav_scp", "s", "--output", "x", "--layer", "1", "--config", str(config)]
        )


# ------------------------------------------- the units path through the frontend
def test_units_path_end_to_end_reproduces_its_assignment(tmp_path, hubert_ckpt):
    """fit_units -> codebook -> multiview frontend: same seed, same units."""
    from espnet2_ext.frontend.multiview import MultiViewFrontend
    from espnet2_ext.frontend.upstreams import load_upstream

    scp = write_scp(tmp_path / "data", [0.8, 1.2])
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    assert fit_units.main(_fit_argv(scp, a, hubert_ckpt)) == a
    torch.manual_seed(123)  # the global RNG must not matter
    assert fit_units.main(_fit_argv(scp, b, hubert_ckpt)) == b
    ca, cb = load_codebook(a)[0], load_codebook(b)[0]
    assert torch.equal(ca, cb)

    upstream = {"name": "hubert_local", "path_or_url": str(hubert_ckpt)}
    conf = dict(upstreams=[upstream], ssl_view="units", fusion="ssl", dim=8)
    fa = MultiViewFrontend(units_conf={"codebook": str(a)}, **conf).eval()
    fb = MultiViewFrontend(units_conf={"codebook": str(b)}, **conf).eval()
    wav = torch.from_numpy(soundfile.read(tmp_path / "data" / "utt1.wav")[0]).float()
    speech, lengths = wav[None], torch.tensor([wav.numel()])
    hs = load_upstream(upstream).eval()(speech, lengths)[0]
    expected = assign_units(hs[1], ca)  # layer 1, as fitted
    stacks, lens = fa._ssl_layers(speech, lengths)  # what forward quantises
    ids_a = fa.units.units(stacks[0], lens)
    assert ids_a.shape == (1, (wav.numel() - 1) // 320 + 1)
    assert torch.equal(ids_a, expected)
    assert len(torch.unique(ids_a)) > 1  # a codebook that maps all frames to one unit
    assert torch.equal(fb.units.units(fb._ssl_layers(speech, lengths)[0][0]), ids_a)
    out, out_lens = fa(speech, lengths)
    assert out.shape == (1, ids_a.size(1), 8) and out_lens.tolist() == [ids_a.size(1)]


def test_codebook_of_the_wrong_width_fails_at_construction_naming_it(
    tmp_path, hubert_ckpt
):
    from espnet2_ext.frontend.multiview import MultiViewFrontend

    path, _ = write_codebook(tmp_path / "km_for_another_upstream.pt", dim=16)
    conf = dict(
        upstreams=[{"name": "hubert_local", "path_or_url": str(hubert_ckpt)}],
        ssl_view="units",
        fusion="ssl",
        dim=8,
    )
    with pytest.raises(ValueError) as err:
        MultiViewFrontend(units_conf={"codebook": str(path)}, **conf)
    message = str(err.value)
    assert "km_for_another_upstream.pt" in message
    assert "width 16" in message and "width 32" in message
    assert len(message.splitlines()) == 1
    path, _ = write_codebook(tmp_path / "km_layer7.pt", dim=32, layer=7)
    with pytest.raises(ValueError, match=r"km_layer7\.pt.*layer 7 .* 3 hidden states"):
        MultiViewFrontend(units_conf={"codebook": str(path)}, **conf)
