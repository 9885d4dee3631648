#!/bin/sh
# Start Mosquitto once provisioning has written its auth files, and reload it (SIGHUP) when
# they change: that is how a new or revoked device takes effect without a broker restart.
set -eu
auth=/mosquitto/auth
until [ -s "$auth/passwd" ] && [ -s "$auth/acl" ]; do
    echo "waiting for $auth/passwd and $auth/acl (written by the migrate job)"
    sleep 2
done
mosquitto -c /mosquitto/config/mosquitto.conf &
pid=$!
trap 'kill -TERM "$pid"' TERM INT
last=""
while kill -0 "$pid" 2>/dev/null; do
    now=$(stat -c %Y "$auth/passwd" "$auth/acl" | tr '\n' ' ')
    if [ -n "$last" ] && [ "$now" != "$last" ]; then
        kill -HUP "$pid"
    fi
    last=$now
    sleep 2
done
wait "$pid"
