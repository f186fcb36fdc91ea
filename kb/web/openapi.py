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
QUERY = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S"}
ADMIN = [{"bearer": []}, {"cookie": []}]  # either one; reading needs neither
UNAUTHORIZED = {"description": "未登录或令牌无效（WWW-Authenticate: Bearer）",
                "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
FORBIDDEN = {"description": "不是管理员，或用会话 Cookie 写入却缺少 X-CSRFToken",
             "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
FILE_OUTCOMES = ["added", "replaced", "unchanged", "copy", "similar", "mixed", "archive", "sidecar", "failed", ""]
JOB = {"type": "object", "required": ["job_id", "state", "finished", "progress", "summary", "files"], "properties": {
    "job_id": {"type": "string"}, "user": {"type": "string"},
    "state": {"type": "string", "enum": ["queued", "reading", "indexing", "indexed", "failed"]},
    "message": {"type": "string"}, "finished": {"type": "boolean"},
    "progress": {"type": "object", "properties": {"files": {"type": "integer"}, "done": {"type": "integer"}}},
    "summary": {"type": "object", "description": "files, done, failed（文件数）; added, replaced, unchanged, copy, "
                                                 "similar（文档数）"},
    "files": {"type": "array", "items": {"type": "object", "properties": {
        "seq": {"type": "integer"}, "name": {"type": "string"}, "parent": {"type": ["integer", "null"]},
        "size": {"type": ["integer", "null"]},
        "state": {"type": "string", "enum": ["queued", "reading", "indexing", "done"]},
        "outcome": {"type": "string", "enum": FILE_OUTCOMES}, "detail": {"type": "string"},
        "notes": {"type": "array", "items": {"type": "string"}, "description": "读取说明，如“来源：OCR”"},
        "docs": {"type": "array", "items": {"type": "object", "properties": {
            "doc_id": {"type": "string"}, "title": {"type": "string"},
            "outcome": {"type": "string"}, "similar_to": {"type": "array", "items": {"type": "string"}},
            "same_as": {"type": "string"}}}}}}}}}


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
                _q("q", "查询：词语、\"短语\"、-排除、地区:…/单位:…/年份:…/类型:…（必填，不能只有空白）", QUERY, required=True),
                _q("place", "地区（省/市/区县）"), _q("level", "层级"), _q("year", "年份"),
                _q("type", "类型"), _q("model", "实践模式编号"), _q("page", "页码", {"type": "integer", "minimum": 1, "maximum": 1000}),
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
                    _p("passage_id", "段落编号"), _q("limit", "条数", {"type": "integer", "minimum": 1, "maximum": 20})],
                "responses": {"200": JSON_OK, "400": ERROR, "404": ERROR}}},
            "/api/basket": {"get": {"summary": "素材篮内容（按 Cookie 区分）", "responses": {"200": JSON_OK}}},
            "/api/basket/items": {"post": {
                "summary": "加入素材篮",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["passage_id"],
                    "properties": {"passage_id": {"type": "string", "minLength": 1, "maxLength": 1000},
                                   "note": {"type": "string", "description": "批注（超过 4000 字截断）"},
                                   "query": {"type": "string", "description": "找到它的检索式"}}}}}},
                "responses": {"201": JSON_OK, "400": ERROR, "404": ERROR, "409": ERROR}}},
            "/api/basket/items/{item_id}": {
                "patch": {"summary": "修改批注或移动位置", "parameters": [ITEM_ID],
                          "requestBody": {"required": True, "content": {"application/json": {"schema": {
                              "type": "object", "properties": {
                                  "note": {"type": "string"},
                                  "move": {"type": "integer", "minimum": -5000, "maximum": 5000,
                                           "description": "上移（负）或下移（正）几位"}}}}}},
                          "responses": {"200": JSON_OK, "400": ERROR, "404": ERROR}},
                "delete": {"summary": "移出素材篮", "parameters": [ITEM_ID],
                           "responses": {"204": {"description": "已删除"}, "404": ERROR}}},
            "/api/basket/order": {"put": {
                "summary": "重新排序",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["ids"], "properties": {"ids": {
                        "type": "array", "maxItems": 1000, "description": "条目编号，按新顺序；未列出的排在后面",
                        "items": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}}}}}}},
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
                                            "parameters": [_q("ids", "逗号分隔的 2–4 个模式编号", {
                                                "type": "string", "pattern": "^[^,]+(,[^,]+){1,3}$"}, required=True)],
                                            "responses": {"200": JSON_OK, "400": ERROR, "404": ERROR}}},
            "/api/openapi.json": {"get": {"summary": "本文档", "responses": {"200": JSON_OK}}},
            **handout_paths(),
            **admin_paths(),
        },
        "components": {
            "schemas": {"Error": {"type": "object", "properties": {"error": {"type": "string"}}},
                        "Job": JOB},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "管理员令牌：服务器上运行 kb admin token 用户名"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "kb_session",
                           "description": "在 /login 登录后的会话；写操作还需 X-CSRFToken 请求头（页面中的令牌）"}}},
    }


