"""Markdown for pull-request comments: verdict, safe table cells, and a hard size limit."""

from __future__ import annotations

import json
import re

from reportkit import QUIET, WEB, pod, pod_json, report, waiver_config

from auditor.report.markdown import MAX_CHARS, MAX_ROWS, cell
from auditor.threat import Severity

ROW = re.compile(r"^\| (critical|high|medium|low|info) \| `")


def rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if ROW.match(line)]


def many_findings_manifest(pods: int, containers: int, image: str, name: str = "pod") -> str:
    """Pods whose every container breaks every container rule (about 8 findings each)."""
    items = [
        pod(f"{name}-{p}", [(f"{name}-c{c}", image) for c in range(containers)], "load")
        for p in range(pods)
    ]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items})


def test_verdict_and_counts(scan) -> None:
    text = report(scan({"web.yaml": WEB}), "markdown")
    assert text.startswith(
        "<!-- kube-auditor-report -->\n### :x: kube-auditor: FAIL, 1 finding(s) at or above high"
    )
    assert "**critical** 0 · **high** 1 · **medium** 6" in text
    passing = report(scan({"quiet.yaml": QUIET}), "markdown")
    assert "PASS, no finding at or above high" in passing
    assert "gate disabled" in report(scan({"web.yaml": WEB}), "markdown", fail_on=None)


def test_table_lists_counted_findings_most_severe_first(scan) -> None:
    result = scan({"web.yaml": WEB})
    table = rows(report(result, "markdown"))
    assert len(table) == len(result.findings)
    assert table[0].startswith(
        "| high | `KA-CTR-010` | Deployment shop/web (container web) | web.yaml:1 |"
    )


def test_waived_and_baselined_are_counted_not_listed(scan) -> None:
    first = scan({"web.yaml": WEB, "quiet.yaml": QUIET})
    result = scan(
        {"web.yaml": WEB, "quiet.yaml": QUIET},
        config=waiver_config("KA-CTR-010", "web", "rotated"),
        baseline={f.fingerprint for f in first.findings if f.resource.name == "quiet"},
    )
    text = report(result, "markdown")
    summary = result.summary(Severity.high)
    assert f"Not counted: {summary['waived']} waived, {summary['baselined']} in baseline." in text
    assert len(rows(text)) == summary["active"]
    assert "KA-CTR-010" not in "\n".join(rows(text))
    assert "PASS" in text


def test_cells_escape_pipes_newlines_and_html() -> None:
    assert cell("a|b") == "a\\|b"
    assert cell("one\ntwo\r\nthree") == "one<br>two<br>three"
    assert (
        cell("<img src=x onerror=alert(1)> & co") == "&lt;img src=x onerror=alert(1)&gt; &amp; co"
    )
    assert cell("back\\|slash") == "back\\\\\\|slash"
    assert cell("x" * 1000).endswith("…") and len(cell("x" * 1000)) == 300


def test_hostile_message_keeps_the_table_shape(scan) -> None:
    image = "evil|image\nwith <b>html</b>:latest"
    text = report(scan({"pod.json": pod_json("p|q", [("c", image)])}), "markdown")
    table = rows(text)
    assert table
    for line in table:
        unescaped_pipes = re.findall(r"(?<!\\)\|", line.replace("\\\\", ""))
        assert len(unescaped_pipes) == 6, line
    assert "<b>" not in text


def test_details_break_down_by_stride_and_layer(scan) -> None:
    text = report(scan({"web.yaml": WEB, "list.yaml": "- a list\n"}), "markdown")
    details = text[text.index("<details>") : text.index("</details>")]
    assert "| InformationDisclosure | 1 |" in details
    assert "| code | 1 |" in details
    assert "Notices (1)" in details and "list.yaml:1" in details


def test_five_thousand_findings_stay_under_the_comment_limit(scan) -> None:
    result = scan({"load.json": many_findings_manifest(pods=63, containers=10, image="nginx")})
    assert len(result.findings) >= 5000
    text = report(result, "markdown")
    assert len(text) < MAX_CHARS
    shown = rows(text)
    assert len(shown) == MAX_ROWS
    assert f"… and {len(result.findings) - MAX_ROWS} more" in text
    assert text.rstrip().endswith("rules</sub>"), "the summary survives the cut"


def test_long_messages_cut_the_table_by_size(scan) -> None:
    image = "registry.example/" + "very-long-path/" * 40 + "app"
    name = "a-very-long-object-name" * 10
    result = scan({"load.json": many_findings_manifest(63, 10, image, name)})
    assert len(result.findings) >= 5000
    text = report(result, "markdown")
    assert len(text) < MAX_CHARS
    shown = len(rows(text))
    assert 0 < shown < MAX_ROWS
    assert f"… and {len(result.findings) - shown} more" in text


def test_no_findings(scan) -> None:
    text = report(scan({}), "markdown")
    assert "No findings." in text and "PASS" in text
