"""Finding and reading input: files, directories, stdin, size, encoding."""

from __future__ import annotations

import io
import sys

import pytest

from auditor.inventory import InputError, LoadOptions, load_paths
from auditor.inventory.sources import iter_manifest_files, read_source

from .helpers import load_files

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


def names(result) -> list[str]:
    return [o.obj["metadata"]["name"] for o in result.objects]


def test_directory_is_read_recursively_in_sorted_order(write, tmp_path):
    write("b.yaml", CM.format(name="b"))
    write("a.yml", CM.format(name="a"))
    write("sub/c.json", '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}')
    write("sub/deeper/d.YAML", CM.format(name="d"))
    write("a0/e.yaml", CM.format(name="e"))
    result = load_paths([str(tmp_path)])
    # paths sort as strings: a.yml < a0/ < b.yaml < sub/c.json < sub/deeper/
    assert names(result) == ["a", "e", "b", "c", "d"]
    assert result.files == sorted(result.files)
    assert len(result.files) == 5


def test_directories_read_only_manifest_extensions_and_skip_hidden(write, tmp_path):
    write("ok.yaml", CM.format(name="ok"))
    write("README.md", "# not a manifest: kind: ConfigMap\n")
    write("notes.txt", CM.format(name="txt"))
    write("script.sh", "echo hi\n")
    write(".hidden.yaml", CM.format(name="hidden-file"))
    write(".git/config.yaml", CM.format(name="in-git"))
    write(".github/workflows/ci.yaml", "on: push\n")
    write("visible/.cache/x.yaml", CM.format(name="in-cache"))
    write("visible/v.yaml", CM.format(name="vis"))
    result = load_paths([str(tmp_path)])
    assert names(result) == ["ok", "vis"]
    assert result.warnings == []


def test_explicitly_named_files_are_read_whatever_their_extension(write):
    txt = write("manifest.txt", CM.format(name="txt"))
    noext = write("Manifest", CM.format(name="noext"))
    hidden = write(".hidden", CM.format(name="hidden"))
    result = load_files(txt, noext, hidden)
    assert names(result) == ["txt", "noext", "hidden"]
    assert result.files == [str(txt), str(noext), str(hidden)]


def test_an_explicit_json_file_is_parsed_as_json_and_other_extensions_as_yaml(write):
    # YAML is a superset of JSON, so a JSON document in a .txt file reads as well
    path = write("obj.txt", '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j"}}')
    assert names(load_files(path)) == ["j"]


def test_paths_keep_the_order_given(write):
    first = write("z.yaml", CM.format(name="z"))
    second = write("a.yaml", CM.format(name="a"))
    assert names(load_files(first, second)) == ["z", "a"]


def test_missing_path_is_an_input_error(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(InputError) as error:
        load_paths([str(missing)])
    assert str(error.value) == f"{missing}: no such file or directory"


def test_empty_directory_gives_nothing(tmp_path):
    result = load_paths([str(tmp_path)])
    assert (result.objects, result.warnings, result.files) == ([], [], [])


def test_iter_manifest_files_yields_stdin_marker():
    assert list(iter_manifest_files(["-"])) == ["-"]


def _with_stdin(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def test_stdin_yaml(monkeypatch):
    _with_stdin(monkeypatch, (CM.format(name="a") + "---\n" + CM.format(name="b")).encode())
    result = load_paths(["-"])
    assert names(result) == ["a", "b"]
    assert [o.location.file for o in result.objects] == ["<stdin>", "<stdin>"]
    assert [o.location.line for o in result.objects] == [1, 6]
    assert result.files == ["<stdin>"]


def test_stdin_json_is_detected_by_its_first_character(monkeypatch):
    # kubectl get -o json output: a List, pretty-printed, leading whitespace included
    text = (
        '\n  {\n    "apiVersion": "v1",\n    "kind": "List",\n    "items": [\n'
        '      {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},\n'
        '      {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}\n'
        "    ]\n  }\n"
    )
    _with_stdin(monkeypatch, text.encode())
    assert read_source("-").is_json
    _with_stdin(monkeypatch, text.encode())
    result = load_paths(["-"])
    assert names(result) == ["a", "b"]
    assert [o.location.line for o in result.objects] == [6, 7]


def test_stdin_over_the_size_limit(monkeypatch):
    _with_stdin(monkeypatch, b"a: 1\n" * 100)
    with pytest.raises(InputError) as error:
        load_paths(["-"], LoadOptions(max_file_bytes=100))
    assert str(error.value).startswith("<stdin>: larger than the 100-byte limit")


def test_file_over_the_size_limit_names_the_file(write):
    path = write("big.yaml", "a: 1\n" * 100)
    with pytest.raises(InputError) as error:
        load_files(path, options=LoadOptions(max_file_bytes=499))
    assert str(error.value) == (
        f"{path}: file is 500 bytes, over the 499-byte limit (raise it with --max-file-size)"
    )
    assert names(load_files(path, options=LoadOptions(max_file_bytes=500))) == []


def test_binary_file_is_refused(write):
    path = write("image.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(InputError) as error:
        load_files(path)
    assert str(error.value) == f"{path}: binary file (contains NUL bytes), not a YAML/JSON manifest"


def test_invalid_utf8_names_file_line_and_byte(write):
    path = write("latin1.yaml", b"apiVersion: v1\nkind: ConfigMap\n" + b"data: {a: caf\xe9}\n")
    with pytest.raises(InputError) as error:
        load_files(path)
    assert str(error.value) == f"{path}:3: not valid UTF-8 text (byte 0xe9 at offset 44)"


@pytest.mark.parametrize("bom", [b"\xff\xfe", b"\xfe\xff"])
def test_utf16_is_refused_with_advice(write, bom):
    path = write("u16.yaml", bom + "a: 1\n".encode("utf-16-le"))
    with pytest.raises(InputError) as error:
        load_files(path)
    # UTF-16 text holds NUL bytes: either message names the file and refuses it
    assert str(error.value).startswith(f"{path}: ")
    assert "UTF-16" in str(error.value) or "binary" in str(error.value)


def test_utf8_bom_is_ignored(write):
    path = write("bom.yaml", b"\xef\xbb\xbf" + CM.format(name="bom").encode())
    result = load_files(path)
    assert names(result) == ["bom"]
    assert result.objects[0].location.line == 1


def test_a_directory_named_like_a_manifest_is_walked(write, tmp_path):
    write("looks.yaml/inner.yaml", CM.format(name="inner"))
    assert names(load_paths([str(tmp_path / "looks.yaml")])) == ["inner"]
