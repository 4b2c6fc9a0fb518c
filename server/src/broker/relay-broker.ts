import { randomBytes } from 'node:crypto';
import { StompRtcError } from '../../../shared/src/errors.js';
import { createHeaders, frame, type StompFrame } from '../../../shared/src/stomp/frame.js';
import type { DecoderLimits } from '../../../shared/src/stomp/limits.js';
import { DispatchingBroker } from './broker.js';
import { isQueue, isUserQueue } from './destinations.js';
import { ReconnectBackoff } from './reconnect-backoff.js';
import {
  mailboxDestination,
  NodeMailboxes,
  nodeOfUserDestination,
  openMailbox,
  sessionIdPrefix,
} from './node-mailbox.js';
import { brokerMessage, originOf, upstreamDestination, upstreamHeaders, type RelayEndpoint } from './rabbitmq-wire.js';
import type { BrokerLimits, BrokerMessage, Delivery, Subscriber, SubscribeRequest, Subscription } from './types.js';
import { StompTcpConnection, type StompTcpOptions } from './stomp-tcp-connection.js';

export interface RelayBrokerOptions {
  readonly endpoint: RelayEndpoint;
  readonly limits: BrokerLimits & {
    /** A batch of messages for another node's sessions goes once it holds this many bytes (MAX_FRAME_BYTES). */
    readonly maxFrameBytes: number;
  };
  /** What frames from RabbitMQ may be: our own MESSAGE limits plus room for what RabbitMQ adds. */
  readonly decoderLimits: DecoderLimits;
  readonly log: RelayLog;
  /** Heart-beats with RabbitMQ, in ms, so a dead TCP path is noticed. @default 10000 */
  readonly heartbeatMs?: number;
  /** Time for a connection or a RECEIPT from RabbitMQ, in ms. @default 5000 */
  readonly timeoutMs?: number;
  /** Wait before each attempt to get the system connection back, in ms; unset: reconnect-backoff.ts. */
  readonly reconnectDelayMs?: number;
}

export interface RelayLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** How a local subscription is backed on RabbitMQ. */
type Upstream =
  /** A topic: one RabbitMQ subscription per destination per node, fanned out locally. */
  | { readonly kind: 'topic' }
  /** An auto-ack per-session queue: nothing on RabbitMQ; other nodes' messages come through this node's mailbox. */
  | { readonly kind: 'mailbox' }
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
 * - Per-session queues (`/queue/x~user~<session>`): a message for a session of this node with an
 *   auto-ack subscription is delivered locally at once; one for another node's session goes to
 *   that node's mailbox, batched (node-mailbox.ts), and the node delivers it as if published
 *   there. So an auto-ack subscription to one has nothing on RabbitMQ: a node holds one queue for
 *   all its sessions. A client-ack one is `/exchange/amq.direct/x~user~<session>` on a connection
 *   of its own (below), which a mailbox message for it is handed on to. A message for a session
 *   nobody subscribes for is dropped — nothing piles up.
 * - Same-node order is the in-memory order; across nodes RabbitMQ keeps order per destination, and
 *   one node's per-session messages to another keep theirs (one connection, one mailbox queue).
 *
 * - A `/queue` SEND goes `persistent` with a receipt, which RabbitMQ sends once it has confirmed
 *   the message: the client's RECEIPT then means RabbitMQ holds it. Topics stay at most once.
 *
 * If the system connection is lost the node keeps its sessions: what needs RabbitMQ is refused
 * with NOT_FORWARDED, `available` is false (/healthz 503, CONNECT refused), and the connection
 * comes back with back-off and every topic and auto-ack queue subscription is made again. A
 * client-ack subscription's own connection ends its session with BROKER_UNAVAILABLE, because what
 * it held unacknowledged went back to the queue. How names and headers look on RabbitMQ: rabbitmq-wire.ts.
 */
export class RelayBroker extends DispatchingBroker {
  #system: StompTcpConnection | undefined;
  readonly #upstream = new Map<Subscription, Upstream>();
  /** Upstream subscription of each topic destination with local subscribers. */
  readonly #topics = new Map<string, { readonly id: string; readonly ready: Promise<void> }>();
  readonly #closing = new Set<Promise<void>>();
  /**
   * RabbitMQ names the queue behind a `/topic` or `/exchange` subscription after the destination
   * and the subscription id alone, not the connection: ids that repeated across nodes (or across
   * connections of one node) would make two nodes share one queue and split a topic's messages.
   */
  readonly #nodeId = randomBytes(6).toString('base64url');
  readonly #mailboxes: NodeMailboxes;
  /** Whether this node's mailbox is bound on RabbitMQ: messages for its sessions from other nodes reach it. */
  #mailboxReady = false;
  #nextUpstreamId = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  readonly #backoff = new ReconnectBackoff();
  #closed = false;

