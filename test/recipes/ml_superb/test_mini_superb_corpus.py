"""The mini ML-SUPERB build: a fixture catalog in a cached wheel, real espeak-ng."""

import json
import os
import re
import zipfile
from pathlib import Path

import pytest
import soundfile

from espnet2_ext.fileio.build_stamp import OtherBuildError
from espnet2_ext.fileio.stamp import read_stamp, start_stamp
from espnet2_ext.recipes.ml_superb import mini_corpus as ms
from espnet2_ext.synth import gettext_pairs as gp
from espnet2_ext.synth import tts

pytest.importorskip("polib", reason="pip install polib")
needs_espeak = pytest.mark.skipif(
    bool(tts.missing_tools(["espeak-ng"])),
    reason="espeak-ng not installed: sudo apt-get install -y espeak-ng",
)

SOURCE = gp.CatalogSource("tinycat", "1.0", "MIT")
# (English msgid, German msgstr, French msgstr); "" = untranslated
USABLE = [
    ("Save the page now", "Seite jetzt speichern.", "Enregistrer la page."),
    ("Delete this page forever", "Diese Seite löschen?", "Supprimer cette page ?"),
    ("Choose a new image", "Ein neues Bild wählen", "Choisir une nouvelle image"),
    ("The form has errors", "Das Formular hat Fehler.", "Le formulaire a des erreurs."),
    ("Sign in to continue", "Zum Fortfahren anmelden", "Connectez-vous pour continuer"),
    ("Add a new user", "Einen Benutzer hinzufügen", "Ajouter un utilisateur"),
    (
        "This field is required.",
        "Dieses Feld ist Pflicht.",
        "Ce champ est obligatoire.",
    ),
    ("Search this site now", "Diese Seite durchsuchen", "Rechercher sur ce site"),
    ("Edit the page title", "", "Modifier le titre"),
    ("Move the page up", "", "Monter la page vers le haut"),
]
DROPPED = [
    ("Go to page two", "Gehe zu Seite 2", "Aller à la page 2"),  # digit
    # the same as the first usable row once normalised (no final period)
    ("Save the page now please", "Seite jetzt speichern", "Enregistrer la page"),
    ("Yes or no", "Ja / nein oder so", "Oui / non ou bien"),  # slash
    ("Hello %(name)s and welcome", "Hallo %(name)s du", "Bonjour %(name)s toi"),
    ("Django site admin", "Django site admin", "Django site admin"),  # English copy
    ("Too short", "Zu kurz", "Trop court"),  # 2 words
    (
        "A very long one",
        "Das ist ein sehr langer Satz mit viel zu vielen Wörtern für dieses Korpus",
        "Ceci est une phrase très longue avec beaucoup trop de mots pour ce corpus",
    ),
]
USABLE_DE = [r[1] for r in USABLE if r[1]]  # 8
USABLE_FR = [r[2] for r in USABLE]  # 10
LANGS = ("fra", "deu")
TINY = dict(
    langs=LANGS,
    train_sentences=2,
    train_1h_sentences=4,
    dev_sentences=2,
    test_sentences=2,
    seed=3,
    nj=1,
    sources=[SOURCE],
)
UTT = re.compile(r"gettext_(fra|deu)_\d{6}")


def _po(col):
    out = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
    for row in USABLE + DROPPED:
        out += f'msgid "{row[0]}"\nmsgstr "{row[col]}"\n\n'
    return out


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory):
    """A download dir already holding ``tinycat-1.0`` (so nothing is downloaded)."""
    d = tmp_path_factory.mktemp("downloads")
    with zipfile.ZipFile(d / "tinycat-1.0-py3-none-any.whl", "w") as z:
        for col, loc in ((1, "de"), (2, "fr")):
            z.writestr(f"tinycat/locale/{loc}/LC_MESSAGES/django.po", _po(col))
    return d


