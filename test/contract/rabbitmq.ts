/**
 * Whether RabbitMQ's STOMP adapter is there for the relay tests. Under CI (CI=true) it must be:
 * scripts/start-rabbitmq-stomp.sh starts it, and a missing RabbitMQ fails the run instead of
 * quietly skipping the relay. Elsewhere the relay suites are skipped with the reason printed.
 */
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { describeWith } from '../helpers/requirements.js';
import { parseRelayUrl } from '../../server/src/broker/rabbitmq-wire.js';
import { RelayBroker } from '../../server/src/broker/relay-broker.js';

/** The relay under test; BROKER_RELAY_URL overrides it. */
export const RELAY_URL = process.env.BROKER_RELAY_URL || 'stomp://guest:guest@127.0.0.1:61613';

export const quietLog = { info() {}, warn() {}, error() {} };

export function relayBroker(
  url = RELAY_URL,
  options: { reconnectDelayMs?: number; log?: typeof quietLog } = {},
): RelayBroker {
  return new RelayBroker({
    endpoint: parseRelayUrl(url, '/'),
    limits: { maxUnackedPerSubscription: 1000, maxFrameBytes: 64 * 1024 },
    decoderLimits: { maxFrameBytes: 1 << 20, maxHeaders: 128, maxHeaderLineBytes: 1 << 16 },
    log: options.log ?? quietLog,
    timeoutMs: 5_000,
    reconnectDelayMs: options.reconnectDelayMs ?? 1_000,
  });
}

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 61613) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const available = await reachable(RELAY_URL);
const why = `RabbitMQ STOMP is not reachable at ${new URL(RELAY_URL).host}: run scripts/start-rabbitmq-stomp.sh (enables rabbitmq_stomp, starts RabbitMQ, waits for port 61613)`;

/** `describe` when RabbitMQ STOMP answers (see test/helpers/requirements.ts otherwise). */
export function describeWithRabbitMq(name: string, body: () => void): void {
  describeWith(available ? undefined : why, name, body);
}

/**
 * Deletes a test cluster's presence stream (`<CLUSTER_NAME>.presence`): streams are not removed by
 * the `expires` policy that clears the other test queues. Best effort, through rabbitmqctl.
 */
export function deletePresenceStream(clusterName: string, nodeName?: string): Promise<void> {
  const args = ['-q', ...(nodeName ? ['-n', nodeName] : []), 'delete_queue', `${clusterName}.presence`];
  return new Promise((resolve) => execFile('rabbitmqctl', args, { timeout: 15_000 }, () => resolve()));
}
