"""Under 2-process CPU DDP (gloo) every trainable parameter gets a gradient each step.

GSGN keeps the gate and both views in the autograd graph on every branch (the unused
ones multiplied by 0), so ``DistributedDataParallel(find_unused_parameters=False)``
(ESPnet's default, ``--unused_parameters false``) must work even on a step where
every utterance takes the FBank-only or the SSL-only branch.

One spawn of two processes (importing espnet/s3prl costs most of the time) runs two
checks per rank:

1. Direct DDP: the tiny ST model with the ``multiview`` frontend (HuBERT stand-in,
   ``fusion: gsgn`` with branch dropout) wrapped in ``DistributedDataParallel`` for
   four steps: two with mixed branches (a seeded generator, different per rank), one
   where all utterances take the FBank-only branch and one with all SSL-only. After
   each backward every parameter with ``requires_grad`` must have a gradient, and the
   all-reduced gradients must be identical on both ranks.
2. ESPnet's own trainer: ESPnet's built-in launcher spawns one process per GPU only
   (with ``--ngpu 0``, ``--multiprocessing_distributed true`` silently falls back to
   one non-distributed process), but ESPnet runs CPU DDP when each process is
   started separately, as an external launcher would, with
   ``--ngpu 0 --multiprocessing_distributed false --dist_backend gloo
   --dist_world_size 2 --dist_rank R --dist_init_method tcp://...``. Two epochs on the
   toy set, the second with every utterance on the FBank-only branch; the gradient
   check runs inside the trainer by wrapping ``torch.nn.utils.clip_grad_norm_``
   (called after every backward).

A parameter left out of the graph makes DDP raise "Expected to have finished
reduction in the prior iteration" on the next step, which fails the test (checked by
adding an unused Linear to the fusion when this test was written).
"""

import os
import pickle
import socket
import time
import traceback
from datetime import timedelta
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
import yaml

from espnet2_ext.synth.toy_st import st_train_args, tiny_st_config

WORLD_SIZE = 2
TIMEOUT_S = 240  # a hung rank fails the test instead of blocking it
#: Stages of the direct check: epochs 1-2 mixed, 3 all FBank-only, 4 all SSL-only.
DIRECT_SCHEDULE = [[1, 0.4, 0.3], [3, 1.0, 0.0], [4, 0.0, 1.0]]
DIRECT_EPOCHS = [1, 1, 3, 4]
#: ESPnet run: epoch 1 mixed, epoch 2 all FBank-only.
TRAINER_SCHEDULE = [[1, 0.4, 0.3], [2, 1.0, 0.0]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _frontend_conf(hubert: Path, schedule) -> dict:
    return dict(
        upstreams=[dict(name="hubert_local", path_or_url=str(hubert))],
        interface="weighted_sum",
        dim=32,
        fusion="gsgn",
        fusion_conf=dict(branch_dropout=schedule),
    )


def _missing_grads(named_params) -> list:
    return [n for n, p in named_params if p.requires_grad and p.grad is None]


def _direct_ddp(rank: int, port: int, toy_st, config: Path, outdir: Path) -> dict:
    """Four DDP steps on random batches; returns per-step branch codes and grads."""
    from espnet2_ext.frontend.branch_dropout import FUSED
    from espnet2_ext.tasks.st import MultiViewSTTask
    from espnet2_ext.train.trainer import announce_epoch

    torch.distributed.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=WORLD_SIZE,
        timeout=timedelta(seconds=TIMEOUT_S),
    )
    try:
        args = MultiViewSTTask.get_parser().parse_args(
            st_train_args(toy_st, outdir, config)
        )
        torch.manual_seed(0)  # same initial weights (DDP also broadcasts rank 0's)
        model = MultiViewSTTask.build_model(args)
        model.train()
        fusion = model.frontend.fusion
        fusion.generator = torch.Generator().manual_seed(1234 + rank)
        codes = []
        sample = fusion.sample

        def recording_sample(*a, **kw):
            out = sample(*a, **kw)
            codes.append(None if out is None else out.tolist())
            return out

        fusion.sample = recording_sample
        ddp = torch.nn.parallel.DistributedDataParallel(
            model, find_unused_parameters=False
        )
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        vocab = len(args.token_list)
        src_vocab = len(args.src_token_list)
        data = torch.Generator().manual_seed(100 + rank)  # ranks see different data
        result = dict(codes=codes, grads=[], missing=[], frozen=[])
        result["frozen"] = [
            n for n, p in model.named_parameters() if not p.requires_grad
        ]
        for epoch in DIRECT_EPOCHS:
            announce_epoch(ddp, epoch)
            speech_lengths = torch.tensor([8000, 6400, 4800])
            speech = torch.randn(3, 8000, generator=data) * 0.1
            text_lengths = torch.tensor([5, 4, 3])
            text = torch.randint(3, vocab - 1, (3, 5), generator=data)
            src_text = torch.randint(3, src_vocab - 1, (3, 5), generator=data)
            optimizer.zero_grad(set_to_none=True)
            loss, stats, weight = ddp(
                speech=speech,
                speech_lengths=speech_lengths,
                text=text,
                text_lengths=text_lengths,
                src_text=src_text,
                src_text_lengths=text_lengths,
            )
            loss.backward()
            result["missing"].append(_missing_grads(model.named_parameters()))
            result["grads"].append(
                {
                    n: p.grad.detach().clone()
                    for n, p in model.named_parameters()
                    if p.grad is not None
                }
            )
            optimizer.step()
        result["fused_code"] = int(FUSED)
        result["params"] = {n: p.detach().clone() for n, p in model.named_parameters()}
        return result
    finally:
        torch.distributed.destroy_process_group()


