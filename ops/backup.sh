#!/usr/bin/env bash
# Back up Tagwise while it runs: the database, then the data folder (docs/operations.md, "Backups").
#
#   ops/backup.sh DEST_DIR
#
# Reads DATABASE_URL and TAGWISE_DATA_DIR as the app does. PostgreSQL is dumped
# with pg_dump (custom format, one consistent snapshot); the embedded SQLite
# database and the embedding cache are copied with SQLite's online backup, so
# a write in progress never tears them. The database goes first: a model
# artifact written after the dump is only an extra folder, whereas a version
# row without its artifact would lose that model. The cache, the broker's
# folders and the collected static files are left out (they rebuild by
# themselves).
set -euo pipefail

dest=${1:?usage: ops/backup.sh DEST_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
data=${TAGWISE_DATA_DIR:-$here/data}
python=${PYTHON:-$here/.venv/bin/python}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$dest/tagwise-$stamp"
mkdir -p "$out"

sqlite_copy() {
  "$python" -c 'import sqlite3, sys
source, target = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
source.backup(target)
target.close()' "$1" "$2"
}

case "${DATABASE_URL:-}" in
  postgres://* | postgresql://*)
    pg_dump --format=custom --no-owner --no-privileges --dbname="$DATABASE_URL" --file="$out/database.dump" ;;
  "")
    sqlite_copy "$data/tagwise.sqlite3" "$out/tagwise.sqlite3" ;;
  *)
    echo "ops/backup.sh: DATABASE_URL must be PostgreSQL or unset (embedded SQLite)" >&2
    exit 2 ;;
esac

[ -f "$data/embeddings.sqlite" ] && sqlite_copy "$data/embeddings.sqlite" "$out/embeddings.sqlite"
# Everything else in the data folder: model artifacts and stored predictions,
# imports waiting for the worker, the embedded mode's secret key and admin password.
tar -C "$data" -czf "$out/data.tar.gz" \
  --exclude=./cache --exclude=./broker --exclude=./staticfiles \
  --exclude='./*.sqlite3*' --exclude='./embeddings.sqlite*' --exclude='./test*' --exclude='./check*' .
echo "$out"
