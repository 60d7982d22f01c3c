"""Documents and their lines: multi-document YAML, List unwrapping, JSON streams.

Every case runs on both parsing paths (the fast parser and the exact one), which must agree
on objects and lines.
"""

from __future__ import annotations

import json

import pytest

from auditor.inventory import LoadOptions, ParseLimits, load_paths

from .helpers import objects_of

PATHS = {
    "fast": LoadOptions(),
    "exact": LoadOptions(limits=ParseLimits(use_fast_parser=False)),
}


@pytest.fixture(params=sorted(PATHS))
def options(request) -> LoadOptions:
    return PATHS[request.param]


def read(text: str, options: LoadOptions):
    return objects_of(text, options=options)


def cm(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


def test_each_document_has_the_line_of_its_first_content(options):
    text = (
        "# header comment\n"  # 1
        "\n"  # 2
        + cm("a")  # 3-6
        + "---\n"  # 7
        "# a comment after the marker\n"  # 8
        "\n"  # 9
        + cm("b")  # 10-13
        + "--- # marker with a trailing comment\n"  # 14
        + cm("c")  # 15-18
    )
    objects, warnings = read(text, options)
    assert objects == [("ConfigMap", "a", 3), ("ConfigMap", "b", 10), ("ConfigMap", "c", 15)]
    assert warnings == []


def test_leading_marker_and_empty_documents(options):
    text = "---\n" + cm("a") + "---\n---\n# only a comment\n---\n" + cm("b") + "---\n"
    objects, warnings = read(text, options)
    assert objects == [("ConfigMap", "a", 2), ("ConfigMap", "b", 10)]
    assert warnings == []


def test_content_on_the_marker_line(options):
    text = "--- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n--- !!map\n" + cm("b")
    objects, _ = read(text, options)
    assert objects == [("ConfigMap", "a", 1), ("ConfigMap", "b", 2)]


def test_end_markers(options):
    text = (
        cm("a")  # 1-4
        + "...\n"  # 5
        + "---\n"  # 6
        + cm("b")  # 7-10
        + "... # the end, and a comment\n"  # 11
        + cm("c")  # 12-15: a new document after "..." needs no "---"
        + "...\n"
    )
    objects, warnings = read(text, options)
    assert objects == [("ConfigMap", "a", 1), ("ConfigMap", "b", 7), ("ConfigMap", "c", 12)]
    assert warnings == []


def test_markers_inside_content_are_not_markers(options):
    text = (
        cm("a")
        + "data:\n"
        + "  script: |\n"
        + "    ---\n"  # indented: block scalar content
        + "    ...\n"
        + "  other: '--- not a marker'\n"
        + "  dashes: ---x\n"
        + "---x: a key, not a marker\n"
    )
    objects, warnings = read(text, options)
    assert objects == [("ConfigMap", "a", 1)]
    assert warnings == []
    from auditor.inventory import load_text

    data = load_text(text, options=options).objects[0].obj
    assert data["data"] == {"script": "---\n...\n", "other": "--- not a marker", "dashes": "---x"}
    assert data["---x"] == "a key, not a marker"


def test_crlf_line_endings(options):
    text = (cm("a") + "---\n" + "\n" + cm("b")).replace("\n", "\r\n")
    objects, warnings = read(text, options)
    assert objects == [("ConfigMap", "a", 1), ("ConfigMap", "b", 7)]
    assert warnings == []


def test_bom_and_crlf_in_a_file(write, options):
    path = write(
        "bom.yaml", b"\xef\xbb\xbf" + (cm("a") + "---\n" + cm("b")).replace("\n", "\r\n").encode()
    )
    result = load_paths([str(path)], options)
    assert [(o.obj["metadata"]["name"], o.location.line) for o in result.objects] == [
        ("a", 1),
        ("b", 6),
    ]


def test_lone_carriage_returns_are_line_breaks(options):
    # YAML counts a lone CR as a line break, as libyaml and go-yaml do
    text = cm("a").replace("\n", "\r") + "---\r" + "\r" + cm("b").replace("\n", "\r\n")
    objects, warnings = read(text, options)
    assert objects == [("ConfigMap", "a", 1), ("ConfigMap", "b", 7)]
    assert warnings == []


def test_directive_streams_keep_every_document(options):
    text = "%YAML 1.1\n---\n" + cm("a") + "---\n" + cm("b")
    objects, warnings = read(text, options)
    assert objects == [("ConfigMap", "a", 3), ("ConfigMap", "b", 8)]
    assert warnings == []


# --------------------------------------------------------------------------------------
# Lists


def test_yaml_list_items_get_their_own_lines(options):
    text = (
        "apiVersion: v1\n"  # 1
        "kind: List\n"  # 2
        "metadata: {}\n"  # 3
        "items:\n"  # 4
        "- apiVersion: v1\n"  # 5
        "  kind: ConfigMap\n"
        "  metadata: {name: a}\n"
        "- apiVersion: apps/v1\n"  # 8
        "  kind: Deployment\n"
        "  metadata: {name: b}\n"
        "-   # a comment first\n"  # 11
        "  apiVersion: v1\n"  # 12
        "  kind: Secret\n"
        "  metadata: {name: c}\n"
    )
    objects, warnings = read(text, options)
    assert objects == [("ConfigMap", "a", 5), ("Deployment", "b", 8), ("Secret", "c", 12)]
    assert warnings == []


def test_typed_list_items_take_the_implied_kind_and_api_version(options):
    text = (
        "apiVersion: v1\n"
        "kind: PodList\n"
        "items:\n"
        "- metadata: {name: p1}\n"  # 4
        "  spec: {containers: [{name: c, image: nginx}]}\n"
        "- metadata: {name: p2}\n"  # 6
        "- apiVersion: v1\n"  # 7: an item that names its kind keeps it
        "  kind: Pod\n"
        "  metadata: {name: p3}\n"
    )
    result = objects_of(text, options=options)
    assert result == ([("Pod", "p1", 4), ("Pod", "p2", 6), ("Pod", "p3", 7)], [])


def test_typed_list_of_a_group(options):
    text = "apiVersion: apps/v1\nkind: DeploymentList\nitems:\n- metadata: {name: d}\n"
    from auditor.inventory import load_text

    result = load_text(text, options=options)
    assert result.objects[0].obj == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
    }


