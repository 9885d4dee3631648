#!/bin/sh
# Runs once, when the primary's data folder is first made (docker-entrypoint-initdb.d):
# the replica's replication role and its slot, and the broker's role with its password
# (migration 0020 grants it the two views EMQX reads, and nothing else).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v repl_pw="$REPLICATION_PASSWORD" -v broker_pw="$BROKER_DB_PASSWORD" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'repl_pw';
SELECT pg_create_physical_replication_slot('replica1');
CREATE ROLE homeloop_broker WITH LOGIN PASSWORD :'broker_pw';
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
