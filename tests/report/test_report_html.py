"""HTML: one self-contained, script-free page with everything escaped."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from reportkit import QUIET, WEB, pod_json, report, waiver_config

from auditor import __version__

VOID = {"meta", "br", "hr", "img", "input", "link"}


class Structure(HTMLParser):
    """Checks that tags nest and close, and collects what the page refers to."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()

    def handle_data(self, data) -> None:
        self.text.append(data)


def parse(html: str) -> Structure:
    page = Structure()
    page.feed(html)
    page.close()
    assert page.stack == [], f"unclosed: {page.stack}"
    return page


def test_page_is_self_contained_and_script_free(workshop) -> None:
    html = report(workshop, "html")
    assert html.startswith("<!DOCTYPE html>")
    page = parse(html)
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags
    assert not [name for name, _ in page.attrs if name in ("src", "href") or name.startswith("on")]
    assert "url(" not in html and "@import" not in html
    assert "default-src 'none'" in html


def test_page_has_the_summary_an_analyst_needs(workshop) -> None:
    html = report(workshop, "html")
    text = " ".join(parse(html).text)
    assert "<title>kube-auditor report: FAIL</title>" in html
    assert f"kube-auditor {__version__}" in text
    assert re.search(r"Generated \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", text)
    for heading in ("Summary", "Threat model", "Findings", "STRIDE category", "4C layer"):
        assert heading in text
    for stride in ("Spoofing", "ElevationOfPrivilege", "DenialOfService"):
        assert stride in text
    for finding in workshop.findings:
        assert finding.rule in text


def test_findings_grouped_by_severity_then_object(scan) -> None:
    html = report(scan({"web.yaml": WEB, "quiet.yaml": QUIET}), "html")
    order = re.findall(r'<h3 id="(\w+)">', html)
    assert order == ["high", "medium", "low", "info"]
    low = html[html.index('<h3 id="low">') : html.index('<h3 id="info">')]
    objects = re.findall(r"<h4>([^<]+)</h4>", low)
    assert objects == ["Deployment shop/web", "Pod shop/quiet"]  # each object once
    assert "Set resources.limits.memory" in html  # remediation
    assert "web.yaml:1" in html  # location


def test_waived_baselined_and_notices_are_shown(scan) -> None:
    first = scan({"web.yaml": WEB, "quiet.yaml": QUIET})
    result = scan(
        {"web.yaml": WEB, "quiet.yaml": QUIET, "list.yaml": "- a list\n"},
        config=waiver_config("KA-CTR-010", "web", "rotated, see JIRA-42"),
        baseline={f.fingerprint for f in first.findings if f.resource.name == "quiet"},
    )
    text = " ".join(parse(report(result, "html")).text)
    assert "waived" in text and "rotated, see JIRA-42" in text
    assert "in baseline" in text
    assert "Notices" in text and "list.yaml:1" in text
    assert "PASS" in text


def test_everything_is_escaped(scan) -> None:
    hostile = '<script>alert("x")</script>&'
    result = scan({"<evil>.json": pod_json("<b>pod</b>", [("c", hostile + ":latest")])})
    assert any(hostile in f.message for f in result.findings)
    html = report(result, "html")
    page = parse(html)
    assert "script" not in page.tags and "<b>pod</b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in html
    assert "&lt;evil&gt;.json" in html
    assert hostile in " ".join(page.text)


def test_empty_scan(scan) -> None:
    text = " ".join(parse(report(scan({}), "html")).text)
    assert "No findings." in text
