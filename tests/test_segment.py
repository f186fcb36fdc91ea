"""segment + analysis: domain dictionary, code variants, harvest, positions for phrases."""
import pytest

from kb.text import segment
from kb.text.analysis import KbAnalyzer, phrase_parts, query_words


@pytest.fixture(scope="module", autouse=True)
def ready():
    segment.setup()


def words(text):
    return [w.text for w in segment.segment(text)]


def test_domain_dictionary_words_stay_whole():
    assert "红色业委会" in words("构建红色业委会")
    assert "党建引领" in words("坚持党建引领基层治理")
    assert "兼合式" in words("小区兼合式党组织")


def test_dictionary_file_is_plain_text_a_user_can_edit():
    listed = segment.dictionary_words()
    for code in ["1+4Z+3N", "7+2+N", "1+6", "1+5+X", "6+1", "5+4", "12345"]:
        assert code in listed


@pytest.mark.parametrize("variant", ["7+2+N", "7 2 N", "7＋2＋N", "7+2+n", "7 + 2 + N"])
def test_code_variants_are_one_canonical_term(variant):
    assert words(f"建立“{variant}”队伍") == ["建立", "7+2+N", "队伍"]


def test_codes_do_not_swallow_longer_or_ordinary_numbers():
    assert "1+6" not in words("1+6+X")
    assert words("共1 6人") != ["共", "1+6", "人"]
    assert "1+4Z+3N" in words("“1+4Z+3N”基层治理模式")


def test_harvest_quoted_terms_with_sane_limits():
    text = "推行“兼合式”党组织,坚持“两楼联动、两头延伸”,“微权力治理12345模式”,“这是一句远远超过十二个字的长长的口号内容”“A”"
    terms = segment.harvest_terms(text)
    assert {"兼合式", "两楼联动", "两头延伸", "微权力治理12345模式"} <= terms
    assert not any(len(t) > segment.HARVEST_MAX or len(t) < segment.HARVEST_MIN for t in terms)
    assert "A" not in terms


def test_long_term_does_not_hide_its_parts():
    segment.add_terms(["红色幸福小区建设工程"])
    tokens = {t.text for t in KbAnalyzer()("打造红色幸福小区建设工程", mode="index", positions=True)}
    assert "红色幸福小区建设工程" in tokens
    assert {"红色", "幸福", "小区", "建设", "工程"} <= tokens


def test_positions_are_consecutive_in_finest_parts():
    tokens = [(t.text, t.pos) for t in KbAnalyzer()("加强基层社会治理创新", mode="index", positions=True)]
    parts = [(text, pos) for text, pos in tokens if text in phrase_parts("加强基层社会治理创新")]
    positions = [pos for _, pos in parts]
    assert positions == list(range(positions[0], positions[0] + len(positions)))


def test_one_character_latin_and_digit_tokens_are_kept():
    assert query_words("7 2 N") == ["7+2+n"]
    assert "n" in query_words("N个小区")
    assert "1" in query_words("第1个")


def test_character_offsets_point_at_the_source_text():
    text = "鹤城区建立“7 2 N”体系"
    for t in KbAnalyzer()(text, mode="index", positions=True, chars=True):
        if t.text == "7+2+n":
            assert text[t.startchar:t.endchar] == "7 2 N"
        elif "+" not in t.text and t.text not in ("7", "2", "n"):
            assert text[t.startchar:t.endchar].lower() == t.text


def test_fast_cut_gives_jiebas_tokens_on_seeds_and_laws():
    """jieba-rs does the cutting for speed; on the seeds, a slice of the laws and the awkward
    cases it must give exactly jieba's tokens, dictionary and harvested terms included."""
    import gzip
    import itertools
    import json

    import jieba

    from kb.text.normalize import normalize
    from conftest import LAWS_SAMPLE, ROOT

    assert segment._state["fast"] is not None  # the dependency is installed and used
    segment.add_terms(["两楼联动", "金色纽带", "凝聚力工程"])
    texts = [normalize(p.read_text(encoding="utf-8")) for p in sorted((ROOT / "corpus").glob("*.txt"))]
    with gzip.open(LAWS_SAMPLE, "rt", encoding="utf-8") as f:
        texts += [normalize(json.loads(line)["text"])[:20000] for line in itertools.islice(f, 50)]
    texts += ["增长5.10.3个百分点，压力0.1MPa，厚45.0cm", "GDP增长6.5%", "7+2+N社区工作者", "A股和T恤"]
    lines = [line for text in texts for line in text.split("\n") if line.strip()]
    assert len(lines) > 3000
    for line in lines:
        assert segment.cut(line) == list(jieba.dt.cut(line, HMM=True)), line
