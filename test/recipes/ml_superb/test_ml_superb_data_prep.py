"""ML-SUPERB data preparation on hand-built trees: golden output, tracks, checks."""

import logging
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from espnet2_ext.fileio.data_checks import check_kaldi_files
from espnet2_ext.recipes.ml_superb.data_prep import (
    LangCounts,
    MlSuperbInputError,
    prepare_ml_superb,
)
from espnet2_ext.recipes.ml_superb.fake_corpus import SPLIT_FILES, build_fake_ml_superb

REPO = Path(__file__).resolve().parents[3]
FILES = ["spk2utt", "text", "utt2lang", "utt2spk", "wav.scp"]

# {(dataset, iso): {file: [(utt, second field, text)]}}; file is transcript_<file>.txt.
# The second field varies (ignored); the 1h train file holds the 10min one and more.
ENG_TRAIN = [
    ("fleurs_eng_000002", "A", "Hello, World!  It's  me."),
    ("fleurs_eng_000001", "12.5", "[laughter] Thank you (very) much."),
]
FRA_TRAIN = [("fleurs_fra_000001", "A", "Où est l'étagère ?")]
CV_TRAIN = [("cv_fra_000001", "0.3", "Bonjour, Marie-Hélène.")]
TREE = {
    ("fleurs", "eng"): {
        "10min_train": ENG_TRAIN,
        "1h_train": ENG_TRAIN + [("fleurs_eng_000003", "A", "One more, for the hour.")],
        "10min_dev": [
            ("fleurs_eng_000010", "A", "Good-bye?"),
            ("fleurs_eng_000011", "A", "[noise] ..."),  # empty once normalised
        ],
        "10min_test": [("fleurs_eng_000020", "A", "Yes; no.")],
    },
    ("fleurs", "fra"): {
        "10min_train": FRA_TRAIN,
        "1h_train": FRA_TRAIN + [("fleurs_fra_000002", "A", "Ça va ?")],
        "10min_dev": [("fleurs_fra_000010", "A", "Élève, ouvrez!")],
        "10min_test": [("fleurs_fra_000020", "A", "Noël.")],
    },
    ("cv", "fra"): {
        "10min_train": CV_TRAIN,
        "1h_train": CV_TRAIN,
        "10min_dev": [("cv_fra_000010", "A", "Merci !")],
        "10min_test": [("cv_fra_000020", "A", "À demain.")],
    },
}
#: Wav lengths other than 0.3 s, and rates other than 16 kHz (not an error here).
SECONDS = {"fleurs_eng_000001": 0.6, "fleurs_eng_000010": 0.6}
RATES = {"cv_fra_000001": 8000}

GOLDEN_TEXT = {
    "train": [
        "cv_fra_000001 BONJOUR MARIEHÉLÈNE",
        "fleurs_eng_000001 THANK YOU VERY MUCH",
        "fleurs_eng_000002 HELLO WORLD ITS ME",
        "fleurs_fra_000001 OÙ EST LÉTAGÈRE",
    ],
    "dev": [
        "cv_fra_000010 MERCI",
        "fleurs_eng_000010 GOODBYE",
        "fleurs_fra_000010 ÉLÈVE OUVREZ",
    ],
    "test": [
        "cv_fra_000020 À DEMAIN",
        "fleurs_eng_000020 YES NO",
        "fleurs_fra_000020 NOËL",
    ],
}


