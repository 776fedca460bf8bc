"""The entity stage: watch lists, fuzzy variants, discovery, canonical names, topics, reprocess."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from newsmon import pipeline, warehouse
from newsmon.config import NlpSettings, parse_sources
from newsmon.entities import country_code, extractor_for

from .conftest import ROOT

SOURCES = """\
feeds:
  - {id: f, name: F, url: "https://f.example/rss"}
topics:
  - id: talks
    keywords: [ceasefire, prisoner exchange]
    threshold: 3
    entities:
      - {name: Volodymyr Zelensky, kind: person, aliases: [Zelenskyy], role: President of Ukraine}
      - {name: Vladimir Medinsky, kind: person, aliases: [Medinsky]}
      - {name: Rustem Umerov, kind: person}
      - {name: Türkiye, kind: country, aliases: [Turkey]}
      - {name: Russia, kind: country}
      - {name: Ukraine, kind: country}
      - {name: Kyiv, kind: place, aliases: [Kiev]}
"""


@pytest.fixture(scope="module")
def sources():
    return parse_sources(SOURCES)


@pytest.fixture(scope="module")
def extractor(sources):
    return extractor_for(sources.topics, sources.settings.nlp)


def names(result, source=None):
    return {
        (m.entity.name, m.entity.kind): m.count
        for m in result.mentions
        if source in (None, m.entity.source)
    }


def test_spelling_and_transliteration_variants_resolve_to_the_watch_list(extractor):
    text = (
        "President Zelenskiy flew to Ankara. Vladimir Medinskiy led the other side, and officials in "
        "Turkiye said the meeting in Kiev was off. Zelenskyy later spoke to reporters."
    )
    (result,) = extractor.extract([text])
    found = names(result, "watchlist")
    assert found[("Volodymyr Zelensky", "person")] == 2
    assert found[("Vladimir Medinsky", "person")] == 1
    assert ("Türkiye", "country") in found
    assert ("Kyiv", "place") in found


def test_an_alias_split_by_the_tokenizer_still_finds_its_entity():
    # The shipped watch list's "U.S." alone tokenizes as "U.S" "."; tokenized text (ECB+
    # writes "U.S .") matched it token by token, and the look-up by the span's text failed
    # with a KeyError that stopped the whole batch.
    from newsmon.config import load_sources

    shipped = load_sources(ROOT / "sources.yaml")
    extractor = extractor_for(shipped.topics, shipped.settings.nlp)
    (result,) = extractor.extract(["Officials from the U.S . met Russian envoys in Istanbul."])
    assert ("United States", "country") in names(result)


def test_demonyms_map_to_countries_and_surnames_to_the_full_name(extractor):
    text = (
        "The Ukrainian delegation was led by Rustem Umerov. Russian negotiators arrived late. "
        "Later, Umerov told reporters the Turkish hosts had been generous. Ines Kalvane, a "
        "Latvian diplomat, said Kalvane would brief the French and German governments."
    )
    (result,) = extractor.extract([text])
    found = names(result)
    assert found[("Rustem Umerov", "person")] == 2
    assert found[("Ukraine", "country")] >= 1 and found[("Russia", "country")] >= 1
    assert ("Türkiye", "country") in found  # Turkish -> the watch list's country
    assert found.get(("Ines Kalvane", "person")) == 2  # discovered, surname resolved
    assert ("France", "country") in found and ("Germany", "country") in found
    assert not any(name == "Kalvane" for name, _ in found)


def test_discovery_reads_the_words_around_a_name(extractor):
    texts = [
        "The Harbourton Gulls beat the Millbrook Foxes 3-1 on Saturday. The Gulls scored twice "
        "in the first half, and the Foxes never recovered.",
        "Tessa Marlow, the painter whose portraits hang in Leeds, has died. Marlow was 85.",
        "Thieves robbed a Corvell Brandt boutique in Lyon on Friday.",
        "Police said the shooting happened in Woodburn on Friday.",
        "The Whitford administration announced new tariffs on Tuesday.",
        "SEACOM said the cable would be repaired next week.",
        "Jon Hartley Defends Tariffs\nJon Hartley defended the tariffs on Monday.",
    ]
    teams, surname, boutique, town, administration, capitals, headline = map(
        names, extractor.extract(texts)
    )
    # A team's nickname, untagged or after a score, is the team.
    assert teams == {
        ("Harbourton Gulls", "organisation"): 2,
        ("Millbrook Foxes", "organisation"): 2,
    }
    assert surname[("Tessa Marlow", "person")] == 2  # "Marlow" untagged, still her
    assert ("Corvell Brandt", "place") in boutique  # a name modifying a place noun
    assert town == {("Woodburn", "place"): 1}  # a lone name after "in"
    assert administration == {("Whitford administration", "organisation"): 1}
    assert capitals == {("SEACOM", "organisation"): 1}  # organisations are written in capitals
    assert headline == {("Jon Hartley", "person"): 2}  # not "Jon Hartley Defends"


def test_topic_needs_its_threshold(extractor):
    on, off = extractor.extract(
        [
            "Rustem Umerov said Ukraine wanted a ceasefire before any prisoner exchange with Russia.",
            "Ukraine's football team beat Georgia in a friendly.",
        ]
    )
    assert on.topics == {"talks": 5.0}
    assert off.topics == {}


def test_country_codes():
    assert country_code("Russian") == "RU" and country_code("Britain") == "GB"
    assert country_code("Türkiye") == "TR" and country_code("Turkey") == "TR"
    assert country_code("Gotham") is None


def test_nlp_model_is_loaded_by_a_configurable_package_name(sources):
    with pytest.raises(RuntimeError, match="no spaCy model installed"):
        extractor_for(sources.topics, NlpSettings(models=["no_such_model_package"]))


def _store(con, extractor, texts: dict[str, str], roles=None):
    found = dict(zip(texts, extractor.extract(texts.values()), strict=True))
    con.execute("BEGIN TRANSACTION")
    warehouse.store_entities(con, found, datetime(2025, 5, 16), roles)
    con.execute("COMMIT")


def test_discovered_names_merge_across_articles_and_roles_are_kept(tmp_path, extractor):
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        _store(
            con,
            extractor,
            {"a1": "Andriy Yermak, the head of the presidential office, arrived."},
            roles={"Volodymyr Zelensky": "President of Ukraine"},
        )
        _store(
            con,
            extractor,
            {
                "a2": "Ukraine's chief of staff, Andrii Yermak, said talks were possible. Volodymyr Zelensky agreed."
            },
            roles={"Volodymyr Zelensky": "President of Ukraine"},
        )
        people = con.execute(
            "SELECT e.name, e.source, e.role, list(DISTINCT m.article_id ORDER BY m.article_id) "
            "FROM entities e JOIN mentions m USING (entity_id) WHERE kind = 'person' GROUP BY ALL ORDER BY 1"
        ).fetchall()
        aliases = {a for (a,) in con.execute("SELECT alias FROM entity_aliases").fetchall()}
    assert people == [
        ("Andriy Yermak", "ner", None, ["a1", "a2"]),
        ("Volodymyr Zelensky", "watchlist", "President of Ukraine", ["a2"]),
    ]
    assert {"Andriy Yermak", "Andrii Yermak"} <= aliases


@pytest.mark.usefixtures("prefect_harness")
def test_demo_officials_resolve_to_one_entity_each_and_reprocess_is_idempotent(tmp_path, capsys):
    from newsmon.cli import main

    assert (
        main(
            ["demo", "--port", "0", "--dir", str(tmp_path), "--sources", str(ROOT / "sources.yaml")]
        )
        == 0
    )
    db = tmp_path / "demo.duckdb"
    officials = [
        "Medinsky",
        "Umerov",
        "Fidan",
        "Zelensky",
        "Putin",
        "Erdoğan",
        "Rubio",
        "Trump",
        "Lavrov",
    ]
    with duckdb.connect(str(db), read_only=True) as con:
        for surname in officials:
            rows = con.execute(
                "SELECT DISTINCT e.name FROM entities e JOIN mentions m USING (entity_id) "
                "WHERE e.kind = 'person' AND e.name ILIKE ?",
                [f"%{surname}%"],
            ).fetchall()
            assert len(rows) == 1, (surname, rows)
        before = con.execute(
            "SELECT article_id, entity_id, count FROM mentions ORDER BY ALL"
        ).fetchall()
        topics_before = con.execute("SELECT * FROM article_topics ORDER BY ALL").fetchall()
        changes = "SELECT developments_added, developments_removed FROM article_changes"
        changes_before = con.execute(changes).fetchall()
        revisions = "SELECT article_id, revision, developments FROM article_revisions"
        revisions_before = con.execute(revisions).fetchall()
    assert changes_before and changes_before[0][0]  # the demo's update in place gains some
    with duckdb.connect(str(db)) as con:  # as a warehouse from before migration 0016 has it
        con.execute("UPDATE article_revisions SET developments = NULL")
    assert main(["reprocess", "--sources", str(tmp_path / "sources.yaml")]) == 0
    snapshot = warehouse.snapshot_path(db)
    snapshot.unlink()  # `query` and `report` read it: reprocess writes it anew
    assert main(["reprocess", "--sources", str(tmp_path / "sources.yaml")]) == 0
    for path in (db, snapshot):
        with duckdb.connect(str(path), read_only=True) as con:
            mentions = "SELECT article_id, entity_id, count FROM mentions ORDER BY ALL"
            assert con.execute(mentions).fetchall() == before
            topics = "SELECT * FROM article_topics ORDER BY ALL"
            assert con.execute(topics).fetchall() == topics_before
            # replaced versions are read again with the same rules: the same flags
            assert con.execute(revisions).fetchall() == revisions_before
            assert con.execute(changes).fetchall() == changes_before
    assert "reprocessed 45 articles" in capsys.readouterr().out


def test_reprocess_after_a_watch_list_change(tmp_path, sources, extractor):
    db = tmp_path / "w.duckdb"
    text = "Dmytro Kuleba met Rustem Umerov in Kyiv to discuss a ceasefire and a prisoner exchange."
    with warehouse.connect(db) as con:
        run = warehouse.RunRecord("r1", datetime(2025, 5, 16))
        from newsmon.extract import Article

        art = Article(
            article_id="a1",
            feed_id="f",
            url=None,
            title="t",
            text=text,
            published_at=datetime(2025, 5, 16),
            fetched_at=datetime(2025, 5, 16),
            language="en",
            text_source="page",
        )
        warehouse.load_cycle(con, run, [], [art])
        pipeline.reprocess(con, sources)
        assert con.execute(
            "SELECT source FROM entities WHERE name = 'Dmytro Kuleba'"
        ).fetchall() == [("ner",)]
        assert con.execute("SELECT score FROM article_topics").fetchall() == [(4.0,)]
        changed = parse_sources(
            SOURCES
            + "      - {name: Dmytro Kuleba, kind: person, aliases: [Kuleba], role: Former minister}\n"
        )
        pipeline.reprocess(con, changed)
        assert con.execute(
            "SELECT source, role FROM entities WHERE name = 'Dmytro Kuleba'"
        ).fetchall() == [("watchlist", "Former minister")]
        assert con.execute("SELECT score FROM article_topics").fetchall() == [
            (5.0,)
        ]  # Kuleba counts now


def test_models_multiply_through_numpy_on_one_blas_thread(extractor):
    # entities.use_numpy_gemm: blis replaced by numpy's OpenBLAS, held to one thread (the
    # parallelism is a process per core).
    from threadpoolctl import threadpool_info

    ops = {
        (type(node.ops).__name__, node.ops.use_blis)
        for _, component in extractor.nlp.components
        if getattr(component, "model", None) is not None
        for node in component.model.walk()
    }
    assert ops == {("NumpyOps", False)}
    numpy_blas = [i for i in threadpool_info() if "numpy.libs" in i["filepath"]]
    assert numpy_blas and all(i["num_threads"] == 1 for i in numpy_blas)


# --- Real-news rules (issue 19): headlines, datelines, aliases, kinds, merges ---------------
# The sentences are the team's own, with invented people and firms.

CASE_SOURCES = """\
feeds:
  - {id: f, name: F, url: "https://f.example/rss"}
