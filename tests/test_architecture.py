"""The shape of the code: import contracts hold, and importing a module never touches a database."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    """The import-linter contracts in pyproject.toml (layers; domains never import the web framework)."""
    lint_imports = Path(sys.executable).parent / "lint-imports"
    assert lint_imports.exists(), f"lint-imports is not installed next to {sys.executable}: pip install -e '.[test]'"
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"import contracts broken:\n{output}"
    assert re.search(r"Contracts: [1-9]\d* kept, 0 broken", output), output


# Run in a fresh interpreter: in this process the modules are already imported, so importing them
# again would prove nothing. Any engine creation at import time is caught two ways: the factory's
# cache and SQLAlchemy's create_engine itself.
_PROBE = textwrap.dedent("""
    import importlib, json, pkgutil, sys
    import sqlalchemy, sqlalchemy.engine, sqlalchemy.engine.create

    calls = []
    real = sqlalchemy.create_engine

    def spy(*args, **kwargs):
        calls.append(repr(args[:1]))
        return real(*args, **kwargs)

    sqlalchemy.create_engine = sqlalchemy.engine.create_engine = sqlalchemy.engine.create.create_engine = spy

    import forecourt
    from forecourt.core import db

    before = db._engine.cache_info().currsize
    imported, skipped = [], []
    for module in pkgutil.walk_packages(forecourt.__path__, prefix="forecourt."):
        # Alembic's env script and revisions run only inside an Alembic command.
        if module.name == "forecourt.migrations.env" or module.name.startswith("forecourt.migrations.versions"):
            skipped.append(module.name)
            continue
        importlib.import_module(module.name)
        imported.append(module.name)
    print(json.dumps({"before": before, "after": db._engine.cache_info().currsize, "calls": calls,
                      "imported": imported, "skipped": skipped}))
""")


def test_importing_every_module_creates_no_engine(tmp_path):
    result = subprocess.run([sys.executable, "-c", _PROBE], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300, env={"PATH": "/usr/bin:/bin", "FORECOURT_DATABASE_URL": "sqlite:///./probe.db"})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["after"] == report["before"] == 0, "a module called get_engine() at import time"
    assert report["calls"] == [], f"a module created an engine at import time: {report['calls']}"
    assert not (tmp_path / "probe.db").exists() and not (tmp_path / "var").exists(), "import touched a database file"
    # the walk really covered the code base
    for module in ("forecourt.web.app", "forecourt.cli", "forecourt.consent.service", "forecourt.privacy.rights",
                   "forecourt.vehicles.service", "forecourt.parties.service", "forecourt.web.api.staff"):
        assert module in report["imported"], module


def test_creating_the_app_does_not_connect(tmp_path):
    """create_app makes an engine (lazily connecting) but opens no connection and writes no file."""
    probe = textwrap.dedent("""
        import json
        from sqlalchemy import event
        from sqlalchemy.pool import Pool
        connects = []
        event.listen(Pool, "connect", lambda *a: connects.append(1))
        from forecourt.core.config import get_settings
        from forecourt.web.app import create_app
        create_app(get_settings(database_url="sqlite:///./never.db"))
        print(json.dumps({"connects": len(connects)}))
    """)
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"connects": 0}
    assert not (tmp_path / "never.db").exists()


def test_every_setting_is_documented():
    """docs/architecture.md lists every setting, so an operator reading it knows all there is to set."""
    from forecourt.core.config import Settings

    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`FORECOURT_{name.upper()}`" not in text]
    assert missing == [], f"settings missing from docs/architecture.md, section Settings: {missing}"
