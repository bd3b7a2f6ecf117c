"""MuST-C data preparation on hand-built trees, golden output, every input check."""

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from espnet2_ext.fileio.data_checks import check_kaldi_files
from espnet2_ext.recipes.mustc.data_prep import MustcInputError, prepare_mustc
from espnet2_ext.recipes.mustc.fake_corpus import SENTENCES, build_fake_mustc

pytest.importorskip("sacremoses", reason="pip install -r requirements.txt")

REPO = Path(__file__).resolve().parents[3]
WAV_SECONDS = {"ted_767.wav": 5.0, "ted_12.wav": 3.0}
# (yaml line, English, German) of the dev set; line 4 has other key order and an
# extra key, line 3 is shorter than 0.2 s, line 5 has no German word.
DEV = [
    (
        "- {duration: 1.500000, offset: 2.250000, rW: 6, uW: 0, speaker_id: spk.767,"
        " wav: ted_767.wav}",
        "“Don’t panic,” she said — twice.",
        "„Keine Panik“, sagte sie – zweimal.",
    ),
    (
        "- {duration: 1.000000, offset: 0.500000, rW: 3, uW: 0, speaker_id: spk.767,"
        " wav: ted_767.wav}",
        "Thank you.(Applause)",
        "Danke.(Applaus)",
    ),
    (
        "- {duration: 0.100000, offset: 4.000000, rW: 1, uW: 0, speaker_id: spk.767,"
        " wav: ted_767.wav}",
        "Yes!",
        "Ja!",
    ),
    (
        "- {offset: 0.300000, duration: 2.000000, wav: ted_12.wav, speaker_id: spk.12,"
        " rW: 9, uW: 1, extra: x}",
        "It costs $5,000 -- e.g. for well-known T-shirts.",
        "Es kostet 5.000 $ – z. B. für bekannte T-Shirts.",
    ),
    (
        "- {duration: 0.500000, offset: 2.400000, rW: 1, uW: 0, speaker_id: spk.12,"
        " wav: ted_12.wav}",
        "(Laughter)",
        "…",
    ),
]
U12 = "ted_00012_0000300_0002300"
U767A, U767B, U767C = (
    "ted_00767_0000500_0001500",
    "ted_00767_0002250_0003750",
    "ted_00767_0003950_0004150",
)
GOLDEN_TEXT = {
    "text.tc.en": [
        f"{U12} It costs $5,000 -- e.g. for well-known T-shirts.",
        f"{U767A} Thank you. (Applause)",
        f'{U767B} "Don\'t panic," she said - twice.',
        f"{U767C} Yes!",
    ],
    "text.lc.en": [
        f"{U12} it costs $5,000 -- e.g. for well-known t-shirts.",
        f"{U767A} thank you. (applause)",
        f'{U767B} "don\'t panic," she said - twice.',
        f"{U767C} yes!",
    ],
    "text.lc.rm.en": [
        f"{U12} it costs 5000 eg for wellknown tshirts",
        f"{U767A} thank you applause",
        f"{U767B} don't panic she said twice",
        f"{U767C} yes",
    ],
    "text.tc.de": [
        f"{U12} Es kostet 5.000 $ - z. B. für bekannte T-Shirts.",
        f"{U767A} Danke. (Applaus)",
        f'{U767B} "Keine Panik", sagte sie - zweimal.',
        f"{U767C} Ja!",
    ],
    "text.lc.de": [
        f"{U12} es kostet 5.000 $ - z. b. für bekannte t-shirts.",
        f"{U767A} danke. (applaus)",
        f'{U767B} "keine panik", sagte sie - zweimal.',
        f"{U767C} ja!",
    ],
    "text.lc.rm.de": [
        f"{U12} es kostet 5000 z b für bekannte tshirts",
        f"{U767A} danke applaus",
        f"{U767B} keine panik sagte sie zweimal",
        f"{U767C} ja",
    ],
}
ALL_FILES = sorted(
    ["wav.scp", "segments", "utt2spk", "spk2utt", "text.en", "text.de", *GOLDEN_TEXT]
)


