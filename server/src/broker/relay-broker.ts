import { randomBytes } from 'node:crypto';
import { StompRtcError } from '../../../shared/src/errors.js';
import { createHeaders, frame, type StompFrame, type StompHeaders } from '../../../shared/src/stomp/frame.js';
import type { DecoderLimits } from '../../../shared/src/stomp/limits.js';
import { isUserQueue } from '../messaging/destinations.js';
import { DispatchingBroker, isQueue, type BrokerLimits, type BrokerMessage, type Delivery, type Subscriber, type SubscribeRequest } from './broker.js';
import { StompTcpConnection, type StompTcpOptions } from './stomp-tcp-connection.js';
import type { Subscription } from './subscription-registry.js';

export interface RelayEndpoint {
  readonly host: string;
  readonly port: number;
  readonly login: string;
  readonly passcode: string;
  /** RabbitMQ virtual host, sent as CONNECT `host`. */
  readonly vhost: string;
}

export interface RelayBrokerOptions {
  readonly endpoint: RelayEndpoint;
  readonly limits: BrokerLimits;
  /** What frames from RabbitMQ may be: our own MESSAGE limits plus room for what RabbitMQ adds. */
  readonly decoderLimits: DecoderLimits;
  readonly log: RelayLog;
  /** Heart-beats with RabbitMQ, in ms, so a dead TCP path is noticed. @default 10000 */
  readonly heartbeatMs?: number;
  /** Time for a connection or a RECEIPT from RabbitMQ, in ms. @default 5000 */
  readonly timeoutMs?: number;
  /** Wait before each attempt to get the system connection back, in ms. @default 1000 */
  readonly reconnectDelayMs?: number;
}

export interface RelayLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
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
  'destination', 'message-id', 'subscription', 'ack', 'redelivered', 'content-length', 'receipt', 'transaction', 'persistent', CARRIED_HEADERS, ORIGIN,
]);
/** AMQP limits queue names and routing keys to 255 bytes. */
const MAX_NAME_BYTES = 255;

/** How a local subscription is backed on RabbitMQ. */
type Upstream =
  /** A topic: one RabbitMQ subscription per destination per node, fanned out locally. */
  | { readonly kind: 'topic' }
  /** An auto-ack queue subscription: a consumer of its own on the system connection. */
  | { readonly kind: 'shared'; readonly id: string }
  /** A client-ack queue subscription: a connection of its own, so closing it makes RabbitMQ redeliver. */
  | { readonly kind: 'own'; connection: StompTcpConnection | undefined; removed: boolean };

/**
 * The broker relay (Spring's StompBrokerRelayMessageHandler): RabbitMQ's STOMP adapter holds
 * queues and topics, so several stomprtc nodes share them. The shared DispatchingBroker keeps
 * the local registry and builds MESSAGE frames; this class only decides how each destination is
 * published and subscribed upstream:
 *
 * - Publishing goes over one "system" connection per node.
 * - `/topic/a/b` is amq.topic with routing key `a.b` ('/' → '.', a '.' inside a segment → '%2E').
 *   Each node subscribes once per topic it has local subscribers for and fans out locally, as the
 *   in-memory broker does; topic deliveries are never redelivered on either. A node fans its own
 *   publications out at once and skips them when RabbitMQ hands them back (`stomprtc-origin`).
 * - `/queue/a/b` is RabbitMQ's durable queue `a/b`. An auto-ack subscription is a consumer on the
 *   system connection; a client/client-individual one gets its own connection with the client's
 *   ack mode and prefetch = MAX_UNACKED. AMQP requeues a consumer's unacknowledged messages only
 *   when its channel closes, and RabbitMQ's STOMP adapter has one channel per connection — so
 *   UNSUBSCRIBE, the session's end or a lost connection closes that connection and RabbitMQ
 *   redelivers (redelivered:true) to the other consumers. ACK/NACK go to RabbitMQ as they are.
 * - Per-session queues (`/queue/x~user~<session>`) are `/exchange/amq.direct/x~user~<session>`:
 *   a subscription makes an exclusive auto-delete queue that goes with it, and a message for a
 *   session nobody subscribes for matches no binding and is dropped — nothing piles up. A message
 *   for a session of this node with an auto-ack subscription is delivered locally at once.
 * - Same-node order is the in-memory order; across nodes RabbitMQ keeps order per destination only.
 *
 * If the system connection (or a subscription's own one) is lost, every affected session is closed
 * with a fatal BROKER_UNAVAILABLE rather than left with dead subscriptions; `available` is false
 * (so /healthz says 503) until the system connection is back.
 */
