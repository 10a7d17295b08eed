"""``--format junit``: JUnit XML for CI systems that only read test reports.

One failing test case per finding, one erroring case per path that could not be
scanned, and one passing case when the scan is clean, so the CI shows a result
either way. Keys are always redacted.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from keysentry.formats.rules import describe, rule_for
from keysentry.model.location import locate

if TYPE_CHECKING:
    from keysentry.formats import RenderOptions
    from keysentry.model.finding import Finding
    from keysentry.model.report import Report

# characters XML 1.0 cannot carry at all, even escaped
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
SUITE = "keysentry"


def xml_text(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _case(suite: ET.Element, classname: str, name: str, **attrs: str) -> ET.Element:
    return ET.SubElement(
        suite, "testcase", classname=xml_text(classname), name=xml_text(name), time="0", **attrs
    )


def _finding_case(suite: ET.Element, finding: Finding) -> None:
    where = locate(finding)
    rule_id = rule_for(finding).id_for(finding.rule_id)
    attrs = {"file": xml_text(where.file)} if where.file else {}
    if where.has_region:
        attrs["line"] = str(finding.line)
    case = _case(
        suite,
        f"{SUITE}.{rule_id}",
        f"{where.label} {finding.redacted}",
        **attrs,
    )
    failure = ET.SubElement(
        case, "failure", type=rule_id, message=xml_text(rule_for(finding).title)
    )
    failure.text = xml_text(describe(finding) + f"\nsnippet: {finding.snippet}")


def render(report: Report, options: RenderOptions) -> str:
    findings = report.sorted_findings()
    tests = max(1, len(findings) + len(report.errors))
    counts = {
        "tests": str(tests), "failures": str(len(findings)), "errors": str(len(report.errors)),
        "skipped": "0", "time": "0",
    }
    root = ET.Element("testsuites", name=SUITE, **counts)
    suite = ET.SubElement(root, "testsuite", name=f"{SUITE} {options.command}", **counts)
    for finding in findings:
        _finding_case(suite, finding)
    for error in report.errors:
        case = _case(suite, f"{SUITE}.scan", f"scan {error.path}")
        ET.SubElement(case, "error", type="incomplete-scan", message=xml_text(error.message))
    if not findings and not report.errors:
        _case(suite, f"{SUITE}.scan", "no DeepSeek API keys found")
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
