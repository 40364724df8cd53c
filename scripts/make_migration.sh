#!/usr/bin/env bash
# Regenerate a migration from the models against a scratch SQLite database at head.
# Usage: scripts/make_migration.sh "message" [REV_ID]
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
export INTEGRATOR_DATABASE_URL="sqlite:///$tmp/m.db"
.venv/bin/python - "$1" "${2:-}" <<'PY'
import sys
from alembic import command
from integrator.store.migrate import alembic_config, upgrade
upgrade()
command.revision(alembic_config(), message=sys.argv[1], autogenerate=True, rev_id=sys.argv[2] or None)
PY
rm -rf "$tmp"
