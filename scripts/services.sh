#!/usr/bin/env bash
# Starts the local services the test suite talks to, if they are down. Prints what it did.
set -u
started=()
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start && started+=(PostgreSQL)
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if command -v mosquitto >/dev/null && ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
  mosquitto -d -c /etc/mosquitto/mosquitto.conf && started+=(Mosquitto)
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "PostgreSQL is not running on 127.0.0.1:5432 and could not be started." >&2
  exit 1
fi
[ ${#started[@]} -gt 0 ] && echo "started: ${started[*]}" || echo "services: all running"