def write_wav(path: Path, seconds: float = 0.3, rate: int = 16000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    noise = np.random.default_rng(0).uniform(-0.1, 0.1, int(seconds * rate))
    soundfile.write(path, noise, rate, subtype="PCM_16")


def write_tree(root: Path, tree=TREE) -> Path:
    """Writes the transcripts and a wav per utterance; returns ``root``."""
    for (dataset, iso), files in tree.items():
        lang_dir = root / dataset / iso
        for name, rows in files.items():
            lines = "".join(f"{utt} {second} {text}\n" for utt, second, text in rows)
            lang_dir.mkdir(parents=True, exist_ok=True)
            (lang_dir / f"transcript_{name}.txt").write_text(lines, encoding="utf-8")
            for utt, _, _ in rows:
                wav = lang_dir / "wav" / f"{utt}.wav"
                if not wav.exists():
                    write_wav(wav, SECONDS.get(utt, 0.3), RATES.get(utt, 16000))
    return root


def transcript(root: Path, dataset: str, iso: str, name: str) -> Path:
    return root / dataset / iso / f"transcript_{name}.txt"


def wav_of(root: Path, utt: str) -> str:
    dataset, iso, _ = utt.rsplit("_", 2)
    return f"{root / dataset / iso / 'wav' / utt}.wav"


def lines(path: Path):
    return path.read_text(encoding="utf-8").splitlines()


def append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


def problems_of(root: Path, tmp_path: Path, **kw) -> str:
    with pytest.raises(MlSuperbInputError) as e:
        prepare_ml_superb(root, tmp_path / "out", **kw)
    assert not (tmp_path / "out").exists(), "nothing may be written"
    return str(e.value)


def test_golden_data_dirs(tmp_path, caplog):
    root = write_tree(tmp_path / "mls")
    with caplog.at_level(logging.INFO):
        stats = prepare_ml_superb(root, tmp_path / "data", "10min")
    names = {split: r.name for split, r in stats.sets.items()}
    assert names == {"train": "train_10min", "dev": "dev_10min", "test": "test_10min"}
    for split, golden in GOLDEN_TEXT.items():
        out = tmp_path / "data" / names[split]
        assert stats.sets[split].data_dir == out
        assert sorted(p.name for p in out.iterdir()) == FILES
        utts = [line.split()[0] for line in golden]
        # punctuation and [tags] gone, upper case, accents kept, spaces collapsed
        assert lines(out / "text") == golden, split
        assert lines(out / "wav.scp") == [f"{u} {wav_of(root, u)}" for u in utts]
        assert lines(out / "utt2spk") == [f"{u} {u}" for u in utts]
        assert lines(out / "spk2utt") == [f"{u} {u}" for u in utts]
        assert lines(out / "utt2lang") == [f"{u} {u.split('_')[1]}" for u in utts]
        assert check_kaldi_files(out) == []  # the house checks of stage 3 agree
    # the 8 kHz wav is kept (the format stage resamples)
    assert f"cv_fra_000001 {root}/cv/fra/wav/cv_fra_000001.wav" in lines(
        tmp_path / "data/train_10min/wav.scp"
    )
    assert stats.sets["train"].langs == {
        "eng": LangCounts(kept=2),
        "fra": LangCounts(kept=2),
    }
    # "[noise] ..." is empty once normalised: dropped, counted, its line named
    assert stats.sets["dev"].langs["eng"] == LangCounts(kept=1, empty=1)
    assert stats.sets["dev"].num_empty == 1 and stats.sets["dev"].num_utterances == 3
    dev = transcript(root, "fleurs", "eng", "10min_dev")
    assert "dev_10min: dropped 1 of 4 utterances whose transcript is empty" in (
        caplog.text
    )
    assert f"{dev}:2" in caplog.text
    assert stats.datasets == {"eng": ["fleurs"], "fra": ["cv", "fleurs"]}
    assert stats.nlsyms is None


def test_lid_prefixes_the_language_tag_and_writes_nlsyms(tmp_path):
    root = write_tree(tmp_path / "mls")
    nlsyms = tmp_path / "data" / "nlsyms.txt"
    stats = prepare_ml_superb(
        root,
        tmp_path / "data",
        lid=True,
        train_set="train_lid",
        dev_set="dev_lid",
        test_set="test_lid",
        nlsyms_out=nlsyms,
    )
    assert lines(tmp_path / "data/train_lid/text") == [
        "cv_fra_000001 [fra] BONJOUR MARIEHÉLÈNE",
        "fleurs_eng_000001 [eng] THANK YOU VERY MUCH",
        "fleurs_eng_000002 [eng] HELLO WORLD ITS ME",
        "fleurs_fra_000001 [fra] OÙ EST LÉTAGÈRE",
    ]
    assert lines(tmp_path / "data/test_lid/text")[0] == "cv_fra_000020 [fra] À DEMAIN"
    assert stats.nlsyms == nlsyms and lines(nlsyms) == ["[eng]", "[fra]"]
    with pytest.raises(ValueError, match="--nlsyms_out .* give --lid true"):
        prepare_ml_superb(root, tmp_path / "x", nlsyms_out=nlsyms)


def test_mono_track_keeps_one_language_from_every_dataset(tmp_path):
    root = write_tree(tmp_path / "mls")
    stats = prepare_ml_superb(root, tmp_path / "data", langs=["fra"])
    assert lines(tmp_path / "data/train_10min/text") == [
        "cv_fra_000001 BONJOUR MARIEHÉLÈNE",
        "fleurs_fra_000001 OÙ EST LÉTAGÈRE",
    ]
    assert lines(tmp_path / "data/test_10min/utt2lang") == [
        "cv_fra_000020 fra",
        "fleurs_fra_000020 fra",
    ]
    assert stats.datasets == {"fra": ["cv", "fleurs"]}
    assert all(list(r.langs) == ["fra"] for r in stats.sets.values())
    # --datasets narrows further
    prepare_ml_superb(root, tmp_path / "cv", langs=["fra"], datasets=["cv"])
    assert lines(tmp_path / "cv/dev_10min/text") == ["cv_fra_000010 MERCI"]


def test_1h_reads_the_1h_train_file_dev_and_test_stay_10min(tmp_path):
    root = write_tree(tmp_path / "mls")
    stats = prepare_ml_superb(root, tmp_path / "data", "1h")
    assert [(r.name, r.transcript) for r in stats.sets.values()] == [
        ("train_1h", "transcript_1h_train.txt"),
        ("dev_1h", "transcript_10min_dev.txt"),
        ("test_1h", "transcript_10min_test.txt"),
    ]
    assert lines(tmp_path / "data/train_1h/text") == [
        "cv_fra_000001 BONJOUR MARIEHÉLÈNE",
        "fleurs_eng_000001 THANK YOU VERY MUCH",
        "fleurs_eng_000002 HELLO WORLD ITS ME",
        "fleurs_eng_000003 ONE MORE FOR THE HOUR",
        "fleurs_fra_000001 OÙ EST LÉTAGÈRE",
        "fleurs_fra_000002 ÇA VA",
    ]
    assert lines(tmp_path / "data/dev_1h/text") == GOLDEN_TEXT["dev"]
    assert lines(tmp_path / "data/test_1h/text") == GOLDEN_TEXT["test"]
    # 10min needs no 1h file; 1h does, and says which one is missing
    one_hour = transcript(root, "fleurs", "fra", "1h_train")
    one_hour.unlink()
    prepare_ml_superb(root, tmp_path / "data10", "10min")
    msg = problems_of(root, tmp_path, duration="1h")
    assert (
        f"{one_hour}: missing (the 1h train transcript of fleurs/fra) - restore it"
    ) in msg
    assert msg.startswith(f"{root}: 1 problem(s) found:")
    with pytest.raises(ValueError, match="--duration '2h': ML-SUPERB's are 10min, 1h"):
        prepare_ml_superb(root, tmp_path / "out", "2h")


def test_long_train_utterances_are_skipped_and_counted(tmp_path, caplog):
    root = write_tree(tmp_path / "mls")
    with caplog.at_level(logging.WARNING):
        stats = prepare_ml_superb(root, tmp_path / "data", max_train_seconds=0.5)
    assert stats.sets["train"].langs["eng"] == LangCounts(kept=1, skipped_long=1)
    assert stats.sets["train"].num_skipped_long == 1
    train = transcript(root, "fleurs", "eng", "10min_train")
    assert (
        "train_10min: skipped 1 of 4 utterances longer than 0.5 s (the benchmark's"
        f" limit for training, --max_train_seconds): {train}:2 (0.6 s)"
    ) in caplog.text
    assert "fleurs_eng_000001" not in (tmp_path / "data/train_10min/text").read_text()
    # dev and test keep every length
    assert "fleurs_eng_000010 GOODBYE" in lines(tmp_path / "data/dev_10min/text")
    assert stats.sets["dev"].num_skipped_long == 0
    # ESPnet's 20 s on a real 21 s wav (the fake tree's option)
    fake = tmp_path / "fake"
    build_fake_ml_superb(fake, {"fleurs": ["eng"]}, 1, long_train_seconds=21.0)
    stats = prepare_ml_superb(fake, tmp_path / "fake_data")
    assert stats.sets["train"].langs == {"eng": LangCounts(skipped_long=1)}
    stats = prepare_ml_superb(fake, tmp_path / "all", max_train_seconds=math.inf)
    assert stats.sets["train"].langs == {"eng": LangCounts(kept=1)}
    with pytest.raises(ValueError, match="--max_train_seconds 0: give a positive"):
        prepare_ml_superb(fake, tmp_path / "x", max_train_seconds=0)


def test_rerun_is_byte_identical_and_writes_nothing(tmp_path):
    root = write_tree(tmp_path / "mls")
    data = tmp_path / "data"
    first = prepare_ml_superb(root, data)
    assert all(sorted(r.written) == FILES for r in first.sets.values())
    files = sorted(p for p in data.rglob("*") if p.is_file())
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files}
    again = prepare_ml_superb(root, data)
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files}
    assert after == before and all(r.written == [] for r in again.sets.values())
    assert sorted(p for p in data.rglob("*") if p.is_file()) == files
    # a changed text rewrites exactly the text of its set
    test = transcript(root, "cv", "fra", "10min_test")
    test.write_text("cv_fra_000020 A À bientôt.\n", encoding="utf-8")
    changed = prepare_ml_superb(root, data)
    assert [(s, r.written) for s, r in changed.sets.items()] == [
        ("train", []),
        ("dev", []),
        ("test", ["text"]),
    ]


