import type { FastifyBaseLogger } from 'fastify';
import { StompRtcError } from '../../../shared/src/errors.js';
import { textDecoder, type StompFrame, type StompHeaders } from '../../../shared/src/stomp/frame.js';
import { DESTINATIONS, ROOM_ID_PATTERN } from '../../../shared/src/signaling/destinations.js';
import { authorize, type Action, type AuthorizeHook } from '../signaling/authorization.js';
import type { IceServerSource } from '../signaling/turn-credentials.js';
import type { TokenVerifier } from '../stomp/authenticator.js';
import type { InboundRouter } from './router.js';
import type { SessionContext } from './session-context.js';

/** SEND here with a fresh JWT as the body replaces the session's token without reconnecting. */
const TOKEN_DESTINATION = '/app/token';

/** What a session needs of the clientInbound channel; the gate and the router both provide it. */
export type SessionRouter = Pick<InboundRouter, 'dispatch' | 'sessionClosed' | 'sendToUser'>;

export interface AccessGateOptions {
  readonly verify: TokenVerifier | undefined;
  readonly authorize: AuthorizeHook | undefined;
  /** Fetches a joiner's TURN servers (a provider hook) once its join is allowed, before the welcome. */
  readonly iceServers: IceServerSource;
  readonly log: FastifyBaseLogger;
}

/**
 * Access control in front of the router: each frame that joins a room, signals, relays, publishes
 * or subscribes is allowed by the session's token (or the app's hook) before the router sees it,
 * and SEND /app/token refreshes the token. A decision that is asynchronous (a hook that looks the
 * room up, a JWKS fetch) holds the session's later frames behind it, so frames keep their order.
 */
export class AccessGate implements SessionRouter {
  readonly #router: InboundRouter;
  readonly #options: AccessGateOptions;
  /** Per session: the last frame still waiting on an asynchronous decision. */
  readonly #pending = new WeakMap<SessionContext, Promise<void>>();
  readonly #closed = new WeakSet<SessionContext>();

  constructor(router: InboundRouter, options: AccessGateOptions) {
    this.#router = router;
    this.#options = options;
  }

  dispatch(session: SessionContext, frame: StompFrame): void | Promise<void> {
    const { log } = this.#options;
    // The `frame` serializer (log-redaction.ts) censors credentials and leaves bodies out.
    if (log.level === 'debug' || log.level === 'trace')
      log.debug({ session: session.sessionId, frame }, 'frame from client');
    const pending = this.#pending.get(session);
    if (pending !== undefined) {
      // Failures of the frames ahead are theirs; this frame only waits its turn.
      return this.#hold(
        session,
        pending.catch(() => {}).then(() => this.#decideThenForward(session, frame)),
      );
    }
    if (isRefresh(frame)) return this.#hold(session, this.#refresh(session, frame));
    const decided = this.#decide(session, frame);
    // The common case: decided at once, and the router's own promise (a relayed SUBSCRIBE) holds nothing back.
    if (decided === undefined) return this.#router.dispatch(session, frame);
    return this.#hold(
      session,
      decided.then(() => this.#forward(session, frame)),
    );
  }

  sessionClosed(session: SessionContext): void {
    this.#closed.add(session);
    this.#pending.delete(session);
    this.#options.iceServers.forget(session.sessionId);
    this.#router.sessionClosed(session);
  }

  sendToUser(sessionId: string, userDestination: string, headers: StompHeaders, body: Uint8Array): void {
    this.#router.sendToUser(sessionId, userDestination, headers, body);
  }

