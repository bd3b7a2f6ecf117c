"""The grammar corpus: golden translations pin the morphology; splits are disjoint."""

import hashlib
import json

import pytest

from espnet2_ext.recipes.mini_st import corpus as mini_st
from espnet2_ext.recipes.mini_st import grammar as g
from espnet2_ext.synth import tts


def _noun(en):
    return next(n for n in g.OBJECTS + g.PLACES + g.ROOMS + g.EVENTS if n.en == en)


def _adj(en):
    return next(a for a in g.ADJECTIVES if a.en == en)


# (frame output, en, de, fr, es): every row was written by hand from the rules of the
# language, not produced by the code.
GOLDEN = [
    # German nominative weak ending; French adjective after the noun; inverted "¿".
    (
        g.where_is(_noun("ball"), _adj("red"), False),
        "where is the red ball",
        "Wo ist der rote Ball?",
        "Où est la balle rouge ?",
        "¿Dónde está la pelota roja?",
    ),
    # Plural: German -en after "die", Umlaut plural; French/Spanish plural agreement.
    (
        g.where_is(_noun("apple"), _adj("white"), True),
        "where are the white apples",
        "Wo sind die weißen Äpfel?",
        "Où sont les pommes blanches ?",
        "¿Dónde están las manzanas blancas?",
    ),
    # French adjective before the noun (petite), feminine.
    (
        g.where_is(_noun("cup"), _adj("small"), False),
        "where is the small cup",
        "Wo ist die kleine Tasse?",
        "Où est la petite tasse ?",
        "¿Dónde está la taza pequeña?",
    ),
    # German accusative masculine (den roten) of direction; French "à côté de" + du;
    # Spanish "al lado de" + del.
    (
        g.put(_noun("ball"), _adj("red"), False, "next to", _noun("desk")),
        "put the red ball next to the desk",
        "Leg den roten Ball neben den Schreibtisch.",
        "Mets la balle rouge à côté du bureau.",
        "Pon la pelota roja al lado del escritorio.",
    ),
    # Neuter accusative (das), French elision l'étagère, Spanish "de la".
    (
        g.put(_noun("book"), None, False, "on", _noun("shelf")),
        "put the book on the shelf",
        "Leg das Buch auf das Regal.",
        "Mets le livre sur l'étagère.",
        "Pon el libro encima de la estantería.",
    ),
    # French "de l'" for a vowel-initial noun after "à côté"; German neuter weak plural.
    (
        g.put(_noun("glass"), _adj("green"), True, "next to", _noun("shelf")),
        "put the green glasses next to the shelf",
        "Leg die grünen Gläser neben das Regal.",
        "Mets les verres verts à côté de l'étagère.",
        "Pon los vasos verdes al lado de la estantería.",
    ),
    # Prenominal adjective blocks elision: "la grande assiette", not "l'".
    (
        g.put(_noun("plate"), _adj("big"), False, "under", _noun("bed")),
        "put the big plate under the bed",
        "Leg den großen Teller unter das Bett.",
        "Mets la grande assiette sous le lit.",
        "Pon el plato grande debajo de la cama.",
    ),
    # "one": German mixed declension in the accusative, per gender.
    (
        g.want(_noun("ball"), _adj("red"), 1),
        "i want one red ball",
        "Ich möchte einen roten Ball.",
        "Je veux une balle rouge.",
        "Quiero una pelota roja.",
    ),
    (
        g.want(_noun("book"), _adj("blue"), 1),
        "i want one blue book",
        "Ich möchte ein blaues Buch.",
        "Je veux un livre bleu.",
        "Quiero un libro azul.",
    ),
    (
        g.want(_noun("bag"), _adj("black"), 1),
        "i want one black bag",
        "Ich möchte eine schwarze Tasche.",
        "Je veux un sac noir.",
        "Quiero una bolsa negra.",
    ),
    # Strong plural without article; feminine "vingt et une", "veintiuna".
    (
        g.want(_noun("apple"), _adj("yellow"), 21),
        "i want twenty one yellow apples",
        "Ich möchte einundzwanzig gelbe Äpfel.",
        "Je veux vingt et une pommes jaunes.",
        "Quiero veintiuna manzanas amarillas.",
    ),
    # Masculine apocope "veintiún"; German plural identical to the singular.
    (
        g.want(_noun("key"), None, 3),
        "i want three keys",
        "Ich möchte drei Schlüssel.",
        "Je veux trois clés.",
        "Quiero tres llaves.",
    ),
    (
        g.want(_noun("pen"), _adj("small"), 31),
        "i want thirty one small pens",
        "Ich möchte einunddreißig kleine Stifte.",
        "Je veux trente et un petits stylos.",
        "Quiero treinta y un bolígrafos pequeños.",
    ),
    # Spanish invariable plural "paraguas".
    (
        g.want(_noun("umbrella"), _adj("white"), 2),
        "i want two white umbrellas",
        "Ich möchte zwei weiße Regenschirme.",
        "Je veux deux parapluies blancs.",
        "Quiero dos paraguas blancos.",
    ),
    # Prices: accusative "einen Euro"; "Euro" invariable in German; apocope.
    (
        g.costs(_noun("lamp"), 1),
        "the lamp costs one euro",
        "Die Lampe kostet einen Euro.",
        "La lampe coûte un euro.",
        "La lámpara cuesta un euro.",
    ),
    (
        g.costs(_noun("book"), 21),
        "the book costs twenty one euros",
        "Das Buch kostet einundzwanzig Euro.",
        "Le livre coûte vingt et un euros.",
        "El libro cuesta veintiún euros.",
    ),
    (
        g.costs(_noun("shirt"), 80),
        "the shirt costs eighty euros",
        "Das Hemd kostet achtzig Euro.",
        "La chemise coûte quatre-vingts euros.",
        "La camisa cuesta ochenta euros.",
    ),
    (
        g.costs(_noun("glass"), 71),
        "the glass costs seventy one euros",
        "Das Glas kostet einundsiebzig Euro.",
        "Le verre coûte soixante et onze euros.",
        "El vaso cuesta setenta y un euros.",
    ),
    (
        g.costs(_noun("pen"), 97),
        "the pen costs ninety seven euros",
        "Der Stift kostet siebenundneunzig Euro.",
        "Le stylo coûte quatre-vingt-dix-sept euros.",
        "El bolígrafo cuesta noventa y siete euros.",
    ),
    # Times: "ein Uhr", "une heure", "la una"; "oh five".
    (
        g.wake_up(1, 5),
        "wake me up at one oh five",
        "Weck mich um ein Uhr fünf.",
        "Réveille-moi à une heure cinq.",
        "Despiértame a la una y cinco.",
    ),
    (
        g.wake_up(7, 0),
        "wake me up at seven",
        "Weck mich um sieben Uhr.",
        "Réveille-moi à sept heures.",
        "Despiértame a las siete.",
    ),
    (
        g.wake_up(11, 45),
        "wake me up at eleven forty five",
        "Weck mich um elf Uhr fünfundvierzig.",
        "Réveille-moi à onze heures quarante-cinq.",
        "Despiértame a las once y cuarenta y cinco.",
    ),
    # Dates: German dative ordinals (ersten, dritten, siebten, zwanzigsten);
    # "le premier", "el primero"; elision "L'examen".
    (
        g.event_date(_noun("exam"), 1, 5),
        "the exam is on the first of may",
        "Die Prüfung ist am ersten Mai.",
        "L'examen est le premier mai.",
        "El examen es el primero de mayo.",
    ),
    (
        g.event_date(_noun("meeting"), 3, 3),
        "the meeting is on the third of march",
        "Das Treffen ist am dritten März.",
        "La réunion est le trois mars.",
        "La reunión es el tres de marzo.",
    ),
    (
        g.event_date(_noun("party"), 7, 8),
        "the party is on the seventh of august",
        "Die Party ist am siebten August.",
        "La fête est le sept août.",
        "La fiesta es el siete de agosto.",
    ),
    (
        g.event_date(_noun("concert"), 21, 12),
        "the concert is on the twenty first of december",
        "Das Konzert ist am einundzwanzigsten Dezember.",
        "Le concert est le vingt et un décembre.",
        "El concierto es el veintiuno de diciembre.",
    ),
    (
        g.event_date(_noun("wedding"), 30, 6),
        "the wedding is on the thirtieth of june",
        "Die Hochzeit ist am dreißigsten Juni.",
        "Le mariage est le trente juin.",
        "La boda es el treinta de junio.",
    ),
    # Rooms: "in der" (f) / "im" (m, n); separable verb; French elision l'entrée.
    (
        g.light(_noun("kitchen"), True),
        "turn on the light in the kitchen",
        "Mach das Licht in der Küche an.",
        "Allume la lumière dans la cuisine.",
        "Enciende la luz en la cocina.",
    ),
    (
        g.light(_noun("hall"), False),
        "turn off the light in the hall",
        "Mach das Licht im Flur aus.",
        "Éteins la lumière dans l'entrée.",
        "Apaga la luz en el pasillo.",
    ),
    (
        g.temperature(_noun("living room"), 22),
        "set the temperature in the living room to twenty two degrees",
        "Stell die Temperatur im Wohnzimmer auf zweiundzwanzig Grad.",
        "Règle la température dans le salon sur vingt-deux degrés.",
        "Pon la temperatura en el salón a veintidós grados.",
    ),
]