topics:
  - id: t
    entities:
      - {name: United States, kind: country, aliases: [US, U.S.]}
      - {name: Türkiye, kind: country, aliases: [Turkey]}
      - {name: Theresa May, kind: person, aliases: [May]}
      - {name: Donald Trump, kind: person, aliases: [Trump]}
"""


@pytest.fixture(scope="module")
def case_extractor():
    sources = parse_sources(CASE_SOURCES)
    return extractor_for(sources.topics, sources.settings.nlp)


def test_title_case_headlines_need_confirmation(extractor):
    texts = [
        "Minister Begins Talks Amid Doubt\nThe minister began talks with unions on Monday, "
        "officials in Carlisle said.",
        "Latvia Advises Citizens Against Travel\nThe foreign ministry said the advice stays.",
    ]
    doubt, latvia = map(names, extractor.extract(texts))
    assert doubt == {("Carlisle", "place"): 1}  # "Begins Talks Amid Doubt" is no name
    assert latvia == {("Latvia", "country"): 1}  # the part the gazetteer knows


def test_datelines_are_places_and_names_split_at_breaks_and_commas(extractor):
    texts = [
        "Harbourton club signs striker\nLONDON - Tessa Marlow signed for the club on Friday.",
        "Marlow, Brandt reportedly split\nThe painter Tessa Marlow and the chef Corvell Brandt "
        "have split, friends said.",
    ]
    dateline, couple = map(names, extractor.extract(texts))
    assert dateline[("London", "place")] == 1 and dateline[("Tessa Marlow", "person")] == 1
    assert not any("," in name for name, _ in couple)
    assert couple[("Tessa Marlow", "person")] == 2  # "Marlow" of the headline joins her


def test_aliases_match_only_in_the_form_that_marks_the_name(case_extractor):
    texts = [
        "Join us tonight: the US envoy and U.S. officials met in Ankara. Let us talk turkey "
        "with Turkey.",
        "Elections are due in May. Theresa May said on Tuesday that May would not stand again.",
        "The U.S. Department of Education said on Monday that the U.S. military would help.",
        "Melania Trump visited Trump Tower, and President Trump spoke.",
    ]
    us, may, longer, trump = map(names, case_extractor.extract(texts))
    assert us[("United States", "country")] == 2 and us[("Türkiye", "country")] == 1
    assert may == {("Theresa May", "person"): 2}  # not "in May"
    assert longer == {
        ("U.S. Department of Education", "organisation"): 1,
        ("Armed forces of United States", "organisation"): 1,
    }
    assert trump[("Donald Trump", "person")] == 1 and ("Melania Trump", "person") in trump
    assert ("Trump Tower", "place") in trump


def test_codes_count_only_as_news_writes_them():
    assert country_code("Ala") is None and country_code("AI") is None  # not Åland, Anguilla
    assert country_code("UAE") == "AE" and country_code("DRC") == "CD"


def test_kinds_from_gazetteers_and_names(extractor):
    texts = [
        "The UAE and the DRC signed the deal, and Iraq agreed.",
        "The Mahdi Army fought in the city on Sunday.",
    ]
    countries, army = map(names, extractor.extract(texts))
    assert {("United Arab Emirates", "country"), ("DR Congo", "country")} <= countries.keys()
    assert ("Iraq", "country") in countries
    assert all(kind == "organisation" for name, kind in army if "Army" in name)


def test_kinds_from_the_words_of_the_name_and_of_the_sentence(extractor):
    texts = [
        "Near Palmyra, two strikes hit a checkpoint held by the militants.",
        "The strike was claimed by Daesh, which still holds villages near al-Hilla.",
        "Speaking at the Harbourtown Security Conference, the minister urged restraint.",
        "Ministers met at the summit and later toured the Qasr Barrage.",
    ]
    near, claim, meeting, tour = map(names, extractor.extract(texts))
    assert ("Palmyra", "place") in near and not any("Near" in n for n, _ in near)
    assert ("Daesh", "organisation") in claim and ("al-Hilla", "place") in claim
    assert ("Harbourtown Security Conference", "organisation") in meeting
    assert ("Qasr Barrage", "place") in tour


def test_short_forms_join_their_full_name_with_a_reason(extractor):
    texts = [
        "The Food and Drug Administration (FDA) approved the drug. The FDA said trials ended.",
        "Flights at Heathrow Airport were cancelled. Heathrow said the fault was fixed.",
        "Harbourton Motor Co. said sales rose. Harbourton Motor shares fell.",
        "Louis van Gaal was sacked on Monday. Van Gaal said he was disappointed.",
        "Nick Harland was hired as coach on Thursday. Harland said he was pleased. His wife, "
        "Terry Harland, said they were happy. Harland will start next week.",
    ]
    fda, heathrow, motor, gaal, harland = extractor.extract(texts)
    (agency,) = fda.mentions
    assert (agency.entity.name, agency.count, agency.joined) == (
        "Food and Drug Administration",
        3,
        {"FDA": "acronym"},
    )
    assert names(heathrow) == {("Heathrow Airport", "place"): 2}
    assert names(motor) == {("Harbourton Motor", "organisation"): 2}  # no legal form
    assert names(gaal) == {("Louis van Gaal", "person"): 2}
    # Two Harlands: the lone surname is the one the story introduced first.
    assert names(harland) == {("Nick Harland", "person"): 3, ("Terry Harland", "person"): 1}


def test_a_full_name_takes_its_majority_kind_in_the_batch():
    from newsmon.entities import ArticleEntities, EntityRef, Mention
    from newsmon.entities.merge import one_kind_per_batch

    def article(kind, count):
        return ArticleEntities([Mention(EntityRef("Corvell Brandt", kind, "ner"), count, 0)], {})

    batch = [article("person", 2), article("person", 1), article("organisation", 1)]
    club = [ArticleEntities([Mention(EntityRef("Liverpool", k, "ner"), 1, 0)], {}) for k in
            ("place", "place", "organisation")]  # fmt: skip
    one_kind_per_batch(batch)
    one_kind_per_batch(club)
    assert {a.mentions[0].entity.kind for a in batch} == {"person"}
    # One word may be a club or a city: each article keeps its own kind.
    assert [a.mentions[0].entity.kind for a in club] == ["place", "place", "organisation"]


def test_text_analyser_lives_above_both_stages():
    import subprocess
    import sys

    # Importing the entity stage does not import the development stage (no import circle).
    code = "import sys, newsmon.entities; print('newsmon.developments' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _ids(result):
    """Entity id per surface of each mention."""
    return {s: m.entity.id for m in result.mentions for s in m.surfaces}


def test_a_nationality_describing_an_organisation_is_no_mention_of_its_country(extractor):
    text = (
        "Dunmore Mills will sell grain to Norland, the Valeport Courier reported, in a deal "
        "covered by the French export credit agency, Cofrel. France has sold wheat before."
    )
    (result,) = extractor.extract([text])
    france = [m for m in result.mentions if m.entity.name == "France"]
    assert len(france) == 1 and france[0].surfaces == {"France"}  # not "French ... agency"


def test_state_abbreviations_are_the_state_only_where_a_state_stands(extractor):
    texts = [
        "TUSCALOOSA, Ala. - The University of Alabama said on Monday that Alabama will pay "
        "for the new library, the Riverbend Gazette reported.",
        "BRACKENFORD, W. Va. - A mine in Brackenford reopened on Tuesday, and a crew from "
        "Morgantown, W. Va., joined the work.",
    ]
    tuscaloosa, brackenford = extractor.extract(texts)
    ids = {m.entity.name: m.entity.id for m in tuscaloosa.mentions}
    assert ids.keys() >= {"Alabama", "University of Alabama"}
    assert ids["University of Alabama"] != ids["Alabama"]
    state = next(m for m in tuscaloosa.mentions if m.entity.name == "Alabama")
    assert state.entity.kind == "place" and state.surfaces == {"Ala.", "Alabama"}
    found = names(brackenford)
    assert found[("West Virginia", "place")] == 2
    assert ("Brackenford", "place") in found  # the state vouches for the town


def test_a_place_the_article_cues_as_a_team_is_an_organisation(extractor):
    text = (
        "MOBILE, Ala. - Harlan Voss was introduced as Alabama's coach on Thursday, the Gulf "
        "Sentinel reported. Voss led Alabama to two titles before. Alabama beat Tennessee "
        "last year, and Alabama fans hope for more."
    )
    (result,) = extractor.extract([text])
    ids = _ids(result)
    kinds = {s: m.entity.kind for m in result.mentions for s in m.surfaces}
    assert kinds["Alabama"] == "organisation" and kinds["Ala."] == "place"
    assert ids["Ala."] != ids["Alabama"]  # the state is not the team


def test_kinds_from_the_noun_before_a_name(extractor):
    texts = [
        "Rebels shelled the town of Kelmar Deen on Sunday, the Dustway Herald reported.",
        "The bridge was built in 1961 by the German company Dresden for the ministry.",
    ]
    town, company = map(names, extractor.extract(texts))
    assert ("Kelmar Deen", "place") in town
    assert company == {("Dresden", "organisation"): 1}  # a company named after a city


def _lone(extractor, texts):
    return [names(r) for r in extractor.extract(texts)]


def test_a_lone_surname_after_a_title_or_an_honorific_is_a_person(extractor):
    # No full name anywhere in the article: the title vouches for the surname.
    texts = [
        "Mr. Varlentin vowed to respond forcefully to the attack on the port.",
        "Secretary Haldane raised these concerns in a call with his counterpart.",
        "Mr Osei is convinced it is a win-win situation for the workers.",  # Osei untagged
        # A sentence that reads as a title-case line: the title confirms the name.
        "The Premier and President Valdeson met on 3 March for the Summit at Corvale.",
        "Turnout was low across the region on Sunday.",  # a lone "person" with no cue
    ]
    found = _lone(extractor, texts)
    assert found[:3] == [
        {("Varlentin", "person"): 1},
        {("Haldane", "person"): 1},
        {("Osei", "person"): 1},
    ]
    assert ("Valdeson", "person") in found[3]
    assert found[4] == {}


def test_a_lone_surname_saying_something_is_a_person(extractor):
    texts = [
        "Talks resumed on Monday. Kowalczyk said the two sides were still far apart on the border.",
        '"We feel the difference," says Rashida, as she empties her bag of onions.',
    ]
    assert _lone(extractor, texts) == [{("Kowalczyk", "person"): 1}, {("Rashida", "person"): 1}]


def test_a_lone_surname_with_an_age_is_a_person(extractor):
    texts = ["Police said Castellano, 37, fired at the officers before fleeing."]
    assert _lone(extractor, texts) == [{("Castellano", "person"): 1}]


def test_a_vouched_surname_still_joins_the_full_name_of_its_article(extractor):
    text = (
        "Hamid Okoro met the envoys in Oslo on Monday. Mr. Okoro said the talks went well, "
        "and President Okoro will travel to Bergen next week."
    )
    (result,) = extractor.extract([text])
    assert names(result) == {
        ("Hamid Okoro", "person"): 3,
        ("Oslo", "place"): 1,
        ("Bergen", "place"): 1,
    }


def test_armed_groups_are_found_whatever_the_recogniser_tags_them(extractor):
    # The small model tags "ISIL" as a number, a nationality or nothing; "ISIL tactical
    # unit" is still ISIL (unlike "the French export credit agency", which is not France).
    texts = [
        "On Monday, an ISIL gang leader in the city was struck and killed.",
        "The coalition aims to defeat ISIL in the north, officials said.",
        "Two strikes engaged an ISIL tactical unit near the river, and ISIL fighters fled.",
        "Volunteers in the isil valley planted trees.",  # not written as the name is
    ]
    found = [names(r) for r in extractor.extract(texts)]
    assert found[0] == {("ISIL", "organisation"): 1}
    assert found[1] == {("ISIL", "organisation"): 1}
    assert found[2] == {("ISIL", "organisation"): 2}
    assert ("isil", "organisation") not in found[3] and ("ISIL", "organisation") not in found[3]


def test_a_town_tagged_as_a_nationality_is_a_place(extractor):
    texts = [
        "Aircraft are inflicting the worst bombardment seen yet on Aleppo and other towns.",
        "Sunnis and Kurds marched together on Friday.",  # peoples stay out
    ]
    town, peoples = map(names, extractor.extract(texts))
    assert town == {("Aleppo", "place"): 1}
    assert peoples == {}


def test_an_acronym_defined_in_brackets_is_its_name_wherever_it_stands(extractor):
    text = (
        "Officials of the Hartland Recovery Trust Fund (HRTF) said on Monday that our HRTF "
        "contribution will help many. Jane Smith (JS) said hello."
    )
    (result,) = extractor.extract([text])
    assert names(result) == {
        ("Hartland Recovery Trust Fund", "organisation"): 3,
        ("Jane Smith", "person"): 1,
    }


def _as_recognised(extractor, text: str, spans: list[tuple[str, str]]):
    """`text` parsed, with the recogniser's labels replaced by `spans` (surface, label): what
    the small model says varies by context; the entity stage's own rules are what is tested."""
    from spacy.tokens import Span

    doc = extractor.nlp(text)
    ents = []
    for surface, label in spans:
        start = text.index(surface)
        ents.append(doc.char_span(start, start + len(surface), label=label))
    doc.ents = [Span(doc, e.start, e.end, label=e.label_) for e in ents]
    return names(extractor.from_doc(doc))


