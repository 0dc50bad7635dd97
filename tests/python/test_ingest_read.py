"""Reading headers and planning the Spark reads: plain Python, no Spark."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from glue_ingest import read
from glue_ingest import storage as st
from glue_ingest.read import Header, NeedMoreBytes, RawFile, parse_header


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"a,b,c\n1,2,3\n", Header(("a", "b", "c"), "a,b,c", "\n")),
        (b"a,b,c\r\n1,2,3\r\n", Header(("a", "b", "c"), "a,b,c", "\r\n")),
        (b"a,b,c\r1,2,3\r", Header(("a", "b", "c"), "a,b,c", "\r")),
        (b"\xef\xbb\xbfa,b\n1,2\n", Header(("a", "b"), "a,b", "\n")),
        (b'"a,1","b\nline",c\n', Header(("a,1", "b\nline", "c"), '"a,1","b\nline",c', "\n")),
        (b'"say ""hi""",b\n', Header(('say "hi"', "b"), '"say ""hi""",b', "\n")),
        (b"\n\r\na,b\n", Header(("a", "b"), "a,b", "\n")),  # blank lines before the header
        (b"a,b", Header(("a", "b"), "a,b", "\n")),  # header only, no line end
        (b" a , b \n", Header((" a ", " b "), " a , b ", "\n")),  # names are taken as written
    ],
)
def test_parse_header(head: bytes, expected: Header) -> None:
    assert parse_header(head, complete=True) == expected


@pytest.mark.parametrize("head", [b"", b"\xef\xbb\xbf", b"\n\n", b"\r\n"])
def test_no_header(head: bytes) -> None:
    assert parse_header(head, complete=True) is None


@pytest.mark.parametrize("head", [b"a,b", b'"a\n', b"a,b\r"])
def test_truncated_header_needs_more_bytes(head: bytes) -> None:
    with pytest.raises(NeedMoreBytes):
        parse_header(head, complete=False)


def _raw(tmp_path: Path, name: str, data: bytes) -> RawFile:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return RawFile(str(path), name, len(data))


def test_header_longer_than_first_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read.files, "HEAD_BYTES", 4)
    columns = [f"column_{i}" for i in range(50)]
    file = _raw(tmp_path, "wide.csv", (",".join(columns) + "\r\n" + ",".join("1" * 50) + "\r\n").encode())
    header = read.read_csv_header(st.LocalStorage(), file)
    assert header is not None
    assert header.columns == tuple(columns)
    assert header.line_sep == "\r\n"


def test_gzip_header(tmp_path: Path) -> None:
    file = _raw(tmp_path, "a.csv.gz", gzip.compress(b"x,y\n1,2\n" * 1000))
    assert read.read_csv_header(st.LocalStorage(), file) == Header(("x", "y"), "x,y", "\n")


def test_list_raw_files_skips_hidden(tmp_path: Path) -> None:
    for name in ["b.csv", "2024/01/a.csv", "_SUCCESS", ".DS_Store", "_tmp/x.csv", "2024/.partial.csv"]:
        _raw(tmp_path / "raw", name, b"x")
    files = read.list_raw_files(st.LocalStorage(), str(tmp_path / "raw"))
    assert [f.relative for f in files] == ["2024/01/a.csv", "b.csv"]
    assert files[0].path == str(tmp_path / "raw" / "2024" / "01" / "a.csv")
    assert read.list_raw_files(st.LocalStorage(), str(tmp_path / "missing")) == []


def test_plan_groups_by_header_and_line_end(tmp_path: Path) -> None:
    files = [
        _raw(tmp_path, "1.csv", b"a,b\n1,2\n"),
        _raw(tmp_path, "2.csv", b"\xef\xbb\xbfa,b\n3,4\n"),  # same header: a BOM is not part of it
        _raw(tmp_path, "3.csv", b"b,a\n1,2\n"),
        _raw(tmp_path, "4.csv", b"a,b\r\n1,2\r\n"),
        _raw(tmp_path, "5.csv", b""),
        _raw(tmp_path, "6.csv", b"\r\n"),
        _raw(tmp_path, "at 12:00.csv", b"a,b\n1,2\n"),
    ]
    plan = read.CsvReader().plan(st.LocalStorage(), files, "web_logs")
    groups = [(g.columns, g.line_sep, [f.relative for f in g.files]) for g in plan.groups]
    assert groups == [
        (("a", "b"), "\n", ["1.csv", "2.csv"]),
        (("b", "a"), "\n", ["3.csv"]),
        (("a", "b"), "\r\n", ["4.csv"]),
    ]
    assert plan.groups[0].header_lines == {"1.csv": "a,b", "2.csv": "a,b"}
    assert [f.relative for f in plan.empty] == ["5.csv", "6.csv"]
    assert [(r.file.relative, r.header_line) for r in plan.rejected] == [("at 12:00.csv", "a,b")]
    assert "':'" in plan.rejected[0].reason


def test_escape_glob() -> None:
    assert read.escape_glob("/raw/a[1]{x}*?.csv") == r"/raw/a\[1\]\{x\}\*\?.csv"
    assert read.escape_glob("/raw/plain name.csv") == "/raw/plain name.csv"


def test_match_source_uris() -> None:
    files = [
        RawFile("/lake/raw/sub dir/a[1]%.csv", "sub dir/a[1]%.csv", 1),
        RawFile("/lake/raw/b+c.csv", "b+c.csv", 1),
        RawFile("s3://bucket/raw/k e.csv", "k e.csv", 1),
    ]
    uris = ["file:///lake/raw/sub%20dir/a%5B1%5D%25.csv", "file:/lake/raw/b+c.csv", "s3://bucket/raw/k%20e.csv"]
    matched = read.match_source_uris(uris, files)
    assert {uri: f.relative for uri, f in matched.items()} == dict(
        zip(uris, ["sub dir/a[1]%.csv", "b+c.csv", "k e.csv"], strict=True)
    )
    with pytest.raises(RuntimeError, match="not one of the files"):
        read.match_source_uris(["file:///elsewhere.csv"], files)


def test_reader_for() -> None:
    assert isinstance(read.reader_for("csv"), read.CsvReader)
    assert isinstance(read.reader_for("json"), read.JsonReader)
    with pytest.raises(NotImplementedError, match="parquet"):
        read.reader_for("parquet")
