"""The SSL speech build: catalog English only, train voices vs held-out voices."""

import zipfile

import pytest

from espnet2_ext.recipes.mini_st import ssl_speech
from espnet2_ext.synth import gettext_pairs as gp
from espnet2_ext.synth import tts

pytest.importorskip("polib", reason="pip install polib")
pytestmark = pytest.mark.skipif(
    bool(tts.missing_tools()),
    reason=f"{tts.missing_tools()} not installed:"
    " sudo apt-get install -y flite espeak-ng",
)

SOURCE = gp.CatalogSource("tinycat", "1.0", "MIT")
EN = [
    "Save the page now",
    "Delete this page forever",
    "Choose a new image",
    "The form has errors",
    "Sign in to continue",
    "Add a new user",
]


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory):
    """A cached wheel: a German catalog translating only half of the English."""
    d = tmp_path_factory.mktemp("downloads")
    po = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
    for i, en in enumerate(EN + ["Hello %(name)s and welcome"]):
        po += f'msgid "{en}"\nmsgstr "{"Ja" if i % 2 else ""}"\n\n'
    with zipfile.ZipFile(d / "tinycat-1.0-py3-none-any.whl", "w") as z:
        z.writestr("tinycat/locale/de/LC_MESSAGES/django.po", po)
    return d


def test_english_needs_no_translation(wheel_dir):
    pairs, stats = gp.load_english([SOURCE], wheel_dir)
    assert [p.en for p in pairs] == sorted(EN)  # untranslated kept, placeholder not
    assert stats[0]["kept"] == len(EN)


def test_build_splits_voices_and_excludes(wheel_dir, tmp_path):
    st_text = tmp_path / "st_text"
    st_text.write_text("utt1 Add a new user\n")
    out = tmp_path / "ssl"
    ssl_speech.build_ssl_speech(
        out,
        heldout_sentences=2,
        exclude_text=[st_text],
        download_dir=wheel_dir,
        sources=[SOURCE],
    )
    rows = {}
    for split in ("train", "test"):
        lines = (out / split / "text").read_text().splitlines()
        rows[split] = [line.split(" ", 1) for line in lines]
        assert len((out / split / "wav.scp").read_text().splitlines()) == len(lines)
    spk = {s: {u.split("-")[0] for u, _ in r} for s, r in rows.items()}
    assert spk["train"] <= {v.spk for v in tts.TRAIN_VOICES}
    assert spk["test"] <= {v.spk for v in tts.HELDOUT_VOICES}
    said = {s: {t for _, t in r} for s, r in rows.items()}
    assert len(said["test"]) == 2 and not said["train"] & said["test"]
    assert said["train"] | said["test"] == set(EN) - {"Add a new user"}
    assert (out / ".done").exists()
    again = ssl_speech.build_ssl_speech(
        out,
        heldout_sentences=2,
        exclude_text=[st_text],
        download_dir=wheel_dir,
        sources=[SOURCE],
    )
    assert again["skipped"]


def test_read_text_sentences_collapses_whitespace_and_skips_empty(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("u1 Add  a new\tuser \nu2\nu3 Sign in\n", encoding="utf-8")
    b.write_text("v1 Sign in\n", encoding="utf-8")
    assert ssl_speech.read_text_sentences([a, b]) == {"Add a new user", "Sign in"}
    b.write_text("v1 Sign in\n\nv2 Add a new user\n", encoding="utf-8")
    with pytest.raises(ValueError, match=f"^{b}:2: no id at the start of the line"):
        ssl_speech.read_text_sentences([a, b])
