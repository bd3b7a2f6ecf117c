"""Stage 4 filtering: durations, empty transcripts, id mismatches."""

import pytest

from espnet2_ext.fileio.data_checks import DataDirError
from espnet2_ext.stages.filter import filter_dir, main


def _write(d, name, lines):
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_text("".join(f"{k} {v}\n" for k, v in lines))


@pytest.fixture
def src(tmp_path):
    d = tmp_path / "src"
    ids = ["a", "b", "c", "d"]
    _write(d, "wav.scp", [(u, f"/x/{u}.wav") for u in ids])
    _write(
        d,
        "utt2num_samples",
        [("a", 800), ("b", 16000), ("c", 16000 * 40), ("d", 32000)],
    )
    _write(d, "text.en", [("a", "hi"), ("b", "hello"), ("c", "long"), ("d", "fine")])
    (d / "text.de").write_text("a hallo\nb hallo\nc lang\nd \n")
    _write(d, "utt2spk", [(u, "s1" if u < "c" else "s2") for u in ids])
    return d


def test_keeps_only_usable_utterances_and_logs_why(src, tmp_path, caplog):
    caplog.set_level("INFO")
    dst = tmp_path / "dst"
    kept = filter_dir(src, dst, ["text.en", "text.de"], 0.1, 30.0)
    assert kept == 1
    assert (dst / "wav.scp").read_text() == "b /x/b.wav\n"
    assert (dst / "text.de").read_text() == "b hallo\n"
    assert (dst / "spk2utt").read_text() == "s1 b\n"
    message = caplog.text
    assert "kept 1 of 4" in message
    assert "1 shorter than 0.1 s" in message and "1 longer than 30.0 s" in message
    assert "1 empty transcript" in message
    assert filter_dir(src, dst, ["text.en", "text.de"], 0.1, 30.0) == 1  # skipped
    assert "already filtered - skipping" in caplog.text


def test_a_text_file_missing_an_id_is_named(src, tmp_path):
    (src / "text.en").write_text("a hi\nb hello\nc long\n")
    with pytest.raises(DataDirError) as e:
        filter_dir(src, tmp_path / "dst", ["text.en"])
    assert e.value.problems == [
        f"{src / 'text.en'}:4: no line for utterance 'd' (wav.scp:4; text.en has 3"
        " lines, wav.scp 4) - add its transcript or remove it from wav.scp"
    ]
    assert not (tmp_path / "dst").exists()


def test_utt2spk_missing_an_id_is_named_not_a_key_error(src, tmp_path):
    (src / "utt2spk").write_text("a s1\nb s1\nd s2\n")
    with pytest.raises(DataDirError) as e:
        filter_dir(src, tmp_path / "dst", ["text.en"])
    assert e.value.problems == [
        f"{src / 'utt2spk'}:3: no line for utterance 'c' (wav.scp:3; utt2spk has 3"
        " lines, wav.scp 4) - add its utt2spk line or remove it from wav.scp"
    ]


def test_cli_exits_1_with_the_problems(src, tmp_path, caplog):
    (src / "text.en").write_text("a hi\nb hello\nc long\nd fine\nzz extra\n")
    with pytest.raises(SystemExit) as e:
        main([str(src), str(tmp_path / "dst"), "--text", "text.en"])
    assert e.value.code == f"{src}: 1 problem(s), nothing filtered"
    assert (
        f"{src / 'text.en'}:5: id 'zz' is not in wav.scp (text.en has 5 lines,"
        " wav.scp 4) - remove the line or add the utterance"
    ) in caplog.text
