#!/usr/bin/env bash
# RabbitMQ with its STOMP adapter, for the broker relay tests (test/contract/relay-broker.test.ts,
# test/contract/relay-two-nodes.test.ts): enables rabbitmq_stomp if needed, starts RabbitMQ if it is
# not running, and waits until the STOMP port accepts connections. Needs root (or the rabbitmq user).
# Env: STOMP_HOST (127.0.0.1), STOMP_PORT (61613), RABBITMQ_WAIT_S (60).
set -euo pipefail
host="${STOMP_HOST:-127.0.0.1}"
port="${STOMP_PORT:-61613}"
wait_s="${RABBITMQ_WAIT_S:-60}"

command -v rabbitmq-server >/dev/null || { echo "start-rabbitmq-stomp: rabbitmq-server is not installed (apt-get install rabbitmq-server)" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

# rabbitmqctl starts an Erlang node of its own for each call, and that start can fail now and then
# ("Distribution failed ... nodistribution", seen once in CI): a few tries, a second apart.
retry() {
  local tries=5
  until "$@"; do
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || return 1
    echo "start-rabbitmq-stomp: '$*' failed; trying again" >&2
    sleep 1
  done
}

# The relay tests make durable queues named stomprtc-test-<random>; RabbitMQ drops them a minute
# after their last use, so repeated runs on one machine leave nothing behind. Idempotent.
test_queue_policy() {
  retry rabbitmqctl -q set_policy --apply-to queues stomprtc-test-expiry '^stomprtc-test-' '{"expires":60000}' >/dev/null
}

if port_open; then
  test_queue_policy
  echo "start-rabbitmq-stomp: STOMP already accepts connections on $host:$port"
  exit 0
fi

# Both forms are idempotent: a running node starts the plugin at once; otherwise --offline writes
# the enabled_plugins file that the node reads when it starts.
if rabbitmqctl -q status >/dev/null 2>&1; then
  retry rabbitmq-plugins enable --online rabbitmq_stomp >/dev/null
else
  rabbitmq-plugins enable --offline rabbitmq_stomp >/dev/null
  echo "start-rabbitmq-stomp: starting RabbitMQ"
  rabbitmq-server -detached
fi

for _ in $(seq 1 "$wait_s"); do
  if port_open; then
    test_queue_policy
    echo "start-rabbitmq-stomp: STOMP accepts connections on $host:$port"
    exit 0
  fi
  sleep 1
done
echo "start-rabbitmq-stomp: RabbitMQ STOMP did not accept connections on $host:$port within ${wait_s}s" >&2
echo "  check: rabbitmqctl status; rabbitmq-plugins list rabbitmq_stomp; the RabbitMQ log under /var/log/rabbitmq/" >&2
exit 1