def write_tree(root: Path, rows=DEV, name="dev", wavs=WAV_SECONDS) -> Path:
    """Writes ``root/en-de/data/<name>/`` from (yaml line, en, de) rows; its path."""
    set_dir = root / "en-de" / "data" / name
    (set_dir / "wav").mkdir(parents=True)
    (set_dir / "txt").mkdir()
    for wav, seconds in wavs.items():
        noise = np.random.default_rng(0).uniform(-0.1, 0.1, int(seconds * 16000))
        soundfile.write(set_dir / "wav" / wav, noise, 16000, subtype="PCM_16")
    for i, ext in enumerate(("yaml", "en", "de")):
        text = "".join(row[i] + "\n" for row in rows)
        (set_dir / "txt" / f"{name}.{ext}").write_text(text, encoding="utf-8")
    return set_dir


def lines(path: Path):
    return path.read_text(encoding="utf-8").splitlines()


def prepare(root: Path, out: Path, **kw):
    return prepare_mustc(root, "de", out, sets=kw.pop("sets", ["dev"]), **kw)


def problems_of(root: Path, tmp_path: Path, **kw) -> str:
    with pytest.raises(MustcInputError) as e:
        prepare(root, tmp_path / "out", **kw)
    assert not (tmp_path / "out").exists(), "nothing may be written"
    return str(e.value)


def test_golden_data_dir(tmp_path, caplog):
    set_dir = write_tree(tmp_path / "mustc")
    wav_dir = set_dir / "wav"
    with caplog.at_level(logging.INFO):
        (report,) = prepare(tmp_path / "mustc", tmp_path / "data")
    out = tmp_path / "data" / "dev.en-de"
    assert report.data_dir == out and report.name == "dev.en-de"
    assert sorted(p.name for p in out.iterdir()) == ALL_FILES
    assert lines(out / "wav.scp") == [
        f"ted_00012 {wav_dir}/ted_12.wav",
        f"ted_00767 {wav_dir}/ted_767.wav",
    ]
    # ms ids padded to 7 digits: time order; 0.1 s widened to 0.2 s around its centre
    assert lines(out / "segments") == [
        f"{U12} ted_00012 0.300 2.300",
        f"{U767A} ted_00767 0.500 1.500",
        f"{U767B} ted_00767 2.250 3.750",
        f"{U767C} ted_00767 3.950 4.150",
    ]
    assert lines(out / "utt2spk") == [
        f"{U12} ted_00012",
        f"{U767A} ted_00767",
        f"{U767B} ted_00767",
        f"{U767C} ted_00767",
    ]
    assert lines(out / "spk2utt") == [
        f"ted_00012 {U12}",
        f"ted_00767 {U767A} {U767B} {U767C}",
    ]
    for name, golden in GOLDEN_TEXT.items():
        assert lines(out / name) == golden, name
    assert lines(out / "text.en") == GOLDEN_TEXT["text.lc.rm.en"]
    assert lines(out / "text.de") == GOLDEN_TEXT["text.tc.de"]
    # line 5: "…" leaves no German word -> dropped, counted, named
    assert report.num_utterances == 4 and report.num_dropped_empty == 1
    assert report.num_talks == 2
    de = set_dir / "txt" / "dev.de"
    assert "dropped 1 of 5 segments" in caplog.text and f"{de}:5" in caplog.text
    assert check_kaldi_files(out) == []  # the house checks of stage 3 agree


def test_rerun_is_byte_identical_and_writes_nothing(tmp_path):
    write_tree(tmp_path / "mustc")
    (first,) = prepare(tmp_path / "mustc", tmp_path / "data")
    out = first.data_dir
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()}
    assert sorted(first.written) == ALL_FILES
    (again,) = prepare(tmp_path / "mustc", tmp_path / "data")
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()}
    assert after == before and again.written == []
    # a changed input rewrites exactly the files it changes
    de = tmp_path / "mustc/en-de/data/dev/txt/dev.de"
    de.write_text(de.read_text(encoding="utf-8").replace("Ja!", "Jawohl!"), "utf-8")
    (changed,) = prepare(tmp_path / "mustc", tmp_path / "data")
    assert sorted(changed.written) == ["text.de", "text.lc.de", "text.lc.rm.de"] + [
        "text.tc.de"
    ]