def test_list_items_that_are_not_objects_are_warned_with_their_line(options):
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- just a string\n"  # 4
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n"  # 5
        "- metadata: {name: no-kind}\n"  # 8
    )
    objects, warnings = read(text, options)
    assert objects == [("ConfigMap", "a", 5)]
    assert warnings == [
        "m.yaml:4: document is a str, not an object; skipped",
        "m.yaml:8: object without apiVersion and kind; skipped",
    ]


def test_nested_lists_are_unwrapped(options):
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: v1\n  kind: List\n  items:\n"  # 4
        "  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: inner}\n"  # 7
    )
    objects, warnings = read(text, options)
    assert [o[:2] for o in objects] == [("ConfigMap", "inner")]
    assert objects[0][2] == 4  # nested items have the line of the inner List
    assert warnings == []


def test_a_kind_ending_in_list_with_a_spec_is_an_object(options):
    text = "apiVersion: example.com/v1\nkind: AllowList\nmetadata: {name: x}\nspec: {}\nitems: [a, b]\n"
    assert read(text, options) == ([("AllowList", "x", 1)], [])


def test_empty_list(options):
    assert read("apiVersion: v1\nkind: List\nitems: []\n", options) == ([], [])


def test_list_in_a_later_document_gets_file_lines(options):
    text = (
        cm("first")
        + "---\n"
        + (
            "apiVersion: v1\nkind: List\nitems:\n"  # 6-8
            "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n"  # 9
            "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b}\n"  # 12
        )
    )
    objects, _ = read(text, options)
    assert objects == [("ConfigMap", "first", 1), ("ConfigMap", "a", 9), ("ConfigMap", "b", 12)]


