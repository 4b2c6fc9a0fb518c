import { StompRtcError } from '../../../shared/src/errors.js';
import {
  createHeaders,
  type ClientCommand,
  type StompFrame,
  type StompHeaders,
} from '../../../shared/src/stomp/frame.js';
import { DESTINATIONS } from '../../../shared/src/signaling/destinations.js';
import { SEND_ONLY_HEADERS } from '../broker/broker.js';
import type { AckMode, Broker } from '../broker/types.js';
import type { AppHandlers } from './app-handlers.js';
import { classifyDestination, resolveUserDestination } from './destinations.js';
import type { SessionContext, SessionSubscription } from './session-context.js';

export interface RouterLimits {
  readonly maxSubscriptionsPerSession: number;
}

/** A promise means the broker finishes the work later (the relay); the RECEIPT waits for it. */
type Handler = (session: SessionContext, frame: StompFrame) => void | boolean | Promise<void>;
type RoutedCommand = Exclude<ClientCommand, 'CONNECT' | 'STOMP'>;

const ACK_MODES: ReadonlySet<string> = new Set<AckMode>(['auto', 'client', 'client-individual']);

/**
 * The clientInbound channel: every frame a connected session receives comes here and goes to an
 * `/app` handler, the broker, or the session's own state. Handlers throw StompRtcError to refuse
 * a frame; the session turns that into an ERROR frame or a message on /user/queue/errors.
 */
