"""Atomic file writes: whole file or nothing, no temporaries left, plain-open mode."""

import os
import stat

import numpy as np
import pytest
import soundfile

from espnet2_ext.utils.atomic import (
    atomic_path,
    stale_temporaries,
    write_lines_if_changed,
    write_text_atomic,
    write_wav_atomic,
)


def test_text_replaces_the_old_file_and_creates_parents(tmp_path):
    path = tmp_path / "a" / "b" / "x.txt"
    write_text_atomic(path, "old\n")
    write_text_atomic(path, "nëw\n")
    assert path.read_text(encoding="utf-8") == "nëw\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.txt"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_failure_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("old\n")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(path) as tmp:
            tmp.write_text("half")
            assert tmp.parent == tmp_path and tmp.name.startswith(".x.txt.")
            raise RuntimeError("boom")
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.txt"]


def test_wav_is_pcm16_with_clipping(tmp_path):
    path = tmp_path / "a.wav"
    write_wav_atomic(path, np.array([0.0, 0.5, -1.0, 1.5]), 8000)
    data, fs = soundfile.read(path, dtype="int16")
    assert fs == 8000
    assert data.tolist() == [0, 16384, -32768, 32767]
    assert soundfile.info(path).subtype == "PCM_16"


def test_stale_temporaries_finds_both_name_forms(tmp_path):
    for name in (".u1.wav.tmp", ".u2.wav.k3j_x.tmp", ".t.txt.abc.tmp", "u3.wav"):
        (tmp_path / name).write_bytes(b"")
    found = [p.name for p in stale_temporaries(tmp_path, "*.wav")]
    assert found == [".u1.wav.tmp", ".u2.wav.k3j_x.tmp"]


def test_write_lines_if_changed_writes_only_new_content(tmp_path):
    path = tmp_path / "text"
    assert write_lines_if_changed(path, ["a x", "b ü"]) is True
    assert path.read_bytes() == "a x\nb ü\n".encode("utf-8")
    os.utime(path, (1, 1))
    assert write_lines_if_changed(path, ["a x", "b ü"]) is False
    assert path.stat().st_mtime == 1  # untouched
    assert write_lines_if_changed(path, ["a y"]) is True
    assert path.read_text(encoding="utf-8") == "a y\n"
