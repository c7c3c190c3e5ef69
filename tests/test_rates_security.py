"""Rate table files stay inside the policy's folder (SPEC §1 "rates", §12; issue 11).

A policy is untrusted: ``rates: {UF: /etc/passwd}`` used to validate, and ``run`` printed the
file's first line in its error. Now a path must be relative to the policy file and resolve inside
its folder, to a regular file of at most 10 MB; ``validate`` refuses the others with the position
of the path, nothing blocks (a FIFO is never opened), and no error quotes a line of a file outside
the folder. Each refusal is checked in both policy forms, through the CLI and the Python API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from dunning_engine import load_policy, load_policy_text, simulate
from dunning_engine.cli.main import cli
from dunning_engine.io import rates as rates_mod
from dunning_engine.io.rates import MAX_RATE_BYTES, check_rate_files, load_rates, read_rate_csv
from dunning_engine.errors import PolicyError

SECRET = "SECRET-LINE-must-never-be-quoted"

YAML = """policy: t
currency: CLP
states:
  open:
    initial: true
    rules:
      - at: due
        do: [{custom: {name: uf, params: {value: 'rate("UF")'}}}]
rates:
  UF: "PATH"
"""

DSL = '''policy t version 1
currency CLP

state open initial:
    at due:
        custom "uf" with value = rate("UF")

rate UF "PATH"
'''

FORMS = {"yaml": (YAML, "p.yaml"), "dsl": (DSL, "p.dunning")}
INVOICE = {"id": "A1", "customer": "C1", "amount": "1000", "issued": "2026-04-01", "due": "2026-04-30"}


@pytest.fixture
def place(tmp_path):
    """A policy folder ``pol`` with a good table, next to a folder ``outside`` holding a secret."""
    folder = tmp_path / "pol"
    (folder / "rates").mkdir(parents=True)
    (folder / "rates" / "uf.csv").write_text("2026-04-29,39000.10\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text(SECRET + "\n")
    return folder, outside


def write_policy(folder: Path, form: str, path: str) -> Path:
    template, name = FORMS[form]
    p = folder / name
    p.write_text(template.replace("PATH", path))
    return p


def path_position(policy_file: Path, path: str) -> tuple[int, int]:
    """Line and column where the path (its opening quote) is written in the policy."""
    for n, line in enumerate(policy_file.read_text().splitlines(), start=1):
        if f'"{path}"' in line:
            return n, line.index(f'"{path}"') + 1
    raise AssertionError(path)


# Each refusal: how to make it (given the policy folder and the outside folder), the path written in
# the policy, and what the error says.
def _absolute(folder, outside):
    return str(outside / "secret.csv")


def _dotdot(folder, outside):
    return "../outside/secret.csv"


def _dotdot_through_a_subfolder(folder, outside):
    return "rates/../../outside/secret.csv"


def _link_out(folder, outside):
    os.symlink(outside / "secret.csv", folder / "rates" / "link.csv")
    return "rates/link.csv"


def _folder_link_out(folder, outside):
    os.symlink(outside, folder / "ext")
    return "ext/secret.csv"


def _fifo(folder, outside):
    os.mkfifo(folder / "rates" / "fifo.csv")
    return "rates/fifo.csv"


def _dev_zero(folder, outside):
    return "/dev/zero"


def _link_to_dev_zero(folder, outside):
    os.symlink("/dev/zero", folder / "rates" / "zero.csv")
    return "rates/zero.csv"


def _link_to_dev_stdin(folder, outside):
    os.symlink("/dev/stdin", folder / "rates" / "stdin.csv")
    return "rates/stdin.csv"


def _directory(folder, outside):
    return "rates"


def _too_big(folder, outside):
    with open(folder / "rates" / "big.csv", "wb") as f:
        f.truncate(MAX_RATE_BYTES + 1)  # sparse: no disk space used
    return "rates/big.csv"


def _missing(folder, outside):
    return "rates/nope.csv"


REFUSALS = {
    "absolute": (_absolute, "the path is absolute"),
    "dotdot": (_dotdot, "leads out of the policy's folder"),
    "dotdot-through-a-subfolder": (_dotdot_through_a_subfolder, "leads out of the policy's folder"),
    "link-out": (_link_out, "leads out of the policy's folder (through a symbolic link)"),
    "folder-link-out": (_folder_link_out, "leads out of the policy's folder (through a symbolic link)"),
    "fifo": (_fifo, "is a named pipe (FIFO), not a regular file"),
    "dev-zero": (_dev_zero, "the path is absolute"),
    "link-to-dev-zero": (_link_to_dev_zero, "leads out of the policy's folder"),
    "link-to-dev-stdin": (_link_to_dev_stdin, "leads out of the policy's folder"),
    "directory": (_directory, "is a directory, not a regular file"),
    "too-big": (_too_big, "the limit is 10,000,000 (10 MB)"),
    "missing": (_missing, "no such file"),
}
CASES = [(form, name) for name in REFUSALS for form in FORMS]


def make(place, form, name):
    folder, outside = place
    setup, expected = REFUSALS[name]
    written = setup(folder, outside)
    return write_policy(folder, form, written), written, expected


def assert_positioned(err: PolicyError, policy_file: Path, written: str, expected: str) -> None:
    assert expected in err.message, err.message
    assert f"rate table 'UF'" in err.message
    assert (err.file, (err.line, err.column)) == (str(policy_file), path_position(policy_file, written))
    assert err.help
    rendered = err.render()
    assert "^" in rendered and SECRET not in rendered


@pytest.mark.parametrize("form, name", CASES, ids=[f"{f}-{n}" for f, n in CASES])
def test_load_policy_refuses_the_path_at_its_position(place, form, name):
    policy_file, written, expected = make(place, form, name)
    with pytest.raises(PolicyError) as e:
        load_policy(policy_file)
    assert len(e.value.errors) == 1
    assert_positioned(e.value.errors[0], policy_file, written, expected)


@pytest.mark.parametrize("form, name", CASES, ids=[f"{f}-{n}" for f, n in CASES])
def test_simulate_refuses_the_path_and_never_quotes_the_file(place, form, name):
    policy_file, written, expected = make(place, form, name)
    with pytest.raises(PolicyError) as e:
        simulate(str(policy_file), invoices=[INVOICE], until="2026-05-01")
    assert_positioned(e.value.errors[0], policy_file, written, expected)
    assert SECRET not in str(e.value)


@pytest.mark.parametrize("form, name", CASES, ids=[f"{f}-{n}" for f, n in CASES])
def test_the_cli_refuses_the_path_in_validate_and_run(place, form, name):
    policy_file, written, expected = make(place, form, name)
    line, col = path_position(policy_file, written)
    invoices = policy_file.parent.parent / "inv.jsonl"
    invoices.write_text(json.dumps(INVOICE) + "\n")
    runner = CliRunner()
    for args in (["validate", str(policy_file)],
                 ["run", "--policy", str(policy_file), "--invoices", str(invoices), "--until", "2026-05-01"]):
        res = runner.invoke(cli, args)
        assert res.exit_code == 1, (args, res.output)
        assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
        assert "Traceback" not in res.output
        assert f"{policy_file}:{line}:{col}: error: cannot read rate table 'UF'" in res.output, res.output
        assert expected in res.output
        assert SECRET not in res.output


def test_the_original_report_etc_passwd_is_refused_by_validate(place):
    folder, _ = place
    policy_file = write_policy(folder, "yaml", "/etc/passwd")
    res = CliRunner().invoke(cli, ["validate", str(policy_file)])
    assert res.exit_code == 1 and "root:" not in res.output and "the path is absolute" in res.output


def _validate_in_a_process(policy_file: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(Path(rates_mod.__file__).parents[2]))
    return subprocess.run([sys.executable, "-m", "dunning_engine.cli.main", "validate", str(policy_file)],
                          capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("form", FORMS)
def test_validate_returns_promptly_on_a_fifo(place, form):
    """Opening a FIFO for reading waits for a writer: validate must not even open it."""
    policy_file, _, _ = make(place, form, "fifo")
    started = time.monotonic()
    proc = _validate_in_a_process(policy_file)  # a hang would end in TimeoutExpired
    assert time.monotonic() - started < 60
    assert proc.returncode == 1 and "named pipe (FIFO)" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


def _returns_within(fn, seconds: float, unblock: Path):
    """Run fn in a thread; it must finish within ``seconds`` (else unblock the FIFO and fail)."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the test
            outcome["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():  # blocked on the FIFO: give it a writer so that the thread ends, then fail
        fd = os.open(unblock, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        t.join(10)
        pytest.fail("blocked on a FIFO")
    return outcome


def test_the_api_never_opens_a_fifo(place):
    policy_file, _, _ = make(place, "yaml", "fifo")
    fifo = policy_file.parent / "rates" / "fifo.csv"
    policy = load_policy_text(policy_file.read_text())  # no folder: load succeeds
    for fn in (lambda: load_rates(policy, base_dir=policy_file.parent),
               lambda: read_rate_csv(fifo, "UF"),
               lambda: simulate(str(policy_file), invoices=[INVOICE], until="2026-05-01")):
        outcome = _returns_within(fn, 30, fifo)
        assert isinstance(outcome.get("error"), PolicyError), outcome
        assert "named pipe (FIFO)" in outcome["error"].message


def test_a_file_swapped_for_a_fifo_after_the_check_is_refused_by_fstat(place, monkeypatch):
    """stat said 'regular file', then a FIFO took its place: the non-blocking open returns at once
    and fstat on what was opened refuses it."""
    folder, _ = place
    fifo = folder / "rates" / "swapped.csv"
    os.mkfifo(fifo)
    regular = os.stat(folder / "rates" / "uf.csv")
    real_stat = os.stat
    monkeypatch.setattr(rates_mod.os, "stat", lambda p, *a, **k: regular if os.fspath(p) == str(fifo) else real_stat(p, *a, **k))
    outcome = _returns_within(lambda: read_rate_csv(fifo, "UF"), 30, fifo)
    assert isinstance(outcome.get("error"), PolicyError) and "named pipe (FIFO)" in outcome["error"].message


def test_devices_are_refused_from_their_stat(place):
    """/dev/zero read from a folder that holds it: a device, never read (it would never end)."""
    with pytest.raises(PolicyError, match="is a device, not a regular file"):
        read_rate_csv("/dev/zero", "UF")
    policy = load_policy_text(YAML.replace("PATH", "zero"))
    with pytest.raises(PolicyError, match="is a device, not a regular file"):
        check_rate_files(policy, "/dev")
    with pytest.raises(PolicyError, match="is a device, not a regular file"):
        load_rates(policy, base_dir="/dev")


def test_a_file_that_grows_past_the_limit_after_the_check_is_cut_off(place, monkeypatch):
    folder, _ = place
    big = folder / "rates" / "big.csv"
    with open(big, "wb") as f:
        f.truncate(MAX_RATE_BYTES + 10)
    small = os.stat(folder / "rates" / "uf.csv")
    real_stat, real_fstat = os.stat, os.fstat
    monkeypatch.setattr(rates_mod.os, "stat", lambda p, *a, **k: small if os.fspath(p) == str(big) else real_stat(p, *a, **k))
    with pytest.raises(PolicyError, match="the limit is 10,000,000"):
        read_rate_csv(big, "UF")  # the check saw a small file; fstat on the opened one did not
    opened = {}
    monkeypatch.setattr(os, "open", lambda p, *a, **k: opened.setdefault(os.fspath(p), real_open(p, *a, **k)))
    monkeypatch.setattr(rates_mod.os, "fstat", lambda fd: small if fd in opened.values() else real_fstat(fd))
    with pytest.raises(PolicyError, match="more than 10,000,000 bytes"):
        read_rate_csv(big, "UF")  # fstat lied too: reading stops one byte past the limit


real_open = os.open


@pytest.mark.parametrize("form", FORMS)
def test_paths_that_stay_inside_the_folder_are_read(place, form):
    folder, _ = place
    os.symlink(folder / "rates" / "uf.csv", folder / "rates" / "alias.csv")  # a link inside the folder
    for written in ("rates/uf.csv", "./rates/uf.csv", "rates/../rates/uf.csv", "rates/alias.csv"):
        policy_file = write_policy(folder, form, written)
        r = simulate(str(policy_file), invoices=[INVOICE], until="2026-05-01")
        assert str(r.actions[0]["params"]["params"]["value"]) == "39000.10", written
        res = CliRunner().invoke(cli, ["validate", str(policy_file)])
        assert res.exit_code == 0, res.output


def test_a_policy_folder_reached_through_a_link_is_fine(place, tmp_path):
    folder, _ = place
    os.symlink(folder, tmp_path / "linked")
    policy_file = write_policy(folder, "yaml", "rates/uf.csv")
    r = simulate(str(tmp_path / "linked" / policy_file.name), invoices=[INVOICE], until="2026-05-01")
    assert str(r.actions[0]["params"]["params"]["value"]) == "39000.10"


def test_a_bad_row_inside_the_folder_is_still_quoted_with_its_line(place):
    folder, _ = place
    (folder / "rates" / "uf.csv").write_text("2026-04-29,abc\n")
    policy_file = write_policy(folder, "yaml", "rates/uf.csv")
    with pytest.raises(PolicyError) as e:
        simulate(str(policy_file), invoices=[INVOICE], until="2026-05-01")
    assert e.value.file.endswith("uf.csv") and "2026-04-29,abc" in e.value.render()


def test_a_csv_line_the_csv_module_refuses_is_an_error_with_its_line(place):
    folder, _ = place
    (folder / "rates" / "uf.csv").write_text("2026-04-28,1\n2026-04-29," + "9" * 200_000 + "\n")
    with pytest.raises(PolicyError) as e:
        read_rate_csv(folder / "rates" / "uf.csv", "UF")
    assert e.value.line == 2 and "not a CSV line" in e.value.message


# -- a policy given as text (docs/decisions.md) -----------------------------------------------------

@pytest.mark.parametrize("form", FORMS)
def test_text_refuses_absolute_and_climbing_paths_when_loaded(form):
    for written, expected in (("/etc/passwd", "the path is absolute"), ("../x.csv", "leads out of the policy's folder")):
        text = FORMS[form][0].replace("PATH", written)
        with pytest.raises(PolicyError) as e:
            load_policy_text(text, format=form)
        err = e.value.errors[0]
        assert expected in err.message
        line = next(n for n, l in enumerate(text.splitlines(), 1) if written in l)
        assert err.line == line


@pytest.mark.parametrize("form", FORMS)
def test_text_has_no_folder_so_its_file_tables_are_not_read(place, form, monkeypatch):
    folder, _ = place
    monkeypatch.chdir(folder)  # rates/uf.csv exists in the current directory: still not read
    text = FORMS[form][0].replace("PATH", "rates/uf.csv")
    policy = load_policy_text(text, format=form)  # loads: convert and fmt work on any text
    assert policy.folder is None
    with pytest.raises(PolicyError) as e:
        simulate(policy, invoices=[INVOICE], until="2026-05-01")
    assert "has no folder" in e.value.message and "inline" in e.value.help
    assert e.value.line == next(n for n, l in enumerate(text.splitlines(), 1) if "rates/uf.csv" in l)
    with pytest.raises(PolicyError, match="has no folder"):
        simulate(text, invoices=[INVOICE], until="2026-05-01")  # text handed to simulate directly


@pytest.mark.parametrize("form", FORMS)
def test_text_with_a_folder_is_confined_to_it(place, form):
    folder, outside = place
    template = FORMS[form][0]
    policy = load_policy_text(template.replace("PATH", "rates/uf.csv"), format=form, folder=folder)
    r = simulate(policy, invoices=[INVOICE], until="2026-05-01")
    assert str(r.actions[0]["params"]["params"]["value"]) == "39000.10"
    os.symlink(outside / "secret.csv", folder / "rates" / "link.csv")
    with pytest.raises(PolicyError, match="through a symbolic link") as e:
        load_policy_text(template.replace("PATH", "rates/link.csv"), format=form, folder=folder)
    assert SECRET not in e.value.render()


def test_base_dir_given_to_load_rates_confines_too(place):
    folder, outside = place
    policy = load_policy_text(YAML.replace("PATH", "rates/uf.csv"))
    assert load_rates(policy, base_dir=folder)["UF"][0][1] == rates_mod.Decimal("39000.10")
    os.symlink(outside, folder / "ext")
    policy = load_policy_text(YAML.replace("PATH", "ext/secret.csv"))
    with pytest.raises(PolicyError, match="through a symbolic link") as e:
        load_rates(policy, base_dir=folder)
    assert SECRET not in e.value.render()
