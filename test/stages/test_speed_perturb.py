"""Speed perturbation writes sox pipes that really change the duration."""

import shutil

import kaldiio
import numpy as np
import pytest
import soundfile

from espnet2_ext.stages.speed_perturb import perturb_dir, perturbed_entry


def test_entries_for_paths_and_pipes():
    assert perturbed_entry("/d/a b.wav", 0.9) == "sox '/d/a b.wav' -t wav - speed 0.9 |"
    assert perturbed_entry("cat x.wav |", 1.1) == (
        "cat x.wav | sox -t wav - -t wav - speed 1.1 |"
    )


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")
def test_perturbed_dir_plays_at_the_new_speed(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    soundfile.write(
        src / "a.wav", np.random.default_rng(0).uniform(-0.5, 0.5, 16000), 16000
    )
    (src / "wav.scp").write_text(f"u1 {src / 'a.wav'}\n")
    (src / "text.en").write_text("u1 hello\n")
    (src / "utt2spk").write_text("u1 s1\n")
    assert perturb_dir(src, tmp_path / "dst", [0.9, 1.0, 1.1]) == 3
    wav = dict(kaldiio.load_scp(str(tmp_path / "dst" / "wav.scp")).items())
    assert sorted(wav) == ["sp0.9-u1", "sp1.1-u1", "u1"]
    lengths = {k: len(v[1]) for k, v in wav.items()}
    assert lengths["u1"] == 16000
    assert abs(lengths["sp0.9-u1"] - 16000 / 0.9) <= 2
    assert abs(lengths["sp1.1-u1"] - 16000 / 1.1) <= 2
    assert (tmp_path / "dst" / "utt2spk").read_text() == (
        "sp0.9-u1 sp0.9-s1\nsp1.1-u1 sp1.1-s1\nu1 s1\n"
    )
    assert (tmp_path / "dst" / "text.en").read_text().count("hello") == 3
