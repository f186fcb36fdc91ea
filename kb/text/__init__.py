"""Text processing — the first stage, shared by documents and queries alike.

* :mod:`~kb.text.normalize` — scrape repair, width folding, traditional → simplified (script only);
* :mod:`~kb.text.segment` — jieba set up with ``kb/data``'s dictionary, code variants (7+2+N), harvested terms;
* :mod:`~kb.text.analysis` — the Whoosh tokenizer and filters built on segment;
* :mod:`~kb.text.documents` — the Document and Passage types, passage splitting (第X条 for laws), metadata fields;
* :mod:`~kb.text.metadata` — place, year and type guessed from a text.

May import: nothing else of kb (only the standard library, jieba, OpenCC and Whoosh's analysis).
"""
