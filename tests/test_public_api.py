"""The public API is pinned: a change to ``__all__`` or to a public signature must be deliberate."""

from __future__ import annotations

import difflib
import importlib.resources
import subprocess
import sys
import tomllib

from api_surface import surface
from conftest import ROOT


def test_public_api_matches_the_pinned_surface():
    pinned = (ROOT / "tests" / "data" / "public_api.txt").read_text(encoding="utf-8")
    now = surface()
    diff = "".join(difflib.unified_diff(pinned.splitlines(True), now.splitlines(True), "pinned", "now"))
    assert now == pinned, ("the public API changed; if on purpose, regenerate with "
                           "`python tests/api_surface.py > tests/data/public_api.txt`\n" + diff)


def test_every_public_name_exists_and_private_modules_stay_private():
    import dunning_engine as pkg

    for name in pkg.__all__:
        assert hasattr(pkg, name), name
    assert not any(n.startswith("_") and n != "__version__" for n in pkg.__all__)


def test_the_package_ships_type_information():
    assert importlib.resources.files("dunning_engine").joinpath("py.typed").is_file()


def test_hypothesis_is_an_optional_extra_and_holidays_is_pinned():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    required = [d.split(">")[0].split("=")[0].split("<")[0].strip() for d in meta["dependencies"]]
    assert "hypothesis" not in required
    assert any(d.startswith("hypothesis") for d in meta["optional-dependencies"]["check"])
    assert any(d.startswith("holidays==") for d in meta["dependencies"])


def test_check_without_hypothesis_says_how_to_install_it(tmp_path):
    code = ("import sys; sys.modules['hypothesis'] = None; sys.argv = ['dunning', 'check', sys.argv[1]]; "
            "from dunning_engine.cli.main import main; main()")
    r = subprocess.run([sys.executable, "-c", code, str(ROOT / "policies" / "b2b_friendly_cl.yaml")],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert "pip install 'dunning-engine[check]'" in r.stderr
    assert "Traceback" not in r.stderr
