"""Fixers keyed by Pod Security check, through the whole pipeline (a stand-in PSS pack),
judged by the Pod Security evaluator itself: a fixed pod spec passes the check."""

from __future__ import annotations

import pss_stub
from remediatekit import DATA, assert_minimal_edit, copy_to, fix_files

from auditor.analysis.pss import evaluate_pod
from auditor.inventory import Inventory, load_paths
from auditor.remediate.fix import FIXED

PACK = pss_stub.PACK


def _violations(path) -> dict[str, list[str]]:
    """object name → failing restricted checks, for every pod spec in the file."""
    inventory = Inventory.from_objects(load_paths([str(path)]).objects)
    return {
        t.resource.name: evaluate_pod(t.metadata, t.spec, "restricted").checks
        for t in inventory.pod_templates
    }


def test_safe_fixes_fill_in_what_is_unset(tmp_path):
    yaml_file, json_file = copy_to(tmp_path, DATA / "hardening.yaml", DATA / "hardening.json")
    before = yaml_file.read_text()
    report = fix_files([yaml_file, json_file], PACK)
    assert not [o.problem for o in report.outcomes if o.problem]
    assert_minimal_edit(before, yaml_file.read_text())
    after = _violations(yaml_file)
    # the API runs as a numeric user: every restricted check is now met
    assert after["api"] == []
    assert _violations(json_file)["worker"] == []
    # the job runs as root and says so: only the unset pod seccompProfile was filled in
    assert after["migrate"] == ["allowPrivilegeEscalation", "capabilities_restricted", "runAsNonRoot", "seccompProfile_restricted"]
    assert "seccompProfile:\n          type: RuntimeDefault" in yaml_file.read_text().split("kind: Job")[1]
    # the debug pod is privileged: nothing that would change what it asked for
    assert "privileged" in after["debug"] and "hostNamespaces" in after["debug"]
    again = fix_files([yaml_file, json_file], PACK)
    assert not again.changed_files


def test_risky_fixes_override_written_values(tmp_path):
    (yaml_file,) = copy_to(tmp_path, DATA / "hardening.yaml")
    report = fix_files([yaml_file], PACK, risky=True)
    assert not [o.problem for o in report.outcomes if o.problem]
    after = _violations(yaml_file)
    assert after["api"] == [] and after["migrate"] == []
    # hostNetwork needs a person; everything else was mechanical
    assert after["debug"] == ["hostNamespaces"]
    text = yaml_file.read_text()
    assert "privileged: false" in text and "procMount: Default" in text
    assert "allowPrivilegeEscalation: false" in text.split("kind: Job")[1]
    manual = [o for o in report.outcomes if o.status != FIXED]
    assert [o.finding.details["check"] for o in manual] == ["hostNamespaces"]
    assert not fix_files([yaml_file], PACK, risky=True).changed_files


def test_json_layout_is_kept(tmp_path):
    pretty = tmp_path / "deploy.json"
    pretty.write_text(
        '{\n  "apiVersion": "apps/v1",\n  "kind": "Deployment",\n  "metadata": {\n    "name": "w",\n'
        '    "namespace": "shop"\n  },\n  "spec": {\n    "template": {\n      "spec": {\n'
        '        "securityContext": {\n          "runAsUser": 1000\n        },\n'
        '        "containers": [\n          {\n            "name": "w",\n            "image": "x:1"\n'
        "          }\n        ]\n      }\n    }\n  }\n}\n"
    )
    before = pretty.read_text()
    fix_files([pretty], PACK)
    after = pretty.read_text()
    assert _violations(pretty)["w"] == []
    assert_minimal_edit(before, after)
    assert '          "runAsUser": 1000,\n          "runAsNonRoot": true,\n' in after
    assert '            "image": "x:1",\n            "securityContext": {\n' in after