def handout_paths() -> dict[str, Any]:
    """专题汇编: a theme's handout, and the same passages put into the basket."""
    theme = [_q("q", "主题（检索式，必填，不能只有空白）", QUERY, required=True)]
    docx_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return {
        "/api/handout.docx": {"get": {"summary": "专题汇编（Word，GB/T 7714 参考文献）", "parameters": theme,
                                      "responses": {"200": {"description": ".docx", "content": {docx_type: {}}},
                                                    "400": ERROR, "404": ERROR}}},
        "/api/handout.md": {"get": {"summary": "专题汇编（Markdown）", "parameters": theme,
                                    "responses": {"200": {"description": "Markdown", "content": {"text/markdown": {}}},
                                                  "400": ERROR, "404": ERROR}}},
        "/api/basket/handout": {"post": {
            "summary": "把主题的汇编段落放进素材篮（先排序、批注再导出）；旧客户端也可把 q 放在 JSON 请求体",
            "parameters": theme, "responses": {"201": JSON_OK, "400": ERROR, "409": ERROR}}},
    }


def admin_paths() -> dict[str, Any]:
    """Writes (issue 12): upload with a job to follow, and removal — administrators only."""
    too_large = {"description": "上传过大（KB_MAX_UPLOAD_MB，默认 200 MB），未保存任何文件",
                 "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    job = {"description": "上传任务：状态、进度、每个文件的结果、汇总",
           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}}
    return {
        "/api/documents": {"post": {
            "summary": "上传文件（kb add 能读的格式及其 .zip），后台读取、索引；返回任务编号",
            "security": ADMIN,
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"], "properties": {"file": {
                    "type": "array", "minItems": 1, "items": {"type": "string", "format": "binary"},
                    "description": "一个或多个文件；文件名可带相对路径（文件夹上传）"}}}}}},
            "responses": {"202": {"description": "已接收，任务排队", "headers": {"Location": {
                "description": "任务地址 /api/jobs/{job_id}", "schema": {"type": "string"}}},
                "content": {"application/json": {"schema": {"type": "object", "required": ["job_id", "url"],
                    "properties": {"job_id": {"type": "string"}, "state": {"type": "string"},
                                   "url": {"type": "string"}}}}}},
                "400": ERROR, "401": UNAUTHORIZED, "403": FORBIDDEN, "413": too_large, "415": ERROR}}},
        "/api/jobs/{job_id}": {"get": {
            "summary": "上传任务的进度与结果（queued → reading → indexing → indexed / failed）",
            "security": ADMIN, "parameters": [_p("job_id", "任务编号")],
            "responses": {"200": job, "401": UNAUTHORIZED, "403": FORBIDDEN, "404": ERROR}}},
        "/api/documents/{doc_id}": {"delete": {
            "summary": "从索引删除一篇文档", "security": ADMIN, "parameters": [_p("doc_id", "文档编号")],
            "responses": {"200": {"description": "已删除", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"removed": {"type": "array", "items": {"type": "string"}}}}}}},
                "401": UNAUTHORIZED, "403": FORBIDDEN, "404": ERROR, "503": ERROR}}},
    }
