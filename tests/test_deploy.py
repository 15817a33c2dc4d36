"""The service units in deploy/ start commands that exist, read the shared environment file, and stop
gracefully; the example environment names only settings Forecourt knows."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import typer.main

from forecourt.cli import app
from forecourt.core.config import Settings
from tests.cli.test_commands import command_names

DEPLOY = Path(__file__).parent.parent / "deploy"


def units() -> dict[str, configparser.ConfigParser]:
    found = {}
    for path in sorted((DEPLOY / "systemd").glob("*.service")):
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.optionxform = str
        parser.read(path)
        found[path.name] = parser
    return found


def test_every_unit_runs_a_real_forecourt_command_with_the_shared_environment():
    known = command_names(typer.main.get_command(app))
    started = {}
    for name, unit in units().items():
        service = unit["Service"]
        binary, *args = service["ExecStart"].split()
        assert binary == "/opt/forecourt/venv/bin/forecourt", name
        command = " ".join(a for a in args[:2] if not a.startswith(("-", "$")))
        started[name] = command if command in known else args[0]
        assert service["EnvironmentFile"] == "/etc/forecourt/forecourt.env", name
        assert service["User"] == "forecourt" and service.get("NoNewPrivileges") == "yes", name
    assert set(started.values()) <= known, started
    assert {"forecourt-web.service", "forecourt-ingest.service", "forecourt-worker.service"} <= set(started)
    # what serves and ingests waits for the migration
    for name in ("forecourt-web.service", "forecourt-ingest.service", "forecourt-worker.service"):
        assert "forecourt-migrate.service" in units()[name]["Unit"]["Requires"], name


def test_the_example_environment_names_only_known_settings():
    known = {f"FORECOURT_{name.upper()}" for name in Settings.model_fields} | {"FORECOURT_INGEST_ARGS"}
    names = re.findall(r"^#?\s*(FORECOURT_[A-Z_]+)=", (DEPLOY / "forecourt.env.example").read_text(), re.MULTILINE)
    assert names and set(names) <= known, set(names) - known
    assert "FORECOURT_SMTP_SECURITY" in names and "FORECOURT_PORTAL_URL" in names
