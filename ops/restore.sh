#!/usr/bin/env bash
# Restore a backup made by ops/backup.sh into an empty database and data folder (docs/operations.md, "Backups").
#
#   ops/restore.sh BACKUP_DIR
#
# DATABASE_URL names the database to restore into (it must exist and be
# empty: `createdb`), TAGWISE_DATA_DIR the folder (created if missing). Stop
# the web server and the workers first. Afterwards run `manage.py migrate`
# (a backup from an older release is brought up to date) and start the app.
set -euo pipefail

backup=${1:?usage: ops/restore.sh BACKUP_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
data=${TAGWISE_DATA_DIR:-$here/data}
mkdir -p "$data"

if [ -f "$backup/database.dump" ]; then
  case "${DATABASE_URL:-}" in
    postgres://* | postgresql://*) ;;
    *) echo "ops/restore.sh: this backup is of PostgreSQL; set DATABASE_URL to an empty database" >&2; exit 2 ;;
  esac
  pg_restore --no-owner --no-privileges --exit-on-error --dbname="$DATABASE_URL" "$backup/database.dump"
else
  if [ -e "$data/tagwise.sqlite3" ]; then
    echo "ops/restore.sh: $data/tagwise.sqlite3 exists; restore into an empty data folder" >&2
    exit 2
  fi
  cp "$backup/tagwise.sqlite3" "$data/tagwise.sqlite3"
fi
[ -f "$backup/embeddings.sqlite" ] && cp "$backup/embeddings.sqlite" "$data/embeddings.sqlite"
tar -C "$data" -xzf "$backup/data.tar.gz"
echo "restored $backup into ${DATABASE_URL:-$data/tagwise.sqlite3} and $data"
