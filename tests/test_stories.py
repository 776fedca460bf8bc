"""Story grouping: hand-written reports, then quality floors on third-party same-event labels."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bench.eval_stories import (
    Doc,
    demo_stories,
    evaluate_ecbplus,
    evaluate_giveme,
    evaluate_rss,
    load_giveme,
    window_bound,
)
from newsmon import pipeline, warehouse
from newsmon.config import StorySettings as StoriesConfig
from newsmon.extract import Article
from newsmon.stories import FEATURES_VERSION, MAX_TERMS, StoryIndex, StorySettings, features

from .conftest import shared_data

T0 = datetime(2031, 3, 4, 9, 0, tzinfo=UTC)

# An invented event told by three invented outlets in their own words.
FERRY_A = (
    "Ferry Aldmoor capsizes on Lake Verrin, 14 missing",
    "The passenger ferry Aldmoor capsized on Lake Verrin on Tuesday evening during a sudden "
    "storm, and 14 of its 62 passengers are missing, the Verrin coastguard said. Rescue boats "
    "from Tolsby pulled 48 people from the water. Coastguard commander Ilse Brandvold said "
    "divers would resume the search at first light.",
)
FERRY_B = (
    "Search resumes for 14 after Lake Verrin ferry disaster",
    "Divers returned to Lake Verrin at dawn on Wednesday to look for 14 people still missing "
    "after the Aldmoor went down in a squall near Tolsby. Commander Ilse Brandvold of the "
    "coastguard told reporters that 48 survivors had been rescued and that hopes were fading. "
    "The Aldmoor had been carrying 62 passengers when it overturned.",
)
FERRY_C = (
    "Aldmoor owner questioned as Verrin death toll rises",
    "Police in Tolsby questioned the owner of the Aldmoor on Thursday as the number of "
    "confirmed dead from the Lake Verrin capsizing rose to nine. Brandvold said the ferry "
    "had been licensed for 50 passengers but carried 62 when the storm struck.",
)
FERRY_D = (
    "Verrin holds memorial for Aldmoor victims",
    "Hundreds gathered on the shore of Lake Verrin on Saturday for a memorial to the victims "
    "of the Aldmoor ferry. Divers recovered the last of the 14 missing on Friday, Brandvold "
    "said, closing the search in Tolsby after four days.",
)
# Same actors, same kind of event, seventeen days apart: two rounds of talks.
ROUND_ONE = (
    "Harlund and Pessary delegations meet in Castel Nuovo for first talks",
    "Negotiators from Harlund and Pessary met at the Villa Orsenne in Castel Nuovo on Friday "
    "for their first direct talks in three years. Harlund's delegation was led by Foreign "
    "Minister Oda Kvist and Pessary's by envoy Mirek Dalca. The talks ended after two hours "
    "with an agreement to exchange 500 prisoners but no ceasefire.",
)
ROUND_TWO = (
    "Harlund and Pessary return to Castel Nuovo for a second round",
    "Negotiators from Harlund and Pessary met again in Castel Nuovo on Monday, this time at "
    "the Palazzo Brera, for a second round of talks. Oda Kvist and Mirek Dalca again led the "
    "delegations. The sides exchanged written peace terms and agreed to return 2,000 bodies "
    "of fallen soldiers, but again failed to agree on a ceasefire.",
)
# A developing situation: a demand for a truce, the offer of talks it draws, the talks. Each
# report is close to the one before; the talks share nothing with the truce demand.
DRIFT = [
    (
        "Aldvia and Brenmark leaders demand a 30-day truce, threaten sanctions",
        "The leaders of Aldvia and Brenmark, visiting the capital Corvale on Saturday, demanded "
        "an unconditional 30-day truce from Monday and threatened sweeping sanctions on banks and "
        "energy exports if the demand was refused. Premier Talia Venn of Aldvia said the truce "
        "would show who wanted peace. Brenmark's chancellor Jonas Hale backed the sanctions.",
    ),
    (
        "Kask answers truce demand with offer of talks in Esterhaven",
        "President Oren Kask rejected the 30-day truce demanded by Aldvia and Brenmark and "
        "offered direct talks in Esterhaven on Thursday instead. Premier Talia Venn said the "
        "truce and the threatened sanctions still stood; chancellor Jonas Hale agreed. President "
        "Ilya Marr said he would travel to Esterhaven and wait for Kask there.",
    ),
    (
        "Kask stays away as delegations hold direct talks in Esterhaven",
        "The direct talks President Oren Kask had offered opened in Esterhaven on Thursday, but "
        "Kask stayed away and sent his adviser Pavel Rusk. President Ilya Marr travelled to "
        "Esterhaven and waited for Kask there, then left the talks to defence minister Nika "
        "Oster. The direct talks in Esterhaven lasted two hours and ended with a deal to swap "
        "800 prisoners each; Marr said Kask had shown contempt.",
    ),
]
DRIFT_HOURS = [0, 19, 96]
# Unrelated reports: the index needs a few to tell common words from telling ones.
OTHERS = [
    (
        "Grain prices fall as harvest beats forecasts",
        "Wheat and maize prices fell for a third week as farmers in the northern plains reported "
        "a harvest well above forecasts, traders in Ostbury said.",
    ),
    (
        "Orchestra names new conductor",
        "The Belmonte Philharmonic named Sara Quist its principal conductor from next season, "
        "ending a two-year search after the departure of her predecessor.",
    ),
    (
        "City council approves tram extension",
        "The council of Marrow voted to extend the eastern tram line by four kilometres, with "
        "construction due to start in the spring and cost 210 million.",
    ),
]


def feats(report: tuple[str, str]) -> dict[str, float]:
    return features(*report)


def warm_index(settings: StorySettings | None = None) -> StoryIndex:
    """An index that has seen a few unrelated stored articles."""
    index = StoryIndex(settings or StorySettings())
    for i, report in enumerate(OTHERS):
        index.add_existing(f"other-{i}", T0 - timedelta(days=1, hours=i), feats(report))
    return index


# -- features --------------------------------------------------------------------------------


def test_features_are_small_serialisable_term_weights():
    f = feats(FERRY_A)
    assert 0 < len(f) <= MAX_TERMS
    assert json.loads(json.dumps(f)) == f
    assert all(isinstance(k, str) and isinstance(v, float) and v > 0 for k, v in f.items())
    # names keep a capital, other words are lower-case stems, numbers keep their digits
    assert "Brandvold" in f and "Aldmoor" in f
    assert "passenger" in f and "14" in f
    assert "the" not in f and "said" not in f


def test_features_of_nothing_are_empty_and_assign_still_works():
    assert features(None, None) == {}
    assert features("", "  ") == {}
    index = StoryIndex()
    assert index.assign("a1", T0, {}) == ("a1", 0.0, True)


def test_long_text_is_capped():
    words = " ".join(f"Word{i} token{i}" for i in range(2000))
    assert len(features("A title", words)) == MAX_TERMS


def test_sentence_case_headlines_mark_names_title_case_ones_do_not():
    text = "The bronze figure was cut off at the feet."
    sentence = features("Melania Trump statue goes missing in Slovenia", text)
    assert {"Melania", "Trump", "Slovenia"} <= sentence.keys()
    title_case = features("Melania Trump Statue Vanishes in Slovenia", text)
    assert {"melania", "trump", "slovenia"} <= title_case.keys()
    assert "Slovenia" not in title_case
    # title case keeps some small words in lower case: one is not enough for sentence case
    assert "Fears" not in features("Stocks Fall amid Trade Fears", text)
    # the same name, marked in one report's headline and in another's text, is one term
    in_text = features("Statue stolen", "Police said a statue of Melania Trump was stolen.")
    assert {"Melania", "Trump"} <= in_text.keys() & sentence.keys()


def test_numbers_lose_their_separators():
    f = features(None, "They agreed to swap 1,000 prisoners for 1000 others on 16 May.")
    assert "1000" in f and "1,000" not in f
    assert "May" in f  # the month, although "may" is a stopword


# -- assignment ------------------------------------------------------------------------------


def test_same_event_in_different_words_joins_one_story():
    index = warm_index()
    first, _, opened = index.assign("ferry-a", T0, feats(FERRY_A))
    assert opened and first == "ferry-a"
    story, score, opened = index.assign("ferry-b", T0 + timedelta(hours=14), feats(FERRY_B))
    assert (story, opened) == ("ferry-a", False)
    assert score >= index.settings.threshold
    unrelated = ("Museum reopens after repairs", "The Kestel Museum reopened its west wing.")
    other, _, opened = index.assign("museum", T0 + timedelta(hours=15), feats(unrelated))
    assert opened and other == "museum"
    # a stored report told again joins the stored story
    assert index.assign("grain-2", T0 + timedelta(hours=16), feats(OTHERS[0]))[0] == "other-0"


def test_same_actors_different_event_17_days_apart_do_not_join():
    index = warm_index()
    one, _, _ = index.assign("round-1", T0, feats(ROUND_ONE))
    two, _, opened = index.assign("round-2", T0 + timedelta(days=17), feats(ROUND_TWO))
    assert opened and two == "round-2" != one


def test_a_story_grows_over_several_days():
    index = warm_index()
    days = [0, 1, 2.5, 5]  # each report within the window of the one before
    stories = [
        index.assign(f"ferry-{i}", T0 + timedelta(days=d), feats(report))[0]
        for i, (d, report) in enumerate(
            zip(days, [FERRY_A, FERRY_B, FERRY_C, FERRY_D], strict=True)
        )
    ]
    assert stories == ["ferry-0"] * 4
    assert index.stories["ferry-0"].size == 4


@pytest.mark.parametrize(("seed_threshold", "talks_story"), [(0.15, "drift-2"), (0.0, "drift-0")])
def test_a_story_does_not_drift_from_its_first_report(seed_threshold, talks_story):
    index = warm_index(StorySettings(seed_threshold=seed_threshold))
    got = [
        index.assign(f"drift-{i}", T0 + timedelta(hours=h), feats(report))
        for i, (h, report) in enumerate(zip(DRIFT_HOURS, DRIFT, strict=True))
    ]
    assert got[1][0] == "drift-0"  # the offer of talks answers the truce demand
    assert got[2][1] > 0.36  # the score is the centroid's cosine, joined or not
    # The talks are close enough to the story's centroid to join it (0.37 >= 0.36), but they
    # share nothing with the truce demand that opened it: without the seed test they drift in.
    assert got[2][0] == talks_story


def test_a_rebuilt_story_is_seeded_by_its_first_article_in_any_order():
    index = warm_index()
    # the offer of talks is given first; the truce demand that opened the story after it
    for i in (1, 0):
        published = T0 + timedelta(hours=DRIFT_HOURS[i])
        index.add_existing("drift-0", published, feats(DRIFT[i]), article_id=f"drift-{i}")
    story, _, opened = index.assign("drift-2", T0 + timedelta(hours=96), feats(DRIFT[2]))
    assert opened and story == "drift-2"  # seeded by the offer of talks, it would join


def test_a_story_closes_after_the_window():
    index = warm_index(StorySettings(window_days=2))
    index.assign("ferry-a", T0, feats(FERRY_A))
    story, _, opened = index.assign("ferry-b", T0 + timedelta(days=3), feats(FERRY_B))
    assert opened and story == "ferry-b"
    assert "ferry-a" not in index.stories  # closed stories leave the index


def test_undated_articles_ignore_time():
    index = StoryIndex()
    for i, report in enumerate(OTHERS):
        index.add_existing(f"other-{i}", None, feats(report))
    assert index.assign("ferry-a", None, feats(FERRY_A))[2]
    assert index.assign("round-1", None, feats(ROUND_ONE))[2]
    assert index.assign("ferry-b", None, feats(FERRY_B))[:1] == ("ferry-a",)
    assert index.assign("ferry-c", None, feats(FERRY_C))[:1] == ("ferry-a",)


def test_warm_start_joins_stored_story_and_skips_old_articles():
    index = StoryIndex()
    index.add_existing("ferry-a", T0, feats(FERRY_A))
    index.add_existing("old", T0 - timedelta(days=30), feats(OTHERS[1]))
    for i, report in enumerate(OTHERS):
        index.add_existing(f"other-{i}", T0 - timedelta(hours=i + 1), feats(report))
    story, _, opened = index.assign("ferry-b", T0 + timedelta(hours=14), feats(FERRY_B))
    assert (story, opened) == ("ferry-a", False)
    assert "old" not in index.stories  # counted in the statistics, but opens no story
    assert index.docs == 6


def test_naive_and_aware_datetimes_mix():
    index = warm_index()
    index.assign("ferry-a", T0.replace(tzinfo=None), feats(FERRY_A))
    assert index.assign("ferry-b", T0 + timedelta(hours=3), feats(FERRY_B))[0] == "ferry-a"


# -- quality floors (pinned just under the figures bench/eval_stories.py printed) -------------


def test_demo_corpus_keeps_the_two_istanbul_rounds_apart():
    result = demo_stories()
    assert not result["rounds_merged"]
    sizes = {title: count for title, count, _ in result["stories"]}
    assert 12 <= len(sizes) <= 24  # neither one story per article nor one for everything
    # against the team's event labels (bench/data/demo_events.yaml)
    assert result["labelled"]["pair_f1"] >= 0.80, result["labelled"]  # measured 0.839
    assert result["labelled"]["pair_p"] >= 0.80, result["labelled"]  # measured 0.839


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("name", "dated", "floor"),
    [
        ("40er", True, 0.54),  # measured 0.561
        ("40er", False, 0.60),  # measured 0.625
        ("google_news", True, 0.34),  # measured 0.364
        ("google_news", False, 0.38),  # measured 0.400
    ],
)
def test_giveme5w1h_floor(name, dated, floor):
    shared_data("giveme5w1h", name, "data")
    fig = evaluate_giveme(name, dated=dated)
    assert fig["pair_f1"] >= floor, fig
    assert fig["merged_pairs"] <= 0.02, fig  # measured 0.0: no two labelled events merge


def test_the_window_bound_cuts_an_event_where_its_reports_lie_further_apart_than_the_window():
    day = datetime(2017, 10, 2)
    docs = [
        Doc(f"d{i}", label, day + timedelta(days=offset), None, "")
        for i, (label, offset) in enumerate([("a", 0), ("a", 4), ("a", 8.5), ("b", 1), ("b", 2)])
    ]
    # 4 days apart joins (a story closes only *more* than window_days after its last
    # article); 4.5 days apart cuts: {d0, d1} {d2} {d3, d4} against {d0, d1, d2} {d3, d4}
    assert window_bound(docs, 4.0) == {"pair_p": 1.0, "pair_r": 0.5, "pair_f1": 2 / 3}
    assert window_bound(docs, 5.0)["pair_f1"] == 1.0


@pytest.mark.shared_data
def test_giveme5w1h_labels_span_more_than_a_story_window_allows():
    # The labels are running topics (weeks): even perfect text similarity stays under the
    # goal of 0.85 with stories that close days after their last report.
    shared_data("giveme5w1h", "40er", "data")
    assert round(window_bound(load_giveme("40er"), 4.0)["pair_f1"], 3) == 0.717
    assert round(window_bound(load_giveme("40er"), 30.0)["pair_f1"], 3) == 0.915


@pytest.mark.shared_data
def test_rss_may2025_floor():
    shared_data("rss_may2025", "entries.jsonl")
    fig = evaluate_rss()  # real feed entries: headline and summary only
    assert fig["pair_f1"] >= 0.50, fig  # measured 0.529 (0.333 before headline names)
    assert fig["pair_p"] >= 0.70, fig  # measured 0.742


@pytest.mark.shared_data
def test_ecbplus_floor():
    shared_data("ecbplus", "ecbplus_docs.jsonl.gz")
    result = evaluate_ecbplus()
    per_topic, whole = result["per_topic"], result["whole_set"]
    assert per_topic["pair_f1"] >= 0.56, per_topic  # measured 0.581
    assert per_topic["merged_pairs"] < 0.045, per_topic  # measured 3.2 %, goal < 5 %
    assert whole["pair_f1"] >= 0.75, whole  # measured 0.773
    assert whole["cross_topic_pairs"] <= 0.01, whole  # measured 0.0 %


# -- across runs: story centroids kept in the warehouse ---------------------------------------


def _article(article_id: str, report: tuple[str, str], published: datetime) -> Article:
    url = f"https://outlet.example/{article_id}"
    published = published.astimezone(UTC).replace(tzinfo=None)
    return Article(
        article_id=article_id,
        feed_id="feed",
        url=url,
        canonical_url=url,
        title=report[0],
        text=report[1],
        published_at=published,
        fetched_at=published,
        language="en",
        text_source="page",
    )


def _load_run(
    con, run_id: str, articles: list[Article], config: StoriesConfig | None = None
) -> pipeline.StoryAssignment:
    """The story stage and the load of one run, as pipeline.load_batch does them."""
    assigned = pipeline.assign_stories(con, articles, config or StoriesConfig())
    warehouse.load_cycle(
        con,
        warehouse.RunRecord(run_id, datetime(2031, 1, 1)),
        [],
        articles,
        features=assigned.features,
        story_vectors=assigned.vectors,
    )
    return assigned


RUNS = [
    [("other-0", OTHERS[0], -30), ("other-1", OTHERS[1], -29), ("other-2", OTHERS[2], -28)],
    [("ferry-a", FERRY_A, 0), ("round-1", ROUND_ONE, 1)],
    [("ferry-b", FERRY_B, 14)],
    [("ferry-c", FERRY_C, 50)],
    [("round-2", ROUND_TWO, 17 * 24)],
]


def test_stories_grow_across_runs_from_stored_centroids(tmp_path):
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        for n, run in enumerate(RUNS):
            batch = [_article(i, r, T0 + timedelta(hours=h)) for i, r, h in run]
            assigned = _load_run(con, f"run-{n}", batch)
            # only the stories this run opened or grew are written back
            assert {v.story_id for v in assigned.vectors} == {a.story_id for a in batch}
        story_of = dict(con.execute("SELECT article_id, story_id FROM articles").fetchall())
        vectors = dict(con.execute("SELECT story_id, size FROM story_vectors").fetchall())
    assert story_of["ferry-b"] == story_of["ferry-c"] == "ferry-a"
    assert story_of["round-1"] == "round-1" and story_of["round-2"] == "round-2"
    assert vectors["ferry-a"] == 3 and vectors["round-2"] == 1
    # the same stream through one index in memory, as bench/eval_stories.py runs it
    index = StoryIndex()
    for run in RUNS:
        for i, r, h in run:
            assert index.assign(i, T0 + timedelta(hours=h), feats(r))[0] == story_of[i]


def _runs_then_ferry_c(con, caplog, damage: str) -> None:
    """Load the first three runs, apply `damage` (SQL) to what they stored, then load ferry-c."""
    for n, run in enumerate(RUNS[:3]):
        _load_run(con, f"run-{n}", [_article(i, r, T0 + timedelta(hours=h)) for i, r, h in run])
    con.execute(damage)
    with caplog.at_level("INFO", logger="newsmon.pipeline"):
        _load_run(con, "run-c", [_article("ferry-c", FERRY_C, T0 + timedelta(hours=50))])


def test_stored_stories_without_a_seed_are_rebuilt(tmp_path, caplog):
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        # rows written by code from before seeds were kept, after the migration
        _runs_then_ferry_c(
            con, caplog, "UPDATE story_vectors SET seed_terms = NULL, seed_weights = NULL"
        )
        missing = con.execute("SELECT count(*) FROM story_vectors WHERE seed_terms IS NULL")
        assert missing.fetchall() == [(0,)]
        story = con.execute("SELECT story_id FROM articles WHERE article_id = 'ferry-c'").fetchone()
    assert "rebuilding 5 open stories" in caplog.text
    assert story == ("ferry-a",)


def test_features_of_an_earlier_version_are_computed_again(tmp_path, caplog):
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        # a warehouse written by an earlier feature function (story_vectors as it left them)
        _runs_then_ferry_c(
            con,
            caplog,
            "CREATE TABLE current AS SELECT article_id, terms FROM article_features; "
            "UPDATE article_features SET version = version - 1, terms = ['old']",
        )
        current = dict(con.execute("SELECT article_id, terms FROM current").fetchall())
        assert "recomputed the story features of 6 stored articles" in caplog.text
        stored = dict(con.execute("SELECT article_id, terms FROM article_features").fetchall())
        versions = {
            v for (v,) in con.execute("SELECT DISTINCT version FROM article_features").fetchall()
        }
        story = con.execute("SELECT story_id FROM articles WHERE article_id = 'ferry-c'").fetchone()
    assert versions == {FEATURES_VERSION}
    assert {k: stored[k] for k in current} == current  # as the current function computes them
    assert story == ("ferry-a",)  # the open story survived the change


@pytest.mark.parametrize(("seed_threshold", "talks_story"), [(0.15, "drift-2"), (0.0, "drift-0")])
def test_a_stored_story_keeps_its_seed_across_runs(tmp_path, seed_threshold, talks_story):
    config = StoriesConfig(seed_threshold=seed_threshold)
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        _load_run(con, "run-o", [_article(i, r, T0 + timedelta(hours=h)) for i, r, h in RUNS[0]])
        for i, (h, report) in enumerate(zip(DRIFT_HOURS, DRIFT, strict=True)):
            _load_run(
                con, f"run-{i}", [_article(f"drift-{i}", report, T0 + timedelta(hours=h))], config
            )
        story_of = dict(con.execute("SELECT article_id, story_id FROM articles").fetchall())
        seed = con.execute(
            "SELECT seed_terms FROM story_vectors WHERE story_id = 'drift-0'"
        ).fetchall()[0][0]
    assert story_of["drift-1"] == "drift-0" and story_of["drift-2"] == talks_story
    assert "Venn" in seed and "Esterhaven" not in seed  # the truce demand's terms only


def test_open_stories_without_centroids_are_rebuilt_once(tmp_path, caplog):
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        # a warehouse from before centroids were kept
        _runs_then_ferry_c(con, caplog, "DELETE FROM story_vectors")
        assert "rebuilding 5 open stories" in caplog.text  # ferry, round one, three others
        caplog.clear()
        sizes = dict(con.execute("SELECT story_id, size FROM story_vectors").fetchall())
        with caplog.at_level("INFO", logger="newsmon.pipeline"):
            _load_run(con, "run-d", [_article("ferry-d", FERRY_D, T0 + timedelta(hours=100))])
        assert "rebuilding" not in caplog.text
        story = con.execute("SELECT story_id FROM articles WHERE article_id = 'ferry-d'").fetchone()
    assert sizes["ferry-a"] == 3 and story == ("ferry-a",)