def _espnet_ddp(rank: int, port: int, toy_st, config: Path, outdir: Path) -> dict:
    """Two epochs of ESPnet's trainer under CPU DDP; grads checked after backward."""
    from espnet2_ext.frontend.gsgn import GatedFusion
    from espnet2_ext.tasks.st import MultiViewSTTask

    steps, codes = [], []
    clip = torch.nn.utils.clip_grad_norm_
    sample = GatedFusion.sample

    def recording_sample(self, *args, **kwargs):
        out = sample(self, *args, **kwargs)
        if self.training:
            codes.append((self.epoch, None if out is None else out.tolist()))
        return out

    def checking_clip(parameters, *args, **kwargs):
        params = list(parameters)
        trainable = [p for p in params if p.requires_grad]
        steps.append(
            dict(
                world_size=torch.distributed.get_world_size(),
                trainable=len(trainable),
                missing=[i for i, p in enumerate(trainable) if p.grad is None],
                norms=[p.grad.norm().item() for p in trainable if p.grad is not None],
            )
        )
        return clip(params, *args, **kwargs)

    torch.nn.utils.clip_grad_norm_ = checking_clip
    GatedFusion.sample = recording_sample
    try:
        MultiViewSTTask.main(
            cmd=st_train_args(
                toy_st,
                outdir,
                config,
                max_epoch=2,
                extra=[
                    "--multiprocessing_distributed", "false",
                    "--dist_backend", "gloo",
                    "--dist_init_method", f"tcp://127.0.0.1:{port}",
                    "--dist_world_size", str(WORLD_SIZE),
                    "--dist_rank", str(rank),
                    "--unused_parameters", "false",
                ],  # fmt: skip
            )
        )
    finally:
        torch.nn.utils.clip_grad_norm_ = clip
        GatedFusion.sample = sample
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    return dict(steps=steps, codes=codes)


def _worker(rank: int, ports, toy_st, hubert: Path, workdir: Path) -> None:
    """One rank: both checks; results (or the traceback) pickled to ``workdir``."""
    torch.set_num_threads(1)
    out = dict(rank=rank)
    try:
        direct_cfg = workdir / "direct.yaml"
        trainer_cfg = workdir / "trainer.yaml"
        out["direct"] = _direct_ddp(rank, ports[0], toy_st, direct_cfg, workdir / "d")
        out["espnet"] = _espnet_ddp(rank, ports[1], toy_st, trainer_cfg, workdir / "e")
    except BaseException:
        out["error"] = traceback.format_exc()
    with open(workdir / f"rank{rank}.pkl", "wb") as f:
        pickle.dump(out, f)


