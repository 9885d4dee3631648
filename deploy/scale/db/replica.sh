#!/bin/sh
# A hot standby of $PRIMARY_HOST: on first start, copy the primary (pg_basebackup, streaming
# its WAL, writing standby.signal and primary_conninfo, using the slot the primary made),
# then run as a read-only server that keeps following it.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready -h "$PRIMARY_HOST" -U replicator -d postgres; do sleep 2; done
    export PGPASSWORD="$REPLICATION_PASSWORD"
    pg_basebackup -h "$PRIMARY_HOST" -U replicator -D "$PGDATA" -S replica1 -R -X stream -P
    unset PGPASSWORD
    chmod 0700 "$PGDATA"
fi
exec postgres -c hot_standby=on -c hot_standby_feedback=on -c max_connections=400
