"""Field paths: parsing, rendering and resolution (keys, indexes, wildcards, quoted keys)."""

from __future__ import annotations

import pytest

from auditor.engine.paths import WILDCARD, PathError, compile_resolver, format_path, parse_path

W = WILDCARD

PARSE = [
    ("image", ("image",)),
    ("securityContext.runAsUser", ("securityContext", "runAsUser")),
    ("ports[0].hostPort", ("ports", 0, "hostPort")),
    ("ports[-1]", ("ports", -1)),
    ("env[*].name", ("env", W, "name")),
    ("data.*", ("data", W)),
    ("a[*][*]", ("a", W, W)),
    ("matrix[1][2]", ("matrix", 1, 2)),
    ('metadata.annotations["seccomp.security.alpha.kubernetes.io/pod"]',
     ("metadata", "annotations", "seccomp.security.alpha.kubernetes.io/pod")),
    ("metadata.labels['app.kubernetes.io/name']", ("metadata", "labels", "app.kubernetes.io/name")),
    ('["a.b"].c', ("a.b", "c")),
    ('labels["with]bracket"]', ("labels", "with]bracket")),
    ("kebab-case.snake_case.$dollar", ("kebab-case", "snake_case", "$dollar")),
]


@pytest.mark.parametrize("text, segments", PARSE, ids=[p for p, _ in PARSE])
def test_parse(text, segments):
    assert parse_path(text) == segments


BAD_PATHS = [
    ("", "empty field path"),
    ("   ", "empty field path"),
    ("a.", "field path 'a.' ends with '.'"),
    ("a..b", "cannot parse field path 'a..b' at position 2"),
    (".a", "cannot parse field path '.a' at position 0"),
    ("a b", "cannot parse field path 'a b' at position 1"),
    ("a[", "cannot parse field path 'a[' at position 1"),
    ("a[x]", "cannot parse field path 'a[x]' at position 1"),
    ("a[1.5]", "cannot parse field path 'a[1.5]' at position 1"),
    ('a["unterminated]', "cannot parse field path 'a[\"unterminated]' at position 1"),
    ("a*", "cannot parse field path 'a*' at position 1"),
    ("1abc", "cannot parse field path '1abc' at position 0"),
]


@pytest.mark.parametrize("text, message", BAD_PATHS, ids=[repr(p) for p, _ in BAD_PATHS])
def test_syntax_errors(text, message):
    with pytest.raises(PathError) as error:
        parse_path(text)
    assert str(error.value) == message


@pytest.mark.parametrize(
    "text, rendered",
    [
        ("image", "image"),
        ("env[*].name", "env[*].name"),
        ("data.*", "data[*]"),
        ("ports[-1].hostPort", "ports[-1].hostPort"),
        ('metadata.annotations["a.b/c"]', 'metadata.annotations["a.b/c"]'),
    ],
)
def test_format_round_trip(text, rendered):
    assert format_path(parse_path(text)) == rendered
    assert parse_path(format_path(parse_path(text))) == parse_path(text)


OBJ = {
    "name": "app",
    "zero": 0,
    "false": False,
    "empty": "",
    "nothing": None,
    "ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 443}, None],
    "env": [{"name": "A", "value": "1"}, {"name": "B"}, {"name": "C", "value": None}],
    "labels": {"app.kubernetes.io/name": "web", "tier": "front", "gone": None},
    "matrix": [[1, 2], [3, 4]],
    "nested": {"list": [], "map": {}},
}

RESOLVE = [
    # plain keys (the fast path)
    ("name", ["app"]),
    ("missing", []),
    ("name.deeper", []),  # a string has no keys
    ("nothing", []),  # explicit null: unset, as Kubernetes treats it
    ("nothing.below", []),
    ("zero", [0]),  # falsy values are values
    ("false", [False]),
    ("empty", [""]),
    ("nested.list", [[]]),
    ("nested.map", [{}]),
    # indexes
    ("ports[0].hostPort", [8080]),
    ("ports[1].hostPort", []),
    ("ports[-1]", []),  # the last element is null
    ("ports[-3].containerPort", [80]),
    ("ports[-4]", []),  # out of range, negative
    ("ports[7]", []),  # out of range
    ("name[0]", []),  # a string is not a list
    ("labels[0]", []),  # a mapping has no indexes
    ("matrix[1][0]", [3]),
    # wildcards
    ("ports[*].containerPort", [80, 443]),
    ("ports[*].hostPort", [8080]),
    ("env[*].value", ["1"]),  # missing and null values contribute nothing
    ("labels.*", ["web", "front"]),  # mapping wildcard; null values skipped
    ("labels[*]", ["web", "front"]),
    ("matrix[*][*]", [1, 2, 3, 4]),
    ("matrix.*.*", [1, 2, 3, 4]),
    ("name[*]", []),
    ("nested.list[*]", []),
    ("missing[*].x", []),
    # quoted keys
    ('labels["app.kubernetes.io/name"]', ["web"]),
    ("labels['tier']", ["front"]),
    ('labels["gone"]', []),
]


@pytest.mark.parametrize("text, values", RESOLVE, ids=[p for p, _ in RESOLVE])
def test_resolve(text, values):
    assert compile_resolver(parse_path(text))(OBJ) == values


NON_MAPPINGS = [None, "text", 3, True, []]


@pytest.mark.parametrize("root", NON_MAPPINGS, ids=repr)
@pytest.mark.parametrize("text", ["a", "a.b", "a[0]", "a[*]", "*"])
def test_resolve_on_scalars_and_empty_lists_finds_nothing(root, text):
    assert compile_resolver(parse_path(text))(root) == []


def test_wildcard_on_a_list_root():
    assert compile_resolver(parse_path("*"))([{"a": 1}, None, 2]) == [{"a": 1}, 2]
    assert compile_resolver(parse_path("[*].a"))([{"a": 1}, {"a": None}, {"b": 2}]) == [1]