def test_root_missing_or_without_datasets(tmp_path):
    how = "get the release from https://multilingual.superbbenchmark.org/"
    msg = problems_of(tmp_path / "nowhere", tmp_path)
    assert f"{tmp_path}/nowhere: no such directory (the ML-SUPERB root) - " in msg
    assert how in msg and "MLSUPERB in db.sh" in msg
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README").write_text("not a folder\n")
    msg = problems_of(tmp_path / "empty", tmp_path)
    assert f"{tmp_path}/empty: no dataset folder in it (expected" in msg and how in msg


def test_layout_problems_name_the_path(tmp_path):
    root = write_tree(tmp_path / "mls")
    dev = transcript(root, "cv", "fra", "10min_dev")
    dev.unlink()
    (root / "fleurs" / "English").mkdir()
    msg = problems_of(root, tmp_path)
    assert f"{dev}: missing (the 10min dev transcript of cv/fra) - restore it" in msg
    assert (
        f"{root}/fleurs/English: not a language folder (the folders of a dataset are"
        " ISO 639-3 codes, 3 lowercase letters)"
    ) in msg
    assert "2 problem(s) found" in msg
    # a dataset folder given as the root: its "datasets" are language folders
    msg = problems_of(root / "fleurs", tmp_path)
    assert (
        f"{root}/fleurs/eng: holds transcript files, so it is a language folder and"
        f" --root (now '{root}/fleurs') is a dataset folder - give the folder that"
        " holds the dataset folders"
    ) in msg
    msg = problems_of(root, tmp_path, langs=["deu"])
    assert f"{root}: language 'deu' is in no dataset folder (read: cv, fleurs)" in msg
    msg = problems_of(root, tmp_path, langs=["eng"], datasets=["mls"])
    assert f"{root}/mls: no such dataset folder (found: cv, fleurs)" in msg
    with pytest.raises(ValueError, match="--langs English: give each language once"):
        prepare_ml_superb(root, tmp_path / "out", langs=["English"])


