"""Cleaning steps and catalog parsing of espnet2_ext.synth.gettext_pairs."""

import zipfile

import pytest

from espnet2_ext.synth import gettext_pairs as gp

polib = pytest.importorskip("polib", reason="pip install polib")

PO_HEADER = """msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Language: {lang}\\n"

"""


def write_po(entries, lang="de"):
    """Catalog text from ``[(msgid, msgstr, flags)]`` (flags e.g. ``"fuzzy"``)."""
    out = PO_HEADER.format(lang=lang)
    for msgid, msgstr, flags in entries:
        if flags == "obsolete":
            out += f'#~ msgid "{msgid}"\n#~ msgstr "{msgstr}"\n\n'
            continue
        if flags:
            out += f"#, {flags}\n"
        out += f'msgid "{msgid}"\nmsgstr "{msgstr}"\n\n'
    return out


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Hello %(name)s, welcome", True),
        ("Deleted %s items", True),
        ("%d pages found", True),
        ("Page %1$s of %2$s", True),
        ("Value {0} is wrong", True),
        ("Hello {name}", True),
        ("Use {{ var }} here", True),
        ("Progress is 100% done", False),
        ("50 % of the pages", False),
        ("A plain sentence.", False),
    ],
)
def test_has_placeholder(text, expected):
    assert gp.has_placeholder(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("See https://example.org/docs for more", True),
        ("Visit www.djangoproject.com today", True),
        ("Write to admin@example.com please", True),
        ("Read the docs on readthedocs.io now", True),
        ("e.g. a dot. Then another sentence.", False),
        ("Save the page and continue editing", False),
    ],
)
def test_has_url(text, expected):
    assert gp.has_url(text) is expected


def test_strip_html_removes_tags_then_unescapes():
    assert gp.strip_html("<b>Tom &amp; Jerry</b>") == " Tom & Jerry "
    assert gp.strip_html('Click <a href="#x">here</a>.') == "Click  here ."
    # escaped brackets survive as text and are then caught as markup
    stripped = gp.strip_html("Use &lt;br&gt; tags")
    assert stripped == "Use <br> tags"
    assert gp.has_markup(stripped)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Enter a valid user_name value", True),
        ("Use *args in the call", True),
        ("Run `make` first", True),
        ("Title: (A -> Z)", True),
        ("Don't save changes, please.", False),
        ("Edit / Review (draft)", False),
    ],
)
def test_has_markup(text, expected):
    assert gp.has_markup(text) is expected


def test_normalise_whitespace_and_ascii_punctuation():
    assert gp.normalise_whitespace("  a\tb\n\nc\u00a0d  ") == "a b c d"
    assert gp.ascii_punctuation("It\u2019s \u201cok\u201d \u2014 wait\u2026") == (
        'It\'s "ok" - wait...'
    )


@pytest.mark.parametrize(
    "text, n, ok",
    [
        ("Save", 1, False),
        ("Save the page", 3, True),
        ("live + draft", 2, False),  # a lone "+" is not a word
        (" ".join(["word"] * 25), 25, True),
        (" ".join(["word"] * 26), 26, False),
    ],
)
def test_word_count_limits(text, n, ok):
    assert gp.word_count(text) == n
    assert gp.word_count_ok(text, 3, 25) is ok


def test_clean_source_pipeline():
    assert (
        gp.clean_source("<p>Save  the\n page &amp; exit</p>") == "Save the page & exit"
    )
    assert gp.clean_source("It\u2019s been saved now.") == "It's been saved now."
    assert gp.clean_source("Deleted %(count)s pages now") is None
    assert gp.clean_source("See https://x.org for the docs") is None
    assert gp.clean_source("Two words") is None
    assert gp.clean_source("Caf\u00e9 menu is open") is None  # non-ASCII English
    assert gp.clean_text("<b></b>") is None


def test_dedupe_by_source_keeps_first():
    a = gp.Pair("Save the page", {"de": "A"}, "p1")
    b = gp.Pair("Save the page", {"de": "B"}, "p2")
    c = gp.Pair("Delete the page", {"de": "C"}, "p2")
    assert gp.dedupe_by_source([a, b, c]) == [a, c]