def test_line_count_mismatch_names_both_files_and_first_unpaired_line(tmp_path):
    set_dir = write_tree(tmp_path / "mustc")
    txt = set_dir / "txt"
    de = txt / "dev.de"
    de.write_text("".join(f"{r[2]}\n" for r in DEV[:4]), encoding="utf-8")
    with open(txt / "dev.en", "a", encoding="utf-8") as f:
        f.write("One line too many.\n")
    msg = problems_of(tmp_path / "mustc", tmp_path)
    assert (
        f"{txt}/dev.yaml:5: line 5 has no partner in dev.de (dev.yaml has 5 lines,"
        " dev.de has 4; the files are line-aligned)"
    ) in msg
    assert (
        f"{txt}/dev.en:6: line 6 has no partner in dev.yaml (dev.yaml has 5 lines,"
        " dev.en has 6;"
    ) in msg
    assert msg.startswith(f"{tmp_path}/mustc/en-de: 2 problem(s) found:")


def test_missing_wav_is_named_once_at_its_first_yaml_line(tmp_path):
    set_dir = write_tree(tmp_path / "mustc")
    (set_dir / "wav" / "ted_12.wav").unlink()
    msg = problems_of(tmp_path / "mustc", tmp_path)
    assert (
        f"{set_dir}/txt/dev.yaml:4: wav 'ted_12.wav' not found"
        f" ({set_dir}/wav/ted_12.wav; named by 2 line(s) of dev.yaml) - restore"
    ) in msg
    assert msg.count("ted_12.wav' not found") == 1


def test_unreadable_and_truncated_wavs_are_named(tmp_path):
    set_dir = write_tree(tmp_path / "mustc")
    (set_dir / "wav" / "ted_12.wav").write_bytes(b"this is no wav file at all")
    cut = set_dir / "wav" / "ted_767.wav"
    cut.write_bytes(cut.read_bytes()[:-1000])  # a partial copy: 500 samples short
    msg = problems_of(tmp_path / "mustc", tmp_path)
    assert (
        f"{set_dir}/txt/dev.yaml:4: wav 'ted_12.wav' not readable by soundfile ("
    ) in msg
    assert (
        f"{set_dir}/txt/dev.yaml:1: wav 'ted_767.wav' truncated (its header declares"
        f" 80000 samples but the file holds 79500) ({cut}; named by 3 line(s) of"
        " dev.yaml) - restore the file from the MuST-C archive"
    ) in msg
    assert "2 problem(s) found" in msg


def test_malformed_yaml_lines_are_all_reported_with_their_line(tmp_path):
    rows = [list(r) for r in DEV]
    rows[0][0] = "- hello"
    rows[1][0] = "- {duration: 1.000000, rW: 3, speaker_id: spk.767, wav: ted_767.wav}"
    rows[2][0] = "- {duration: abc, offset: 4.000000, wav: ted_767.wav}"
    rows[3][0] = "- {duration: 2.0, offset: 0.3, wav: ted_12.wav"
    rows[4][0] = "- {duration: 0.5, offset: 2.4, wav: talk12.wav}"
    set_dir = write_tree(tmp_path / "mustc", rows)
    yaml = set_dir / "txt" / "dev.yaml"
    msg = problems_of(tmp_path / "mustc", tmp_path)
    assert (
        f"{yaml}:1: not a one-record mapping '- {{key: value, ...}}': '- hello'" in msg
    )
    assert f"{yaml}:2: missing key 'offset' - fix the line" in msg
    assert f"{yaml}:3: duration 'abc' is not a number > 0 (seconds)" in msg
    assert f"{yaml}:4: not valid YAML (" in msg
    assert f"{yaml}:5: wav 'talk12.wav' is not a file name 'ted_<number>.wav'" in msg
    assert "5 problem(s) found" in msg


