"""A tiny real mini_st build: fixture catalog in a fake cached wheel, real synthesis."""

import pytest
import soundfile

from espnet2_ext.fileio.build_stamp import OtherBuildError
from espnet2_ext.fileio.stamp import read_stamp, start_stamp
from espnet2_ext.recipes.mini_st import corpus as mini_st
from espnet2_ext.synth import gettext_pairs as gp
from espnet2_ext.synth import tts

pytest.importorskip("polib", reason="pip install polib")
pytestmark = pytest.mark.skipif(
    bool(tts.missing_tools()),
    reason=f"{tts.missing_tools()} not installed:"
    " sudo apt-get install -y flite espeak-ng",
)

LANGS = ["de", "fr", "es"]
SENTENCES = [
    ("Save the page now", "Seite jetzt speichern", "Enregistrer", "Guardar"),
    ("Delete this page forever", "Seite löschen", "Supprimer", "Eliminar"),
    ("Your password was changed.", "Passwort geändert.", "Modifié.", "Cambiada."),
    ("Choose a new image", "Neues Bild wählen", "Choisir une image", "Elegir"),
    ("The form has errors", "Formular hat Fehler", "Erreurs", "Errores"),
    ("Sign in to continue", "Anmelden", "Connectez-vous", "Inicie sesión"),
    ("Add a new user", "Benutzer hinzufügen", "Ajouter", "Añadir usuario"),
    ("This field is required.", "Pflichtfeld.", "Obligatoire.", "Obligatorio."),
    ("Search this site now", "Seite durchsuchen", "Rechercher", "Buscar"),
    ("Edit the page title", "Titel bearbeiten", "Modifier le titre", "Editar"),
    ("Move the page up", "Seite nach oben", "Monter la page", "Subir"),
    ("Copy this page again", "Seite kopieren", "Copier la page", "Copiar"),
]
# entries the cleaner must drop, so they can never reach the corpus
DROPPED = [
    ("Hello %(name)s and welcome", "Hallo %(name)s", "Bonjour %(name)s", "Hola"),
    ("Visit https://example.org today", "Besuch", "Visite", "Visita"),
    ("Too short", "Zu kurz", "Trop court", "Corto"),
]
TINY = dict(
    corpus="gettext", dev_sentences=2, test_sentences=2, train_reps=2, eval_reps=1
)


def _po(rows, col):
    out = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
    for row in rows:
        out += f'msgid "{row[0]}"\nmsgstr "{row[col]}"\n\n'
    return out


@pytest.fixture(scope="module")
def fixture_wheel_dir(tmp_path_factory):
    """A download dir already holding ``tinycat-1.0`` (so nothing is downloaded)."""
    import zipfile

    d = tmp_path_factory.mktemp("downloads")
    with zipfile.ZipFile(d / "tinycat-1.0-py3-none-any.whl", "w") as z:
        for col, lang in enumerate(LANGS, start=1):
            z.writestr(
                f"tinycat/locale/{lang}/LC_MESSAGES/django.po",
                _po(SENTENCES + DROPPED, col),
            )
    return d


SOURCE = gp.CatalogSource("tinycat", "1.0", "MIT")


def _read(path):
    return [line.split(" ", 1) for line in path.read_text("utf-8").splitlines()]


@pytest.fixture(scope="module")
def built(fixture_wheel_dir, tmp_path_factory):
    outdir = tmp_path_factory.mktemp("build") / "mini_st"
    config = mini_st.MiniSTConfig(tgt_langs=LANGS, seed=3, **TINY)
    summary = mini_st.build_mini_st(
        outdir,
        config,
        nj=2,
        download_dir=fixture_wheel_dir,
        sources=[SOURCE],
    )
    return outdir, config, summary


def test_layout_counts_and_ids(built):
    outdir, config, summary = built
    assert not summary["skipped"]
    assert (outdir / ".done").exists() and (outdir / "README.md").exists()
    expected = {"train": 8 * 2, "dev": 2 * 1, "test": 2 * 1}
    for split, n in expected.items():
        d = outdir / split
        files = ["wav.scp", "text.en", "utt2spk"] + [f"text.{x}" for x in LANGS]
        ids = None
        for name in files:
            rows = _read(d / name)
            assert len(rows) == n, (split, name, len(rows), n)
            utts = [r[0] for r in rows]
            assert utts == sorted(utts, key=str.encode), (split, name)  # LC_ALL=C
            ids = ids or utts
            assert utts == ids, (split, name)
        for utt, spk in _read(d / "utt2spk"):
            assert utt.startswith(spk + "-"), (utt, spk)
        spk2utt = {
            line.split()[0]: line.split()[1:]
            for line in (d / "spk2utt").read_text().splitlines()
        }
        assert sorted(u for us in spk2utt.values() for u in us) == sorted(ids)
        for utt, path in _read(d / "wav.scp"):
            spk = utt.split("-")[0]
            assert path == str(outdir / "wav" / spk / f"{utt}.wav"), path
            info = soundfile.info(path)
            assert (info.samplerate, info.channels) == (16000, 1)
            assert info.frames > 0.5 * 16000
        assert summary["splits"][split]["utterances"] == n
    assert not list(outdir.rglob(".*.tmp"))


def test_translations_follow_their_english(built):
    outdir, _, _ = built
    table = {row[0]: row[1:] for row in SENTENCES}
    dropped = {row[0] for row in DROPPED}
    for split in mini_st.SPLITS:
        en = dict(_read(outdir / split / "text.en"))
        for col, lang in enumerate(LANGS):
            for utt, tgt in _read(outdir / split / f"text.{lang}"):
                assert table[en[utt]][col] == tgt, (utt, lang)
        assert not dropped & set(en.values())