@pytest.mark.parametrize("row", GOLDEN, ids=[r[1] for r in GOLDEN])
def test_golden_translations(row):
    out, en, de, fr, es = row
    assert set(out) == {"en", "en_written", "de", "fr", "es"}
    sides = {k: v for k, v in out.items() if k != "en_written"}
    assert sides == {"en": en, "de": de, "fr": fr, "es": es}


# (frame output, spoken en, written en), written by hand: sentence case, "I", month
# capitals, "?" / ".", numerals (1 included), H:MM times, numeral ordinals in dates.
WRITTEN = [
    (g.where_is(_noun("ball"), _adj("red"), False),
     "where is the red ball", "Where is the red ball?"),
    (g.where_is(_noun("apple"), _adj("white"), True),
     "where are the white apples", "Where are the white apples?"),
    (g.where_is(_noun("glass"), None, False),
     "where is the glass", "Where is the glass?"),
    (g.put(_noun("ball"), _adj("red"), False, "next to", _noun("desk")),
     "put the red ball next to the desk", "Put the red ball next to the desk."),
    (g.put(_noun("plate"), _adj("big"), True, "in front of", _noun("chair")),
     "put the big plates in front of the chair",
     "Put the big plates in front of the chair."),
    (g.put(_noun("book"), None, False, "on", _noun("shelf")),
     "put the book on the shelf", "Put the book on the shelf."),
    # "i" -> "I"; one -> 1 (numerals for every quantity)
    (g.want(_noun("ball"), _adj("red"), 1),
     "i want one red ball", "I want 1 red ball."),
    (g.want(_noun("apple"), _adj("yellow"), 21),
     "i want twenty one yellow apples", "I want 21 yellow apples."),
    (g.want(_noun("key"), None, 3), "i want three keys", "I want 3 keys."),
    (g.want(_noun("pen"), _adj("small"), 12),
     "i want twelve small pens", "I want 12 small pens."),
    (g.costs(_noun("lamp"), 1), "the lamp costs one euro", "The lamp costs 1 euro."),
    (g.costs(_noun("book"), 21),
     "the book costs twenty one euros", "The book costs 21 euros."),
    (g.costs(_noun("umbrella"), 99),
     "the umbrella costs ninety nine euros", "The umbrella costs 99 euros."),
    # times: always H:MM; a full hour is spoken without "o'clock" and written ":00"
    (g.wake_up(7, 30), "wake me up at seven thirty", "Wake me up at 7:30."),
    (g.wake_up(1, 5), "wake me up at one oh five", "Wake me up at 1:05."),
    (g.wake_up(7, 0), "wake me up at seven", "Wake me up at 7:00."),
    (g.wake_up(12, 0), "wake me up at twelve", "Wake me up at 12:00."),
    (g.wake_up(11, 45), "wake me up at eleven forty five", "Wake me up at 11:45."),
    (g.wake_up(10, 10), "wake me up at ten ten", "Wake me up at 10:10."),
    # dates: the spoken word order, numeral ordinals, capital month
    (g.event_date(_noun("exam"), 1, 5),
     "the exam is on the first of may", "The exam is on the 1st of May."),
    (g.event_date(_noun("party"), 2, 2),
     "the party is on the second of february", "The party is on the 2nd of February."),
    (g.event_date(_noun("meeting"), 3, 3),
     "the meeting is on the third of march", "The meeting is on the 3rd of March."),
    (g.event_date(_noun("party"), 11, 1),
     "the party is on the eleventh of january", "The party is on the 11th of January."),
    (g.event_date(_noun("exam"), 12, 4),
     "the exam is on the twelfth of april", "The exam is on the 12th of April."),
    (g.event_date(_noun("meeting"), 13, 9),
     "the meeting is on the thirteenth of september",
     "The meeting is on the 13th of September."),
    (g.event_date(_noun("concert"), 21, 12),
     "the concert is on the twenty first of december",
     "The concert is on the 21st of December."),
    (g.event_date(_noun("wedding"), 22, 7),
     "the wedding is on the twenty second of july",
     "The wedding is on the 22nd of July."),
    (g.event_date(_noun("exam"), 23, 11),
     "the exam is on the twenty third of november",
     "The exam is on the 23rd of November."),
    (g.event_date(_noun("wedding"), 30, 6),
     "the wedding is on the thirtieth of june", "The wedding is on the 30th of June."),
    (g.event_date(_noun("concert"), 31, 10),
     "the concert is on the thirty first of october",
     "The concert is on the 31st of October."),
    (g.light(_noun("kitchen"), True),
     "turn on the light in the kitchen", "Turn on the light in the kitchen."),
    (g.light(_noun("living room"), False),
     "turn off the light in the living room", "Turn off the light in the living room."),
    (g.temperature(_noun("living room"), 22),
     "set the temperature in the living room to twenty two degrees",
     "Set the temperature in the living room to 22 degrees."),
    (g.temperature(_noun("bathroom"), 15),
     "set the temperature in the bathroom to fifteen degrees",
     "Set the temperature in the bathroom to 15 degrees."),
    (g.temperature(_noun("hall"), 21),
     "set the temperature in the hall to twenty one degrees",
     "Set the temperature in the hall to 21 degrees."),
]  # fmt: skip