def test_flow_list_items_on_one_line(options):
    text = (
        "apiVersion: v1\nkind: List\n"
        "items: [{apiVersion: v1, kind: ConfigMap, metadata: {name: a}}, "
        "{apiVersion: v1, kind: ConfigMap, metadata: {name: b}}]\n"
    )
    objects, _ = read(text, options)
    assert objects == [("ConfigMap", "a", 3), ("ConfigMap", "b", 3)]


def test_list_needing_the_exact_path_for_its_values(options):
    # "on" forces the exact path for this document on the fast side too
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n  data: {flag: on}\n"
    )
    from auditor.inventory import load_text

    result = load_text(text, options=options)
    assert result.objects[0].obj["data"] == {"flag": True}
    assert result.objects[0].location.line == 4


# --------------------------------------------------------------------------------------
# JSON


def load_json(write, text: str):
    path = write("in.json", text)
    return load_paths([str(path)])


def test_json_single_object(write):
    result = load_json(
        write, '\n\n{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}\n'
    )
    assert [(o.obj["metadata"]["name"], o.location.line) for o in result.objects] == [("a", 3)]


def test_json_concatenated_objects(write):
    text = (
        '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}\n'
        '{"apiVersion": "v1", "kind": "ConfigMap",\n "metadata": {"name": "b"}}'
        '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}\n\n'
    )
    result = load_json(write, text)
    assert [(o.obj["metadata"]["name"], o.location.line) for o in result.objects] == [
        ("a", 1),
        ("b", 2),
        ("c", 3),
    ]


def test_kubectl_get_o_json_list(write):
    listing = {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "shop"},
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web", "namespace": "shop"},
            },
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}},
        ],
    }
    text = json.dumps(listing, indent=4)
    lines = text.splitlines()
    expected = [i + 1 for i, line in enumerate(lines) if line == "        {"]
    result = load_json(write, text + "\n")
    assert [o.obj["kind"] for o in result.objects] == ["Deployment", "Service", "ServiceAccount"]
    assert [o.location.line for o in result.objects] == expected
    assert len(expected) == 3


def test_json_typed_list_and_items_omitting_kind(write):
    text = (
        '{"apiVersion": "v1", "kind": "PodList", "items": [\n'
        ' {"metadata": {"name": "p1"}},\n'
        ' {"metadata": {"name": "p2"}}\n'
        "]}\n"
    )
    result = load_json(write, text)
    assert [(o.obj["kind"], o.obj["apiVersion"], o.location.line) for o in result.objects] == [
        ("Pod", "v1", 2),
        ("Pod", "v1", 3),
    ]


def test_json_list_after_other_keys_with_nested_items_keys(write):
    text = (
        '{"apiVersion": "v1", "metadata": {"items": [1, 2]}, "kind": "List",\n'
        ' "items": [\n'
        '  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},\n'
        '   "data": {"items": "[not, these]"}},\n'
        '  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}]}\n'
    )
    result = load_json(write, text)
    assert [(o.obj["metadata"]["name"], o.location.line) for o in result.objects] == [
        ("a", 3),
        ("b", 5),
    ]


def test_json_scalars_and_arrays_are_warned(write):
    result = load_json(write, '[1, 2]\n"text"\n{"kind": "ConfigMap"}\n')
    assert result.objects == []
    assert [str(w) for w in result.warnings] == [
        f"{result.files[0]}:1: document is a list, not an object; skipped",
        f"{result.files[0]}:2: document is a str, not an object; skipped",
        f"{result.files[0]}:3: object without apiVersion; skipped",
    ]