def test_bad_lines_are_reported_with_file_and_line(tmp_path):
    root = write_tree(tmp_path / "mls")
    test = transcript(root, "fleurs", "eng", "10min_test")
    append(test, "fleurs_eng_000030 A\n")  # line 2: no text
    append(test, "eng_000031 A Hi.\n")  # line 3: no dataset
    append(test, "fleurs_eng_x32 A Hi.\n")  # line 4: no number
    append(test, "fleurs_deu_000033 A Hallo.\n")  # line 5: another language
    append(test, "\n")  # line 6: blank
    msg = problems_of(root, tmp_path)
    assert (
        f"{test}:2: 2 field(s), expected 3 (id, a second field, text):"
        " 'fleurs_eng_000030 A' - the released format is"
    ) in msg
    assert (
        f"{test}:3: utterance id 'eng_000031' is not <dataset>_<iso>_<number> (like"
        " fleurs_eng_000097)"
    ) in msg
    assert f"{test}:4: utterance id 'fleurs_eng_x32' is not <dataset>_<iso>_" in msg
    assert (
        f"{test}:5: utterance id 'fleurs_deu_000033' is of language 'deu' but is in"
        " the folder of 'eng'"
    ) in msg
    assert f"{test}:6: 0 field(s), expected 3" in msg
    assert "5 problem(s) found" in msg


