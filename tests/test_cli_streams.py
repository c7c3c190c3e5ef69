"""Closed, full and broken output streams, closed input, and out-of-range dates, with real processes.

A failed write names the file (or "standard output") and exits 1 without a traceback, in every
command that writes (SPEC §12); a date outside 1900–2200 in an option is wrong usage (exit 2).
"""

import os
import resource
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import ROOT

from dunning_engine.cli.main import cli

EX = ROOT / "examples" / "b2b_chile"
POLICY = str(ROOT / "policies" / "b2b_friendly_cl.yaml")
DSL = str(ROOT / "policies" / "b2b_friendly_cl.dunning")
RECORDS = ["--invoices", str(EX / "invoices.csv"), "--customers", str(EX / "customers.csv"),
           "--events", str(EX / "events.jsonl")]
RUN = ["run", "--policy", POLICY, *RECORDS, "--until", "2026-07-31"]
EXPLAIN = ["explain", "--policy", POLICY, *RECORDS, "--until", "2026-07-31", "--case", "F-1002"]
SCENARIOS = str(ROOT / "tests" / "scenarios" / "spec_example.test.yaml")
LINT_DEFECTS = str(ROOT / "tests" / "data" / "lint_defects.yaml")
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}

# Every command that writes a result on stdout, with arguments that make it write something (one
# entry per way of writing: JSONL from the engine, text, bytes, a report after running cases).
WRITERS = {
    "run": RUN,
    "explain": EXPLAIN,
    "explain-json": [*EXPLAIN, "--format", "json"],
    "validate": ["validate", "-v", POLICY],
    "validate-json": ["validate", "--format", "json", POLICY],
    "convert": ["convert", POLICY, "--to", "dsl"],
    "fmt": ["fmt", DSL],
    "graph": ["graph", POLICY],
    "lint": ["lint", LINT_DEFECTS],
    "test": ["test", SCENARIOS],
    "check": ["check", POLICY, "-n", "1", "--days", "40", "--format", "json"],
}
# Those whose writing differs in how a full device shows up (buffered JSONL, echo, bytes, a report).
FULL = ["run", "explain", "explain-json", "convert", "test"]

needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")


def dunning(args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dunning_engine.cli.main", *args], env=ENV, capture_output=True,
                          text=True, timeout=120, **kw)


def close_fd(fd):
    return lambda: os.close(fd)


def assert_clean_failure(r, message: str):
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr, r.stderr


def test_every_writer_writes_something_when_stdout_is_open():
    # (so that the failures below come from writing, not from an empty output; in process, for speed)
    for name, args in WRITERS.items():
        r = CliRunner().invoke(cli, args)
        assert r.stdout, (name, r.exit_code, r.output)


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_closed_stdout_is_named_and_exits_1(name):
    r = subprocess.run([sys.executable, "-m", "dunning_engine.cli.main", *WRITERS[name]], env=ENV,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=120,
                       preexec_fn=close_fd(1))
    assert_clean_failure(r, "error: cannot write standard output: it is closed")


@needs_dev_full
@pytest.mark.parametrize("name", FULL)
def test_full_stdout_is_named_and_exits_1(name):
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "dunning_engine.cli.main", *WRITERS[name]], env=ENV,
                           stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert_clean_failure(r, "error: cannot write standard output: no space left on the device")