def test_segment_past_the_end_of_its_wav_with_10ms_tolerance(tmp_path):
    rows = [list(r) for r in DEV]
    # ted_767.wav is 5.000 s: 3.505 + 1.5 ends 5 ms late (MuST-C rounding: kept),
    # 4.0 + 1.5 ends 0.5 s late (an error)
    rows[0][0] = "- {duration: 1.500000, offset: 3.505000, wav: ted_767.wav}"
    rows[1][0] = "- {duration: 1.500000, offset: 4.000000, wav: ted_767.wav}"
    set_dir = write_tree(tmp_path / "mustc", rows)
    msg = problems_of(tmp_path / "mustc", tmp_path)
    assert (
        f"{set_dir}/txt/dev.yaml:2: segment ends at 5.5 s (offset 4.0 + duration 1.5)"
        " but ted_767.wav is 5.000 s long (80000 samples at 16000 Hz) - restore"
    ) in msg
    assert "1 problem(s) found" in msg  # line 1 is within the tolerance
    rows.pop(1)
    write_tree(tmp_path / "ok", rows)
    (report,) = prepare(tmp_path / "ok", tmp_path / "data")
    assert "ted_00767_0003505_0005005 ted_00767 3.505 5.005" in lines(
        report.data_dir / "segments"
    )


def test_non_utf8_text_line_names_line_and_byte_offset(tmp_path):
    set_dir = write_tree(tmp_path / "mustc")
    en = set_dir / "txt" / "dev.en"
    data = en.read_bytes().replace(b"Yes!", b"Yes\xe9!")
    en.write_bytes(data)
    offset = len(f"{DEV[0][1]}\n{DEV[1][1]}\n".encode()) + 3
    assert data[offset] == 0xE9
    msg = problems_of(tmp_path / "mustc", tmp_path)
    assert (
        f"{en}:3: not valid UTF-8 (byte 0xe9 at byte offset {offset} of the file,"
        " column 4)"
    ) in msg


def test_duplicate_ids_are_an_error_or_dropped_together(tmp_path):
    rows = DEV + [DEV[1]]  # line 6 repeats line 2: same talk, start and end
    set_dir = write_tree(tmp_path / "mustc", rows)
    msg = problems_of(tmp_path / "mustc", tmp_path)
    assert (
        f"{set_dir}/txt/dev.yaml:6: utterance id '{U767A}' repeats line 2 (same talk,"
        " start and end)"
    ) in msg
    assert "--drop_duplicates" in msg
    (report,) = prepare(tmp_path / "mustc", tmp_path / "data", drop_duplicates=True)
    assert report.num_dropped_duplicates == 2 and report.num_utterances == 3
    assert [line.split()[0] for line in lines(report.data_dir / "segments")] == [
        U12,
        U767B,
        U767C,
    ]


def test_missing_folders_say_how_to_obtain_mustc(tmp_path):
    root = tmp_path / "mustc"
    set_dir = write_tree(root)
    how = "obtain it from FBK (https://ict.fbk.eu/must-c/), unpack it and set MUST_C"
    # a target language that is not there, with the ones that are
    (root / "en-fr").mkdir()
    with pytest.raises(MustcInputError) as e:
        prepare_mustc(root, "es", tmp_path / "out", sets=["dev"])
    assert f"{root}/en-es: no such directory (MuST-C en-es); found here: en-de," in str(
        e.value
    )
    assert how in str(e.value) and "db.sh" in str(e.value)
    # the en-de folder given instead of its parent
    with pytest.raises(MustcInputError) as e:
        prepare_mustc(root / "en-de", "de", tmp_path / "out", sets=["dev"])
    assert f"'{root}/en-de' is en-de/ itself: give its parent" in str(e.value)
    # the default sets: three set folders missing, one message each
    msg = problems_of(root, tmp_path, sets=["train", "dev", "tst-COMMON", "tst-HE"])
    for name in ("train", "tst-COMMON", "tst-HE"):
        assert f"{root}/en-de/data/{name}: no such directory (set '{name}'" in msg
    assert "3 problem(s) found" in msg and how in msg
    # a txt file missing
    (set_dir / "txt" / "dev.de").unlink()
    msg = problems_of(root, tmp_path)
    assert (
        f"{set_dir}/txt/dev.de: missing (set 'dev' of MuST-C en-de is incomplete)"
        in (msg)
    )


def test_at_most_20_problems_are_shown(tmp_path):
    rows = [("- oops", "A.", "B.")] * 25
    write_tree(tmp_path / "mustc", rows)
    msg = problems_of(tmp_path / "mustc", tmp_path)
    assert "25 problem(s) found" in msg and msg.endswith("  ... and 5 more")
    assert msg.count("not a one-record mapping") == 20


