"""The JSON report is written in pieces (a large report never exists in memory whole), and
the pieces are exactly the document orjson gives for the whole report: same bytes, for
no findings, one piece, several pieces, and with notices after the findings."""

from __future__ import annotations

import io
import json

import orjson
import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.engine.notices import Notice
from auditor.pipeline import ScanOptions, scan_paths
from auditor.report import ReportOptions, json_report, render, write_report
from auditor.resources import workshop_dir


def _whole(result, options: ReportOptions) -> bytes:
    return orjson.dumps(json_report.report_dict(result, options), option=orjson.OPT_INDENT_2) + b"\n"


@pytest.fixture(scope="module")
def workshop():
    return scan_paths([str(workshop_dir())], ScanOptions())


@pytest.mark.parametrize("chunk", [1, 7, 2000])
def test_pieces_join_to_the_whole_document(workshop, monkeypatch, chunk):
    monkeypatch.setattr(json_report, "CHUNK", chunk)
    options = ReportOptions()
    workshop.notices.append(Notice("input", "a notice after the findings", "x.yaml", 3))
    try:
        pieces = list(json_report.json_pieces(workshop, options))
        assert len(pieces) >= 3 + (len(workshop.findings) + chunk - 1) // chunk
        assert b"".join(pieces) == _whole(workshop, options)
        assert render(workshop, "json", options) == _whole(workshop, options).decode()
        stream = io.BytesIO()
        write_report(workshop, "json", options, stream)
        assert stream.getvalue() == _whole(workshop, options)
    finally:
        workshop.notices.pop()


def test_no_findings(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: x}\n")
    result = scan_paths([str(empty)], ScanOptions())
    result.findings.clear()
    text = b"".join(json_report.json_pieces(result, ReportOptions()))
    assert text == _whole(result, ReportOptions())
    assert json.loads(text)["findings"] == []


def test_other_formats_are_written_as_rendered(workshop):
    stream = io.BytesIO()
    write_report(workshop, "sarif", ReportOptions(), stream)
    assert stream.getvalue().decode() == render(workshop, "sarif", ReportOptions())


def test_scan_streams_json_to_stdout_and_to_a_file(tmp_path):
    runner = CliRunner()
    out = runner.invoke(main, ["scan", "--workshop", "--format", "json"])
    path = tmp_path / "report.json"
    written = runner.invoke(main, ["scan", "--workshop", "--format", "json", "-o", str(path)])
    assert out.exit_code == written.exit_code == 1
    assert out.stdout == path.read_text()
    assert json.loads(out.stdout)["summary"]["findings"] == len(json.loads(out.stdout)["findings"])


def test_an_unwritable_output_is_one_line_and_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["scan", "--workshop", "-o", str(tmp_path / "no" / "such" / "dir.json")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"kube-auditor: error: {tmp_path}/no/such/dir.json: No such file or directory"
