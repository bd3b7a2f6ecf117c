"""The provenance every results writer records: versions, git state, GPUs."""

import subprocess

import torch

from espnet2_ext.stages.provenance import environment, environment_lines

ENV_KEYS = [
    "date",
    "python",
    "torch",
    "torchaudio",
    "espnet",
    "s3prl",
    "sacrebleu",
    "espnet2_ext",
    "git hash",
    "git tree",
    "commit date",
    "gpu",
]


def test_environment_outside_git_and_on_cpu(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    env = environment(tmp_path)
    assert list(env) == ENV_KEYS
    assert (env["git hash"], env["git tree"], env["commit date"]) == ("unknown",) * 3
    assert env["gpu"] == "none"
    assert env["torch"] == torch.__version__.split("+")[0]


def test_environment_git_hash_dirty_and_gpus(tmp_path, monkeypatch):
    def git(*args):
        subprocess.run(
            ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
            + list(args),
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    (tmp_path / "a.txt").write_text("a\n")
    git("add", "a.txt")
    git("commit", "-q", "-m", "a")
    head = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (tmp_path / "untracked.txt").write_text("u\n")  # untracked files do not count
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: "NVIDIA H200")
    env = environment(tmp_path)
    assert (env["git hash"], env["git tree"]) == (head, "clean")
    assert env["gpu"] == "2 x NVIDIA H200"
    (tmp_path / "a.txt").write_text("b\n")
    assert environment(tmp_path)["git tree"] == "dirty"


def test_environment_lines_are_a_markdown_list():
    assert environment_lines({"python": "3.12", "gpu": "none"}) == [
        "- python: 3.12",
        "- gpu: none",
    ]