def test_json_keeps_json_semantics(write):
    # JSON strings stay strings, numbers are JSON numbers: no YAML 1.1 reading here
    result = load_json(
        write,
        '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},'
        ' "data": {"a": "on", "b": "0644"}, "n": 0644e0}\n'.replace("0644e0", "644"),
    )
    assert result.objects[0].obj["data"] == {"a": "on", "b": "0644"}
    assert result.objects[0].obj["n"] == 644


def test_json_duplicate_keys_warn_and_last_wins(write):
    result = load_json(
        write, '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "name": "b"}}\n'
    )
    assert result.objects[0].obj["metadata"] == {"name": "b"}
    assert [w.message for w in result.warnings] == [
        "duplicate key 'name': the last value is used, as Kubernetes' decoder does"
    ]


def test_yaml_duplicate_keys_warn_with_line_and_last_wins(options):
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n"
    objects, warnings = read(text, options)
    assert objects == [("ConfigMap", "b", 1)]
    assert warnings == [
        "m.yaml:5:3: duplicate key 'name': the last value is used, as Kubernetes' decoder does"
    ]


# --------------------------------------------------------------------------------------
# Lines of List items read from the text (kubectl get -o yaml), without a second parse

KUBECTL_LIST = """\
apiVersion: v1
items:
- apiVersion: v1
  data:
    script: |
      - not an item
      items:
      - nor this
  kind: ConfigMap
  metadata:
    name: a
# a comment between items
-   apiVersion: v1
    kind: ConfigMap
    metadata: {name: b}

- kind: ConfigMap
  apiVersion: v1
  metadata:
    name: c
    annotations:
      items: "- x"
kind: List
metadata:
  resourceVersion: ""
"""


@pytest.mark.parametrize("indented", [False, True])
@pytest.mark.parametrize("crlf", [False, True])
def test_list_item_lines_from_the_text_match_the_parser(monkeypatch, indented, crlf):
    from auditor.inventory import yamlsafe

    text = KUBECTL_LIST
    if indented:  # "items:\n  - ..." as some dumpers write it
        lines = text.split("\n")
        start, end = lines.index("items:") + 1, lines.index("kind: List")
        lines[start:end] = ["  " + line if line.strip() else line for line in lines[start:end]]
        text = "\n".join(lines)
    if crlf:
        text = text.replace("\n", "\r\n")
    exact, _ = read(text, PATHS["exact"])
    assert exact == [("ConfigMap", "a", 3), ("ConfigMap", "b", 13), ("ConfigMap", "c", 17)]

    def no_second_parse(*args):
        raise AssertionError("the List was parsed a second time for its item lines")

    monkeypatch.setattr(yamlsafe, "_exact_item_lines", no_second_parse)
    assert read(text, PATHS["fast"]) == (exact, [])


@pytest.mark.parametrize(
    "text",
    [
        # items in flow style, on several lines
        "apiVersion: v1\nkind: List\nitems: [\n  {apiVersion: v1, kind: ConfigMap, metadata: {name: a}},\n"
        "  {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}]\n",
        # an indented top-level mapping
        "  apiVersion: v1\n  kind: List\n  items:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"
        "  - {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n",
        # an item whose content starts after a comment, and one after a dash alone
        "apiVersion: v1\nkind: List\nitems:\n- # first\n  {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"
        "-\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b}\n",
    ],
    ids=["flow", "indented-mapping", "comment-and-dash"],
)
def test_list_item_lines_fall_back_to_the_parser(text):
    assert read(text, PATHS["fast"]) == read(text, PATHS["exact"])
    assert len(read(text, PATHS["fast"])[0]) == 2


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_refuses_nan_and_infinity(write, constant):
    from auditor.inventory import InputError

    path = write(
        "n.json", f'{{"apiVersion": "v1", "kind": "ConfigMap",\n "data": {{"x": {constant}}}}}\n'
    )
    with pytest.raises(InputError) as error:
        load_paths([str(path)])
    assert str(error.value) == f"{path}:1: {constant} is not a JSON value"
