"""docs/threat-model.md maps every rule family to the STRIDE categories and 4C layers its rules use."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from auditor.engine.rules import load_packs

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "threat-model.md"
ROW = re.compile(r"^\| (KA-[A-Z]+) \| `(\w+)` \| [^|]+ \| ([^|]+) \| ([^|]+) \|", re.M)
FAMILIES = ("KA-CTR", "KA-INV", "KA-RBAC", "KA-NET", "KA-PSS", "KA-PSP", "KA-EXP", "KA-PATH")


def _doc_rows() -> dict[str, tuple[str, set[str], set[str]]]:
    text = DOC.read_text(encoding="utf-8")
    return {
        family: (pack, {s.strip() for s in stride.split(",")}, {layer.strip() for layer in layers.split(",")})
        for family, pack, stride, layers in ROW.findall(text)
    }


def test_every_family_of_the_brief_has_a_row():
    assert set(FAMILIES) <= set(_doc_rows())


def test_rows_cover_what_the_packs_use():
    used: dict[str, tuple[set[str], set[str], set[str]]] = defaultdict(lambda: (set(), set(), set()))
    for pack in load_packs([REPO / "policies"]):
        for rule in pack.rules:
            family = "-".join(rule.id.split("-")[:2])
            packs, stride, layers = used[family]
            packs.add(pack.name)
            stride.update(s.value for s in rule.stride)
            layers.add(rule.layer.value)
    rows = _doc_rows()
    for family, (packs, stride, layers) in used.items():
        assert family in rows, f"docs/threat-model.md has no row for {family}"
        pack, doc_stride, doc_layers = rows[family]
        assert packs == {pack}, f"{family}: the doc names pack {pack}, the rules are in {packs}"
        assert stride <= doc_stride, f"{family}: add {sorted(stride - doc_stride)} to its STRIDE column"
        assert layers <= doc_layers, f"{family}: add {sorted(layers - doc_layers)} to its layers column"
