"""The layout keeps its promises: services never reach an adapter, an AWS SDK or the web
framework; events and SQS batches are built in one place each; the package installs whole.

Bug caught: a service that imports ``chalicelib.adapters.…`` (or boto3, or chalice) can no
longer be tested with the fakes in ``tests/fakes.py`` and hides its real dependencies.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHALICELIB = ROOT / "chalicelib"
# Not services: the outside world (adapters, carriers), the HTTP framework, and the glue
# that builds or drives services (wiring, Lambda consumers, the batch helper, logging).
OUTER = ("adapters/", "carriers/", "api/")
GLUE = {"consumers.py", "sqs_batches.py", "observability.py", "config.py", "__init__.py"}
WIRING = "wiring/"  # the container, one section a module
# The carrier contract is a port (protocol and data types), not an adapter; buying once
# and pacing tracking are carrier policy without I/O.
ALLOWED = {"chalicelib.carriers.base", "chalicelib.carriers.purchase",
           "chalicelib.carriers.pacing"}
FORBIDDEN = ("chalicelib.adapters", "chalicelib.carriers", "chalicelib.wiring",
             "chalicelib.api", "boto3", "botocore", "chalice", "requests",
             "aws_lambda_powertools.utilities.batch")


def service_modules() -> list[Path]:
    found = []
    for path in sorted(CHALICELIB.rglob("*.py")):
        relative = path.relative_to(CHALICELIB).as_posix()
        if relative.startswith((*OUTER, WIRING)) or relative in GLUE:
            continue
        found.append(path)
    return found


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def violations(path: Path) -> list[str]:
    bad = []
    for name in imported_modules(path):
        if any(name == allowed or name.startswith(f"{allowed}.") for allowed in ALLOWED):
            continue
        if any(name == prefix or name.startswith(f"{prefix}.") for prefix in FORBIDDEN):
            bad.append(name)
    return sorted(bad)


def test_the_scan_sees_the_services() -> None:
    names = {p.relative_to(CHALICELIB).as_posix() for p in service_modules()}
    assert {"send.py", "send_worker.py", "physical_mail.py", "tracking/ses_events.py",
            "webhooks.py", "retention.py", "vocabulary.py"} <= names
    assert not any(n.startswith((*OUTER, WIRING)) for n in names)


@pytest.mark.parametrize("path", service_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_service_imports_an_adapter_an_sdk_or_the_web_framework(path: Path) -> None:
    assert violations(path) == [], (
        f"{path.relative_to(ROOT)} imports {violations(path)}: declare a port (a Protocol "
        "beside the service or in chalicelib/ports.py) and let wiring/ pass the adapter in")


def test_the_guard_fails_on_an_adapter_import(tmp_path: Path) -> None:
    """The guard itself: a service line importing an adapter, boto3 or chalice is caught."""
    service = tmp_path / "sneaky.py"
    service.write_text("from chalicelib.adapters.dynamo import DynamoTable\n"
                       "import boto3\n"
                       "def f():\n    from chalice.app import Response\n"
                       "from chalicelib.carriers.base import CarrierError\n")
    assert violations(service) == ["boto3", "chalice.app", "chalice.app.Response",
                                   "chalicelib.adapters.dynamo",
                                   "chalicelib.adapters.dynamo.DynamoTable"]


def _files_matching(pattern: str) -> set[str]:
    """What ``git grep -l -E pattern -- chalicelib app.py`` lists, untracked files too."""
    regex = re.compile(pattern)
    return {path.relative_to(ROOT).as_posix()
            for path in [*CHALICELIB.rglob("*.py"), ROOT / "app.py"]
            if regex.search(path.read_text())}


def test_event_dicts_are_built_only_by_the_vocabulary() -> None:
    # An event dict literal starts with its id; only Event.item() may write one.
    assert _files_matching(r'\{"event_id": ') == {"chalicelib/vocabulary.py"}


def test_batch_processor_is_used_only_by_the_batch_helper() -> None:
    assert _files_matching(r"BatchProcessor\(") == {"chalicelib/sqs_batches.py"}


def test_a_plain_install_ships_every_subpackage() -> None:
    """Bug caught: a hand-written package list that forgets one (``chalicelib.api.routes``
    was once left out), so only the editable install worked."""
    from setuptools import find_packages
    expected = set(find_packages(str(ROOT), include=["chalicelib*", "letterbox*"]))
    with_code = {path.parent.relative_to(ROOT).as_posix().replace("/", ".")
                 for root in ("chalicelib", "letterbox") for path in (ROOT / root).rglob("*.py")}
    assert with_code == expected, "a folder of code without __init__.py is not installed"
    import tomllib
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "packages" in config and "find" in config["packages"], \
        "pyproject.toml must find packages, not list them by hand"


def test_wiring_passes_no_lambdas() -> None:
    """Bug caught: a collaborator wired through a lambda no import shows."""
    sections = sorted((CHALICELIB / "wiring").glob("*.py"))
    assert len(sections) > 1, "the container's sections moved: point this test at them"
    lambdas = [f"{path.name}:{n.lineno}" for path in sections
               for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Lambda)]
    assert lambdas == []


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[re.sub(r"\[.*\]", "", name).lower().replace("_", "-")] = version.strip()
    return pins


def test_the_lock_pins_every_requirement_at_the_same_version() -> None:
    """Bug caught: a dependency added (or bumped) in requirements*.txt but not re-locked, so
    `make test` installs something else than the file says (run `make lock`)."""
    locked = _pins(ROOT / "requirements-dev.lock")
    wanted = {**_pins(ROOT / "requirements.txt"), **_pins(ROOT / "requirements-dev.txt")}
    assert {n: v for n, v in wanted.items() if locked.get(n) != v} == {}
    assert len(locked) > len(wanted), "the lock pins the transitive packages too"
