"""``fix`` on every rule fixture: fixed findings disappear, nothing else in the file moves,
and a second run changes nothing. Rules without a mechanical fix must leave the file alone
and say why, so a rule pack that lands later (Pod Security) is covered from its first day."""

from __future__ import annotations

import pytest
from remediatekit import FIXTURES, POLICIES, assert_minimal_edit, copy_to, findings, fix_files

from auditor.engine.rules import load_packs
from auditor.remediate import fixers
from auditor.remediate.fix import FIXED, NOT_FIXED, PARTIAL

RULE_IDS = [rule.id for pack in load_packs([POLICIES]) for rule in pack.rules]


@pytest.mark.parametrize("risky", [False, True], ids=["safe", "risky"])
@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_fix_round_trip(rule_id: str, risky: bool, tmp_path):
    (bad,) = copy_to(tmp_path, FIXTURES / rule_id / "bad.yaml")
    before_text = bad.read_text()
    report = fix_files([bad], rules=[rule_id], risky=risky)
    assert report.outcomes, f"{rule_id} did not fire on its fixture"
    problems = [o.problem for o in report.outcomes if o.problem]
    assert not problems, problems
    for outcome in report.outcomes:
        assert outcome.status in (FIXED, PARTIAL, NOT_FIXED)
        if outcome.status != FIXED:
            assert outcome.pending and all(step.what for step in outcome.pending), (
                "a finding left alone must say what to do"
            )
    after_text = bad.read_text()
    if not report.changed_files:
        assert after_text == before_text
        return
    assert_minimal_edit(before_text, after_text)
    remaining = {f.fingerprint for f in findings([bad], rule=rule_id)}
    for outcome in report.outcomes:
        if outcome.status == FIXED:
            assert outcome.finding.fingerprint not in remaining
    # idempotent: a second run finds nothing more to change
    again = fix_files([bad], rules=[rule_id], risky=risky)
    assert not again.changed_files
    assert bad.read_text() == after_text


@pytest.mark.parametrize("rule_id", fixers.registry_rule_ids())
def test_rules_with_a_fixer_are_fixed_on_their_fixture(rule_id: str, tmp_path):
    (bad,) = copy_to(tmp_path, FIXTURES / rule_id / "bad.yaml")
    report = fix_files([bad], rules=[rule_id], risky=True)
    assert report.changed_files
    assert report.outcomes and all(o.status == FIXED for o in report.outcomes)
    assert not findings([bad], rule=rule_id)


def test_token_automount_is_a_safe_fix(tmp_path):
    (bad,) = copy_to(tmp_path, FIXTURES / "KA-CTR-007" / "bad.yaml")
    report = fix_files([bad], rules=["KA-CTR-007"])
    assert [o.status for o in report.outcomes] == [FIXED]
    assert not findings([bad], rule="KA-CTR-007")
    assert "      automountServiceAccountToken: false\n" in bad.read_text()


def test_read_only_root_filesystem_needs_risky(tmp_path):
    (bad,) = copy_to(tmp_path, FIXTURES / "KA-CTR-006" / "bad.yaml")
    text = bad.read_text()
    safe = fix_files([bad], rules=["KA-CTR-006"])
    assert not safe.changed_files and bad.read_text() == text
    assert all(s.tier == "risky" for o in safe.outcomes for s in o.pending)
    risky = fix_files([bad], rules=["KA-CTR-006"], risky=True)
    assert all(o.status == FIXED for o in risky.outcomes)
    assert not findings([bad], rule="KA-CTR-006")
    new = bad.read_text()
    # one emptyDir shared by the pod, mounted at /tmp in both containers
    assert new.count("emptyDir: {}") == 1 and new.count("mountPath: /tmp") == 2
