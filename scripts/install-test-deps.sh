#!/usr/bin/env bash
# What the test suite uses for real: Chromium (browser end-to-end tests), coturn (TURN fallback
# tests), iproute2 (network namespaces that cut the path between peers) and RabbitMQ with its STOMP
# adapter (the broker relay's contract tests). Needs root.
set -euo pipefail
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v turnserver >/dev/null || missing+=(coturn)
command -v ip >/dev/null || missing+=(iproute2)
command -v rabbitmq-server >/dev/null || missing+=(rabbitmq-server)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
# Debian starts no coturn service by default (TURNSERVER_ENABLED unset); the tests start their own.
"$(dirname "$0")/start-rabbitmq-stomp.sh"
