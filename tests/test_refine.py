"""Refining results: date order and 在结果中检索 over a real index."""
from kb.search.refine import refined_search, satisfies


def test_relevance_without_refinement_is_the_plain_search(searcher):
    plain = searcher.search("小区治理", limit=5)
    same = refined_search(searcher, "小区治理", limit=5)
    assert [h["passage_id"] for h in same.hits] == [h["passage_id"] for h in plain.hits]


def test_date_orders(searcher):
    newest = refined_search(searcher, "党建", sort="newest", limit=200)
    oldest = refined_search(searcher, "党建", sort="oldest", limit=200)
    years = [h["year"] for h in newest.hits if h["year"]]
    assert years == sorted(years, reverse=True) and len(set(years)) >= 3
    assert [h["year"] for h in oldest.hits if h["year"]] == sorted(years)
    assert {h["passage_id"] for h in newest.hits} == {h["passage_id"] for h in oldest.hits}
    undated = [i for i, h in enumerate(newest.hits) if not h["year"]]
    assert not undated or min(undated) > max(i for i, h in enumerate(newest.hits) if h["year"])
    page2 = refined_search(searcher, "党建", sort="newest", page=2, limit=5)
    assert [h["passage_id"] for h in page2.hits] == [h["passage_id"] for h in newest.hits[5:10]]


def test_within_narrows_and_chains(searcher):
    base = refined_search(searcher, "小区治理", limit=200)
    one = refined_search(searcher, "小区治理", within=["业委会"], limit=200)
    two = refined_search(searcher, "小区治理", within=["业委会", "在职党员"], limit=200)
    ids = lambda r: [h["passage_id"] for h in r.hits]
    assert set(ids(two)) < set(ids(one)) < set(ids(base))
    assert ids(one) == [i for i in ids(base) if i in set(ids(one))]  # relevance order kept
    for hit in one.hits:  # 业委会 or its synonym 业主委员会, marked in the snippet
        assert "业委会" in hit["passage"] or "业主委员会" in hit["passage"]
    assert any("业委会" in [h["snippet"][s:e] for s, e in h["marks"]] for h in one.hits)
    assert all("在职党员" in h["passage"] for h in two.hits)
    assert one.total == len(one.hits)
    shanghai = refined_search(searcher, "党建", within=["地区:上海"], limit=200)
    assert shanghai.hits and all("上海" in h["place"] for h in shanghai.hits)


def test_satisfies_phrases_and_exclusions():
    hit = {"passage": "由小区党组织主导成立“红色业委会”，业委会聘请物业公司。", "title": "龙岩"}
    assert satisfies(hit, "业委会 物业")
    assert not satisfies(hit, "业委会 -物业")
    assert satisfies(hit, "\"红色业委会\"") and not satisfies(hit, "\"红色物业\"")
    assert satisfies(hit, "龙岩")  # the title counts


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40), st.text(max_size=60))
def test_any_refining_query_is_answered(raw, text):
    assert satisfies({"passage": text, "title": ""}, raw) in (True, False)