export class RelayBroker extends DispatchingBroker {
  private system: StompTcpConnection | undefined;
  private readonly upstream = new Map<Subscription, Upstream>();
  /** Upstream subscription of each topic destination with local subscribers. */
  private readonly topics = new Map<string, { readonly id: string; readonly ready: Promise<void> }>();
  private readonly closing = new Set<Promise<void>>();
  /**
   * RabbitMQ names the queue behind a `/topic` or `/exchange` subscription after the destination
   * and the subscription id alone, not the connection: ids that repeated across nodes (or across
   * connections of one node) would make two nodes share one queue and split a topic's messages.
   */
  private readonly nodeId = randomBytes(6).toString('base64url');
  private nextUpstreamId = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: RelayBrokerOptions) {
    super(options.limits);
  }

  override get available(): boolean {
    return this.system?.state === 'connected';
  }

  /** Opens the system connection; if RabbitMQ is not there yet the relay stays unavailable and keeps trying. */
  async start(): Promise<void> {
    await this.connectSystem();
  }

  subscribe(subscriber: Subscriber, request: SubscribeRequest): Promise<void> {
    const system = this.requireSystem();
    const destination = upstreamDestination(request.destination);
    const subscription = this.newSubscription(subscriber, request);
    if (!isQueue(request.destination)) {
      this.upstream.set(subscription, { kind: 'topic' });
      return this.subscribeTopic(system, request.destination, destination);
    }
    if (request.ack === 'auto') {
      const id = this.upstreamId('q');
      this.upstream.set(subscription, { kind: 'shared', id });
      system.subscribe(id, (received) => this.fromUpstream(subscription, received));
      return upstreamRequest(system, frame('SUBSCRIBE', { id, destination, ack: 'auto' }));
    }
    const own: Upstream = { kind: 'own', connection: undefined, removed: false };
    this.upstream.set(subscription, own);
    return this.open().then(async (connection) => {
      if (own.removed) return void this.disconnect(connection);
      own.connection = connection;
      connection.onClose = (error) => {
        if (!own.removed) this.lost(subscription.subscriber.sessionId, error);
      };
      const id = this.upstreamId('c');
      connection.subscribe(id, (received) => this.fromUpstream(subscription, received));
      await upstreamRequest(connection, frame('SUBSCRIBE', {
        id, destination, ack: request.ack, 'prefetch-count': String(this.limits.maxUnackedPerSubscription),
      }));
    }, (err) => {
      throw unavailable(err);
    });
  }

  publish(message: BrokerMessage): void {
    const system = this.requireSystem();
    const { destination } = message;
    // Same-node traffic is dispatched at once, as in memory, so it keeps the in-memory order: a
    // room's peer-joined before the joiner's first signal, a refusal on /user/queue/errors before
    // the RECEIPT of the next frame. A topic goes upstream too, for the other nodes (socket.io's
    // ClusterAdapter: broadcast locally, publish to the others, ignore one's own on the way back).
    if (!isQueue(destination)) {
      this.fanOut(destination, message);
    } else if (isUserQueue(destination)) {
      // A per-session queue names its session, and session ids are unique: if it is here, it is only here.
      const local = this.registry.ofDestination(destination).find((s) => s.ack === 'auto');
      if (local) return this.deliver(local, message, false);
    }
    const headers = createHeaders([['destination', upstreamDestination(destination)]]);
    const contentType = message.headers['content-type'];
    // Kept as a real header too, so AMQP consumers of the same queues see it.
    if (contentType !== undefined) headers['content-type'] = contentType;
    headers[CARRIED_HEADERS] = JSON.stringify(message.headers);
    headers[ORIGIN] = this.nodeId;
    system.send({ command: 'SEND', headers, body: message.body });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    for (const sessionId of this.registry.sessionIds()) this.removeSession(sessionId);
    const system = this.system;
    this.system = undefined;
    await Promise.all([...this.closing, system?.disconnect()]);
  }

  protected settled(subscription: Subscription, deliveries: Delivery[], outcome: 'ack' | 'nack'): void {
    const upstream = this.upstream.get(subscription);
    const last = deliveries.at(-1)?.upstreamAck;
    if (upstream?.kind !== 'own' || !upstream.connection || last === undefined) return;
    // One ACK/NACK of the last delivery is enough: RabbitMQ settles "client" mode cumulatively too.
    try {
      upstream.connection.send(frame(outcome === 'ack' ? 'ACK' : 'NACK', { id: last }));
    } catch {
      // The connection is gone; RabbitMQ redelivers what it held, and the session is being closed.
    }
  }

  protected subscriptionRemoved(subscription: Subscription): void {
    const upstream = this.upstream.get(subscription);
    this.upstream.delete(subscription);
    if (upstream?.kind === 'own') {
      upstream.removed = true;
      if (upstream.connection) this.disconnect(upstream.connection);
      return;
    }
    let id: string | undefined;
    if (upstream?.kind === 'shared') id = upstream.id;
    else if (upstream?.kind === 'topic' && this.registry.ofDestination(subscription.destination).length === 0) {
      id = this.topics.get(subscription.destination)?.id;
      this.topics.delete(subscription.destination);
    }
    if (id === undefined || this.system?.state !== 'connected') return;
    this.system.unsubscribe(id);
    this.system.send(frame('UNSUBSCRIBE', { id }));
  }

  private subscribeTopic(system: StompTcpConnection, destination: string, upstream: string): Promise<void> {
    let topic = this.topics.get(destination);
    if (!topic) {
      const id = this.upstreamId('t');
      system.subscribe(id, (received) => {
        if (received.headers[ORIGIN] !== this.nodeId) this.fanOut(destination, brokerMessage(destination, received));
      });
      topic = { id, ready: upstreamRequest(system, frame('SUBSCRIBE', { id, destination: upstream, ack: 'auto' })) };
      this.topics.set(destination, topic);
    }
    return topic.ready;
  }

  private fromUpstream(subscription: Subscription, received: StompFrame): void {
    if (!this.upstream.has(subscription)) return;
    const upstreamAck = subscription.ack === 'auto' ? undefined : received.headers.ack;
    // RabbitMQ says redelivered:false on every first delivery; ours carries the header only when true.
    this.deliver(subscription, brokerMessage(subscription.destination, received), received.headers.redelivered === 'true', upstreamAck);
  }

  private upstreamId(kind: 't' | 'q' | 'c'): string {
    return `${kind}-${this.nodeId}-${(this.nextUpstreamId++).toString(36)}`;
  }

  private requireSystem(): StompTcpConnection {
    if (this.system?.state !== 'connected') throw unavailable(undefined);
    return this.system;
  }

  private open(): Promise<StompTcpConnection> {
    const { endpoint, decoderLimits, heartbeatMs = 10_000, timeoutMs = 5_000 } = this.options;
    const options: StompTcpOptions = { ...endpoint, heartbeatMs, timeoutMs, limits: decoderLimits };
    return StompTcpConnection.open(options);
  }

  private async connectSystem(): Promise<void> {
    const { endpoint, log } = this.options;
    try {
      const system = await this.open();
      if (this.closed) return system.destroy();
      this.system = system;
      system.onClose = (error) => this.systemLost(system, error);
      log.info({ host: endpoint.host, port: endpoint.port }, 'broker relay connected to RabbitMQ');
    } catch (err) {
      log.error({ err, host: endpoint.host, port: endpoint.port }, 'broker relay cannot reach RabbitMQ; retrying');
      this.scheduleReconnect();
    }
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    this.reconnectTimer = setTimeout(() => void this.connectSystem(), this.options.reconnectDelayMs ?? 1_000);
    this.reconnectTimer.unref();
  }

  /** Every subscription of the node hung on the system connection, directly or through its session: all sessions go. */
  private systemLost(system: StompTcpConnection, error: Error | undefined): void {
    if (this.system !== system) return;
    this.system = undefined;
    this.topics.clear();
    this.options.log.error({ err: error }, 'broker relay lost RabbitMQ; closing every session with a subscription');
    for (const sessionId of this.registry.sessionIds()) this.lost(sessionId, error);
    this.scheduleReconnect();
  }

  /** A session's subscriptions can no longer be served: it ends with a fatal ERROR, never silently. */
  private lost(sessionId: string, error: Error | undefined): void {
    const subscriber = this.registry.ofSession(sessionId)[0]?.subscriber;
    if (!subscriber) return;
    this.removeSession(sessionId);
    subscriber.abort?.(new StompRtcError('BROKER_UNAVAILABLE', `the message broker (RabbitMQ) is unavailable${error ? `: ${error.message}` : ''}`));
  }

  private disconnect(connection: StompTcpConnection): void {
    const done = connection.disconnect().finally(() => this.closing.delete(done));
    this.closing.add(done);
  }
}

