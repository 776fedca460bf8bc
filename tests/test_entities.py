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