export class InboundRouter {
  /** One entry per client command; STOMP 1.2 section links in the comments. */
  readonly #handlers: Readonly<Record<RoutedCommand, Handler>> = {
    // https://stomp.github.io/stomp-specification-1.2.html#SEND
    SEND: (session, frame) => this.#inTransaction(session, frame) || this.#send(session, frame),
    // https://stomp.github.io/stomp-specification-1.2.html#SUBSCRIBE
    SUBSCRIBE: (session, frame) => this.#subscribe(session, frame),
    // https://stomp.github.io/stomp-specification-1.2.html#UNSUBSCRIBE
    UNSUBSCRIBE: (session, frame) => this.#unsubscribe(session, frame.headers.id!),
    // https://stomp.github.io/stomp-specification-1.2.html#ACK
    ACK: (session, frame) => this.#inTransaction(session, frame) || this.#settle(session, frame, 'ack'),
    // https://stomp.github.io/stomp-specification-1.2.html#NACK
    NACK: (session, frame) => this.#inTransaction(session, frame) || this.#settle(session, frame, 'nack'),
    // https://stomp.github.io/stomp-specification-1.2.html#BEGIN
    BEGIN: (session, frame) => session.transactions.begin(frame.headers.transaction!),
    // https://stomp.github.io/stomp-specification-1.2.html#COMMIT
    COMMIT: (session, frame) => {
      for (const buffered of session.transactions.commit(frame.headers.transaction!)) {
        // One refused frame (an /app handler's check, a stale ack id) must not cost the rest of the transaction.
        try {
          this.#dispatchNow(session, buffered);
        } catch (err) {
          if (!(err instanceof StompRtcError) || err.fatal) throw err;
          session.reportError(
            err.code,
            `in transaction "${frame.headers.transaction}": ${err.message}`,
            buffered.headers.receipt,
          );
        }
      }
    },
    // https://stomp.github.io/stomp-specification-1.2.html#ABORT
    ABORT: (session, frame) => session.transactions.abort(frame.headers.transaction!),
    // https://stomp.github.io/stomp-specification-1.2.html#DISCONNECT
    DISCONNECT: (session, frame) => session.disconnect(frame.headers.receipt),
  };

  readonly #broker: Broker;
  readonly #app: AppHandlers;
  readonly #limits: RouterLimits;

  constructor(broker: Broker, app: AppHandlers, limits: RouterLimits) {
    this.#broker = broker;
    this.#app = app;
    this.#limits = limits;
  }

  /** Returns a promise when the frame's effect is not complete yet (a SUBSCRIBE relayed to RabbitMQ). */
  dispatch(session: SessionContext, frame: StompFrame): void | Promise<void> {
    const handler = this.#handlers[frame.command as RoutedCommand];
    if (!handler)
      throw new StompRtcError('UNKNOWN_COMMAND', `${frame.command} is not a frame a client may send after CONNECT`);
    const done = handler(session, frame);
    return done instanceof Promise ? done : undefined;
  }

  /** The session ended: its subscriptions go, and the application hears of each. */
  sessionClosed(session: SessionContext): void {
    session.transactions.clear();
    this.#broker.removeSession(session.sessionId);
    for (const [id, subscription] of session.subscriptions) {
      this.#app
        .hooksFor(subscription.clientDestination)
        ?.unsubscribed?.(session, id, subscription.clientDestination, 'closed');
    }
    session.subscriptions.clear();
  }

  /** Server code addressing one session's `/user/...` destination (signals, relay, errors). */
  sendToUser(sessionId: string, userDestination: string, headers: StompHeaders, body: Uint8Array): void {
    settleQuietly(
      this.#broker.publish({ destination: resolveUserDestination(userDestination, sessionId), headers, body }),
    );
  }

  publish(destination: string, headers: StompHeaders, body: Uint8Array): void {
    settleQuietly(this.#broker.publish({ destination, headers, body }));
  }

  #dispatchNow(session: SessionContext, frame: StompFrame): void {
    if (frame.command === 'SEND') {
      // The COMMIT's RECEIPT does not wait for RabbitMQ's confirms; an unconfirmed one is reported.
      this.#send(session, frame)?.catch((err: unknown) => {
        if (err instanceof StompRtcError) session.reportError(err.code, err.message);
      });
    } else this.#settle(session, frame, frame.command === 'ACK' ? 'ack' : 'nack');
  }

  #inTransaction(session: SessionContext, frame: StompFrame): boolean {
    const transaction = frame.headers.transaction;
    if (transaction === undefined) return false;
    // Refused now, not at COMMIT: a SEND that can never be delivered must not get a RECEIPT and
    // then break the transaction halfway through its COMMIT.
    if (frame.command === 'SEND') this.#checkSendDestination(frame.headers.destination!);
    session.transactions.add(transaction, frame);
    return true;
  }

  /** A promise when the broker confirms later (the relay's `/queue`): the RECEIPT waits for it. */
  #send(session: SessionContext, frame: StompFrame): void | Promise<void> {
    const destination = frame.headers.destination!;
    // A destination a handler serves is valid by construction: signals and relayed messages skip the parse.
    const handler = this.#app.sendHandler(destination);
    if (handler) return handler(session, frame);
    this.#checkSendDestination(destination);
    return this.#broker.publish({
      destination,
      headers: carriedHeaders(frame.headers),
      body: frame.body,
      sender: session.sessionId,
    });
  }

  /** Throws unless a client may SEND to `destination`; an `/app` one must have a handler. */
  #checkSendDestination(destination: string): 'app' | 'topic' | 'queue' {
    const kind = classifyDestination(destination);
    if (kind === 'app' && !this.#app.sendHandler(destination)) {
      throw new StompRtcError('UNKNOWN_APP_DESTINATION', `no handler serves ${destination}`);
    }
    if (kind === 'user') {
      throw new StompRtcError(
        'READ_ONLY_DESTINATION',
        `${destination}: /user destinations are written by the server only`,
      );
    }
    if (destination.startsWith(DESTINATIONS.roomPrefix)) {
      throw new StompRtcError(
        'READ_ONLY_DESTINATION',
        `${destination}: room topics carry presence from the server; use /app/relay to talk to the room`,
      );
    }
    return kind;
  }

  #subscribe(session: SessionContext, frame: StompFrame): void | Promise<void> {
    const { id, destination: clientDestination } = frame.headers as { id: string; destination: string };
    if (session.subscriptions.has(id)) {
      throw new StompRtcError('DUPLICATE_SUBSCRIPTION', `subscription id "${id}" is already in use on this session`);
    }
    if (session.subscriptions.size >= this.#limits.maxSubscriptionsPerSession) {
      throw new StompRtcError(
        'TOO_MANY_SUBSCRIPTIONS',
        `a session may hold ${this.#limits.maxSubscriptionsPerSession} subscriptions (MAX_SUBSCRIPTIONS)`,
      );
    }
    const ack = frame.headers.ack ?? 'auto';
    if (!ACK_MODES.has(ack))
      throw new StompRtcError('MALFORMED_FRAME', `ack:${ack} is not auto, client or client-individual`);
    const kind = classifyDestination(clientDestination);
    if (kind === 'app')
      throw new StompRtcError(
        'INVALID_DESTINATION',
        `${clientDestination}: /app destinations take SEND, not SUBSCRIBE`,
      );
    const destination =
      kind === 'user' ? resolveUserDestination(clientDestination, session.sessionId) : clientDestination;
    const hooks = this.#app.hooksFor(clientDestination);
    hooks?.check?.(session, clientDestination, frame);
    const live = hooks?.servedByApp
      ? undefined
      : this.#broker.subscribe(session, { id, destination, clientDestination, ack: ack as AckMode });
    const subscription = { destination, clientDestination };
    session.subscriptions.set(id, subscription);
    let accepted: void | Promise<void>;
    try {
      accepted = hooks?.subscribed?.(session, id, clientDestination, frame);
    } catch (err) {
      this.#drop(session, id, subscription);
      throw err;
    }
    if (!accepted) return live;
    const refused = (err: unknown) => {
      this.#drop(session, id, subscription);
      throw err;
    };
    return Promise.all([live, accepted.catch(refused)]).then(() => undefined);
  }

  /** Takes back a subscription the application refused after it was made; its hooks never saw it as live. */
  #drop(session: SessionContext, id: string, subscription: SessionSubscription): void {
    if (session.subscriptions.get(id) !== subscription) return;
    session.subscriptions.delete(id);
    this.#broker.unsubscribe(session.sessionId, id);
  }

  #unsubscribe(session: SessionContext, id: string): void {
    const subscription = session.subscriptions.get(id);
    if (!subscription) throw new StompRtcError('UNKNOWN_SUBSCRIPTION', `no subscription "${id}" on this session`);
    session.subscriptions.delete(id);
    this.#broker.unsubscribe(session.sessionId, id);
    this.#app
      .hooksFor(subscription.clientDestination)
      ?.unsubscribed?.(session, id, subscription.clientDestination, 'unsubscribe');
  }

  #settle(session: SessionContext, frame: StompFrame, outcome: 'ack' | 'nack'): void {
    const ackId = frame.headers.id!;
    const settled =
      outcome === 'ack' ? this.#broker.ack(session.sessionId, ackId) : this.#broker.nack(session.sessionId, ackId);
    if (!settled)
      throw new StompRtcError('UNKNOWN_ACK_ID', `no message awaits acknowledgement under "${ackId}" on this session`);
  }
}

/**
 * "user-defined headers … SHOULD be passed through to the MESSAGE frame" — all but the SEND's own
 * and `except`, a header the application handler reads and does not pass on.
 */
export function carriedHeaders(headers: StompHeaders, except?: string): StompHeaders {
  const carried = createHeaders();
  for (const name in headers) if (!SEND_ONLY_HEADERS.has(name) && name !== except) carried[name] = headers[name]!;
  return carried;
}

/**
 * Server-addressed messages go to /user queues and topics, which every broker publishes at once;
 * only a client's durable /queue SEND waits for RabbitMQ. Should a broker still answer with a
 * promise, its failure is the broker's to report (NOT_FORWARDED), never an unhandled rejection.
 */
function settleQuietly(done: void | Promise<void>): void {
  done?.catch(() => undefined);
}