def test_no_english_shared_and_heldout_voices(built):
    outdir, _, _ = built
    en = {s: {t for _, t in _read(outdir / s / "text.en")} for s in mini_st.SPLITS}
    assert len(en["train"]) == 8 and len(en["dev"]) == 2 and len(en["test"]) == 2
    assert not en["train"] & en["dev"] and not en["train"] & en["test"]
    assert not en["dev"] & en["test"]
    spk = {s: {x for _, x in _read(outdir / s / "utt2spk")} for s in mini_st.SPLITS}
    heldout = {v.spk for v in tts.HELDOUT_VOICES}
    assert not spk["train"] & heldout
    assert spk["dev"] <= heldout and spk["test"] <= heldout
    assert spk["train"] <= {v.spk for v in tts.TRAIN_VOICES}


def test_readme_records_sources_and_voices(built):
    outdir, _, _ = built
    readme = (outdir / "README.md").read_text()
    assert "| [tinycat](https://pypi.org/project/tinycat/1.0/) | 1.0 | MIT |" in readme
    assert "| 12 | 12 | 12 | 20 |" in readme  # all langs, dedup, used, utterances
    assert "seed 3" in readme
    for v in tts.HELDOUT_VOICES:
        assert f"| {v.spk} | {v.engine} | {v.name} |" in readme


def test_rerun_skips_and_changed_args_fail(built, fixture_wheel_dir):
    outdir, config, _ = built
    before = {p: p.stat().st_mtime_ns for p in outdir.rglob("*") if p.is_file()}
    again = mini_st.build_mini_st(
        outdir,
        config,
        download_dir=fixture_wheel_dir,
        sources=[SOURCE],
    )
    assert again["skipped"]
    assert before == {p: p.stat().st_mtime_ns for p in outdir.rglob("*") if p.is_file()}
    other = mini_st.MiniSTConfig(tgt_langs=LANGS, seed=4, **TINY)
    with pytest.raises(
        OtherBuildError, match=r"option seed changed \(3 -> 4\).*--overwrite"
    ):
        mini_st.build_mini_st(
            outdir,
            other,
            download_dir=fixture_wheel_dir,
            sources=[SOURCE],
        )
    # the CLI says the same in one line (the default sources differ too)
    with pytest.raises(SystemExit, match="mini_st: error: .* other arguments"):
        mini_st.main(["--outdir", str(outdir), "--seed", "4"])
    assert read_stamp(outdir / ".done").options["seed"] == "3"


def test_interrupted_build_resumes_identically(built, fixture_wheel_dir, tmp_path):
    outdir, config, _ = built
    # a copy of the finished build, then "interrupt" it: its stamp still running (no
    # .done), one wav missing, one half-written temporary file, one text file missing
    import shutil

    copy = tmp_path / "mini_st"
    shutil.copytree(outdir, copy)
    start_stamp(copy / ".done", read_stamp(copy / ".done"))
    (copy / "dev" / "text.fr").unlink()
    wavs = sorted((copy / "wav").rglob("*.wav"))
    victim, kept = wavs[0], wavs[1]
    ref = victim.read_bytes()
    victim.unlink()
    (victim.parent / f".{victim.name}.x.tmp").write_bytes(b"RIFF")
    kept_mtime = kept.stat().st_mtime_ns
    # wav.scp holds absolute paths of the original; rewrite is expected
    res = mini_st.build_mini_st(
        copy,
        config,
        download_dir=fixture_wheel_dir,
        sources=[SOURCE],
        nj=1,
    )
    assert not res["skipped"] and (copy / ".done").exists()
    assert victim.read_bytes() == ref  # deterministic re-synthesis
    assert kept.stat().st_mtime_ns == kept_mtime  # finished wavs are kept
    assert not list(copy.rglob(".*.tmp"))
    for name in ["text.en", "text.de", "text.fr", "utt2spk", "spk2utt"]:
        assert (copy / "dev" / name).read_bytes() == (
            outdir / "dev" / name
        ).read_bytes()
    assert (copy / "README.md").read_bytes() == (outdir / "README.md").read_bytes()


def test_injected_pairs_and_split_errors(tmp_path):
    pairs = [
        gp.Pair(en, dict(zip(LANGS, tgt)), "inj", "0", "MIT")
        for en, *tgt in SENTENCES[:5]
    ]
    with pytest.raises(ValueError, match="lower --dev_sentences"):
        mini_st.split_pairs(pairs, 3, 2, seed=0)
    splits = mini_st.split_pairs(pairs, 1, 1, seed=0)
    assert splits == mini_st.split_pairs(list(reversed(pairs)), 1, 1, seed=0)
    assert (
        splits["test"] == mini_st.split_pairs(pairs, 1, 1, seed=0, max_pairs=4)["test"]
    )
    config = mini_st.MiniSTConfig(
        tgt_langs=["de"],
        seed=0,
        dev_sentences=1,
        test_sentences=1,
        train_reps=1,
        eval_reps=1,
    )
    res = mini_st.build_mini_st(tmp_path / "inj", config, pairs=pairs, nj=1)
    assert [res["splits"][s]["utterances"] for s in mini_st.SPLITS] == [3, 1, 1]
    assert not (tmp_path / "inj" / "train" / "text.fr").exists()