@pytest.mark.parametrize("row", WRITTEN, ids=[r[2] for r in WRITTEN])
def test_golden_written_english(row):
    out, en, written = row
    assert (out["en"], out["en_written"]) == (en, written)
    assert g.written_english(en) == written


def test_written_golden_covers_every_frame():
    starts = {"Where": "where_is", "Put": "put", "I want": "want", "Wake": "wake_up"}
    starts.update({"Turn": "light", "Set": "temperature"})
    seen = {name for s, name in starts.items() for r in WRITTEN if r[2].startswith(s)}
    seen |= {"costs" for r in WRITTEN if " costs " in r[2]}
    seen |= {"event_date" for r in WRITTEN if " is on the " in r[2]}
    assert seen == {name for name, _, _ in g.FRAMES}


def test_written_numbers():
    assert [g.en_ordinal_numeral(n) for n in (1, 2, 3, 4, 11, 12, 13, 20, 21, 22)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "20th", "21st", "22nd",
    ]  # fmt: skip
    assert [g.en_ordinal_numeral(n) for n in (23, 30, 31, 99)] == [
        "23rd",
        "30th",
        "31st",
        "99th",
    ]
    assert [g.en_clock(*t) for t in ((7, 30), (1, 5), (7, 0), (12, 55))] == [
        "7:30",
        "1:05",
        "7:00",
        "12:55",
    ]
    with pytest.raises(ValueError, match="1-99"):
        g.en_ordinal_numeral(0)