/**
 * The destination on RabbitMQ's STOMP adapter. It splits destinations at '/' (only `%2F` is
 * unescaped inside a name), and names starting with `amq.` are reserved: RabbitMQ answers them
 * with an ERROR that would close the whole connection, so they are refused here.
 */
export function upstreamDestination(destination: string): string {
  if (destination.startsWith('/topic/')) return `/topic/${checkedName(destination, routingKey(destination.slice('/topic/'.length)))}`;
  const name = destination.slice('/queue/'.length);
  if (isUserQueue(destination)) return `/exchange/amq.direct/${checkedName(destination, routingKey(name))}`;
  if (name.startsWith('amq.')) throw new StompRtcError('INVALID_DESTINATION', `${destination}: queue names starting with "amq." are reserved by RabbitMQ`);
  return `/queue/${checkedName(destination, name).replaceAll('/', '%2F')}`;
}

/** `room/a.b` → `room.a%2Eb`: AMQP words are our segments, so `room.*` bindings work; reversible. */
export function routingKey(path: string): string {
  return path.replaceAll('.', '%2E').replaceAll('/', '.');
}

export function pathOfRoutingKey(key: string): string {
  return key.replaceAll('.', '/').replaceAll('%2E', '.');
}

function checkedName(destination: string, name: string): string {
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) {
    throw new StompRtcError('INVALID_DESTINATION', `${destination}: RabbitMQ names are limited to ${MAX_NAME_BYTES} bytes`);
  }
  return name;
}

/** A MESSAGE from RabbitMQ back in our terms: the local destination, the carried headers, the body. */
function brokerMessage(destination: string, received: StompFrame): BrokerMessage {
  return { destination, headers: carriedHeaders(received.headers), body: received.body };
}

function carriedHeaders(upstream: StompHeaders): StompHeaders {
  const carried = upstream[CARRIED_HEADERS];
  if (carried !== undefined) {
    try {
      const parsed: unknown = JSON.parse(carried);
      if (parsed && typeof parsed === 'object') {
        return createHeaders(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
      }
    } catch {
      // Not ours after all; fall through.
    }
  }
  // From another producer on RabbitMQ: what it sent, less RabbitMQ's own headers.
  return createHeaders(Object.entries(upstream).filter(([name]) => !UPSTREAM_HEADERS.has(name)));
}

async function upstreamRequest(connection: StompTcpConnection, request: StompFrame): Promise<void> {
  try {
    await connection.request(request);
  } catch (err) {
    throw unavailable(err);
  }
}

function unavailable(err: unknown): StompRtcError {
  const reason = err instanceof Error ? `: ${err.message}` : '';
  return new StompRtcError('BROKER_UNAVAILABLE', `the message broker (RabbitMQ) is unavailable${reason}`);
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