def _run(module: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("ESPNET2_EXT_VERBOSE", None)
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_cli_broken_tree_one_error_line_exit_1(tmp_path):
    set_dir = write_tree(tmp_path / "mustc")
    (set_dir / "wav" / "ted_767.wav").unlink()
    out = tmp_path / "data"
    proc = _run(
        "espnet2_ext.recipes.mustc.data_prep",
        *("--mustc_root", str(tmp_path / "mustc"), "--tgt_lang", "de"),
        *("--sets", "dev", "--outdir", str(out)),
    )
    assert proc.returncode == 1, proc.stderr
    errors = [e for e in proc.stderr.splitlines() if e.startswith("espnet2_ext: error")]
    assert len(errors) == 1, proc.stderr
    assert errors[0].startswith(
        "espnet2_ext: error: 1 problem(s) in the MuST-C tree, nothing written (the"
        f" first: {set_dir}/txt/dev.yaml:1: wav 'ted_767.wav' not found"
    )
    assert "Traceback" not in proc.stderr and not out.exists()


def test_fake_mustc_is_real_format_and_prepares(tmp_path):
    proc = _run(
        "espnet2_ext.recipes.mustc.fake_corpus",
        *("--root", str(tmp_path / "a"), "--tgt_langs", "de", "fr"),
        *("--train_talks", "2", "--segments_per_talk", "3"),
    )
    assert proc.returncode == 0, proc.stderr
    root = tmp_path / "a"
    yaml_re = re.compile(
        r"- \{duration: (\d+\.\d{6}), offset: (\d+\.\d{6}), rW: \d+, uW: 0,"
        r" speaker_id: spk\.(\d+), wav: ted_(\d+)\.wav\}"
    )
    talks_seen = {}
    for name, n_talks in (("train", 2), ("dev", 2), ("tst-COMMON", 1), ("tst-HE", 1)):
        txt = root / "en-de" / "data" / name / "txt"
        records = [yaml_re.fullmatch(line) for line in lines(txt / f"{name}.yaml")]
        assert all(records) and len(records) == 3 * n_talks
        ends = {}
        for m in records:
            dur, off, spk, talk = float(m[1]), float(m[2]), m[3], m[4]
            assert spk == talk and 1.0 <= dur <= 2.5
            assert off > ends.get(talk, 0.0), "segments in order, with gaps"
            ends[talk] = off + dur
        for talk, end in ends.items():
            info = soundfile.info(
                root / "en-de" / "data" / name / "wav" / f"ted_{talk}.wav"
            )
            assert (info.samplerate, info.channels, info.subtype) == (
                16000,
                1,
                "PCM_16",
            )
            assert info.frames / 16000 > end
            assert talks_seen.setdefault(talk, name) == name, "talk ids unique to a set"
        assert len(ends) == n_talks
        fr_txt = root / "en-fr" / "data" / name / "txt"
        assert lines(fr_txt / f"{name}.en") == lines(txt / f"{name}.en")
        known_fr = {s["fr"] for s in SENTENCES}
        assert set(lines(fr_txt / f"{name}.fr")) <= known_fr
    reports = prepare_mustc(root, "fr", tmp_path / "data", sets=["train", "tst-HE"])
    assert [(r.name, r.num_utterances) for r in reports] == [
        ("train.en-fr", 6),
        ("tst-HE.en-fr", 3),
    ]
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == [
        "train.en-fr",
        "tst-HE.en-fr",
    ]


def test_fake_mustc_defaults_are_deterministic_and_small(tmp_path):
    a = build_fake_mustc(tmp_path / "a")
    b = build_fake_mustc(tmp_path / "b")
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files_a)
    reports = prepare_mustc(a, "de", tmp_path / "data")
    counts = {r.name: r.num_utterances for r in reports}
    assert counts == {
        "train.en-de": 36,
        "dev.en-de": 12,
        "tst-COMMON.en-de": 6,
        "tst-HE.en-de": 6,
    }
    tc = "\n".join(line for r in reports for line in lines(r.data_dir / "text.tc.en"))
    assert "(Applause)" in tc and "(Laughter)" in tc  # tags exercised
    assert "“" not in tc and "’" not in tc  # normalised away
