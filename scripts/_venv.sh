# Sourced by scripts/test and scripts/demo: make sure .venv exists and holds the locked set.
# `source scripts/_venv.sh dev` installs requirements/dev.txt (runtime, tests and tools), `main`
# requirements/main.txt (runtime only), then the project itself without resolving anything again.
# Re-installs only when pyproject.toml or that lock file changed since the last install: the stamp
# file holds their checksum. requirements/README.md says how to refresh the locks.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="${PYTHON:-python3}"
lock="requirements/${1:-dev}.txt"
if [ ! -f "$lock" ]; then
  echo "no lock file $lock (see requirements/README.md)" >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
stamp=".venv/.installed-${1:-dev}"
sum="$(cat pyproject.toml "$lock" | sha256sum)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r "$lock"
  .venv/bin/python -m pip install -q --no-deps -e .
  # A dependency added to pyproject.toml but not to the lock shows here rather than as an ImportError.
  if ! broken="$(.venv/bin/python -m pip check)"; then
    echo "$broken" >&2
    echo "$lock does not satisfy pyproject.toml: refresh the locks (requirements/README.md)" >&2
    exit 1
  fi
  echo "$sum" > "$stamp"
fi