@pytest.mark.parametrize("name", ["run", "convert"])
def test_a_reader_that_went_away_is_named_and_exits_1(name):
    read, write = os.pipe()
    os.close(read)  # nobody will read: the first write gets EPIPE
    try:
        r = subprocess.run([sys.executable, "-m", "dunning_engine.cli.main", *WRITERS[name]], env=ENV,
                           stdout=write, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    assert_clean_failure(r, "error: cannot write standard output: the program reading it has stopped (broken pipe)")


@needs_dev_full
@pytest.mark.parametrize("option", ["--out", "--states", "--rejects"])
def test_full_output_files_of_run_are_named(tmp_path, option):
    events = tmp_path / "events.jsonl"  # one rejected record, so that --rejects has something to write
    events.write_text((EX / "events.jsonl").read_text() + "not json\n")
    args = [a if a != str(EX / "events.jsonl") else str(events) for a in RUN]
    r = dunning([*args, option, "/dev/full"])
    assert_clean_failure(r, "error: cannot write '/dev/full': no space left on the device")


@needs_dev_full
def test_full_report_file_of_test_is_named():
    assert_clean_failure(dunning(["test", SCENARIOS, "--junit", "/dev/full"]),
                         "error: cannot write '/dev/full': no space left on the device")


def _no_file_growth():
    # Files may not grow (RLIMIT_FSIZE 0) and SIGXFSZ is ignored, so a write fails with EFBIG: a write
    # error on a real file that happens whoever runs the test (root writes read-only files).
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def test_fmt_write_that_fails_is_named(tmp_path):
    f = tmp_path / "p.dunning"
    f.write_text(open(DSL).read().replace("policy b2b_friendly_cl", "policy   b2b_friendly_cl"))
    assert_clean_failure(dunning(["fmt", "-w", str(f)], preexec_fn=_no_file_growth),
                         f"error: cannot write '{f}': File too large")


def test_a_report_file_in_a_missing_folder_is_named(tmp_path):
    target = str(tmp_path / "missing" / "report.xml")
    r = CliRunner().invoke(cli, ["test", SCENARIOS, "--junit", target])
    assert r.exit_code == 1
    assert f"error: cannot write '{target}': No such file or directory" in r.stderr


def test_run_with_stdout_closed_still_writes_its_out_file(tmp_path):
    out = tmp_path / "actions.jsonl"
    r = subprocess.run([sys.executable, "-m", "dunning_engine.cli.main", *RUN, "--out", str(out)], env=ENV,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=120,
                       preexec_fn=close_fd(1))
    assert r.returncode == 0, r.stderr
    assert len(out.read_text().splitlines()) == 28


@pytest.mark.parametrize("command", ["run", "explain"])
def test_closed_stdin_is_named_and_exits_1(command):
    args = (RUN if command == "run" else EXPLAIN)
    args = [a if a != str(EX / "invoices.csv") else "-" for a in args]
    r = subprocess.run([sys.executable, "-m", "dunning_engine.cli.main", *args], env=ENV,
                       stdin=subprocess.DEVNULL, capture_output=False, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=120, preexec_fn=close_fd(0))
    assert_clean_failure(r, "error: cannot read standard input (--invoices -): it is closed")


def test_invoices_from_stdin_are_read():
    args = [a if a != str(EX / "invoices.csv") else "-" for a in RUN]
    r = dunning(args, input=(EX / "invoices.csv").read_text())
    assert r.returncode == 0, r.stderr
    assert r.stdout == CliRunner().invoke(cli, RUN).stdout


def test_two_inputs_from_stdin_are_wrong_usage():
    args = [a if a not in (str(EX / "invoices.csv"), str(EX / "events.jsonl")) else "-" for a in RUN]
    r = dunning(args, input="")
    assert r.returncode == 2
    assert "only one input can be read from standard input ('-'), not --invoices and --events" in r.stderr


@pytest.mark.parametrize("args, option, value", [
    (RUN[:-2], "--until", "9999-12-31T23:59:59"),
    (RUN[:-2], "--until", "1899-12-31"),
    (RUN, "--since", "0001-01-01"),
    (RUN, "--since", "2201-01-01T00:00"),
    (EXPLAIN[:-4] + ["--case", "F-1002"], "--until", "9999-12-31"),
])
def test_dates_outside_1900_2200_in_options_are_wrong_usage(args, option, value):
    r = dunning([*args, option, value])
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert f"Invalid value for '{option}': '{value}' is outside the supported years 1900–2200" in r.stderr
    assert "Traceback" not in r.stderr


def test_malformed_dates_in_options_are_wrong_usage():
    r = dunning([*RUN[:-2], "--until", "2026-13-01"])
    assert r.returncode == 2 and "'2026-13-01' is not an ISO 8601 date or date-time" in r.stderr
