"""Minimal text edits: layouts the fixers must respect, and what they refuse to touch."""

from __future__ import annotations

import copy

import pytest
import yaml

from auditor.remediate.textedit import (
    EditPlanner,
    LineIndex,
    UnsupportedEdit,
    apply_edits,
    detect_style,
    load_yaml_documents,
)


def _edit(text: str, change, index: int = 0) -> str:
    old = list(yaml.safe_load_all(text))[index]
    new = copy.deepcopy(old)
    change(new)
    node = load_yaml_documents(text)[index]
    lines = LineIndex(text)
    planner = EditPlanner(lines, detect_style(node, lines))
    planner.diff(node, old, new)
    out = apply_edits(text, planner.edits)
    assert list(yaml.safe_load_all(out))[index] == new
    return out


def _harden(obj):
    container = obj["spec"]["containers"][0]
    container.setdefault("securityContext", {})["allowPrivilegeEscalation"] = False
    obj["spec"]["automountServiceAccountToken"] = False


def test_kubectl_style_lists_and_four_space_indents():
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n    name: p\nspec:\n    containers:\n"
        "    - name: a\n      image: x\n"
    )
    out = _edit(text, _harden)
    assert out == (
        "apiVersion: v1\nkind: Pod\nmetadata:\n    name: p\nspec:\n    containers:\n"
        "    - name: a\n      image: x\n      securityContext:\n          allowPrivilegeEscalation: false\n"
        "    automountServiceAccountToken: false\n"
    )


def test_appended_list_items_follow_the_list_style():
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n"
        "    image: x\n    securityContext:\n      capabilities:\n        drop:\n        - 'NET_RAW'\n"
    )
    out = _edit(text, lambda o: o["spec"]["containers"][0]["securityContext"]["capabilities"]["drop"].append("ALL"))
    assert out.endswith("        drop:\n        - 'NET_RAW'\n        - 'ALL'\n")
    flow = text.replace("drop:\n        - 'NET_RAW'\n", 'drop: ["NET_RAW"]   # keep\n')
    out = _edit(flow, lambda o: o["spec"]["containers"][0]["securityContext"]["capabilities"]["drop"].append("ALL"))
    assert 'drop: ["NET_RAW", "ALL"]   # keep\n' in out


def test_crlf_no_final_newline_and_trailing_comments():
    text = "apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: p\r\nspec:\r\n  containers:\r\n    - name: a\r\n      image: x # pinned\r\n\r\n  # end of spec"
    out = _edit(text, _harden)
    assert "\n" not in out.replace("\r\n", "")
    assert out.endswith("      image: x # pinned\r\n      securityContext:\r\n        allowPrivilegeEscalation: false\r\n"
                        "  automountServiceAccountToken: false\r\n\r\n  # end of spec")


def test_multi_document_stream_changes_only_its_document():
    text = (
        "# first\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '1'}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: a\n      image: x\n"
        "...\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: q}\nspec: {containers: [{name: b, image: y}]}\n"
    )
    out = _edit(text, _harden, index=1)
    first, second, third = out.split("---\n")
    assert first == text.split("---\n")[0] and third == text.split("---\n")[2]
    assert "allowPrivilegeEscalation: false" in second
    out = _edit(text, _harden, index=2)
    assert out.endswith(
        "spec: {containers: [{name: b, image: y, securityContext: {allowPrivilegeEscalation: false}}], "
        "automountServiceAccountToken: false}\n"
    )


def test_scalars_are_replaced_in_place_keeping_quotes_and_comments():
    text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: 'p'\nspec:\n  containers:\n    - name: a\n      securityContext:\n        privileged: on   # needed?\n        procMount: \"Unmasked\"\n"

    def change(obj):
        sc = obj["spec"]["containers"][0]["securityContext"]
        sc["privileged"], sc["procMount"] = False, "Default"

    old = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "a", "securityContext": {"privileged": True, "procMount": "Unmasked"}}]}}
    new = copy.deepcopy(old)
    change(new)
    node = load_yaml_documents(text)[0]
    lines = LineIndex(text)
    planner = EditPlanner(lines, detect_style(node, lines))
    planner.diff(node, old, new)  # the old object as Kubernetes reads it: `on` is true
    out = apply_edits(text, planner.edits)
    assert "        privileged: false   # needed?\n" in out
    assert '        procMount: "Default"\n' in out


def test_anchors_and_removals_are_refused():
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "    - &app\n      name: a\n      image: x\n"
    )
    with pytest.raises(UnsupportedEdit, match="anchor"):
        _edit(text, _harden)
    plain = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {a: b}}\n"
    with pytest.raises(UnsupportedEdit, match="removing"):
        _edit(plain, lambda o: o["metadata"].pop("labels"))
