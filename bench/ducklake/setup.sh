#!/usr/bin/env bash
# Environment for the DuckLake study (study.py, docs/ducklake.md), apart from the project's.
#
#   setup.sh venv DIR [PYTHON]   DIR/venv: duckdb 1.5.5, its DuckLake and postgres extension
#                                wheels and duckdb-cli 1.5.5; then installs the two extension
#                                files from those wheels into DIR/extdir, offline (INSTALL
#                                '<file>'), where study.py looks by default
#   setup.sh pg-start DIR PORT   a throwaway PostgreSQL cluster in DIR/pg on 127.0.0.1:PORT,
#                                user postgres, no password (trust); as root it runs as the
#                                `postgres` user, since PostgreSQL refuses to run as root
#   setup.sh pg-stop DIR         stops that cluster (its files stay in DIR/pg)
#
# The project pins duckdb 2.0.0, for which no DuckLake build exists, hence the separate venv.
# PostgreSQL's server programs come from Debian's `postgresql` package (`make postgres`
# installs it); PG_BIN overrides where they are looked for.
set -euo pipefail

DUCKDB_VERSION=1.5.5

usage() {
  sed -n '2,13p' "$0" >&2
  exit 2
}

make_venv() {
  local dir=$1 python=${2:-python3}
  mkdir -p "$dir"
  "$python" -m venv "$dir/venv"
  "$dir/venv/bin/python" -m pip install --quiet --upgrade pip
  "$dir/venv/bin/python" -m pip install --quiet \
    "duckdb==$DUCKDB_VERSION" \
    "duckdb-extension-ducklake==$DUCKDB_VERSION" \
    "duckdb-extension-postgres==$DUCKDB_VERSION" \
    "duckdb-cli==$DUCKDB_VERSION" \
    pytz
  install_extensions "$dir"
}

# The wheels carry the extension files; INSTALL '<file>' copies each into the extension
# directory, after which `LOAD ducklake` / `LOAD postgres` work by name with no network.
install_extensions() {
  local dir=$1
  "$dir/venv/bin/python" - "$dir/extdir" "$DUCKDB_VERSION" <<'EOF'
import sys
import sysconfig
from pathlib import Path

import duckdb

extdir, version = sys.argv[1], sys.argv[2]
site = Path(sysconfig.get_paths()["purelib"])
con = duckdb.connect(config={"extension_directory": extdir, "autoinstall_known_extensions": False})
for name in ("ducklake", "postgres"):
    path = site / f"duckdb_extension_{name}" / "extensions" / f"v{version}" / f"{name}.duckdb_extension"
    con.execute(f"INSTALL '{path}'")
con.execute("LOAD ducklake")
con.execute("LOAD postgres")
rows = con.execute(
    """SELECT extension_name, extension_version, install_path FROM duckdb_extensions()
       WHERE extension_name IN ('ducklake', 'postgres_scanner') ORDER BY 1"""
).fetchall()
print(f"duckdb {duckdb.__version__}, extension_directory {extdir}:")
for name, ext_version, path in rows:
    print(f"  {name} {ext_version} {path}")
EOF
}

pg_bin() {
  if [ -n "${PG_BIN:-}" ]; then
    echo "$PG_BIN"
    return
  fi
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$found" ]; then
    echo "PostgreSQL's server programs not found: apt-get install postgresql (or make postgres)" >&2
    exit 1
  fi
  echo "$found"
}

# PostgreSQL refuses to run as root: as root, run its programs as the `postgres` user.
as_pg_user() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_start() {
  local dir port bin
  dir=$(realpath -m "$1")
  port=$2
  bin=$(pg_bin)
  mkdir -p "$dir/pg"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$dir/pg"; fi
  if [ ! -f "$dir/pg/data/PG_VERSION" ]; then
    as_pg_user "$bin/initdb" -D "$dir/pg/data" -A trust -U postgres >"$dir/pg/initdb.log"
  fi
  as_pg_user "$bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/log" -w \
    -o "-p $port -k $dir/pg -c listen_addresses=127.0.0.1" start
  echo "catalog DSN: postgres:host=127.0.0.1 port=$port user=postgres dbname=postgres"
}

pg_stop() {
  local dir
  dir=$(realpath -m "$1")
  as_pg_user "$(pg_bin)/pg_ctl" -D "$dir/pg/data" -m fast stop
}

case "${1:-}" in
  venv) [ $# -ge 2 ] || usage; make_venv "$2" "${3:-}" ;;
  pg-start) [ $# -eq 3 ] || usage; pg_start "$2" "$3" ;;
  pg-stop) [ $# -eq 2 ] || usage; pg_stop "$2" ;;
  *) usage ;;
esac