  readonly #options: RelayBrokerOptions;

  constructor(options: RelayBrokerOptions) {
    super(options.limits);
    this.#options = options;
    this.#mailboxes = new NodeMailboxes(
      (nodeId, body, count) => this.#sendToNode(nodeId, body, count),
      options.limits.maxFrameBytes,
    );
  }

  override get available(): boolean {
    return this.#system?.state === 'connected' && this.#mailboxReady;
  }

  override get sessionIdPrefix(): string {
    return sessionIdPrefix(this.#nodeId);
  }

  /** Opens the system connection; if RabbitMQ is not there yet the relay stays unavailable and keeps trying. */
  async start(): Promise<void> {
    await this.#connectSystem();
  }

  subscribe(subscriber: Subscriber, request: SubscribeRequest): Promise<void> {
    const system = this.#requireSystem();
    const destination = upstreamDestination(request.destination);
    const subscription = this.newSubscription(subscriber, request);
    if (!isQueue(request.destination)) {
      this.#upstream.set(subscription, { kind: 'topic' });
      return this.#subscribeTopic(system, request.destination, destination);
    }
    if (request.ack === 'auto' && isUserQueue(request.destination)) {
      this.#upstream.set(subscription, { kind: 'mailbox' });
      return Promise.resolve();
    }
    if (request.ack === 'auto') {
      const id = this.#upstreamId('q');
      this.#upstream.set(subscription, { kind: 'shared', id });
      return this.#subscribeShared(system, subscription, id);
    }
    const own: Upstream = { kind: 'own', connection: undefined, removed: false };
    this.#upstream.set(subscription, own);
    return this.#open().then(
      async (connection) => {
        if (own.removed) return void this.#disconnect(connection);
        own.connection = connection;
        connection.onClose = (error) => {
          if (!own.removed) this.#lost(subscription.subscriber.sessionId, error);
        };
        const id = this.#upstreamId('c');
        connection.subscribe(id, (received) => this.#fromUpstream(subscription, received));
        await upstreamRequest(
          connection,
          frame('SUBSCRIBE', {
            id,
            destination,
            ack: request.ack,
            'prefetch-count': String(this.limits.maxUnackedPerSubscription),
          }),
        );
      },
      (err) => {
        throw unavailable(err);
      },
    );
  }

  /**
   * A `/queue` message is sent `persistent` with a receipt, and RabbitMQ sends that receipt only
   * once it has confirmed the message (publisher confirms): the promise, and so the client's
   * RECEIPT, says RabbitMQ holds it. Topics are fire-and-forget, at most once.
   */
  publish(message: BrokerMessage): void | Promise<void> {
    const { destination } = message;
    // Same-node traffic is dispatched at once, as in memory, so it keeps the in-memory order: a
    // room's peer-joined before the joiner's first signal, a refusal on /user/queue/errors before
    // the RECEIPT of the next frame. A topic goes upstream too, for the other nodes (socket.io's
    // ClusterAdapter: broadcast locally, publish to the others, ignore one's own on the way back).
    if (isUserQueue(destination)) {
      // A per-session queue names its session, and session ids are unique: if it is here, it is only here.
      const subscriptions = this.registry.ofDestination(destination);
      const local = subscriptions.find((s) => s.ack === 'auto');
      if (local) return this.deliver(local, message, false);
      const node = nodeOfUserDestination(destination);
      // One of this node's sessions, and none of its subscriptions here: nobody anywhere can read it.
      if (node === this.#nodeId && subscriptions.length === 0) return;
      if (node !== undefined && node !== this.#nodeId) {
        this.#requireSystem();
        return this.#mailboxes.post(node, message);
      }
    }
    return this.#publishUpstream(message);
  }

  #publishUpstream(message: BrokerMessage): void | Promise<void> {
    const { destination } = message;
    const system = this.#requireSystem();
    if (!isQueue(destination)) this.fanOut(destination, message);
    const headers = upstreamHeaders(message, this.#nodeId);
    if (!isQueue(destination) || isUserQueue(destination))
      return system.send({ command: 'SEND', headers, body: message.body });
    headers.persistent = 'true';
    return upstreamRequest(system, { command: 'SEND', headers, body: message.body }, 'NOT_FORWARDED');
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    this.#mailboxes.flush();
    for (const sessionId of this.registry.sessionIds()) this.removeSession(sessionId);
    const system = this.#system;
    this.#system = undefined;
    await Promise.all([...this.#closing, system?.disconnect()]);
  }

  protected settled(subscription: Subscription, deliveries: Delivery[], outcome: 'ack' | 'nack'): void {
    const upstream = this.#upstream.get(subscription);
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
    const upstream = this.#upstream.get(subscription);
    this.#upstream.delete(subscription);
    if (upstream?.kind === 'own') {
      upstream.removed = true;
      if (upstream.connection) this.#disconnect(upstream.connection);
      return;
    }
    let id: string | undefined;
    if (upstream?.kind === 'shared') id = upstream.id;
    else if (upstream?.kind === 'topic' && this.registry.ofDestination(subscription.destination).length === 0) {
      id = this.#topics.get(subscription.destination)?.id;
      this.#topics.delete(subscription.destination);
    }
    if (id === undefined || this.#system?.state !== 'connected') return;
    this.#system.unsubscribe(id);
    this.#system.send(frame('UNSUBSCRIBE', { id }));
  }

  #subscribeShared(system: StompTcpConnection, subscription: Subscription, id: string): Promise<void> {
    system.subscribe(id, (received) => this.#fromUpstream(subscription, received));
    return upstreamRequest(
      system,
      frame('SUBSCRIBE', { id, destination: upstreamDestination(subscription.destination), ack: 'auto' }),
    );
  }

  #subscribeTopic(system: StompTcpConnection, destination: string, upstream: string): Promise<void> {
    let topic = this.#topics.get(destination);
    if (!topic) {
      const id = this.#upstreamId('t');
      system.subscribe(id, (received) => {
        if (originOf(received) !== this.#nodeId) this.fanOut(destination, brokerMessage(destination, received));
      });
      topic = { id, ready: upstreamRequest(system, frame('SUBSCRIBE', { id, destination: upstream, ack: 'auto' })) };
      this.#topics.set(destination, topic);
    }
    return topic.ready;
  }

  #fromUpstream(subscription: Subscription, received: StompFrame): void {
    if (!this.#upstream.has(subscription)) return;
    const upstreamAck = subscription.ack === 'auto' ? undefined : received.headers.ack;
    // RabbitMQ says redelivered:false on every first delivery; ours carries the header only when true.
    this.deliver(
      subscription,
      brokerMessage(subscription.destination, received),
      received.headers.redelivered === 'true',
      upstreamAck,
    );
  }

  /**
   * One batch for another node's sessions: one RabbitMQ message, however many it holds. Its receipt
   * (RabbitMQ's confirm: the batch is in the node's mailbox, or there is no such mailbox any more)
   * lets the next batch for that node go (node-mailbox.ts).
   */
  async #sendToNode(nodeId: string, body: Uint8Array, count: number): Promise<void> {
    if (this.#system?.state !== 'connected') {
      this.#options.log.warn(
        { node: nodeId, messages: count },
        'broker relay lost RabbitMQ with messages for another node unsent; dropped (at most once)',
      );
      return;
    }
    const headers = createHeaders([
      ['destination', mailboxDestination(nodeId)],
      ['content-type', 'application/octet-stream'],
    ]);
    try {
      await this.#system.request({ command: 'SEND', headers, body });
    } catch (err) {
      // Lost with the connection, or late: sent at most once either way; the next batch goes.
      this.#options.log.warn(
        { err, node: nodeId, messages: count },
        'broker relay got no receipt from RabbitMQ for messages to another node; they may be lost (at most once)',
      );
    }
  }

  /** This node's mailbox: per-session messages from other nodes, delivered as if published here. */
  #subscribeMailbox(system: StompTcpConnection): Promise<void> {
    const id = this.#upstreamId('m');
    system.subscribe(id, (received) => {
      try {
        openMailbox(received.body, this.#options.decoderLimits, (message) => this.#fromMailbox(message));
      } catch (err) {
        this.#options.log.error({ err }, 'broker relay got a mailbox message it cannot read; dropped');
      }
    });
    return upstreamRequest(
      system,
      frame('SUBSCRIBE', { id, destination: mailboxDestination(this.#nodeId), ack: 'auto' }),
    );
  }

  /**
   * A message for a session of this node: publish() delivers it here, drops it when nobody
   * subscribes, or hands it to a client-ack subscription's queue, whose acknowledgements RabbitMQ
   * settles. A per-session message never waits for a confirm, so nothing comes back to settle;
   * anything else in a mailbox is not ours to publish (it would go back upstream).
   */
  #fromMailbox(message: BrokerMessage): void {
    if (isUserQueue(message.destination)) void this.publish(message);
  }

  #upstreamId(kind: 't' | 'q' | 'c' | 'm'): string {
    return `${kind}-${this.#nodeId}-${(this.#nextUpstreamId++).toString(36)}`;
  }

  /** Without RabbitMQ the node keeps its sessions and refuses, without effect, what needs it. */
  #requireSystem(): StompTcpConnection {
    if (this.#system?.state !== 'connected') {
      throw new StompRtcError(
        'NOT_FORWARDED',
        'this node cannot reach RabbitMQ at the moment; nothing was done, retry later',
      );
    }
    return this.#system;
  }

  #open(): Promise<StompTcpConnection> {
    const { endpoint, decoderLimits, heartbeatMs = 10_000, timeoutMs = 5_000 } = this.#options;
    const options: StompTcpOptions = { ...endpoint, heartbeatMs, timeoutMs, limits: decoderLimits };
    return StompTcpConnection.open(options);
  }

  async #connectSystem(): Promise<void> {
    const { endpoint, log } = this.#options;
    let system: StompTcpConnection;
    try {
      system = await this.#open();
    } catch (err) {
      log.error({ err, host: endpoint.host, port: endpoint.port }, 'broker relay cannot reach RabbitMQ; retrying');
      return this.#scheduleReconnect();
    }
    if (this.#closed) return system.destroy();
    this.#system = system;
    system.onClose = (error) => this.#systemLost(system, error);
    this.#backoff.reset();
    log.info({ host: endpoint.host, port: endpoint.port }, 'broker relay connected to RabbitMQ');
    this.#resubscribe(system);
    // The node serves (available) once other nodes' messages for its sessions can reach it.
    try {
      await this.#subscribeMailbox(system);
      if (this.#system === system) this.#mailboxReady = true;
    } catch (err) {
      log.error({ err }, 'broker relay could not bind its mailbox; the connection is being replaced');
      // Its close (systemLost) schedules the next attempt.
      system.destroy();
    }
  }

  #scheduleReconnect(): void {
    if (this.#closed) return;
    this.#reconnectTimer = setTimeout(
      () => void this.#connectSystem(),
      this.#options.reconnectDelayMs ?? this.#backoff.nextDelayMs(),
    );
    this.#reconnectTimer.unref();
  }

  /**
   * The topic and auto-ack queue subscriptions hang on the system connection: they stay in the
   * local registry and are made again upstream when it is back (resubscribe), so sessions keep
   * them. What RabbitMQ had for them meanwhile: topic messages are lost (at most once), queue
   * messages wait in their durable queue. Client-ack subscriptions have connections of their own
   * and end their sessions when those go (lost()).
   */
  #systemLost(system: StompTcpConnection, error: Error | undefined): void {
    if (this.#system !== system) return;
    this.#system = undefined;
    this.#mailboxReady = false;
    const dropped = this.#mailboxes.discard();
    if (dropped > 0)
      this.#options.log.warn(
        { messages: dropped },
        'messages for other nodes were not sent before RabbitMQ was lost; dropped (at most once)',
      );
    this.#topics.clear();
    this.#options.log.error({ err: error }, 'broker relay lost RabbitMQ; keeping sessions and reconnecting');
    this.#scheduleReconnect();
  }

  /** The system connection is back: every topic and auto-ack queue subscription is made again. */
  #resubscribe(system: StompTcpConnection): void {
    const failed = (err: unknown) =>
      this.#options.log.error({ err }, 'broker relay could not subscribe again; the connection is being replaced');
    for (const [subscription, upstream] of this.#upstream) {
      if (upstream.kind === 'shared') this.#subscribeShared(system, subscription, upstream.id).catch(failed);
      else if (upstream.kind === 'topic')
        this.#subscribeTopic(system, subscription.destination, upstreamDestination(subscription.destination)).catch(
          failed,
        );
    }
  }

  /** A session's subscriptions can no longer be served: it ends with a fatal ERROR, never silently. */
  #lost(sessionId: string, error: Error | undefined): void {
    const subscriber = this.registry.ofSession(sessionId)[0]?.subscriber;
    if (!subscriber) return;
    this.removeSession(sessionId);
    subscriber.abort?.(
      new StompRtcError(
        'BROKER_UNAVAILABLE',
        `the message broker (RabbitMQ) is unavailable${error ? `: ${error.message}` : ''}`,
      ),
    );
  }

  #disconnect(connection: StompTcpConnection): void {
    const done = connection.disconnect().finally(() => this.#closing.delete(done));
    this.#closing.add(done);
  }
}

async function upstreamRequest(
  connection: StompTcpConnection,
  request: StompFrame,
  code: 'BROKER_UNAVAILABLE' | 'NOT_FORWARDED' = 'BROKER_UNAVAILABLE',
): Promise<void> {
  try {
    await connection.request(request);
  } catch (err) {
    if (code === 'BROKER_UNAVAILABLE') throw unavailable(err);
    throw new StompRtcError(
      code,
      `RabbitMQ did not confirm the message${err instanceof Error ? `: ${err.message}` : ''}; it may or may not have been delivered`,
    );
  }
}

function unavailable(err: unknown): StompRtcError {
  const reason = err instanceof Error ? `: ${err.message}` : '';
  return new StompRtcError('BROKER_UNAVAILABLE', `the message broker (RabbitMQ) is unavailable${reason}`);
}
