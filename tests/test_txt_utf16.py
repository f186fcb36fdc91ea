"""Plain text in UTF-16 without a byte-order mark: detected (charset-normalizer), not "binary"."""
import pytest

from conftest import SEEDS
from kb.ingest.readers import ReadError, read_path
from kb.ingest.readers.txt import decode


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_read(tmp_path, encoding):
    text = SEEDS[1].read_text(encoding="utf-8")
    path = tmp_path / "report.txt"
    path.write_bytes(text.encode(encoding))
    assert not path.read_bytes().startswith((b"\xff\xfe", b"\xfe\xff"))
    assert decode(path.read_bytes()) == text
    docs = list(read_path(path))
    assert docs and "系统化引领社会治理" in docs[0].text


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_a_short_utf16_line_without_bom(encoding):
    assert decode("社区治理，党建引领。\n".encode(encoding)) == "社区治理，党建引领。\n"


def test_binary_with_zero_bytes_is_still_refused(tmp_path):
    path = tmp_path / "image.txt"
    path.write_bytes(bytes(range(256)) * 40)
    with pytest.raises((ReadError, ValueError)):
        list(read_path(path))