def test_a_census_given_and_family_name_tagged_an_organisation_is_a_person(extractor):
    text = "The singer dated Brenda Castillo before the tour, the magazine said."
    assert ("Brenda Castillo", "person") in _as_recognised(
        extractor, text, [("Brenda Castillo", "ORG")]
    )
    # A league, a paper or a place keeps the recogniser's kind, and so do names the census
    # lists do not know.
    for surface in ("Brenda League", "Brenda Herald", "Zorvak Castillo"):
        text = f"The report was published by {surface} on Monday."
        assert (surface, "organisation") in _as_recognised(extractor, text, [(surface, "ORG")])


def test_a_company_word_ends_a_name_the_recogniser_took_for_a_person(extractor):
    text = "Lead manager Castillo Webber International said the bonds were priced on Monday."
    found = _as_recognised(extractor, text, [("Castillo Webber International", "PERSON")])
    assert ("Castillo Webber International", "organisation") in found


def test_a_title_run_on_into_a_name_is_split_into_its_place_and_the_person(extractor):
    # (running text under a headline: a name in a headline alone needs confirming)
    text = "Envoy in Amman\n\nMinister for the Middle East Brenda Castillo visited Amman on Monday."
    found = _as_recognised(extractor, text, [("the Middle East Brenda Castillo", "ORG")])
    # the place is part of the title, as "Minister for Europe" is (not a mention of it)
    assert set(found) == {("Brenda Castillo", "person")}
    text = "Dam tour\n\nSecretary of the Interior Brenda Castillo toured the dam."
    found = _as_recognised(extractor, text, [("the Interior Brenda Castillo", "ORG")])
    assert ("Brenda Castillo", "person") in found
    assert not any(kind == "place" for _, kind in found)
    # Without a title before it, the recogniser's span stands.
    text = "Grants\n\nThe grant came from the Middle East Brenda Castillo on Monday."
    found = _as_recognised(extractor, text, [("the Middle East Brenda Castillo", "ORG")])
    assert set(found) == {("Middle East Brenda Castillo", "organisation")}


