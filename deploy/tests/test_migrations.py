"""Migrations are expand-then-contract (docs/adr/0060): a migration never
breaks the release before it, which still runs during a rollout and after a
rollback. The cargo suite shows an older image starting on a newer schema
(crates/platform/tests/migrations.rs, services/users/tests/api/rollback.rs);
this checks the SQL itself."""

from __future__ import annotations

import re

import pytest

from support import ROOT

MIGRATIONS = sorted(ROOT.glob("services/*/migrations/*/*.sql"))
# What the previous release's code cannot live with.
BREAKING = [
    (re.compile(r"\bDROP\s+(TABLE|COLUMN)\b", re.I), "drops what the previous release reads"),
    (re.compile(r"\bRENAME\b", re.I), "renames what the previous release names"),
    (re.compile(r"\bCHANGE\s+(COLUMN\s+)?\w+\s+\w+", re.I), "changes a column in place"),
    (re.compile(r"\bMODIFY\s+(COLUMN\s+)?\w+", re.I), "changes a column's type in place"),
    (re.compile(r"\bTRUNCATE\b", re.I), "empties a table"),
]
ADD_COLUMN = re.compile(r"\bADD\s+(?:COLUMN\s+)?(\w+)\s+([^,;]+)", re.I)
# A contract step names, in its first line, the release since which nothing
# uses what it removes: "-- contract: <what>, unused since <sha or date>".
CONTRACT = re.compile(r"^-- contract: .+, unused since \S+")


def _statements(path) -> str:
    text = path.read_text()
    return "\n".join(line.split("--", 1)[0] for line in text.splitlines())


def test_every_service_has_its_migrations_for_both_backends():
    services = {p.parts[-4] for p in MIGRATIONS}
    assert services >= {"users", "documents", "integration"}
    for service in services:
        versions = {
            backend: sorted(p.name.split("_", 1)[0] for p in ROOT.glob(f"services/{service}/migrations/{backend}/*.sql"))
            for backend in ("mysql", "sqlite")
        }
        assert versions["mysql"] == versions["sqlite"], service


@pytest.mark.parametrize("path", MIGRATIONS, ids=lambda p: "/".join(p.parts[-4:]))
def test_migrations_only_expand_unless_marked_as_a_contract_step(path):
    if CONTRACT.match(path.read_text()):
        return
    sql = _statements(path)
    for pattern, why in BREAKING:
        match = pattern.search(sql)
        assert not match, f"{why}: {match.group(0)!r} (a contract step starts with '-- contract: …')"
    for column, definition in ADD_COLUMN.findall(sql):
        if re.search(r"\bNOT\s+NULL\b", definition, re.I):
            assert re.search(r"\bDEFAULT\b", definition, re.I), (
                f"{column}: a NOT NULL column without a default breaks the previous release's inserts"
            )


def test_the_checks_catch_breaking_statements(tmp_path):
    """The rules above reject what they are meant to."""
    for sql in (
        "ALTER TABLE users DROP COLUMN email;",
        "ALTER TABLE users RENAME COLUMN email TO mail;",
        "ALTER TABLE users MODIFY COLUMN email VARCHAR(10);",
        "ALTER TABLE users ADD COLUMN note VARCHAR(10) NOT NULL;",
        "DROP TABLE users;",
    ):
        path = tmp_path / "20990101000000_x.sql"
        path.write_text(sql + "\n")
        with pytest.raises(AssertionError):
            test_migrations_only_expand_unless_marked_as_a_contract_step(path)
    path = tmp_path / "20990101000000_y.sql"
    path.write_text("ALTER TABLE users ADD COLUMN note VARCHAR(10) NOT NULL DEFAULT '';\n")
    test_migrations_only_expand_unless_marked_as_a_contract_step(path)
    path.write_text("-- contract: users.legacy_name, unused since 20990101\nALTER TABLE users DROP COLUMN legacy_name;\n")
    test_migrations_only_expand_unless_marked_as_a_contract_step(path)
