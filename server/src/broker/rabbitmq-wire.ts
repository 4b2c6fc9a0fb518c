import { StompRtcError } from '../../../shared/src/errors.js';
import { createHeaders, type StompFrame, type StompHeaders } from '../../../shared/src/stomp/frame.js';
import { isUserQueue } from './destinations.js';
import type { BrokerMessage } from './types.js';

/**
 * How our destinations and headers look on RabbitMQ's STOMP adapter, both ways: the relay broker
 * (relay-broker.ts) decides what to publish and subscribe; this module only names and carries.
 */

export interface RelayEndpoint {
  readonly host: string;
  readonly port: number;
  readonly login: string;
  readonly passcode: string;
  /** RabbitMQ virtual host, sent as CONNECT `host`. */
  readonly vhost: string;
}

/**
 * Our carried headers travel as one JSON header: RabbitMQ would act on some user header names
 * (`reply-to`, `persistent`, `priority`, `expiration`) and hands back headers of its own
 * (`redelivered`, even the SEND's `receipt`), so a verbatim pass-through could not be trusted.
 */
const CARRIED_HEADERS = 'stomprtc-headers';
/** The node that published a message; a node has already delivered its own topic messages locally. */
const ORIGIN = 'stomprtc-origin';
/** What RabbitMQ puts on a MESSAGE that is not the producer's, for messages from other producers. */
const UPSTREAM_HEADERS: ReadonlySet<string> = new Set([
  'destination',
  'message-id',
  'subscription',
  'ack',
  'redelivered',
  'content-length',
  'receipt',
  'transaction',
  'persistent',
  CARRIED_HEADERS,
  ORIGIN,
]);
/** AMQP limits queue names and routing keys to 255 bytes. */
const MAX_NAME_BYTES = 255;

/**
 * The destination on RabbitMQ's STOMP adapter. It splits destinations at '/' (only `%2F` is
 * unescaped inside a name), and names starting with `amq.` are reserved: RabbitMQ answers them
 * with an ERROR that would close the whole connection, so they are refused here.
 */
export function upstreamDestination(destination: string): string {
  if (destination.startsWith('/topic/'))
    return `/topic/${checkedName(destination, routingKey(destination.slice('/topic/'.length)))}`;
  const name = destination.slice('/queue/'.length);
  if (isUserQueue(destination)) return `/exchange/amq.direct/${checkedName(destination, routingKey(name))}`;
  if (name.startsWith('amq.'))
    throw new StompRtcError(
      'INVALID_DESTINATION',
      `${destination}: queue names starting with "amq." are reserved by RabbitMQ`,
    );
  return `/queue/${checkedName(destination, name).replaceAll('/', '%2F')}`;
}

/**
 * `room/a.b` → `room.a%2Eb`: AMQP words are our segments, so `room.*` bindings work; reversible.
 * @internal exported for test/server/relay-destinations.test.ts
 */
export function routingKey(path: string): string {
  return path.replaceAll('.', '%2E').replaceAll('/', '.');
}

function checkedName(destination: string, name: string): string {
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) {
    throw new StompRtcError(
      'INVALID_DESTINATION',
      `${destination}: RabbitMQ names are limited to ${MAX_NAME_BYTES} bytes`,
    );
  }
  return name;
}

/** A MESSAGE from RabbitMQ back in our terms: the local destination, the carried headers, the body. */
export function brokerMessage(destination: string, received: StompFrame): BrokerMessage {
  return { destination, headers: carriedHeaders(received.headers), body: received.body };
}

function carriedHeaders(upstream: StompHeaders): StompHeaders {
  const carried = upstream[CARRIED_HEADERS];
  if (carried !== undefined) {
    try {
      const parsed: unknown = JSON.parse(carried);
      if (parsed && typeof parsed === 'object') {
        return createHeaders(
          Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
        );
      }
    } catch {
      // Not ours after all; fall through.
    }
  }
  // From another producer on RabbitMQ: what it sent, less RabbitMQ's own headers.
  return createHeaders(Object.entries(upstream).filter(([name]) => !UPSTREAM_HEADERS.has(name)));
}

/** The SEND for RabbitMQ: its destination there, content-type, our headers carried whole, and the publishing node. */
export function upstreamHeaders(message: BrokerMessage, nodeId: string): StompHeaders {
  const headers = createHeaders([['destination', upstreamDestination(message.destination)]]);
  const contentType = message.headers['content-type'];
  // Kept as a real header too, so AMQP consumers of the same queues see it.
  if (contentType !== undefined) headers['content-type'] = contentType;
  headers[CARRIED_HEADERS] = JSON.stringify(message.headers);
  headers[ORIGIN] = nodeId;
  return headers;
}

/** The node that published a MESSAGE RabbitMQ hands back, if it was one of ours. */
export function originOf(received: StompFrame): string | undefined {
  return received.headers[ORIGIN];
}

/** `stomp://user:pass@host:61613` (login and passcode percent-decoded; guest/guest when absent). */
export function parseRelayUrl(url: string, vhost: string): RelayEndpoint {
  const parsed = new URL(url);
  if (parsed.protocol !== 'stomp:') throw new TypeError(`"${url}" is not a stomp:// URL`);
  return {
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 61613,
    login: parsed.username ? decodeURIComponent(parsed.username) : 'guest',
    passcode: parsed.password ? decodeURIComponent(parsed.password) : 'guest',
    vhost,
  };
}
