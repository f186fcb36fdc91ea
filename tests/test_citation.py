"""GB/T 7714-2015 references: each kind against examples written from the standard (its 8.x and
appendix A examples, with kb's metadata names)."""
from datetime import date

from hypothesis import given, settings, strategies as st

from kb.materials.citation import (in_text_marker, issued_date, issuing_body, law_article, person_names,
                         reference, source_kind)

CITED = date(2024, 5, 1)


def test_newspaper():
    meta = {"title": "数字革命与竞争国际化", "author": "丁文祥", "type": "新闻报道",
            "publisher": "中国青年报", "date": "2000年11月20日", "pages": "15"}
    assert source_kind(meta) == "N"
    assert reference(meta, CITED) == "丁文祥. 数字革命与竞争国际化[N]. 中国青年报, 2000-11-20(15)."


def test_journal():
    meta = {"title": "韩国图书馆法", "author": "李炳穆", "type": "论文", "publisher": "图书情报工作",
            "year": 2008, "volume": "52", "issue": "6", "pages": "6-12"}
    assert reference(meta, CITED) == "李炳穆. 韩国图书馆法[J]. 图书情报工作, 2008, 52(6): 6-12."
    # the cited pages also follow the in-text number (顺序编码制)
    assert in_text_marker(7, meta) == "[7]6-12"


def test_electronic_resource_has_dates_and_url():
    meta = {"title": "出版业信息化迈入快车道", "author": "萧钰", "date": "2001-12-19",
            "url": "http://www.creader.com/news/20011219/200112190019.html"}
    assert reference(meta, CITED) == ("萧钰. 出版业信息化迈入快车道[EB/OL]. (2001-12-19)[2024-05-01]. "
                                      "http://www.creader.com/news/20011219/200112190019.html.")
    assert "[2002-04-15]" in reference({**meta, "accessed": "2002年4月15日"}, CITED)


def test_law_has_issuing_body_date_and_article_in_marker():
    meta = {"title": "上海口岸服务条例", "type": "地方性法规",
            "issued": "2011年11月17日 上海市第十三届人民代表大会常务委员会第三十次会议通过\n"
                      "2020年5月14日 上海市第十五届人民代表大会常务委员会第二十一次会议《关于修改本市部分"
                      "地方性法规的决定》第一次修正"}
    assert reference(meta, CITED) == "上海市人民代表大会常务委员会. 上海口岸服务条例[Z]. 2020-05-14."
    assert in_text_marker(3, meta, "第二十条 本市口岸服务部门……") == "[3]第二十条"
    assert in_text_marker(3, {**meta, "article": "第五条"}, "") == "[3]第五条"


def test_issuing_bodies_of_the_law_records():
    cases = {"2017年4月14日 中华人民共和国国务院令第676号公布": "中华人民共和国国务院",
             "2001年9月17日 最高人民法院审判委员会第1190次会议通过": "最高人民法院",
             "2010年10月28日 第十一届全国人民代表大会常务委员会第十七次会议通过": "全国人民代表大会常务委员会",
             "2019年1月2日 青岛市人民代表大会常务委员会公告公布": "青岛市人民代表大会常务委员会"}
    for line, body in cases.items():
        assert issuing_body("2020年1月1日 施行\n" + line) == body
    assert issued_date("2001年9月17日 通过\n2020年12月29日 修正") == "2020-12-29"


def test_report_online_and_other():
    report = {"title": "2025年中华人民共和国国务院政府工作报告", "type": "工作报告", "year": 2025,
              "url": "https://zh.wikisource.org/wiki/x"}
    assert reference(report, CITED) == ("2025年中华人民共和国国务院政府工作报告[R/OL]. 2025[2024-05-01]. "
                                        "https://zh.wikisource.org/wiki/x.")
    printed = {"title": "社区治理调研报告", "unit": "某市民政局", "type": "调研报告", "year": 2019,
               "publisher": "某市民政局", "publisher_place": "龙岩"}
    assert reference(printed, CITED) == "某市民政局. 社区治理调研报告[R]. 龙岩: 某市民政局, 2019."
    case = {"title": "党建引领小区治理 建设“红色幸福小区”", "unit": "中共龙岩市委", "year": 2018,
            "type": "经验案例", "source": "004_5fcda69d96d769ba.txt"}
    assert reference(case, CITED) == "中共龙岩市委. 党建引领小区治理 建设“红色幸福小区”[Z]. 2018."


def test_authors_roles_affiliations_and_et_al():
    assert person_names("李扬（中共长沙市委党校）") == ["李扬"]
    meta = {"title": "鹤城区：党建“五级治理”开创基层社会治理新气象", "type": "新闻报道", "year": 2020,
            "unit": "记者王石磊，通讯员杨众华、陈俊宇、伍交才"}
    assert reference(meta, CITED).startswith("王石磊, 杨众华, 陈俊宇, 等. 鹤城区")
    # an author field (when a document has one) wins over the unit
    assert reference({**meta, "author": "王石磊"}, CITED).startswith("王石磊. 鹤城区")


def test_piece_of_a_collection():
    meta = {"title": "依托党建促进会平台 做深做实徐汇区域化党建工作", "unit": "徐汇区委", "year": 2014,
            "collection": "创新社会治理加强基层建设——全市城乡基层党建工作推进会经验交流撷英"}
    assert reference(meta, CITED) == ("徐汇区委. 依托党建促进会平台 做深做实徐汇区域化党建工作[Z]//"
                                      "创新社会治理加强基层建设——全市城乡基层党建工作推进会经验交流撷英. 2014.")


def test_law_article():
    assert law_article("第一百零二条之一 ……") == "第一百零二条之一"
    assert law_article("本条例自公布之日起施行。") == ""
    assert law_article("第一条 为了……\n第二条 本条例……\n第三条 ……") == "第一条至第三条"
    assert law_article("（八）其他职责。\n第七十八条 ……", "第七十七条") == "第七十七条至第七十八条"
    assert law_article("第一节  业主大会\n第二十四条 ……", "第二十三条") == "第二十四条"


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["title", "unit", "author", "type", "year", "publisher", "url",
                                        "date", "pages", "article", "issued", "collection", "kind"]),
                       st.text(max_size=30)))
def test_any_metadata_gives_one_line_without_the_file_name(meta):
    meta["source"] = "003_7eae55bd553d4ef9.txt"
    ref = reference(meta, CITED)
    assert ref.endswith(".") and "\n" not in ref
    assert "003_7eae55bd553d4ef9" not in ref or "003_7eae55bd553d4ef9" in "".join(
        str(v) for k, v in meta.items() if k != "source")


def test_law_records_full_width_dates_and_version_in_the_path():
    from kb.ingest.readers.jsonl import record_meta

    record = {"id": "law-x", "title": "某省清洁生产促进条例", "category": "地方性法规/某省", "text": "第一条 ……",
              "meta": "２００２年６月２９日 第九届全国人民代表大会常务委员会第二十八次会议通过",
              "path": "DLC/某省/地方性法规/某省清洁生产促进条例(2020-11-27).md"}
    assert reference(record_meta(record), CITED) == "全国人民代表大会常务委员会. 某省清洁生产促进条例[Z]. 2002-06-29."
    bare = {**record, "meta": ""}
    assert reference(record_meta(bare), CITED) == "某省清洁生产促进条例[Z]. 2020-11-27."
