"""The development stage: stances, negation, modality, quantities, dates, offsets, the taxonomy."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from bench.eval_developments import (
    PLOVER_GSR,
    SHARED,
    SOURCES,
    build,
    demo,
    evaluate,
    evaluate_plover,
    evaluate_real,
    load_labelled,
    load_plover,
    load_real,
    real_split,
    split_of,
)
from newsmon.analysis import TextAnalyser
from newsmon.config import load_sources
from newsmon.demo.corpus import load_corpus
from newsmon.developments import (
    DevelopmentExtractor,
    default_taxonomy_path,
    load_taxonomy,
    parse_taxonomy,
)
from newsmon.entities import article_text
from newsmon.errors import ConfigError, NewsmonError

# Just under what the rules reach on the held-out test split of the team's sentences
# (bench/data/README.md): macro-F1 0.854, stance accuracy 0.947, quantity exact match 0.867
# (13 of 15; 0.933 before the changes of issue 22).
FLOORS = {"macro_f1": 0.83, "stance_accuracy": 0.92, "quantity_exact": 0.85}
# Just under what they reach on the held-out test split of the labelled real sentences
# (bench/labels/README.md; read from ../shared/data): see the README's "Developments".
# Measured: precision 0.814, recall 0.849, stance 0.949, actor 0.853.
REAL_FLOORS = {"precision": 0.82, "recall": 0.85, "stance_accuracy": 0.94, "actor_right": 0.83}
# ... and on the PLOVER gold standard's test records.
PLOVER_FLOORS = {"precision": 0.66, "recall": 0.26, "top_category_right": 0.66}
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is absent")
needs_plover = pytest.mark.skipif(
    not PLOVER_GSR.exists(), reason="PLOVER's gold standard is absent"
)
TUESDAY = date(2025, 5, 20)


@pytest.fixture(scope="module")
def stage():
    """The full model shared by the entity stage (watch list of sources.yaml) and this one."""
    return build()


def found(stage, text: str, kind: str | None = None, published: date | None = TUESDAY):
    extractor, entities = stage
    (developments,) = extractor.extract([text], published=published, entity_extractor=entities)
    return [d for d in developments if kind is None or d.kind == kind]


def names(refs) -> set[str]:
    return {ref.name for ref in refs}


def test_talks_ending_without_agreement_is_a_ceasefire_not_agreed(stage):
    text = "The talks in Istanbul ended without any agreement on a ceasefire."
    (ceasefire,) = found(stage, text, "ceasefire")
    assert ceasefire.stance == "rejected"
    assert (ceasefire.plover_category, ceasefire.plover_mode) == ("REJECT", "ceasefire")
    (talks,) = found(stage, text, "talks")
    assert talks.stance == "occurred" and talks.plover_category == "CONSULT"


def test_refusal_is_a_rejection_by_the_subject(stage):
    (ceasefire,) = found(stage, "Russia refused to discuss a truce.", "ceasefire")
    assert ceasefire.stance == "rejected"
    assert names(ceasefire.actors) == {"Russia"}


def test_a_swap_agreed_but_no_ceasefire(stage):
    text = "Russia and Ukraine agree 1,000-for-1,000 prisoner swap but no ceasefire"
    (swap,) = found(stage, text, "prisoner_exchange")
    assert swap.stance == "agreed"
    assert (swap.quantity, swap.unit) == (1000, "prisoners")
    assert names(swap.actors) == {"Russia", "Ukraine"}
    assert (swap.plover_category, swap.plover_mode) == ("AGREE", "release")
    (ceasefire,) = found(stage, text, "ceasefire")
    assert ceasefire.stance == "rejected"


@pytest.mark.parametrize(
    "text",
    [
        "If a ceasefire were agreed, observers would be deployed along the front.",
        "A truce could be announced as early as next week.",
        "Whether the prisoner swap will go ahead is unclear.",
        "Will Russia accept a ceasefire?",
        "Any future peace agreement will need security guarantees.",
        "The ceasefire line drawn in 1949 still divides the island.",
    ],
)
def test_hypothetical_conditional_generic_and_questioned_events_are_not_developments(stage, text):
    assert found(stage, text) == []


@pytest.mark.parametrize(
    "text, kind, stances",
    [
        # a modal on the verb of occurrence: it has not happened (yet)
        (
            "Officials said the first stage of the prisoner exchange could begin on Friday.",
            "prisoner_exchange",
            [],
        ),
        (
            "Officials said the first stage of the prisoner exchange will begin on Friday.",
            "prisoner_exchange",
            ["proposed"],
        ),
        # due, supposed to, when it starts, at talks someone will attend: planned, not held
        ("Zelensky was due in Ankara on Thursday for talks with Erdogan.", "talks", ["proposed"]),
        (
            "By evening, the talks that were supposed to start on Thursday had slipped to Friday.",
            "talks",
            ["proposed"],
        ),
        (
            "The Kremlin sent a team to Istanbul, where the talks had been due to begin.",
            "talks",
            ["proposed"],
        ),
        (
            "Who Ukraine sends, and when exactly the talks start, is still up in the air.",
            "talks",
            [],
        ),
        (
            "The Kremlin published its list of who will represent Russia at the peace talks.",
            "talks",
            [],
        ),
        # an exchange cannot agree: the parser's reading of "the exchange agreed in Istanbul"
        (
            "Officials said the first stage of the exchange of prisoners agreed in Istanbul a week "
            "ago could start within hours.",
            "prisoner_exchange",
            ["agreed"],
        ),
        (
            "Istanbul talks yield the largest prisoner swap of the war, but no truce",
            "prisoner_exchange",
            ["agreed"],
        ),
        (
            "The first stage of the prisoner exchange began on Friday.",
            "prisoner_exchange",
            ["occurred"],
        ),
    ],
)
def test_planned_expected_and_possible_events_have_not_occurred(stage, text, kind, stances):
    assert [d.stance for d in found(stage, text, kind)] == stances


def test_the_place_of_a_meeting_is_not_a_party_to_what_it_yields(stage):
    (swap,) = found(
        stage, "Istanbul talks yield the largest prisoner swap of the war", "prisoner_exchange"
    )
    assert swap.stance == "agreed" and names(swap.actors) == set()
    (swap,) = found(stage, "Kyiv and Moscow agreed to swap 1,000 prisoners.", "prisoner_exchange")
    assert names(swap.actors) == {"Kyiv", "Moscow"}  # capitals for their governments stay


def test_call_for_sanctions(stage):
    (sanctions,) = found(
        stage,
        "Zelensky urged the European Union to impose tougher sanctions on Moscow.",
        "sanctions",
    )
    assert sanctions.stance == "called_for"
    assert names(sanctions.actors) == {"Volodymyr Zelensky"}
    assert sanctions.plover_category == "REQUEST"


def test_a_threatened_event_is_a_threat_only(stage):
    developments = found(stage, "The Kremlin threatened Kyiv with new strikes.")
    assert [(d.kind, d.stance) for d in developments] == [("threat", "occurred")]
    assert names(developments[0].actors) == {"Kremlin"}


def test_denial(stage):
    (attack,) = found(stage, "Moscow denied targeting civilians in Sumy.", "attack")
    assert attack.stance == "denied"


@pytest.mark.parametrize(
    "text, kind, quantity, unit",
    [
        (
            "Russia and Ukraine each freed 84 prisoners of war on Thursday.",
            "prisoner_exchange",
            84,
            "prisoners",
        ),
        ("Each side will return the bodies of 6,000 soldiers.", "repatriation", 6000, "bodies"),
        (
            "Russia launched 479 drones and 20 missiles at Ukraine overnight.",
            "attack",
            479,
            "drones",
        ),
        ("Germany pledged $2 billion in military aid for Ukraine.", "aid", 2e9, "USD"),
        (
            "Both sides agreed to exchange a thousand prisoners each.",
            "prisoner_exchange",
            1000,
            "prisoners",
        ),
        ("The leaders urged Moscow to accept a 30-day ceasefire.", "ceasefire", None, None),
        ("The EU adopted its 17th sanctions package on Tuesday.", "sanctions", None, None),
    ],
)
def test_quantity_and_unit_of_the_event_not_other_numbers(stage, text, kind, quantity, unit):
    (development,) = found(stage, text, kind)
    assert (development.quantity, development.unit) == (quantity, unit)


@pytest.mark.parametrize(
    "text, kind, expected",
    [
        # Published on Tuesday 20 May 2025.
        (
            "Russia and Ukraine swapped 205 prisoners on Friday.",
            "prisoner_exchange",
            date(2025, 5, 16),
        ),
        ("Russia and Ukraine swapped 205 prisoners.", "prisoner_exchange", TUESDAY),
        (
            "The two sides agreed on 16 May to exchange 1,000 prisoners each.",
            "prisoner_exchange",
            date(2025, 5, 16),
        ),
        ("Russian and Ukrainian negotiators last met in Istanbul in March 2022.", "talks", None),
        # through the period's noun: another year, no day (not the article's)
        (
            "Russian and Ukrainian negotiators last met in Istanbul in the spring of 2022.",
            "talks",
            None,
        ),
        # The day of the proposal, not of the talks it proposes.
        ("Russia proposed holding talks in Istanbul on 2 June.", "talks", TUESDAY),
        ("Kyiv said yesterday that it was ready for talks.", "talks", date(2025, 5, 19)),
    ],
)
def test_date_is_the_explicit_date_resolved_against_the_article_else_the_article(
    stage, text, kind, expected
):
    (development,) = found(stage, text, kind)
    assert development.occurred_on == expected


FRIDAY = date(2025, 5, 16)


@pytest.mark.parametrize(
    "text, said_on, scheduled_for",
    [
        # The event word carries the stance: the weekday reads forward from the article.
        (
            "Sunday's first round of talks between the two sides is expected in Istanbul.",
            FRIDAY,
            date(2025, 5, 18),
        ),
        ("Russia and Ukraine are due to hold talks on Sunday.", FRIDAY, date(2025, 5, 18)),
        (
            "The delegations will meet in Istanbul on Monday for a second round of talks.",
            FRIDAY,
            date(2025, 5, 19),
        ),
        (
            "A second round of talks is planned for June 2, the envoy said.",
            FRIDAY,
            date(2025, 6, 2),
        ),
        # Under a dated proposal, forward from the proposal's day, not the article's.
        (
            "Putin proposed on Sunday that direct talks be held in Istanbul on Thursday.",
            date(2025, 5, 11),
            date(2025, 5, 15),
        ),
    ],
)
def test_a_future_event_is_scheduled_for_the_day_ahead_and_said_on_its_own_day(
    stage, text, said_on, scheduled_for
):
    (talks,) = found(stage, text, "talks", published=FRIDAY)
    assert talks.stance == "proposed"
    assert (talks.occurred_on, talks.scheduled_for) == (said_on, scheduled_for)


@pytest.mark.parametrize(
    "text, occurred_on",
    [
        ("The talks were held on Wednesday in Istanbul.", date(2025, 5, 14)),
        ("Ukraine and Russia exchanged 390 prisoners each on Friday.", FRIDAY),
    ],
)
def test_what_happened_has_no_schedule_and_its_weekday_reads_back(stage, text, occurred_on):
    (development,) = [d for d in found(stage, text, published=FRIDAY) if d.stance == "occurred"]
    assert (development.occurred_on, development.scheduled_for) == (occurred_on, None)


@pytest.mark.parametrize(
    "text",
    [
        # A past expectation, and a future that is not the event's: no day ahead.
        "The talks were originally expected on Thursday but were pushed back by a day.",
        "The attack on the air bases on Sunday will be studied in military academies for years.",
    ],
)
def test_no_schedule_without_a_present_or_future_calendar_verb(stage, text):
    developments = found(stage, text, published=FRIDAY)
    assert developments and all(d.scheduled_for is None for d in developments)


def test_without_a_publication_date_only_absolute_dates_resolve(stage):
    (swap,) = found(stage, "Russia and Ukraine swapped 205 prisoners on Friday.", published=None)
    assert swap.occurred_on is None


def test_offsets_slice_back_to_the_sentence_and_actors_come_from_the_entity_stage(stage):
    text = article_text(
        "Delegations meet in Istanbul",
        "ISTANBUL, May 16 (Wire) - Russian and Ukrainian delegations held direct talks on Friday.\n\n"
        "Russia and Ukraine agreed to exchange 1,000 prisoners of war each.  Kyiv urged "
        "Moscow to accept a ceasefire.",
    )
    developments = found(stage, text, published=date(2025, 5, 16))
    assert {(d.kind, d.stance) for d in developments} >= {
        ("talks", "occurred"),
        ("prisoner_exchange", "agreed"),
        ("ceasefire", "called_for"),
    }
    for d in developments:
        assert text[d.start_offset : d.end_offset] == d.sentence
        assert 0 < d.confidence <= 1
    talks = next(d for d in developments if d.kind == "talks" and "held" in d.sentence)
    assert names(talks.actors) == {"Russia", "Ukraine"}  # not the dateline's ISTANBUL
    assert all(a.source == "watchlist" for a in talks.actors)
    assert talks.occurred_on == date(2025, 5, 16)
    ceasefire = next(d for d in developments if d.kind == "ceasefire")
    assert names(ceasefire.actors) == {"Kyiv"} and names(ceasefire.recipients) == {"Moscow"}


def test_taxonomy_errors_name_the_file_the_key_and_the_line(tmp_path):
    path = tmp_path / "taxonomy.yaml"
    good = default_taxonomy_path().read_text(encoding="utf-8")
    path.write_text(good.replace("    triggers:\n", "    trigers:\n", 1), encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_taxonomy(path)
    message = str(error.value)
    assert str(path) in message and "kinds[0].trigers: unknown key" in message
    line = good[: good.index("    triggers:\n")].count("\n") + 1
    assert f"{path}:{line}:" in message
    # YAML reads a bare `on` as a boolean: the pattern check says to quote it.
    with pytest.raises(ConfigError, match="quote on/off/yes/no"):
        parse_taxonomy(good.replace('[by, over, "on"]', "[by, over, on]"), "t.yaml")
    with pytest.raises(ConfigError, match="stance"):
        parse_taxonomy(good.replace("default_stance: agreed", "default_stance: happened"), "t.yaml")


def test_an_analyst_adds_a_kind_without_code(stage, tmp_path):
    path = tmp_path / "taxonomy.yaml"
    path.write_text(
        default_taxonomy_path().read_text(encoding="utf-8")
        + """
  - label: curfew
    description: Curfews imposed by the authorities.
    plover: {category: COERCE, mode: curfew}
    triggers:
      - lemmas: [curfew]