@pytest.fixture(scope="module")
def built(wheel_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("a") / "mini_superb"
    manifest = ms.build_mini_superb(root, download_dir=wheel_dir, **TINY)
    return root, manifest


def _lines(path: Path):
    return [line.split(" ", 2) for line in path.read_text("utf-8").splitlines()]


def _tree(root: Path):
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_sentences_are_cleaned_and_deduplicated(wheel_dir):
    sentences, stats = ms.load_sentences(LANGS, wheel_dir, [SOURCE])
    assert [s.text for s in sentences["deu"]] == sorted(USABLE_DE)
    assert [s.text for s in sentences["fra"]] == sorted(USABLE_FR)
    assert stats == [
        dict(
            package="tinycat",
            version="1.0",
            licence="MIT",
            sentences=dict(fra=10, deu=8),
        )
    ]


@needs_espeak
def test_layout_and_line_format(built):
    root, manifest = built
    assert not manifest["skipped"]
    assert sorted(p.name for p in root.iterdir()) == [
        ".done",
        "gettext",
        "manifest.json",
    ]
    for iso in LANGS:
        d = root / "gettext" / iso
        assert sorted(p.name for p in d.iterdir()) == sorted(
            ["wav"] + [f"transcript_{n}.txt" for n in ms.SPLIT_FILES]
        )
        ids = []
        for name, n in zip(ms.SPLIT_FILES, (2, 4, 2, 2)):
            rows = _lines(d / f"transcript_{name}.txt")
            assert len(rows) == n
            assert [r[0] for r in rows] == sorted(r[0] for r in rows)
            for utt, seconds, text in rows:
                assert UTT.fullmatch(utt) and utt.split("_")[1] == iso
                info = soundfile.info(str(d / "wav" / f"{utt}.wav"))
                assert (info.samplerate, info.channels, info.subtype) == (
                    16000,
                    1,
                    "PCM_16",
                )
                assert seconds == f"{info.frames / 16000:.2f}" and float(seconds) > 0.3
                assert text in (USABLE_FR if iso == "fra" else USABLE_DE)  # raw text
            ids += [r[0] for r in rows if name != "10min_train"]
        assert len(ids) == len(set(ids)) == 8
        assert sorted(p.name for p in (d / "wav").iterdir()) == [
            f"{u}.wav" for u in sorted(ids)
        ]
        lang = manifest["languages"][iso]
        assert lang["counts"] == dict(zip(ms.SPLIT_FILES, (2, 4, 2, 2)))
        assert lang["minutes"]["1h_train"] > lang["minutes"]["10min_train"] > 0
    on_disk = json.loads((root / "manifest.json").read_text("utf-8"))
    assert on_disk == {
        k: v for k, v in manifest.items() if k not in ("skipped", "build_seconds")
    }
    assert on_disk["sources"][0]["licence"] == "MIT"
    assert on_disk["espeak_ng"].startswith("eSpeak NG")


@needs_espeak
def test_splits_sentences_and_voices_are_disjoint(built):
    root, manifest = built
    for iso in LANGS:
        d = root / "gettext" / iso
        text = {
            n: [r[2] for r in _lines(d / f"transcript_{n}.txt")] for n in ms.SPLIT_FILES
        }
        ids = {
            n: [r[0] for r in _lines(d / f"transcript_{n}.txt")] for n in ms.SPLIT_FILES
        }
        train, dev, test = (
            set(text["1h_train"]),
            set(text["10min_dev"]),
            set(text["10min_test"]),
        )
        assert not train & dev and not train & test and not dev & test
        # 1h holds 10min: the 10min file is the head of the 1h list
        assert ids["1h_train"][:2] == ids["10min_train"]
        assert _lines(d / "transcript_1h_train.txt")[:2] == _lines(
            d / "transcript_10min_train.txt"
        )
        utt2spk = manifest["languages"][iso]["utt2spk"]
        spk = {n: {utt2spk[u] for u in ids[n]} for n in ms.SPLIT_FILES}
        assert spk["1h_train"] and spk["10min_dev"] and spk["10min_test"]
        assert not spk["1h_train"] & (spk["10min_dev"] | spk["10min_test"])
        voices = manifest["languages"][iso]["voices"]
        assert not set(voices["train"]) & (set(voices["dev"]) | set(voices["test"]))
    train_names = {v["name"] for v in manifest["voices"]["train"]}
    heldout = {v["name"] for s in ("dev", "test") for v in manifest["voices"][s]}
    assert "fr+m1" in train_names and "de+f5" in heldout and not train_names & heldout


@needs_espeak
def test_prepared_by_ml_superb_data_prep(built, tmp_path):
    ml_superb = pytest.importorskip("espnet2_ext.recipes.ml_superb.data_prep")
    root, _ = built
    stats = ml_superb.prepare_ml_superb(root, tmp_path / "data", "1h", lid=True)
    assert stats.sets["train"].langs["fra"].kept == 4
    assert stats.sets["test"].langs["deu"].kept == 2
    first = (tmp_path / "data" / "train_1h" / "text").read_text("utf-8").split("\n")[0]
    assert re.fullmatch(r"gettext_deu_000001 \[deu\] [A-ZÄÖÜ ]+", first)


@needs_espeak
def test_deterministic_skipped_and_resumed(built, wheel_dir, tmp_path):
    root, _ = built
    other = tmp_path / "b"
    again = ms.build_mini_superb(other, download_dir=wheel_dir, **TINY)
    assert not again["skipped"]
    assert _tree(other) == _tree(root)  # transcripts, wavs, manifest: byte-identical

    stamp = {p: p.stat().st_mtime_ns for p in other.rglob("*") if p.is_file()}
    assert ms.build_mini_superb(other, download_dir=wheel_dir, **TINY)["skipped"]
    assert {p: p.stat().st_mtime_ns for p in other.rglob("*") if p.is_file()} == stamp

    # an interrupted build: its stamp still running (no .done), a wav and the
    # manifest missing, a temporary left over
    start_stamp(other / ".done", read_stamp(other / ".done"))
    wav = next((other / "gettext" / "deu" / "wav").iterdir())
    wav.unlink()
    (other / "manifest.json").unlink()
    (wav.parent / f".{wav.name}.x.tmp").write_bytes(b"partial")
    kept = next((other / "gettext" / "fra" / "wav").iterdir())
    before = kept.stat().st_mtime_ns
    resumed = ms.build_mini_superb(other, download_dir=wheel_dir, **TINY)
    assert not resumed["skipped"] and kept.stat().st_mtime_ns == before
    assert _tree(other) == _tree(root)

    with pytest.raises(
        OtherBuildError, match=r"option seed changed \(3 -> 4\).*--overwrite"
    ):
        ms.build_mini_superb(other, download_dir=wheel_dir, **dict(TINY, seed=4))


def test_too_few_sentences_names_the_language(wheel_dir, tmp_path):
    with pytest.raises(
        ms.TooFewSentencesError,
        match=r"^deu \(German, catalog locale de\): only 8 usable sentences of 3-12 "
        r"words, but 5 train \(1h\) \+ 2 dev \+ 2 test = 9 are needed",
    ):
        ms.build_mini_superb(
            tmp_path / "x",
            download_dir=wheel_dir,
            **dict(TINY, train_1h_sentences=5),
        )
    assert not (tmp_path / "x" / "gettext").exists()


def test_bad_options(tmp_path):
    with pytest.raises(ValueError, match=r"'xyz': no catalog locale / espeak-ng voice"):
        ms.build_mini_superb(tmp_path, langs=("fra", "xyz"))
    with pytest.raises(ValueError, match=r"must be <= train_1h_sentences"):
        ms.build_mini_superb(tmp_path, train_sentences=5, train_1h_sentences=4)
    assert not any(tmp_path.iterdir())


def test_default_languages_have_enough():
    downloads = Path(os.environ["ESPNET2_EXT_DOWNLOADS"])
    missing = [
        s.spec for s in gp.DEFAULT_SOURCES if gp.find_wheel(s, downloads) is None
    ]
    if missing:
        pytest.skip(
            f"catalog wheels {missing} not in {downloads} (set ESPNET2_EXT_DOWNLOADS)"
        )
    config = ms.MiniSuperbConfig()
    sentences, _ = ms.load_sentences(config.langs, downloads)
    counts = {iso: len(v) for iso, v in sentences.items()}
    assert counts == {iso: ms.AVAILABLE_SENTENCES[iso] for iso in config.langs}
    assert min(counts.values()) >= config.needed
    for iso, lang in ms.LANGUAGES.items():
        assert re.fullmatch(r"[a-z]{3}", iso) and lang.voice