def test_non_utf8_line_names_line_and_byte_offset(tmp_path):
    root = write_tree(tmp_path / "mls")
    dev = transcript(root, "fleurs", "fra", "10min_dev")
    data = dev.read_bytes().replace("Élève".encode(), b"\xc9l\xe8ve")
    dev.write_bytes(data)
    offset = len(b"fleurs_fra_000010 A ")
    assert data[offset] == 0xC9
    msg = problems_of(root, tmp_path)
    assert (
        f"{dev}:1: not valid UTF-8 (byte 0xc9 at byte offset {offset} of the file,"
        f" column {offset + 1}) - restore the file"
    ) in msg
    assert "1 problem(s) found" in msg


def test_duplicate_ids_name_both_places(tmp_path):
    root = write_tree(tmp_path / "mls")
    eng_dev = transcript(root, "fleurs", "eng", "10min_dev")
    append(eng_dev, "fleurs_eng_000001 A Again.\n")  # repeats a train line
    cv_test = transcript(root, "cv", "fra", "10min_test")
    append(cv_test, "fleurs_fra_000001 A Encore.\n")  # a fleurs id in cv/fra
    write_wav(root / "cv/fra/wav/fleurs_fra_000001.wav")
    msg = problems_of(root, tmp_path)
    eng_train = transcript(root, "fleurs", "eng", "10min_train")
    fra_train = transcript(root, "fleurs", "fra", "10min_train")
    assert (
        f"{eng_dev}:3: utterance id 'fleurs_eng_000001' is used twice, first at"
        f" {eng_train}:2 - remove one of the two lines"
    ) in msg
    # folders are read in sorted order: cv/ before fleurs/
    assert (
        f"{fra_train}:1: utterance id 'fleurs_fra_000001' is used twice, first at"
        f" {cv_test}:2"
    ) in msg
    assert "2 problem(s) found" in msg


def test_missing_unreadable_and_truncated_wavs(tmp_path):
    root = write_tree(tmp_path / "mls")
    missing = Path(wav_of(root, "fleurs_eng_000020"))
    missing.unlink()
    garbage = Path(wav_of(root, "cv_fra_000010"))
    garbage.write_bytes(b"this is no wav file at all")
    cut = Path(wav_of(root, "fleurs_fra_000020"))
    cut.write_bytes(cut.read_bytes()[:-1000])
    (root / "fleurs" / "fra" / "wav").rename(root / "fleurs" / "fra" / "audio")
    msg = problems_of(root, tmp_path)
    test = transcript(root, "fleurs", "eng", "10min_test")
    assert (
        f"{test}:1: wav of 'fleurs_eng_000020' not found ({missing}) - restore it"
        " from the ML-SUPERB release"
    ) in msg
    cv_dev = transcript(root, "cv", "fra", "10min_dev")
    assert (
        f"{cv_dev}:1: wav of 'cv_fra_000010' not readable by soundfile (" in msg
        and f") ({garbage}) - restore it" in msg
    )
    assert f"{root}/fleurs/fra/wav: no such directory (the audio of fleurs/fra)" in msg
    assert "3 problem(s) found" in msg
    (root / "fleurs" / "fra" / "audio").rename(root / "fleurs" / "fra" / "wav")
    msg = problems_of(root, tmp_path)
    fra_test = transcript(root, "fleurs", "fra", "10min_test")
    assert (
        f"{fra_test}:1: wav of 'fleurs_fra_000020' truncated (its header declares"
    ) in msg


def test_at_most_20_problems_are_shown(tmp_path):
    root = write_tree(tmp_path / "mls")
    test = transcript(root, "fleurs", "eng", "10min_test")
    append(test, "oops\n" * 25)
    msg = problems_of(root, tmp_path)
    assert "25 problem(s) found" in msg and msg.endswith("  ... and 5 more")
    assert msg.count("1 field(s), expected 3") == 20


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
    root = write_tree(tmp_path / "mls")
    test = transcript(root, "cv", "fra", "10min_test")
    append(test, "cv_fra_000021 A\n")
    out = tmp_path / "data"
    proc = _run(
        "espnet2_ext.recipes.ml_superb.data_prep",
        *("--root", str(root), "--outdir", str(out), "--duration", "10min"),
    )
    assert proc.returncode == 1, proc.stderr
    errors = [e for e in proc.stderr.splitlines() if e.startswith("espnet2_ext: error")]
    assert errors == [
        "espnet2_ext: error: 1 problem(s) in the ML-SUPERB tree, nothing written (the"
        f" first: {test}:2: 2 field(s), expected 3 (id, a second field, text):"
        " 'cv_fra_000021 A' - the released format is '<dataset>_<iso>_<number>"
        " <field> <text>': fix the line or restore the file from the release) - fix"
        " them (see the list above) and rerun stage 1"
    ], proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()


