#!/usr/bin/env bash
# What the test suite uses for real: Chromium (browser end-to-end tests), coturn (TURN fallback
# tests), iproute2 (network namespaces that cut the path between peers), RabbitMQ with its STOMP
# adapter (the broker relay's contract tests), nginx and openssl (the README's TLS deployment,
# tested in front of the packed server with a self-signed certificate), and Valgrind (the
# benchmark's instruction counts, whose smoke runs in the tests). Needs root.
set -euo pipefail
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v turnserver >/dev/null || missing+=(coturn)
command -v ip >/dev/null || missing+=(iproute2)
command -v rabbitmq-server >/dev/null || missing+=(rabbitmq-server)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || missing+=(nginx)
command -v openssl >/dev/null || missing+=(openssl)
command -v valgrind >/dev/null || missing+=(valgrind)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
# Debian starts no coturn service by default (TURNSERVER_ENABLED unset); the tests start their own.
# Where Debian starts an nginx service, it stays on port 80: the test runs its own on free ports.
"$(dirname "$0")/start-rabbitmq-stomp.sh"
