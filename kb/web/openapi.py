"""The OpenAPI 3.1 description of /api (a test checks it against the app's routes)."""
from __future__ import annotations

from typing import Any


def _q(name: str, desc: str, schema: dict | None = None, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "description": desc,
            "schema": schema or {"type": "string"}}


def _p(name: str, desc: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "path", "required": True, "description": desc,
            "schema": schema or {"type": "string"}}


ERROR = {"description": "错误", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
JSON_OK = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
ITEM_ID = _p("item_id", "素材条目编号", {"type": "integer"})


SIMILAR_ROW = {"type": "object", "properties": {
    "doc_id": {"type": "string"}, "title": {"type": "string"}, "place": {"type": "string"},
    "date": {"type": "string"}, "year": {"type": ["integer", "null"]},
    "relation": {"type": "string", "enum": ["similar", "version"]},
    "differs": {"type": "object", "description": "与本篇不同之处：place / date / year / title"}}}


def openapi_document() -> dict[str, Any]:
    hit = {"type": "object", "properties": {k: {"type": "string"} for k in (
        "doc_id", "source", "title", "unit", "place", "type", "passage_id", "passage", "snippet")}}
    hit["properties"]["snippet"] = {"type": "string", "description": "摘要：段落中命中词最多的一段，纯文本（未转义，"
                                    "显示为 HTML 时须先转义），截断处带 …"}
    hit["properties"]["marks"] = {"type": "array", "description": "摘要中要标出的命中词：[起, 止) 字符下标（Unicode 码位，"
                                  "按 snippet 计），升序、不重叠",
                                  "items": {"type": "array", "items": {"type": "integer", "minimum": 0},
                                            "minItems": 2, "maxItems": 2}}
    hit["properties"].update(year={"type": ["integer", "null"]}, score={"type": "number"},
                             collapsed={"type": "integer", "description": "折叠在此条下的相似文档数"},
                             similar={"type": "array", "items": SIMILAR_ROW,
                                      "description": "折叠的相似文档 / 版本（relation: similar | version）"},
                             version={"type": ["object", "null"],
                                      "description": "版本：is_current（现行）与现行版本的 doc_id"})
    return {
        "openapi": "3.1.0",
        "info": {"title": "kb API", "version": "0.1.0",
                 "description": "基层党建与社区治理知识库的检索与素材篮接口"},
        "paths": {
            "/api/search": {"get": {"summary": "检索段落", "parameters": [
                _q("q", "查询：词语、\"短语\"、-排除、地区:…/单位:…/年份:…/类型:…"),
                _q("place", "地区（省/市/区县）"), _q("level", "层级"), _q("year", "年份"),
                _q("type", "类型"), _q("model", "实践模式编号"), _q("page", "页码", {"type": "integer", "minimum": 1}),
                _q("sort", "排序：relevance（默认）、newest、oldest", {"enum": ["relevance", "newest", "oldest"]}),
                _q("within", "在结果中检索：再给一个查询，可重复（逐层缩小）"),
                _q("limit", "每页条数", {"type": "integer", "minimum": 1, "maximum": 100})],
                "responses": {"200": {"description": "检索结果", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {
                        "total": {"type": "integer"}, "hits": {"type": "array", "items": hit},
                        "facets": {"type": "object"}}}}}}, "400": ERROR}}},
            "/api/docs/{doc_id}": {"get": {"summary": "文档全文与元数据；date、similar（相似文档及差异 differs）、"
                                                      "versions（各版本，current 为现行）",
                                           "parameters": [_p("doc_id", "文档编号")],
                                           "responses": {"200": JSON_OK, "404": ERROR}}},
            "/api/passages/{passage_id}": {"get": {"summary": "一个段落",
                                                   "parameters": [_p("passage_id", "段落编号，如 002_…#p10（# 需编码为 %23）")],
                                                   "responses": {"200": JSON_OK, "404": ERROR}}},
            "/api/passages/{passage_id}/related": {"get": {
                "summary": "其他文档中的相关段落", "parameters": [
                    _p("passage_id", "段落编号"), _q("limit", "条数", {"type": "integer"})],
                "responses": {"200": JSON_OK, "404": ERROR}}},
            "/api/basket": {"get": {"summary": "素材篮内容（按 Cookie 区分）", "responses": {"200": JSON_OK}}},
            "/api/basket/items": {"post": {
                "summary": "加入素材篮",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["passage_id"],
                    "properties": {"passage_id": {"type": "string"}, "note": {"type": "string"}}}}}},
                "responses": {"201": JSON_OK, "400": ERROR, "404": ERROR, "409": ERROR}}},
            "/api/basket/items/{item_id}": {
                "patch": {"summary": "修改批注或移动位置", "parameters": [ITEM_ID],
                          "requestBody": {"required": True, "content": {"application/json": {"schema": {
                              "type": "object", "properties": {"note": {"type": "string"},
                                                               "move": {"type": "integer"}}}}}},
                          "responses": {"200": JSON_OK, "400": ERROR, "404": ERROR}},
                "delete": {"summary": "移出素材篮", "parameters": [ITEM_ID],
                           "responses": {"204": {"description": "已删除"}, "404": ERROR}}},
            "/api/basket/order": {"put": {
                "summary": "重新排序",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"ids": {"type": "array", "items": {"type": "integer"}}}}}}},
                "responses": {"200": JSON_OK, "400": ERROR}}},
            "/api/basket/export.docx": {"get": {"summary": "导出 Word 讲义", "responses": {"200": {
                "description": ".docx", "content": {
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {}}}}}},
            "/api/basket/export.md": {"get": {"summary": "导出 Markdown", "responses": {"200": {
                "description": "Markdown", "content": {"text/markdown": {}}}}}},
            "/api/models": {"get": {"summary": "实践模式目录（q 给出时只列其中点名的模式）",
                                    "parameters": [_q("q", "查询")], "responses": {"200": JSON_OK}}},
            "/api/models/{model_id}": {"get": {"summary": "一个模式：定义、组成、全部提及、相关模式",
                                               "parameters": [_p("model_id", "模式编号")],
                                               "responses": {"200": JSON_OK, "404": ERROR}}},
            "/api/models/compare": {"get": {"summary": "并列比较 2–4 个模式",
                                            "parameters": [_q("ids", "逗号分隔的模式编号", required=True)],
                                            "responses": {"200": JSON_OK, "400": ERROR, "404": ERROR}}},
            "/api/openapi.json": {"get": {"summary": "本文档", "responses": {"200": JSON_OK}}},
            **handout_paths(),
        },
        "components": {"schemas": {"Error": {"type": "object", "properties": {"error": {"type": "string"}}}}},
    }


def handout_paths() -> dict[str, Any]:
    """专题汇编: a theme's handout, and the same passages put into the basket."""
    theme = [_q("q", "主题（检索式）", required=True)]
    docx_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return {
        "/api/handout.docx": {"get": {"summary": "专题汇编（Word，GB/T 7714 参考文献）", "parameters": theme,
                                      "responses": {"200": {"description": ".docx", "content": {docx_type: {}}},
                                                    "400": ERROR, "404": ERROR}}},
        "/api/handout.md": {"get": {"summary": "专题汇编（Markdown）", "parameters": theme,
                                    "responses": {"200": {"description": "Markdown", "content": {"text/markdown": {}}},
                                                  "400": ERROR, "404": ERROR}}},
        "/api/basket/handout": {"post": {
            "summary": "把主题的汇编段落放进素材篮（先排序、批注再导出）", "parameters": theme,
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "properties": {"q": {"type": "string"}}}}}},
            "responses": {"201": JSON_OK, "400": ERROR, "409": ERROR}}},
    }