def test_an_organisation_keeps_a_first_word_that_is_also_a_title(extractor):
    text = "Markets\n\nShares of General Motors rose after the General Assembly voted on Monday."
    found = names(list(extractor.extract([text]))[0])
    assert ("General Motors", "organisation") in found
    assert not any(name in ("Motors", "Assembly") for name, _ in found)


def test_a_rank_divides_the_unit_from_the_person(extractor):
    text = (
        "Crash on Route 9\n\nOregon State Police Lt. Brenda Castillo said the driver "
        "was arrested. Navy Capt. Tomas Evandel said the ship was safe."
    )
    found = names(list(extractor.extract([text]))[0])
    assert ("Navy", "organisation") in found  # the recogniser's "Navy Capt"
    assert ("Brenda Castillo", "person") in found and ("Tomas Evandel", "person") in found
    assert not any(name.endswith(("Lt", "Capt")) for name, _ in found)


def test_a_legal_form_before_or_after_the_name_is_no_part_of_it():
    from newsmon.entities.names import without_legal_form

    assert without_legal_form("NV Harbourwerk") == "Harbourwerk"
    assert without_legal_form("N.V. Harbourwerk Holdings") == "Harbourwerk Holdings"
    assert without_legal_form("Castillo Webber Inc.") == "Castillo Webber"
    assert without_legal_form("NV") == "NV"


def test_a_clipped_name_joins_its_full_name(extractor):
    text = (
        "Markets\n\nThe Federal Reserve held rates on Wednesday. The Fed said inflation had "
        "eased, and Congress was told the FBI's Office of Professional Responsibility would "
        "report. Members of the Congressional Budget Office and the FBI met later."
    )
    result = list(extractor.extract([text]))[0]
    found = names(result)
    assert ("Federal Reserve", "organisation") in found
    assert not any(name == "Fed" for name, _ in found)
    fed = next(m for m in result.mentions if m.entity.name == "Federal Reserve")
    assert fed.joined.get("Fed") == "clipped"
    # "Congress" is no clip of "Congressional", nor "FBI" of "FBI's": they stay themselves.
    assert any(name == "Congress" for name, _ in found)
    assert any(name == "FBI" for name, _ in found)
