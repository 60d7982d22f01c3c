"""docs/pod-security.md's rule table matches the pack (rule, check, level, severity)."""

from __future__ import annotations

import re

from psskit import CHECK_RULES, REPO, RULES

from auditor.analysis.pss import CHECKS_BY_ID

ROW = re.compile(r"^\| (KA-PSS-\d{3}) \| `(\w+)` \| (baseline|restricted) \| (\w+) \| [^|]+ \|$", re.M)


def test_the_rule_table_matches_the_pack():
    text = (REPO / "docs" / "pod-security.md").read_text(encoding="utf-8")
    documented = {m.group(1): (m.group(2), m.group(3), m.group(4)) for m in ROW.finditer(text)}
    expected = {
        rule: (check, CHECKS_BY_ID[check].level.value, RULES[rule].severity.value)
        for rule, check in CHECK_RULES.items()
    }
    assert documented == expected


def test_the_namespace_rules_are_documented():
    text = (REPO / "docs" / "pod-security.md").read_text(encoding="utf-8")
    for rule in ("KA-PSS-020", "KA-PSS-021", "KA-PSS-022", "KA-PSS-023"):
        row = next(line for line in text.splitlines() if line.startswith(f"| {rule} | "))
        assert row.split(" | ")[1] == RULES[rule].severity.value