def test_entry_filters_and_catalog_parsing():
    po = write_po(
        [
            ("Save the page now", "Seite jetzt speichern", ""),
            ("Fuzzy entry is here", "Unscharf", "fuzzy"),
            ("Obsolete entry is here", "Veraltet", "obsolete"),
            ("Untranslated entry is here", "", ""),
            ("Save the page now", "Second translation loses", ""),
        ]
    )
    tr = gp.catalog_translations([po])
    assert tr == {"Save the page now": "Seite jetzt speichern"}
    usable = {(e.msgid, e.msgstr): gp.entry_is_usable(e) for e in polib.pofile(po)}
    assert usable == {
        ("Save the page now", "Seite jetzt speichern"): True,
        ("Fuzzy entry is here", "Unscharf"): False,
        ("Obsolete entry is here", "Veraltet"): False,
        ("Untranslated entry is here", ""): False,
        ("Save the page now", "Second translation loses"): True,
    }
    plural = polib.POEntry(
        msgid="One page", msgid_plural="Many pages", msgstr_plural={0: "a", 1: "b"}
    )
    assert not gp.entry_is_usable(plural)


def test_pairs_need_every_language_and_clean_targets():
    src = gp.CatalogSource("pkg", "1.0", "MIT")
    tr = {
        "de": {
            "Save the page now": "Seite speichern",
            "Delete the page now": "Seite löschen",
            "Open the <b>menu</b> now": "Das <b>Menü</b> öffnen",
            "Publish the page now": "Seite %s veröffentlichen",
        },
        "fr": {
            "Save the page now": "Enregistrer la page",
            "Open the <b>menu</b> now": "Ouvrir le <b>menu</b>",
            "Publish the page now": "Publier la page",
        },
    }
    pairs = gp.pairs_from_translations(tr, ["de", "fr"], src)
    # "Delete" has no French; "Publish" has a placeholder in the German translation
    assert [(p.en, p.tgt) for p in pairs] == [
        ("Open the menu now", {"de": "Das Menü öffnen", "fr": "Ouvrir le menu"}),
        ("Save the page now", {"de": "Seite speichern", "fr": "Enregistrer la page"}),
    ]
    assert {(p.package, p.version, p.licence) for p in pairs} == {("pkg", "1.0", "MIT")}


def make_fake_wheel(path, catalogs, licence="MIT"):
    """A wheel holding ``pkg/locale/<loc>/LC_MESSAGES/django.po`` per ``catalogs``."""
    with zipfile.ZipFile(path, "w") as z:
        for loc, entries in catalogs.items():
            z.writestr(f"pkg/locale/{loc}/LC_MESSAGES/django.po", write_po(entries))
        z.writestr(
            "pkg-1.0.dist-info/METADATA",
            f"Metadata-Version: 2.4\nName: pkg\nVersion: 1.0\n"
            f"License-Expression: {licence}\n",
        )
    return path


def test_load_pairs_from_cached_wheel_with_locale_fallback(tmp_path):
    make_fake_wheel(
        tmp_path / "fake_pkg-1.0-py3-none-any.whl",
        {
            "de": [("Save the page now", "Seite speichern", "")],
            "de_DE": [
                ("Save the page now", "Ignored, de wins", ""),
                ("Delete the page now", "Seite löschen", ""),
            ],
            "de_CH": [("Close the page now", "Not a home variant", "")],
            "fr": [
                ("Save the page now", "Enregistrer", ""),
                ("Delete the page now", "Supprimer", ""),
                ("Close the page now", "Fermer", ""),
            ],
        },
    )
    with zipfile.ZipFile(tmp_path / "fake_pkg-1.0-py3-none-any.whl") as z:
        assert gp.wheel_licence(z) == "MIT"
    source = gp.CatalogSource("fake-pkg", "1.0", "MIT")
    pairs, stats = gp.load_pairs([source], ["de", "fr"], tmp_path)
    assert [(p.en, p.tgt["de"]) for p in pairs] == [
        ("Delete the page now", "Seite löschen"),
        ("Save the page now", "Seite speichern"),
    ]
    assert stats[0]["per_lang"] == {"de": 2, "fr": 3}
    assert stats[0]["all_langs"] == 2 and stats[0]["kept"] == 2
