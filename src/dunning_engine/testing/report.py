"""Reports of a scenario run: text for people, diagnostics (for the JSON document of ``dunning test``)
and JUnit XML for CI systems."""

from __future__ import annotations

from typing import Sequence

__all__ = ["summary", "render_text", "diagnostics_of", "render_junit"]


def summary(results: Sequence) -> dict:
    passed = sum(1 for r in results if r.status == "passed")
    failed = sum(1 for r in results if r.status == "failed")
    errors = sum(1 for r in results if r.status == "error")
    return {"cases": passed + failed, "passed": passed, "failed": failed, "errors": errors,
            "ok": failed == 0 and errors == 0 and passed > 0}


def render_text(results: Sequence, *, list_cases: str = "all") -> str:
    """Case lines (``all``, ``failed`` or ``none``), then each failure in full, then a summary line."""
    lines = []
    for r in results:
        if list_cases == "none" or (list_cases == "failed" and r.passed):
            continue
        if r.status == "error":
            lines.append(f"ERROR {r.file}")
        else:
            lines.append(f"{'ok   ' if r.passed else 'FAIL '} {r.file}::{r.name}")
    bad = [r for r in results if not r.passed]
    for r in bad:
        lines.append("")
        lines.append("=" * 78)
        lines.append(r.report())
    s = summary(results)
    lines.append("")
    parts = [f"{s['passed']} passed", f"{s['failed']} failed"]
    if s["errors"]:
        parts.append(f"{s['errors']} file(s) with errors")
    total = f"{s['cases']} case(s): " + ", ".join(parts)
    if s["cases"] == 0 and not s["errors"]:
        total = "no scenario case found (scenario files are named *.test.yaml)"
    lines.append(total)
    return "\n".join(lines)


def diagnostics_of(results: Sequence) -> list:
    """What went wrong, as diagnostics: the errors of files that could not be loaded, one
    ``scenario-failed`` per failing case (its first difference in the message), or ``no-scenarios``."""
    from ..errors import Diagnostic

    out: list[Diagnostic] = []
    for r in results:
        if r.status == "error":
            out += r.diagnostics or [Diagnostic("invalid-input", r.failures[0] if r.failures else "error",
                                                file=r.file)]
        elif r.status == "failed":
            first = r.failures[0].splitlines()[0] if r.failures else "failed"
            out.append(Diagnostic("scenario-failed", f"case '{r.name}' failed: {first}", file=r.file, line=r.line,
                                  case=r.name))
    s = summary(results)
    if s["cases"] == 0 and not s["errors"]:
        out.append(Diagnostic("no-scenarios", "no scenario case found (scenario files are named *.test.yaml)"))
    return out


def render_junit(results: Sequence, name: str = "dunning scenarios") -> str:
    """JUnit XML: one <testsuite> per scenario file, one <testcase> per case."""
    import xml.etree.ElementTree as ET

    root = ET.Element("testsuites", name=name)
    by_file: dict[str, list] = {}
    for r in results:
        by_file.setdefault(r.file, []).append(r)
    tot = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
    for file, rs in by_file.items():
        suite = ET.SubElement(root, "testsuite", name=file)
        counts = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
        for r in rs:
            tc = ET.SubElement(suite, "testcase", classname=file.replace("/", ".").removesuffix(".test.yaml"),
                               name=r.name, file=file, time=f"{r.duration:.3f}")
            if r.line:
                tc.set("line", str(r.line))
            counts["tests"] += 1
            counts["time"] += r.duration
            if r.status == "failed":
                counts["failures"] += 1
                first = r.failures[0].splitlines()[0] if r.failures else "failed"
                el = ET.SubElement(tc, "failure", message=first, type="ScenarioFailure")
                el.text = r.report()
            elif r.status == "error":
                counts["errors"] += 1
                first = r.failures[0].splitlines()[0] if r.failures else "error"
                el = ET.SubElement(tc, "error", message=first, type="ScenarioError")
                el.text = r.report()
        for k, v in counts.items():
            suite.set(k, f"{v:.3f}" if k == "time" else str(v))
            tot[k] += v
    for k, v in tot.items():
        root.set(k, f"{v:.3f}" if k == "time" else str(v))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
