"""Snapshots: the header, and objects that read back exactly (YAML 1.1 scalars included)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from auditor.inventory import LoadOptions, ParseLimits, load_paths, load_text
from auditor.inventory.errors import Location
from auditor.inventory.live import LiveInventory, RawObject, Unread
from auditor.inventory.snapshot import MAGIC, parse_header, read_header, render, write

#: Strings that a YAML 1.1 (go-yaml v2) or YAML 1.2 reader would take for something else
#: unless quoted, and strings with YAML syntax in them.
TRICKY = [
    "y", "n", "Y", "N", "yes", "No", "on", "OFF", "true", "False", "null", "Null", "~", "",
    "0644", "0o17", "0b101", "0x1F", "1_000", "1e3", "-1", "+1", ".5", "1.0", ".inf", "-.Inf", ".NaN",
    "1:20", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "<<", "=", "a: b", "- x", "#x", "x #y",
    "'q'", '"d"', "%x", "@x", "`x", "!x", "&x", "*x", "?", "|", ">", "{a}", "[a]", "\ttab",
    "trailing ", " leading", "multi\nline", "a\n---\nb", "---", "...", "é ✓", "\u2028", "09", "00",
]


def live_inventory(objects: list[dict], **kwargs) -> LiveInventory:
    live = LiveInventory(
        "prod\nevil: injected", "https://10.0.0.1:6443", "v1.37.2", kwargs.pop("namespaces", ()),
        datetime(2026, 1, 5, 10, 0, 0, tzinfo=timezone.utc),
    )
    live.objects = [RawObject(obj, Location(f"cluster:prod/{obj['kind']}/{obj['metadata']['name']}")) for obj in objects]
    for key, value in kwargs.items():
        setattr(live, key, value)
    return live


def configmap(values: dict) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "tricky", "namespace": "x"}, "data": values}


@pytest.mark.parametrize("fast", [True, False], ids=["fast-parser", "exact-parser"])
def test_every_value_reads_back_as_written(fast):
    obj = configmap({f"k{i}": value for i, value in enumerate(TRICKY)})
    obj["numbers"] = {"int": 8080, "big": 2**62, "float": 0.5, "neg": -3, "bool": True, "none": None, "list": [1, "1"]}
    text = render(live_inventory([obj]))
    loaded = load_text(text, options=LoadOptions(limits=ParseLimits(use_fast_parser=fast)))
    assert loaded.warnings == []
    assert [raw.obj for raw in loaded.objects] == [obj]


def test_header_names_the_cluster_and_what_was_not_read(tmp_path):
    unread = [Unread("Secret", "", "secrets", "list", None, 403, "Forbidden")]
    live = live_inventory(
        [configmap({"a": "b"})], namespaces=("shop", "web"), unread=unread,
        not_served=["PodSecurityPolicy (policy)"], notes=["Job: the list continue token expired; listed again from the start"],
    )
    text = render(live)
    lines = text.splitlines()
    assert lines[:10] == [
        f"{MAGIC} v1",
        "# cluster: prod evil: injected (https://10.0.0.1:6443)",  # one line whatever the name holds
        "# server-version: v1.37.2",
        "# taken: 2026-01-05T10:00:00Z",
        "# namespaces: shop, web",
        "# objects: 1",
        "# not-read: 2",
        '#   - Secret not read: missing permission list secrets (apiGroups [""]) cluster-wide (403 Forbidden)',
        "#   - Job: the list continue token expired; listed again from the start",
        "# not-served: PodSecurityPolicy (policy)",
    ]
    assert lines[10] == "---"
    path = tmp_path / "snap.yaml"
    assert write(live, path) == len(text.encode())
    header = read_header(path)
    assert header.cluster == "prod evil: injected (https://10.0.0.1:6443)"
    assert header.server_version == "v1.37.2" and header.objects == 1 and header.namespaces == "shop, web"
    assert header.not_read == [
        'Secret not read: missing permission list secrets (apiGroups [""]) cluster-wide (403 Forbidden)',
        "Job: the list continue token expired; listed again from the start",
    ]
    assert header.not_served == "PodSecurityPolicy (policy)"


def test_objects_get_their_own_documents_and_lines(tmp_path):
    objects = [configmap({"a": "b"}), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}]
    path = tmp_path / "snap.yaml"
    write(live_inventory(objects), path)
    loaded = load_paths([str(path)])
    assert [raw.obj for raw in loaded.objects] == objects
    lines = path.read_text().splitlines()
    for raw in loaded.objects:
        assert lines[raw.location.line - 1] == "apiVersion: v1"


def test_an_empty_cluster_is_a_valid_snapshot(tmp_path):
    path = tmp_path / "empty.yaml"
    write(live_inventory([]), path)
    assert load_paths([str(path)]).objects == []
    assert read_header(path).objects == 0


def test_other_files_are_not_snapshots(tmp_path):
    manifest = tmp_path / "m.yaml"
    manifest.write_text("# kube-auditor is great\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")
    assert read_header(manifest) is None
    assert read_header(tmp_path / "missing.yaml") is None
    assert parse_header("") is None
