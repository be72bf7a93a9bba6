"""Nothing above the persistence layer asks which database backend it runs on."""

from __future__ import annotations

import re
from pathlib import Path

import lotline

PACKAGE = Path(lotline.__file__).parent
# The persistence layer: the only places allowed to branch on the backend.
PERSISTENCE = {"db.py", "schema_guards.py", "models/types.py", "models/base.py", "uow.py", "config.py"}
BACKEND_TALK = re.compile(r"dialect|[\"']sqlite[\"']|[\"']postgresql[\"']|pg_advisory|PRAGMA")


def test_only_the_persistence_layer_branches_on_the_database_backend() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in PERSISTENCE or relative.startswith("migrations/"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if BACKEND_TALK.search(line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == [], "backend-specific code outside the persistence layer:\n" + "\n".join(offenders)
