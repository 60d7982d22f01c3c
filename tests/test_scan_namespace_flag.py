"""``scan -n NS`` for files means what ``kubectl apply -n NS`` means: objects that name no
namespace land in NS (with ``--cluster`` it selects the namespaces to read instead)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from auditor.cli import main

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers: [{name: app, image: nginx}]
"""


def _namespaces(result) -> set[str]:
    return {f["object"]["namespace"] for f in json.loads(result.output)["findings"] if f["object"]["kind"] == "Pod"}


def test_a_single_namespace_applies_to_objects_that_name_none(tmp_path):
    (tmp_path / "pod.yaml").write_text(POD)
    runner = CliRunner()
    args = ["scan", "--format", "json", "--fail-on", "none", str(tmp_path / "pod.yaml")]
    assert _namespaces(runner.invoke(main, args)) == {"default"}
    assert _namespaces(runner.invoke(main, [*args, "-n", "shop"])) == {"shop"}
