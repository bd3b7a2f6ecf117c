"""check_build: a corpus build is built, resumed, skipped or refused by its stamp."""

import logging

import pytest

from espnet2_ext.fileio.build_stamp import OtherBuildError, check_build, remove_build
from espnet2_ext.fileio.stamp import finish_stamp, make_stamp, start_stamp

OUTPUTS = ("wav", "train", "README.md")


def _check(marker, options, overwrite=False):
    return check_build(marker, make_stamp([], options), OUTPUTS, "--outdir", overwrite)


def test_new_resume_done(tmp_path, caplog):
    marker = tmp_path / "corpus" / ".done"
    options = {"seed": 3, "langs": ["de", "fr"]}
    assert _check(marker, options) == "new"
    start_stamp(marker, make_stamp([], options))
    (marker.parent / "wav").mkdir()
    with caplog.at_level(logging.INFO):
        assert _check(marker, options) == "resume"
    assert "resuming an interrupted run from the same inputs" in caplog.text
    finish_stamp(marker)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert _check(marker, options) == "done"
    assert f"{marker.parent} is already built with these arguments - skipping" in (
        caplog.text
    )


@pytest.mark.parametrize("finished", [True, False])
def test_other_options_are_refused_in_one_line(tmp_path, finished):
    marker = tmp_path / "corpus" / ".done"
    start_stamp(marker, make_stamp([], {"seed": 3, "nbpe": 10}))
    if finished:
        finish_stamp(marker)
    with pytest.raises(OtherBuildError) as e:
        _check(marker, {"seed": 4, "nbpe": 10})
    assert str(e.value) == (
        f"{marker.parent} was built with other arguments (option seed changed (3 ->"
        " 4)); use another --outdir, or --overwrite to rebuild it"
    )


def test_outputs_without_a_stamp_are_refused(tmp_path):
    marker = tmp_path / "corpus" / ".done"
    (marker.parent / "train").mkdir(parents=True)
    (marker.parent / "README.md").write_text("x")
    (marker.parent / "unrelated.txt").write_text("x")
    with pytest.raises(OtherBuildError) as e:
        _check(marker, {"seed": 3})
    assert str(e.value) == (
        f"{marker.parent} holds train, README.md but no stamp of how it was built"
        " (.done); use another --outdir, or --overwrite to rebuild it"
    )
    (marker.parent / "train").rmdir()
    (marker.parent / "README.md").unlink()
    assert _check(marker, {"seed": 3}) == "new"  # other files are not the build's


def test_overwrite_removes_the_build_and_nothing_else(tmp_path):
    folder = tmp_path / "corpus"
    marker = folder / ".done"
    start_stamp(marker, make_stamp([], {"seed": 3}))
    finish_stamp(marker)
    (folder / "wav" / "spk").mkdir(parents=True)
    (folder / "wav" / "spk" / "u1.wav").write_bytes(b"RIFF")
    (folder / "README.md").write_text("x")
    (folder / "mine.txt").write_text("kept")
    assert _check(marker, {"seed": 4}, overwrite=True) == "new"
    assert sorted(p.name for p in folder.iterdir()) == ["mine.txt"]


def test_remove_build_removes_a_running_stamp(tmp_path):
    marker = tmp_path / ".done"
    start_stamp(marker, make_stamp([], {"seed": 3}))
    (tmp_path / "train").mkdir()
    remove_build(marker, OUTPUTS)
    assert list(tmp_path.iterdir()) == []