@pytest.fixture(scope="module")
def ddp_results(toy_st, tiny_hubert, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("ddp")
    for name, schedule in (
        ("direct", DIRECT_SCHEDULE),
        ("trainer", TRAINER_SCHEDULE),
    ):
        conf = tiny_st_config("multiview", _frontend_conf(tiny_hubert, schedule))
        (workdir / f"{name}.yaml").write_text(yaml.safe_dump(conf))
    ports = (_free_port(), _free_port())
    env = {"OMP_NUM_THREADS": "1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        context = mp.spawn(
            _worker,
            args=(ports, toy_st, tiny_hubert, workdir),
            nprocs=WORLD_SIZE,
            join=False,
        )
        deadline = time.monotonic() + TIMEOUT_S
        while not context.join(timeout=1.0):
            if time.monotonic() > deadline:
                for process in context.processes:
                    process.kill()
                pytest.fail(f"DDP ranks did not finish within {TIMEOUT_S} s")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    results = []
    for rank in range(WORLD_SIZE):
        with open(workdir / f"rank{rank}.pkl", "rb") as f:
            res = pickle.load(f)
        assert "error" not in res, f"rank {rank} failed:\n{res['error']}"
        results.append(res)
    return results, workdir


def test_direct_ddp_every_parameter_gets_a_gradient_each_step(ddp_results):
    results, _ = ddp_results
    for res in results:
        direct = res["direct"]
        assert len(direct["missing"]) == len(DIRECT_EPOCHS)
        assert all(m == [] for m in direct["missing"]), direct["missing"]
        # the frozen upstream has no gradients and is the only frozen part
        assert direct["frozen"] and all(
            n.startswith("frontend.upstream.") for n in direct["frozen"]
        )
        assert any(n.startswith("frontend.fusion.gate_") for n in direct["grads"][0])


def test_direct_ddp_covers_mixed_all_fbank_and_all_ssl_steps(ddp_results):
    results, _ = ddp_results
    mixed = set()
    for res in results:
        codes = res["direct"]["codes"]
        assert len(codes) == len(DIRECT_EPOCHS)
        mixed.update(codes[0] + codes[1])
        assert codes[2] == [1, 1, 1]  # FBANK on every utterance
        assert codes[3] == [2, 2, 2]  # SSL on every utterance
    assert mixed == {0, 1, 2}  # fused, FBank-only and SSL-only all occur


def test_direct_ddp_gradients_are_identical_across_ranks(ddp_results):
    (r0, r1), _ = ddp_results
    for step, (g0, g1) in enumerate(zip(r0["direct"]["grads"], r1["direct"]["grads"])):
        assert g0.keys() == g1.keys()
        for name in g0:
            assert torch.equal(g0[name], g1[name]), (step, name)
    for name, p0 in r0["direct"]["params"].items():
        assert torch.equal(p0, r1["direct"]["params"][name]), name


def test_espnet_trainer_runs_cpu_ddp_with_every_gradient(ddp_results):
    (r0, r1), workdir = ddp_results
    # 8 utterances, batches of 4 split over 2 ranks: 2 steps per epoch, 2 epochs
    for res in (r0, r1):
        steps = res["espnet"]["steps"]
        assert len(steps) == 4
        for step in steps:
            assert step["world_size"] == WORLD_SIZE
            assert step["trainable"] > 0
            assert step["missing"] == []
        codes = res["espnet"]["codes"]
        assert [epoch for epoch, _ in codes] == [1, 1, 2, 2]
        assert all(c == [1, 1] for _, c in codes[2:])  # epoch 2: all FBank-only
    for s0, s1 in zip(r0["espnet"]["steps"], r1["espnet"]["steps"]):
        assert s0["norms"] == s1["norms"]  # all-reduced: the same on both ranks
    assert (workdir / "e" / "2epoch.pth").exists()