#: Words of spoken numbers (cardinals, ordinals and the "oh" of "seven oh five").
_NUMBER_WORDS = {
    w
    for n in range(1, 100)
    for x in (g.en_number(n), g.en_ordinal(n))
    for w in x.split()
} | {"oh"}


def test_written_form_keeps_every_other_word():
    """Over the whole grammar: written = spoken with the numbers as numerals, sentence
    case and an end mark; a question exactly when the spoken form starts "where"."""
    outputs = list(g.iter_frame_outputs())
    assert len({o["en"] for o in outputs}) == len(outputs) > 20000
    months = {m[0].capitalize() for m in g.MONTHS}
    for out in outputs:
        en, written = out["en"], out["en_written"]
        assert written[-1] == ("?" if en.startswith("where ") else "."), written
        first, *rest = written[:-1].split(" ")
        assert first[0].isupper() or first[0].isdigit()
        assert all(w == w.lower() or w == "I" or w in months for w in rest), written
        words = [w for w in en.split() if w not in _NUMBER_WORDS]
        kept = [w.lower() for w in [first] + rest if not w[0].isdigit()]
        assert kept == words, (en, written)
        assert not {w.lower() for w in rest} & _NUMBER_WORDS, written


def test_written_english_lookup():
    with pytest.raises(KeyError, match="not a sentence of the grammar"):
        g.written_english("where is the red dog")
    with pytest.raises(KeyError):
        g.written_english("Where is the red ball?")  # the key is the spoken form


