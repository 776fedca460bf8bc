"""Story grouping: hand-written reports, then quality floors on third-party same-event labels."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bench.eval_stories import (
    Doc,
    baseline_cluster,
    cluster,
    demo_stories,
    evaluate_ecbplus,
    evaluate_giveme,
    evaluate_rss,
    event_sets,
    load_giveme,
    score_set,
    window_bound,
)
from newsmon import pipeline, warehouse
from newsmon.config import StorySettings as StoriesConfig
from newsmon.extract import Article
from newsmon.stories import (
    FEATURES_VERSION,
    MAX_TERMS,
    StoryIndex,
    StorySettings,
    central_title,
    features,
    is_roundup,
)

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
DRIFT_HOURS = [0, 19, 50]
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
    # one lower-case Snowball stem per word, names included; numbers keep their digits
    assert {"brandvold", "aldmoor", "passeng", "14"} <= f.keys()
    assert "the" not in f and "said" not in f and "Brandvold" not in f


def test_features_of_nothing_are_empty_and_assign_still_works():
    assert features(None, None) == {}
    assert features("", "  ") == {}
    index = StoryIndex()
    assert index.assign("a1", T0, {}) == ("a1", 0.0, True)


def test_long_text_is_capped():
    words = " ".join(f"Word{i} token{i}" for i in range(2000))
    assert len(features("A title", words)) == MAX_TERMS


def test_one_key_per_word_whatever_its_case():
    text = "The bronze figure was cut off at the feet."
    sentence = features("Melania Trump statue goes missing in Slovenia", text)
    title_case = features("Melania Trump Statue Vanishes in Slovenia", text)
    assert {"melania", "trump", "slovenia", "statu"} <= sentence.keys() & title_case.keys()
    # "Immigration" in a headline and "immigration" in a lead are one term
    a = features("Senate Passes Immigration Bill", "The vote came late on Tuesday.")
    b = features("Vote on bill", "The Senate passed the immigration bill on Tuesday.")
    assert "immigr" in a.keys() & b.keys()
    # a name inside a sentence weighs more than a word mentioned as often
    f = features(None, "Police said a statue of Melania Trump was stolen from a field.")
    assert f["melania"] > f["statu"]


def test_spellings_meet():
    british = features(None, "Kyiv recognised the organisation's defence programme.")
    american = features(None, "Kyiv recognized the organization's defense program.")
    assert british == american


def test_numbers_lose_their_separators_and_scales_are_multiplied_out():
    f = features(None, "They agreed to swap 1,000 prisoners for 1000 others on 16 May.")
    assert f.keys() >= {"1000", "16", "may"} and "1,000" not in f  # the month "May" is kept
    for text in ("a $60m loan", "a loan of 60 million dollars", "a 60mn loan", "60 Million"):
        assert "60000000" in features(None, text), text
    assert features(None, "1.5bn") == features(None, "1.5 billion") == {"1500000000": 1.0}
    assert "2025" in features(None, "In 2025 the talks resumed.")  # a year is no scale


def test_roundup_headlines():
    for title in (
        "Friday Briefing",
        "Russia-Ukraine war live: talks end in Istanbul",
        "Live: day two of the prisoner swap",
        "Istanbul talks - live",
        "Ukraine war: what we know on day 1,182",
        "The Morning: a pope from Chicago",
    ):
        assert is_roundup(title), title
    for title in ("Thousands live in tents after the quake", "Morning raid kills five"):
        assert not is_roundup(title), title


def test_central_title_is_the_most_central_plain_headline():
    members = [
        ("Friday Briefing", feats(("Friday Briefing", FERRY_A[1] + " " + OTHERS[1][1]))),
        FERRY_C,
        FERRY_A,
        FERRY_B,
        ("Ferry Aldmoor capsizes - live updates", feats(FERRY_A)),
    ]
    members = [(m[0], m[1] if isinstance(m[1], dict) else feats(m)) for m in members]
    # the first report names the story, not the briefing that came first nor the live blog
    assert central_title(members) == FERRY_A[0]
    # a round-up only when nothing else is there; no headline at all gives None
    assert central_title(members[:1]) == "Friday Briefing"
    assert central_title([(None, feats(FERRY_A)), ("  ", {})]) is None
    # a tie goes to the earlier member
    assert central_title([("one", {"a": 1.0}), ("two", {"a": 1.0})]) == "one"


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


@pytest.mark.parametrize(("seed_threshold", "talks_story"), [(0.3, "drift-2"), (0.0, "drift-0")])
def test_a_story_does_not_drift_from_its_first_report(seed_threshold, talks_story):
    index = warm_index(StorySettings(seed_threshold=seed_threshold))
    got = [
        index.assign(f"drift-{i}", T0 + timedelta(hours=h), feats(report))
        for i, (h, report) in enumerate(zip(DRIFT_HOURS, DRIFT, strict=True))
    ]
    assert got[1][0] == "drift-0"  # the offer of talks answers the truce demand
    assert got[2][1] > 0.36  # the score is the centroid's cosine, joined or not
    # The talks are close enough to the story's centroid to join it (0.38 >= 0.30), but they
    # share nothing with the truce demand that opened it: without the seed test they drift in.
    assert got[2][0] == talks_story


@pytest.mark.parametrize(("full_at", "story"), [(3, "s"), (2, "t")])
def test_the_seed_test_grows_with_the_story(full_at, story):
    index = StoryIndex(StorySettings(seed_full_at=full_at))
    index.assign("s", T0, {"xa": 1.0, "ya": 1.0, "za": 1.0})
    assert index.assign("a", T0, {"xa": 1.0, "ya": 1.0, "wa": 1.0})[0] == "s"
    # close to the centroid (0.60), less to the seed (0.28): a story of two articles has
    # drifted one step at most, so half the seed threshold (0.175) is asked of it
    assert index.assign("t", T0, {"wa": 1.0, "xa": 1.0, "ua": 0.5})[0] == story


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
    assert "old" not in index.stories  # opens no story
    assert index.docs == 5  # and leaves the statistics: older than statistics_days


def test_term_statistics_forget_articles_older_than_statistics_days():
    index = warm_index(StorySettings(statistics_days=5))  # the others: a day before T0
    index.assign("ferry-a", T0 + timedelta(days=3), feats(FERRY_A))
    assert index.docs == 4
    index.assign("round-1", T0 + timedelta(days=5.5), feats(ROUND_ONE))
    assert index.docs == 2  # the others, more than 5 days older, are forgotten
    assert "grain" not in index.df and index.df["aldmoor"] == 1
    keep = warm_index(StorySettings(statistics_days=None))
    keep.assign("round-1", T0 + timedelta(days=30), feats(ROUND_ONE))
    assert keep.docs == 4


def test_similarity_decays_after_the_grace_period():
    settings = StorySettings(window_days=10, half_life_days=2, grace_days=1)
    scores = []
    for days in (0.5, 1.0, 3.0, 5.0):
        index = warm_index(settings)
        index.assign("ferry-a", T0, feats(FERRY_A))
        scores.append(index.assign("ferry-b", T0 + timedelta(days=days), feats(FERRY_B))[1])
    assert scores[0] == pytest.approx(scores[1])  # within the grace period: no decay
    assert scores[2] == pytest.approx(scores[1] / 2, rel=0.05)  # one half-life later: halved
    assert scores[3] == pytest.approx(scores[1] / 4, rel=0.05)


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
    assert result["labelled"]["pair_f1"] >= 0.71, result["labelled"]  # measured 0.737
    assert result["labelled"]["pair_p"] >= 0.87, result["labelled"]  # measured 0.897
    # stories are titled by their most central headline, never the live blog of the swap
    assert not any(is_roundup(title) for title, count, _ in result["stories"] if count > 1)


def _event_set(name: str, split: str):
    found = [s for s in event_sets(giveme=False) if s.name == name and s.split == split]
    if not found:
        pytest.skip(f"third-party material for {name} not present")
    return found[0]


def _newsmon(event_set) -> dict:
    return score_set(event_set, lambda docs: cluster(docs, StorySettings()))


# B-cubed F1 on the test halves (the settings were chosen on the dev halves), measured:
# basil 0.980, basil lead 0.926, basil lead dense 0.942, basil lead undated 0.900,
# rss_may2025 0.941; B-cubed precision 0.985, 1.000, 0.985, 0.932, 1.000.
@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("name", "floor"),
    [
        ("basil", 0.965),
        ("basil lead", 0.91),
        ("basil lead dense", 0.93),
        ("basil lead undated", 0.88),
        ("rss_may2025", 0.925),
    ],
)
def test_event_floor_on_the_test_half(name, floor):
    fig = _newsmon(_event_set(name, "test"))
    assert fig["b3_f1"] >= floor, fig
    assert fig["b3_p"] >= 0.92, fig  # a wrong merge is worse than a split


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["basil", "basil lead dense", "basil lead undated"])
def test_newsmon_beats_the_tfidf_baseline_on_the_test_half(name):
    # measured 0.980 / 0.942 / 0.900 against the baseline's 0.971 / 0.909 / 0.889 (its
    # threshold chosen on the dev halves); behind it on BASIL's headline and lead at its own
    # dates (0.926 / 0.945) and the feed entries (0.941 / 0.963): README, Stories
    event_set = _event_set(name, "test")
    assert _newsmon(event_set)["b3_f1"] > score_set(event_set, baseline_cluster)["b3_f1"]


@pytest.mark.shared_data
@pytest.mark.parametrize(("split", "ceiling"), [("dev", 0.045), ("test", 0.03)])
def test_ecbplus_cross_event_merges_per_topic(split, ceiling):
    fig = _newsmon(_event_set("ecbplus per topic", split))
    assert fig["merged_pairs"] < ceiling, fig  # measured 4.1 % (dev), 1.8 % (test); goal < 5 %
    assert fig["b3_f1"] >= 0.49, fig  # measured 0.513 / 0.510


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("name", "dated", "floor"),
    [
        ("40er", True, 0.61),  # measured 0.637
        ("40er", False, 0.69),  # measured 0.717
        ("google_news", True, 0.41),  # measured 0.435
        ("google_news", False, 0.46),  # measured 0.484
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
    fig = evaluate_rss()  # real feed entries, all of them: headline and summary only
    assert fig["pair_f1"] >= 0.53, fig  # measured 0.558 (0.529 before features version 3)
    assert fig["pair_p"] >= 0.77, fig  # measured 0.800


@pytest.mark.shared_data
def test_ecbplus_floor():
    shared_data("ecbplus", "ecbplus_docs.jsonl.gz")
    result = evaluate_ecbplus()
    per_topic, whole = result["per_topic"], result["whole_set"]
    assert per_topic["pair_f1"] >= 0.39, per_topic  # measured 0.413
    assert per_topic["merged_pairs"] < 0.045, per_topic  # measured 3.0 %, goal < 5 %
    assert whole["pair_f1"] >= 0.71, whole  # measured 0.733
    assert whole["cross_topic_pairs"] <= 0.01, whole  # measured 0.0 %


@pytest.mark.shared_data
def test_the_baseline_is_a_plain_tfidf_single_pass():
    event_set = _event_set("rss_may2025", "dev")
    loose = score_set(event_set, lambda docs: baseline_cluster(docs, 0.05))
    strict = score_set(event_set, lambda docs: baseline_cluster(docs, 0.9))
    assert loose["stories"] < strict["stories"] <= strict["docs"]
    assert strict["b3_p"] == 1.0


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
    assert "venn" in seed and "esterhaven" not in seed  # the truce demand's terms only


@pytest.mark.shared_data
@pytest.mark.parametrize(("name", "split"), [("rss_may2025", "test"), ("basil lead dense", "dev")])
def test_a_real_stream_loaded_day_by_day_groups_as_the_index_in_memory(tmp_path, name, split):
    # What `newsmon run` does once a day (term statistics and candidates from the warehouse,
    # centroids stored between runs) gives the stories bench/eval_stories.py measures.
    event_set = _event_set(name, split)
    defaults = StorySettings()
    config = StoriesConfig(threshold=defaults.threshold, seed_threshold=defaults.seed_threshold)
    days: dict = {}
    for doc in event_set.docs:
        published = doc.published_at.astimezone(UTC).replace(tzinfo=None)
        days.setdefault(published.date(), []).append(
            Article(
                article_id=doc.doc_id,
                feed_id="feed",
                url=f"https://outlet.example/{doc.doc_id}",
                canonical_url=f"https://outlet.example/{doc.doc_id}",
                title=doc.title,
                text=doc.text,
                published_at=published,
                fetched_at=published,
                language="en",
                text_source="page",
            )
        )
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        for n, day in enumerate(sorted(days)):
            _load_run(con, f"run-{n}", days[day], config)
        stored = dict(con.execute("SELECT article_id, story_id FROM articles").fetchall())
    assert stored == cluster(event_set.docs, defaults)


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
