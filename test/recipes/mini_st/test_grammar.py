"""The grammar corpus: golden translations pin the morphology; splits are disjoint."""

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
    assert out == {"en": en, "de": de, "fr": fr, "es": es}


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