  #decideThenForward(session: SessionContext, frame: StompFrame): void | Promise<void> {
    if (isRefresh(frame)) return this.#refresh(session, frame);
    const decided = this.#decide(session, frame);
    return decided === undefined ? this.#forward(session, frame) : decided.then(() => this.#forward(session, frame));
  }

  #forward(session: SessionContext, frame: StompFrame): void | Promise<void> {
    if (this.#closed.has(session)) return;
    return this.#router.dispatch(session, frame);
  }

  #hold(session: SessionContext, work: Promise<void>): Promise<void> {
    if (this.#closed.has(session)) return work;
    this.#pending.set(session, work);
    const settled = () => {
      if (this.#pending.get(session) === work) this.#pending.delete(session);
    };
    work.then(settled, settled);
    return work;
  }

  /** Undefined when the frame may go on at once; a promise when the decision comes later; throws to refuse. */
  #decide(session: SessionContext, frame: StompFrame): void | Promise<void> {
    const destination = frame.headers.destination ?? '';
    const target = accessTarget(frame, destination);
    if (!target) return;
    try {
      const decided = authorize(
        {
          principal: session.principal,
          claims: session.credentials.claims,
          sessionId: session.sessionId,
          action: target.action,
          room: target.room,
          destination,
        },
        this.#options.authorize,
      );
      if (target.action !== 'join') return decided?.catch((err: unknown) => this.#logged(session, err));
      const { sessionId, principal } = session;
      const prepare = () => this.#options.iceServers.prepare({ sessionId, principal, room: target.room! });
      return decided === undefined ? prepare() : decided.then(prepare, (err: unknown) => this.#logged(session, err));
    } catch (err) {
      return this.#logged(session, err);
    }
  }

  /** Logs what an authorize hook threw (the client's error leaves it out), then rethrows. */
  #logged(session: SessionContext, err: unknown): never {
    if (err instanceof Error && err.cause !== undefined) {
      this.#options.log.warn({ err: err.cause, session: session.sessionId }, 'authorize hook failed');
    }
    throw err;
  }

  /** The new token must verify and name the same `sub`; the RECEIPT says it is in force. */
  async #refresh(session: SessionContext, frame: StompFrame): Promise<void> {
    const verify = this.#options.verify;
    if (!verify) throw new StompRtcError('TOKEN_REFUSED', 'auth is off on this server: there is no token to refresh');
    const token = textDecoder.decode(frame.body).trim();
    if (!token) throw new StompRtcError('TOKEN_REFUSED', `${TOKEN_DESTINATION} needs the new JWT as its body`);
    let principal;
    try {
      principal = await verify(token);
    } catch (err) {
      throw new StompRtcError('TOKEN_REFUSED', (err as Error).message);
    }
    // The router has no /app/token handler: the frame ends here, and its RECEIPT follows this promise.
    if (!this.#closed.has(session)) session.credentials.refresh(principal);
    const { user, expiresAt } = principal;
    this.#options.log.info({ session: session.sessionId, user, expiresAt }, 'token refreshed');
  }
}

/** Applied at once even inside a transaction: a token is the session's state, not a message to hold back. */
function isRefresh(frame: StompFrame): boolean {
  return frame.command === 'SEND' && frame.headers.destination === TOKEN_DESTINATION;
}

interface AccessTarget {
  readonly action: Action;
  readonly room: string | undefined;
}

/**
 * Which action a frame is, if any. Malformed destinations and room ids are not decided here: the
 * router refuses them with their own codes.
 */
function accessTarget(frame: StompFrame, destination: string): AccessTarget | undefined {
  if (frame.command === 'SUBSCRIBE') {
    if (destination.startsWith(DESTINATIONS.roomPrefix)) {
      const room = destination.slice(DESTINATIONS.roomPrefix.length);
      return ROOM_ID_PATTERN.test(room) ? { action: 'join', room } : undefined;
    }
    return isPlain(destination) ? { action: 'subscribe', room: undefined } : undefined;
  }
  if (frame.command !== 'SEND') return undefined;
  if (destination === DESTINATIONS.signal || destination === DESTINATIONS.relay) {
    const room = frame.headers.room;
    if (!room) return undefined;
    return { action: destination === DESTINATIONS.signal ? 'signal' : 'relay', room };
  }
  // Room topics are read-only (READ_ONLY_DESTINATION); the router says so.
  if (!isPlain(destination) || destination.startsWith(DESTINATIONS.roomPrefix)) return undefined;
  return { action: 'publish', room: undefined };
}

function isPlain(destination: string): boolean {
  return destination.startsWith('/topic/') || destination.startsWith('/queue/');
}