def test_pairs_with_written_match_the_pairs():
    drawn = g.generate_pairs_with_written(800, seed=5, langs=["fr"])
    assert [p for p, _ in drawn] == g.generate_pairs(800, seed=5, langs=["fr"])
    assert all(g.written_english(p.en) == w for p, w in drawn)
    assert all(set(p.tgt) == {"fr"} for p, _ in drawn)
    with pytest.raises(ValueError, match=r"no \['it'\]"):
        g.generate_pairs_with_written(5, langs=["it"])


#: sha256 of ``json.dumps([[p.en, p.tgt] for p in generate_pairs(50, seed=0)],
#: ensure_ascii=False, sort_keys=True)``, taken before ``en_written`` was added: the
#: spoken English and the targets (so the ST corpus) must not change with it.
FIRST_50_SHA256 = "985874ff76d8f30d19e82ac3d0dac41a55f8abd4fd44b48dd139386766f30537"


def test_spoken_english_and_targets_are_unchanged():
    pairs = g.generate_pairs(50, seed=0)
    assert [p.en for p in pairs[:3]] == [
        "i want one red glass",
        "wake me up at nine twenty",
        "put the red apple in front of the sofa",
    ]
    assert pairs[0].tgt == {
        "de": "Ich möchte ein rotes Glas.",
        "fr": "Je veux un verre rouge.",
        "es": "Quiero un vaso rojo.",
    }
    text = json.dumps(
        [[p.en, p.tgt] for p in pairs], ensure_ascii=False, sort_keys=True
    )
    assert hashlib.sha256(text.encode()).hexdigest() == FIRST_50_SHA256
    assert all((p.package, p.version) == (g.SOURCE, "1") for p in pairs)


@pytest.mark.parametrize(
    "n, en, de, fr_m, fr_f, es_alone, es_m, es_f",
    [
        (1, "one", "eins", "un", "une", "uno", "un", "una"),
        (16, "sixteen", "sechzehn", "seize", "seize", "dieciséis", "dieciséis",
         "dieciséis"),
        (17, "seventeen", "siebzehn", "dix-sept", "dix-sept", "diecisiete",
         "diecisiete", "diecisiete"),
        (21, "twenty one", "einundzwanzig", "vingt et un", "vingt et une",
         "veintiuno", "veintiún", "veintiuna"),
        (60, "sixty", "sechzig", "soixante", "soixante", "sesenta", "sesenta",
         "sesenta"),
        (61, "sixty one", "einundsechzig", "soixante et un", "soixante et une",
         "sesenta y uno", "sesenta y un", "sesenta y una"),
        (70, "seventy", "siebzig", "soixante-dix", "soixante-dix", "setenta",
         "setenta", "setenta"),
        (81, "eighty one", "einundachtzig", "quatre-vingt-un", "quatre-vingt-une",
         "ochenta y uno", "ochenta y un", "ochenta y una"),
        (90, "ninety", "neunzig", "quatre-vingt-dix", "quatre-vingt-dix", "noventa",
         "noventa", "noventa"),
        (99, "ninety nine", "neunundneunzig", "quatre-vingt-dix-neuf",
         "quatre-vingt-dix-neuf", "noventa y nueve", "noventa y nueve",
         "noventa y nueve"),
    ],
)  # fmt: skip
def test_number_words(n, en, de, fr_m, fr_f, es_alone, es_m, es_f):
    assert g.en_number(n) == en
    assert g.de_number(n) == de
    assert (g.fr_number(n, "m"), g.fr_number(n, "f")) == (fr_m, fr_f)
    assert (g.es_number(n), g.es_number(n, "m"), g.es_number(n, "f")) == (
        es_alone,
        es_m,
        es_f,
    )