""",
        encoding="utf-8",
    )
    extractor, entities = stage
    custom = DevelopmentExtractor(extractor.nlp, taxonomy_path=path)
    assert custom.taxonomy.kinds[-1].label == "curfew"
    (developments,) = custom.extract(
        ["The authorities imposed a night curfew in Tbilisi on Sunday."],
        published=TUESDAY,
        entity_extractor=entities,
    )
    (curfew,) = [d for d in developments if d.kind == "curfew"]
    assert (curfew.plover_category, curfew.plover_mode) == ("COERCE", "curfew")
    assert curfew.stance == "occurred" and curfew.occurred_on == date(2025, 5, 18)
    assert curfew.place == "Tbilisi"


def test_the_stage_needs_a_parser_and_a_lemmatizer():
    import spacy

    with pytest.raises(NewsmonError, match="parser"):
        DevelopmentExtractor(spacy.blank("en"))


def test_floors_on_the_held_out_test_split(stage):
    extractor, entities = stage
    items = [it for it in load_labelled() if split_of(it) == "test"]
    assert len(items) == 78
    figures = evaluate(extractor, entities, items)
    for name, floor in FLOORS.items():
        assert figures[name] >= floor, (name, figures[name])


def test_the_labelled_set_covers_every_kind_with_hard_negatives():
    items = load_labelled()
    # The kinds the team's set was written for (protest, arrest, expulsion came later and are
    # labelled on real sentences only).
    kinds = {k.label for k in load_taxonomy().kinds} - {"protest", "arrest", "expulsion"}
    counts = {k: sum(d["kind"] == k for it in items for d in it["developments"]) for k in kinds}
    assert len(items) >= 180 and min(counts.values()) >= 12, counts
    assert sum(1 for it in items if not it["developments"]) >= 30


def test_demo_corpus_first_round_and_exchange(stage):
    extractor, entities = stage
    expectations = demo(extractor, entities)["expectations"]
    assert all(expectations.values()), expectations


def test_only_sentences_that_could_hold_a_development_are_parsed_and_none_is_lost(stage):
    """The trigger pre-filter skips sentences, never a development: parsing them all finds the same."""
    extractor, entities = stage
    articles = load_corpus().articles
    texts = [article_text(a.title, a.body) for a in articles]
    days = [a.published.date() for a in articles]
    every = DevelopmentExtractor(extractor.nlp, settings=extractor.settings)
    every.filter.always = True
    filtered = DevelopmentExtractor(extractor.nlp, settings=extractor.settings)
    assert filtered.extract(texts, days, entities) == every.extract(texts, days, entities)
    assert every.filter.selected == every.filter.seen
    assert 0 < filtered.filter.selected < 0.8 * filtered.filter.seen


def test_the_filter_knows_inflections_patterns_and_required_context(stage):
    extractor, _ = stage
    select = extractor.filter.select
    doc = next(
        extractor.ner_docs(
            [
                "The negotiators met in Geneva.\n"  # "met": meet
                "The weather was fine.\n"  # no trigger word
                "Prices were released on Monday.\n"  # "released", but no prisoner: release requires one
                "Hostages were freed overnight.\n"  # "freed" with its context "hostage"
                "Officials spoke by phone.\n"  # a pattern
                "Nothing happened here."
            ]
        )
    )
    kept = [seg.text for seg in select(doc, {})]
    assert kept == [
        "The negotiators met in Geneva.",
        "Hostages were freed overnight.",
        "Officials spoke by phone.",
    ]


def test_the_analyser_reads_a_whole_text_once_for_both_stages():
    """NER over the whole text (no parser in that pass), developments with offsets into it."""
    sources = load_sources(SOURCES)
    analyser = TextAnalyser(sources.topics, sources.settings.nlp)
    text = article_text(
        "Talks in Istanbul",
        "The weather in Istanbul was warm. Russia and Ukraine agreed to exchange 1,000 prisoners.",
    )
    (found,) = analyser.analyse([text], [TUESDAY])
    assert {m.entity.name for m in found.mentions} >= {"Istanbul", "Russia", "Ukraine"}
    (swap,) = [d for d in found.developments if d.kind == "prisoner_exchange"]
    assert text[swap.start_offset : swap.end_offset] == swap.sentence
    assert swap.sentence.startswith("Russia and Ukraine agreed")
    assert (swap.stance, swap.quantity) == ("agreed", 1000)


# ----------------------------------------------------------------------------- real news


@pytest.mark.shared_data
@needs_shared
def test_floors_on_the_held_out_real_sentences(stage):
    """Real sentences of ../shared/data, labelled by the team; the test split is never tuned on."""
    extractor, entities = stage
    items = [it for it in load_real() if real_split(it) == "test"]
    if not items:
        pytest.skip("the labelled real sentences are absent")
    assert len(items) >= 200
    assert sum(1 for it in items if not it["developments"]) >= len(items) / 3
    figures = evaluate_real(extractor, entities, items)
    for name, floor in REAL_FLOORS.items():
        assert figures[name] >= floor, (name, figures[name])


@pytest.mark.shared_data
@needs_plover
def test_floors_on_the_plover_gold_standard(stage):
    extractor, entities = stage
    records = [r for r in load_plover() if real_split(r) == "test"]
    figures = evaluate_plover(extractor, entities, records)
    for name, floor in PLOVER_FLOORS.items():
        assert figures[name] >= floor, (name, figures[name])


@pytest.mark.shared_data
@needs_shared
def test_the_real_labels_have_a_third_without_development_and_every_new_kind():
    items = load_real()
    if not items:
        pytest.skip("the labelled real sentences are absent")
    assert len(items) >= 400
    assert sum(1 for it in items if not it["developments"]) >= len(items) / 3
    kinds = {d["kind"] for it in items for d in it["developments"] if not d.get("optional")}
    assert {"attack", "talks", "protest", "arrest", "ceasefire", "aid", "threat"} <= kinds


def test_a_changed_source_sentence_is_left_out(tmp_path):
    """Labels keep a locator and a hash, never the text: a sentence that changed is skipped."""
    shared = tmp_path / "data"
    (shared / "rss_may2025").mkdir(parents=True)
    (shared / "rss_may2025" / "entries.jsonl").write_text(
        '{"link": "https://example.org/a", "title": "Talks held in Geneva", '
        '"date_published": "2025-05-16T10:00:00+00:00"}\n',
        encoding="utf-8",
    )
    import hashlib
    import json

    key = hashlib.sha1(b"https://example.org/a").hexdigest()[:12]
    labels = tmp_path / "labels.jsonl"
    good = {"loc": f"rss/{key}/title@0-20", "sha": "x", "devs": []}
    from bench.eval_developments import sentence_hash

    good["sha"] = sentence_hash("Talks held in Geneva")
    stale = dict(good, loc=f"rss/{key}/title@0-5", sha="00000000")
    labels.write_text("\n".join(json.dumps(r) for r in (good, stale)) + "\n", encoding="utf-8")
    (item,) = load_real(labels, shared)
    assert item["text"] == "Talks held in Geneva" and item["published"] == "2025-05-16"


# ----------------------------------------------------------------------------- error classes of issue 22
# Sentences written by the team in the manner of the real ones that went wrong.


@pytest.mark.parametrize(
    "text",
    [
        "The ministry said in a statement that the border would stay closed.",
        "“We will keep working,” the governor said in a written statement.",
        "The rebels fired thousands of rounds of ammunition during the exercise.",
        "Dock workers began a general strike on Monday over pensions.",
        "Hundreds of prisoners went on hunger strike last week.",
        "At least 40 people were killed after a strong earthquake struck the province.",
        "The athlete won the 800 metres at the Diamond League meeting in Doha.",
        "The fifth round of the boxing match ended in a knockout.",
        "The senator attacked the bill as a waste of money.",
        "Critics say the new rules are an attack on press freedom.",
        "The court struck down the law on Friday.",
        "Five people were killed when two helicopters collided.",
        "I have never met the president.",
        "A gas explosion destroyed a block of flats.",
    ],
)
def test_no_attack_talks_or_statement_in_other_senses(stage, text):
    assert {d.kind for d in found(stage, text)} & {"attack", "talks", "statement"} == set()


@pytest.mark.parametrize(
    "text, kind, stance",
    [
        ("Peace talks between the two sides to begin in Istanbul on Friday.", "talks", "proposed"),
        ("Gunmen attacked the convoy but failed to kill the governor.", "attack", "occurred"),
        (
            "The army not only killed dozens of fighters but also seized their weapons.",
            "attack",
            "occurred",
        ),
        ("Residents said shells fell on the market overnight.", "attack", "occurred"),
        ("A car bomb exploded outside the ministry, killing six people.", "attack", "occurred"),
        ("Militants threw grenades at a police post in the town.", "attack", "occurred"),
        ("Police arrested three men over the bombing.", "arrest", "occurred"),
        ("Poland expelled two Russian diplomats on Tuesday.", "expulsion", "occurred"),
        (
            "Thousands of people protested against the government in the capital.",
            "protest",
            "occurred",
        ),
        (
            "Kenya called for the arrest of the officers who fired on the crowd.",
            "arrest",
            "called_for",
        ),
    ],
)
def test_tense_negation_and_new_wordings(stage, text, kind, stance):
    developments = found(stage, text, kind)
    assert [d.stance for d in developments] == [stance]


def test_an_attack_reported_or_condemned_names_the_attacker_not_the_speaker(stage):
    (attack,) = found(
        stage, "Ukraine condemned Russia over the missile attack on a bus in Sumy.", "attack"
    )
    assert names(attack.actors) == {"Russia"}
    (attack,) = found(
        stage,
        "The United Nations said the militiamen attacked the village, killing 12 civilians.",
        "attack",
    )
    assert "United Nations" not in names(attack.actors)


def test_an_ultimatum_to_halt_attacks_is_a_threat_not_a_rejected_attack(stage):
    developments = found(
        stage, "Peru issued an ultimatum to Ecuador to halt attacks on the border."
    )
    assert [(d.kind, d.stance) for d in developments] == [("threat", "occurred")]
    assert names(developments[0].actors) == {"Peru"}
    assert developments[0].plover_category == "THREATEN"


def test_new_kinds_map_to_plover(stage):
    (protest,) = found(
        stage, "Thousands marched through the capital against the new law.", "protest"
    )
    assert (protest.plover_category, protest.stance) == ("PROTEST", "occurred")
    (arrest,) = found(
        stage, "Turkish police detained 40 protesters in Istanbul on Sunday.", "arrest"
    )
    assert (arrest.plover_category, arrest.plover_mode) == ("COERCE", "arrest")
    (expel,) = found(stage, "Russia expelled three Estonian diplomats.", "expulsion")
    assert (expel.plover_category, expel.plover_mode) == ("COERCE", "expel")
    (call,) = found(
        stage, "The EU urged Belarus to release its political prisoners.", "prisoner_exchange"
    )
    assert (call.stance, call.plover_category) == ("called_for", "REQUEST")
    (no,) = found(stage, "Hamas rejected the ceasefire proposal.", "ceasefire")
    assert (no.stance, no.plover_category) == ("rejected", "REJECT")


@pytest.mark.parametrize(
    "text, expected",
    [
        # On the way to talks is not talks held; an invitation is a proposal.
        ("The Kremlin sends an aide to the Istanbul talks.", set()),
        ("The Ukrainian delegation arrived in Istanbul for talks with Russia.", set()),
        ("Putin invited Ukraine to direct talks in Istanbul.", {"proposed"}),
        ("Moscow opted to stay away from the Istanbul talks.", {"rejected"}),
        ("Russia and Ukraine held talks in Istanbul on Friday.", {"occurred"}),
    ],
)
def test_talks_ahead_are_not_talks_held(stage, text, expected):
    assert {d.stance for d in found(stage, text, "talks", published=FRIDAY)} == expected


def test_the_warehouse_keeps_the_day_a_proposal_schedules(demo_db):
    # The demo's 11 May report: Putin proposes talks in Istanbul on Thursday (15 May).
    with duckdb.connect(str(demo_db), read_only=True) as con:
        rows = con.execute(
            "SELECT occurred_on, scheduled_for FROM developments "
            "WHERE kind = 'talks' AND stance = 'proposed' AND scheduled_for IS NOT NULL"
        ).fetchall()
    assert (date(2025, 5, 11), date(2025, 5, 15)) in rows


# ----------------------------------------------------------------------------- actors (issue 22)


def test_a_title_before_a_name_is_not_another_party(stage):
    text = "British Prime Minister Keir Starmer met French President Emmanuel Macron in Paris."
    (talks,) = found(stage, text, "talks")
    assert names(talks.actors) == {"Keir Starmer", "Emmanuel Macron"}


def test_the_other_subject_of_an_event_subject_is_not_its_actor(stage):
    # The parser makes the place a second subject of "destroyed"; the strike is the doer.
    (attack,) = found(stage, "Near Kherson, two strikes destroyed an ammunition depot.", "attack")
    assert attack.stance == "occurred" and not attack.actors


def test_the_one_accused_of_an_attack_is_its_actor(stage):
    (attack,) = found(stage, "Lebanon accused Israel of shelling villages in the south.", "attack")
    assert names(attack.actors) == {"Israel"}


def test_the_accused_of_coordinated_acts_and_the_leader_of_a_coalition_are_actors(stage):
    # The parser hangs "of killing" on the accused noun, and "injuring" on "killing".
    text = (
        "A Sarvenian army spokesman accused the US-led coalition of killing 40 civilians and "
        "injuring 90 others in air strikes near Dalmora."
    )
    (attack,) = found(stage, text, "attack")
    assert names(attack.actors) == {"United States"}


def test_a_person_introduced_as_named_is_the_actor(stage):
    text = "A former employee named Corwin Baptiste shot and killed two managers at the depot."
    (attack,) = found(stage, text, "attack")
    assert names(attack.actors) == {"Corwin Baptiste"}


def test_the_subject_of_a_headline_participle_is_who_it_happened_to(stage):
    for text in (
        "Harbourside striker Tomas Evandel arrested on suspicion",
        "Police say striker Tomas Evandel arrested on suspicion of fraud",
    ):
        (arrest,) = found(stage, text, "arrest")
        assert not arrest.actors and names(arrest.recipients) == {"Tomas Evandel"}, text
    # With an agent, the agent did it.
    (attack,) = found(stage, "Two soldiers killed by Russian drone near Kharkiv", "attack")
    assert names(attack.actors) == {"Russia"}


def test_calling_somebody_up_is_no_call_for_the_event(stage):
    text = (
        "When he had finished the report, Hutchinson called up Ada Moreno, whose 6-year-old "
        "son, Leo Moreno, was killed in December along with 19 other children at the school."
    )
    assert {d.stance for d in found(stage, text, "attack")} <= {"occurred"}


def test_an_event_one_is_to_hold_is_planned(stage):
    text = "The deputy minister is to hold two days of meetings with his Turkish counterpart."
    (talks,) = found(stage, text, "talks")
    assert talks.stance == "proposed"


def test_who_claimed_responsibility_for_an_attack_is_its_actor(stage):
    text = (
        "The ministers condemned the bombing of a market in Kabul, for which the Taliban "
        "claimed responsibility."
    )
    (attack,) = found(stage, text, "attack")
    assert names(attack.actors) == {"Taliban"}


def test_who_investigates_an_attack_is_not_its_actor(stage):
    (attack,) = found(stage, "The FBI opened an investigation into the shooting.", "attack")
    assert attack.stance == "occurred" and not attack.actors


def test_talks_in_a_clause_setting_take_the_clause_parties(stage):
    text = "Russia and Ukraine failed to agree to a ceasefire in their talks in Istanbul."
    (talks,) = found(stage, text, "talks")
    assert talks.stance == "occurred"
    assert names(talks.actors) == {"Russia", "Ukraine"}


def test_a_participle_describing_a_class_is_no_arrest(stage):
    assert not found(stage, "He keeps a list of smugglers arrested in the region.", "arrest")
    # Counted, determined or headline-style: particular arrests.
    assert found(stage, "Police freed two men arrested in the raid.", "arrest")
    assert found(stage, "Protesters arrested after clashes in the capital", "arrest")


# ----------------------------------------------------------------------------- other senses (senses.py)
# Classes of false developments of the dev audit of a random sample of the stage's output on
# real news (bench/labels/README.md, batch random-1); sentences written for the tests.


@pytest.mark.parametrize(
    "text",
    [
        "A farmer was shot dead in a hunting accident near the border on Sunday.",
        "Man killed in hit-and-run on the ring road, driver arrested",
    ],
)
def test_a_mishap_is_no_attack(stage, text):
    assert not found(stage, text, "attack")


def test_a_violent_verb_with_no_weapon_is_a_figure_of_speech(stage):
    text = "The opposition leader bombarded the minister with questions about the budget."
    assert not found(stage, text, "attack")
    text = "Rebels ambushed the patrol with rifles and grenades, killing four soldiers."
    assert [d.stance for d in found(stage, text, "attack")] == ["occurred"]


def test_an_offence_in_a_charge_is_no_event(stage):
    text = "The activist was detained on Monday on charges of inciting a riot outside parliament."
    assert not found(stage, text, "protest")
    assert found(stage, text, "arrest")


@pytest.mark.parametrize(
    "text",
    [
        "The foreign minister met with the victims' families in the capital on Monday.",
        "Japan's biggest airline has been negotiating with American manufacturers for new jets.",
        "The president met the agent of the football star in Madrid on Tuesday.",
    ],
)
def test_a_private_or_business_meeting_is_no_talks(stage, text):
    assert not found(stage, text, "talks")


def test_a_diplomatic_meeting_is_still_talks(stage):
    assert found(stage, "The foreign minister met his Turkish counterpart on Monday.", "talks")


@pytest.mark.parametrize(
    "text",
    [
        "The champion was knocked down in the ninth round in Las Vegas on Saturday.",
        "A video of the French minister's speech made the rounds on social media.",
    ],
)
def test_a_round_of_a_contest_is_no_talks(stage, text):
    assert not found(stage, text, "talks")
    assert found(stage, "A new round of talks between Kyiv and Moscow opened in Geneva.", "talks")


def test_aid_attacked_or_political_ammunition_is_no_aid(stage):
    text = "The envoys condemned the attack on an aid convoy near Dalmora on Sunday."
    assert found(stage, text, "attack") and not found(stage, text, "aid")
    text = "The indictments are certain to give ammunition to Democrats before the vote."
    assert not found(stage, text, "aid")
    # Arms and aid that arrive are aid.
    assert found(stage, "Sarvenia will give ammunition and tanks to Ukraine.", "aid")
    assert found(stage, "An aid convoy reached Dalmora on Sunday.", "aid")


def test_rioting_is_a_protest(stage):
    (protest,) = found(stage, "Inmates rioted at the Harbourside prison on Monday.", "protest")
    assert protest.stance == "occurred" and protest.plover_category == "PROTEST"


def test_a_suicide_bombing_and_a_dispersed_protest_are_read(stage):
    text = "A suicide bomber blew himself up at a checkpoint near Dalmora, killing five soldiers."
    assert {d.stance for d in found(stage, text, "attack")} == {"occurred"}
    text = "Police used tear gas to disperse hundreds of protesters in Harbourside."
    assert {d.stance for d in found(stage, text, "protest")} == {"occurred"}
    # A suicide, a story that blew up: no attack.
    assert not found(stage, "He killed himself in 2019, police said.", "attack")
    assert not found(stage, "The row blew up after the minister's remarks.", "attack")


def test_taking_to_the_streets_and_shouting_slogans_are_protests(stage):
    text = "Thousands of farmers took to the streets of Harbourside against the new farm laws."
    assert {d.stance for d in found(stage, text, "protest")} == {"occurred"}
    text = "Residents held a vigil and shouted slogans against the police."
    assert found(stage, text, "protest")
    assert not found(stage, "Fans will take to the streets to celebrate the title.", "protest")


@pytest.mark.parametrize(
    "text",
    [
        "Gunmen stormed a hotel in Dalmora, killing 15 people.",  # "storm" the verb, no weather
        "Three soldiers were wounded in a roadside blast near Kharkiv.",
        "A shopkeeper was hacked to death by unidentified assailants in Harbourside.",
        "Militants beheaded a village elder on Sunday.",
        "The gunfight between police and insurgents lasted six hours.",
        "Two people were killed in an exchange of fire along the border.",
        "Sarvenian troops resorted to unprovoked firing along the border.",
    ],
)
def test_armed_violence_in_other_words_is_an_attack(stage, text):
    assert {d.stance for d in found(stage, text, "attack")} == {"occurred"}


@pytest.mark.parametrize(
    "text",
    [
        "The storm killed 15 people in Florida.",
        "The firing of the coach was announced on Monday.",
        "The family's dog was found beaten to death in the backyard.",
    ],
)
def test_weather_dismissals_and_animals_are_no_attack(stage, text):
    assert not found(stage, text, "attack")


def test_crowds_clashing_with_police_are_a_protest(stage):
    text = "Opposition supporters clashed with police in Harbourside, leaving 12 injured."
    assert {d.stance for d in found(stage, text, "protest")} == {"occurred"}
    assert not found(stage, "Militants clashed with police in the district.", "protest")
    assert not found(stage, "The two ministers clashed over the budget.", "protest")


def test_who_fires_drops_or_resorts_to_the_weapons_is_the_attacker(stage):
    text = "Israeli jets were reported to have fired missiles into Syria on Monday."
    (attack,) = found(stage, text, "attack")
    assert names(attack.actors) == {"Israel"}
    text = "Pakistani troops resorted to unprovoked firing along the border."
    (attack,) = found(stage, text, "attack")
    assert any("Pakistan" in name for name in names(attack.actors))


def test_a_relative_clause_of_an_event_does_not_give_it_the_speaker(stage):
    text = "Ukraine condemned the attack that killed nine people in Kharkiv on Sunday."
    (attack,) = found(stage, text, "attack")
    assert not attack.actors  # the attacker is not named; Ukraine only condemned it
    (attack,) = found(stage, "Russia, which launched the strikes, denied it.", "attack")
    assert names(attack.actors) == {"Russia"}


def test_with_a_doer_after_by_the_possessor_is_who_it_happened_to(stage):
    text = "Corwin Baptiste's shooting by an off-duty officer made headlines in 2006."
    (attack,) = found(stage, text, "attack")
    assert "Corwin Baptiste" not in names(attack.actors)


def test_tomorrow_is_ahead_and_arresting_a_trend_is_no_arrest(stage):
    text = "Senior Japanese officials tomorrow open talks with American trade negotiators."
    assert {d.stance for d in found(stage, text, "talks")} == {"proposed"}
    text = "The agency is not the one to arrest global warming."
    assert not found(stage, text, "arrest")


@pytest.mark.parametrize(
    "text, kind",
    [
        ("The rescue team recovered the body of a climber on Mount Harbour.", "repatriation"),
        ("Often the attack is launched through a hidden iFrame put on a web site.", "attack"),
        (
            "\"As president, I'll end the war on religion and I'll fight against liberal attacks "
            'on our religious heritage," the governor continued.',
            "attack",
        ),
    ],
)
def test_an_accident_a_cyber_or_partisan_attack_is_no_event(stage, text, kind):
    assert not found(stage, text, kind)