def test_cli_mono_lid_track(tmp_path):
    root = write_tree(tmp_path / "mls")
    out = tmp_path / "data"
    proc = _run(
        "espnet2_ext.recipes.ml_superb.data_prep",
        *("--root", str(root), "--outdir", str(out), "--duration", "1h"),
        *("--langs", "eng", "--lid", "true", "--train_set", "train_mono_eng_1h"),
        *("--dev_set", "dev_mono_eng_1h", "--test_set", "test_mono_eng_1h"),
        *("--nlsyms_out", str(out / "nlsyms.txt")),
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "dev_mono_eng_1h",
        "nlsyms.txt",
        "test_mono_eng_1h",
        "train_mono_eng_1h",
    ]
    assert lines(out / "train_mono_eng_1h/text") == [
        "fleurs_eng_000001 [eng] THANK YOU VERY MUCH",
        "fleurs_eng_000002 [eng] HELLO WORLD ITS ME",
        "fleurs_eng_000003 [eng] ONE MORE FOR THE HOUR",
    ]
    assert lines(out / "nlsyms.txt") == ["[eng]"]


def test_fake_tree_is_deterministic_real_format_and_prepares(tmp_path):
    rows = build_fake_ml_superb(tmp_path / "a")
    build_fake_ml_superb(tmp_path / "b")
    a, b = tmp_path / "a", tmp_path / "b"
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    folders = [("cv", "fra"), ("fleurs", "eng"), ("fleurs", "fra")]
    for dataset, iso in folders:
        lang_dir = a / dataset / iso
        by_file = {}
        for name in SPLIT_FILES:
            file_rows = [
                r for r in rows if (r.dataset, r.iso, r.split) == (dataset, iso, name)
            ]
            assert lines(lang_dir / f"transcript_{name}.txt") == [
                f"{r.utt} {r.seconds:.2f} {r.text}" for r in file_rows
            ]
            by_file[name] = {r.utt for r in file_rows}
        assert len(by_file["10min_train"]) == 3 and len(by_file["1h_train"]) == 5
        assert by_file["10min_train"] < by_file["1h_train"]
    for r in rows:
        info = soundfile.info(r.wav)
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert 0.3 <= r.seconds <= 1.0 and info.frames == round(r.seconds * 16000)
    texts = " ".join(r.text for r in rows)
    assert "é" in texts and "," in texts and "[" in texts
    stats = prepare_ml_superb(a, tmp_path / "data", "1h", lid=True)
    assert {s: r.num_utterances for s, r in stats.sets.items()} == {
        "train": 15,
        "dev": 6,
        "test": 6,
    }
    assert stats.sets["train"].langs == {
        "eng": LangCounts(kept=5),
        "fra": LangCounts(kept=10),
    }
    text = (tmp_path / "data/train_1h/text").read_text(encoding="utf-8")
    assert "[fra] " in text and "," not in text and "É" in text
    # the release's id prefixes: commonvoice/ holds cv_* ids
    build_fake_ml_superb(tmp_path / "c", {"commonvoice": ["deu"]}, 1)
    stats = prepare_ml_superb(tmp_path / "c", tmp_path / "c_data")
    assert lines(tmp_path / "c_data/dev_10min/utt2lang") == ["cv_deu_000003 deu"]


def test_fake_cli(tmp_path):
    proc = _run(
        "espnet2_ext.recipes.ml_superb.fake_corpus",
        *("--root", str(tmp_path / "m"), "--datasets", "mls:lit", "fleurs:lit,eng"),
        *("--per_split", "1"),
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(
        str(p.relative_to(tmp_path / "m"))
        for p in (tmp_path / "m").glob("*/*/transcript_10min_test.txt")
    ) == [
        "fleurs/eng/transcript_10min_test.txt",
        "fleurs/lit/transcript_10min_test.txt",
        "mls/lit/transcript_10min_test.txt",
    ]