def test_ordinals():
    assert [g.en_ordinal(n) for n in (1, 2, 3, 12, 20, 22, 30, 31)] == [
        "first",
        "second",
        "third",
        "twelfth",
        "twentieth",
        "twenty second",
        "thirtieth",
        "thirty first",
    ]
    assert [g.de_ordinal_stem(n) + "en" for n in (1, 2, 3, 7, 8, 19, 20, 31)] == [
        "ersten",
        "zweiten",
        "dritten",
        "siebten",
        "achten",
        "neunzehnten",
        "zwanzigsten",
        "einunddreißigsten",
    ]


def test_out_of_range_inputs_are_rejected():
    with pytest.raises(ValueError, match="1-99"):
        g.de_number(100)
    with pytest.raises(ValueError, match="february has no day 30"):
        g.event_date(_noun("party"), 30, 2)
    with pytest.raises(ValueError, match="steps of 5"):
        g.wake_up(7, 12)
    with pytest.raises(ValueError, match=r"no \['it'\]"):
        g.generate_pairs(5, langs=["de", "it"])


def test_generation_is_deterministic_and_distinct():
    a = g.generate_pairs(500, seed=3)
    b = g.generate_pairs(500, seed=3)
    c = g.generate_pairs(500, seed=4)
    assert [(p.en, p.tgt) for p in a] == [(p.en, p.tgt) for p in b]
    assert [p.en for p in a] != [p.en for p in c]
    assert len({p.en for p in a}) == 500
    assert all(set(p.tgt) == {"de", "fr", "es"} for p in a)
    # every frame occurs (the weights reach all eight)
    starts = {
        "where": "where_is",
        "put": "put",
        "i want": "want",
        "wake": "wake_up",
        "turn": "light",
        "set the": "temperature",
    }
    seen = {name for s, name in starts.items() for p in a if p.en.startswith(s)}
    seen |= {"costs" for p in a if " costs " in p.en}
    seen |= {"event_date" for p in a if " is on the " in p.en}
    assert seen == {name for name, _, _ in g.FRAMES}


def test_too_many_sentences_is_an_error(monkeypatch):
    # light x 7 rooms x on/off = 14 sentences at most: a one-frame grammar saturates
    only_light = tuple(f for f in g.FRAMES if f[0] == "light")
    monkeypatch.setattr(g, "FRAMES", only_light)
    with pytest.raises(ValueError, match="only 14 of 20"):
        g.generate_pairs(20, max_tries=20)


def test_splits_are_disjoint_in_sentences_and_voices():
    config = mini_st.MiniSTConfig(sentences=600, dev_sentences=50, test_sentences=50)
    pairs = g.generate_pairs(config.sentences, config.seed)
    splits = mini_st.split_pairs(pairs, 50, 50, config.seed)
    utts = mini_st.plan_utterances(splits, config)
    sentences = {s: {u.pair.en for u in utts if u.split == s} for s in mini_st.SPLITS}
    voices = {s: {u.spk for u in utts if u.split == s} for s in mini_st.SPLITS}
    assert [len(sentences[s]) for s in mini_st.SPLITS] == [500, 50, 50]
    assert not sentences["train"] & (sentences["dev"] | sentences["test"])
    assert not sentences["dev"] & sentences["test"]
    assert voices["train"] <= {v.spk for v in tts.TRAIN_VOICES}
    assert voices["dev"] | voices["test"] <= {v.spk for v in tts.HELDOUT_VOICES}
    assert not voices["train"] & (voices["dev"] | voices["test"])
    # grammar default: one voice per train sentence, two per dev/test sentence
    assert sum(u.split == "train" for u in utts) == 500
    assert sum(u.split == "test" for u in utts) == 100
