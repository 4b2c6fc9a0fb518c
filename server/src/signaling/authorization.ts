import type { JWTPayload } from 'jose';
import { StompRtcError } from '../../../shared/src/errors.js';

/**
 * What a session may be refused, and which frames each governs:
 * - `join`: SUBSCRIBE /topic/room/<room> (membership, the welcome with TURN credentials, presence)
 * - `signal`: SEND /app/signal with `room:<room>`
 * - `relay`: SEND /app/relay with `room:<room>`
 * - `publish`: SEND to a plain /topic/... or /queue/... destination
 * - `subscribe`: SUBSCRIBE to a plain /topic/... or /queue/... destination
 * A session's own /user/... queues, /app/report (members only anyway) and /app/token are never refused.
 */
export const ACTIONS = ['join', 'signal', 'relay', 'publish', 'subscribe'] as const;
export type Action = (typeof ACTIONS)[number];

/** Actions that name a room; `rooms` in the token limits these, and only these. */
const ROOM_ACTIONS: ReadonlySet<Action> = new Set(['join', 'signal', 'relay']);

export interface AccessRequest {
  /** The JWT `sub`; undefined when auth is off. */
  readonly principal: string | undefined;
  /** The session's current token claims (after any refresh); undefined when auth is off. */
  readonly claims: Readonly<JWTPayload> | undefined;
  readonly sessionId: string;
  readonly action: Action;
  /** The room, for join, signal and relay. */
  readonly room: string | undefined;
  /** The frame's destination as the client wrote it. */
  readonly destination: string;
}

/**
 * The app's own decision (a plugin option): for apps that keep room membership in their database.
 * When given it decides instead of the token's `stomprtc` claim (which it can read in `claims`).
 * A thrown error or rejection counts as a refusal (logged at warn, never shown to the client).
 */
export type AuthorizeHook = (request: AccessRequest) => boolean | Promise<boolean>;

/** The claim a token carries its grant in, namespaced so an IdP's own `roles` claim is never misread. */
const GRANT_CLAIM = 'stomprtc';

/** `{"stomprtc": {"rooms": ["team-42", "support-*"], "roles": ["join", "signal"]}}`; absent fields allow all. */
export interface Grant {
  readonly rooms: readonly string[] | undefined;
  readonly roles: ReadonlySet<Action> | undefined;
}

/** A room name, a prefix ending in `*`, or `*` alone. */
const ROOM_PATTERN = /^[^*]+\*?$|^\*$/;

/** Reads and checks the grant claim; a malformed one refuses the token (AUTH_FAILED) rather than guessing. */
export function readGrant(claims: Readonly<JWTPayload> | undefined): Grant | undefined {
  const raw = claims?.[GRANT_CLAIM];
  if (raw === undefined) return undefined;
  const bad = (why: string) => new StompRtcError('AUTH_FAILED', `token rejected: claim "${GRANT_CLAIM}" ${why}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw bad('must be an object {"rooms": [...], "roles": [...]}');
  }
  const { rooms, roles } = raw as Record<string, unknown>;
  if (
    rooms !== undefined &&
    (!Array.isArray(rooms) || !rooms.every((r) => typeof r === 'string' && ROOM_PATTERN.test(r)))
  ) {
    throw bad('"rooms" must be a list of room names, or prefixes ending in "*"');
  }
  if (roles !== undefined && (!Array.isArray(roles) || !roles.every((r) => ACTIONS.includes(r as Action)))) {
    throw bad(`"roles" must be a list of ${ACTIONS.join(', ')}`);
  }
  return { rooms: rooms as string[] | undefined, roles: roles === undefined ? undefined : new Set(roles as Action[]) };
}

/** Grants by claims object: a session's claims are read once per token, not once per frame. */
const grants = new WeakMap<object, Grant | undefined>();

function grantOf(claims: Readonly<JWTPayload> | undefined): Grant | undefined {
  if (claims === undefined) return undefined;
  if (!grants.has(claims)) grants.set(claims, readGrant(claims));
  return grants.get(claims);
}

function grantAllows(grant: Grant | undefined, action: Action, room: string | undefined): boolean {
  if (!grant) return true;
  if (grant.roles && !grant.roles.has(action)) return false;
  if (!ROOM_ACTIONS.has(action) || !grant.rooms || room === undefined) return true;
  return grant.rooms.some((pattern) =>
    pattern.endsWith('*') ? room.startsWith(pattern.slice(0, -1)) : room === pattern,
  );
}

/**
 * One decision: the hook's if the app gave one, else the token's grant. Sync when it can be (no
 * hook, or a hook that returns a boolean), so the common path adds no latency.
 */
export function authorize(request: AccessRequest, hook: AuthorizeHook | undefined): void | Promise<void> {
  if (!hook) {
    if (!grantAllows(grantOf(request.claims), request.action, request.room)) throw forbidden(request, 'the token');
    return;
  }
  let verdict: boolean | Promise<boolean>;
  try {
    verdict = hook(request);
  } catch (err) {
    throw forbidden(request, 'the server (its authorize hook failed)', err);
  }
  if (typeof verdict === 'boolean') {
    if (!verdict) throw forbidden(request, 'the server');
    return;
  }
  return Promise.resolve(verdict).then(
    (allowed) => {
      if (!allowed) throw forbidden(request, 'the server');
    },
    (err: unknown) => {
      throw forbidden(request, 'the server (its authorize hook failed)', err);
    },
  );
}

/** The hook's own error stays in `cause` for the server log: its message may hold what a client must not see. */
function forbidden({ action, room, destination }: AccessRequest, who: string, cause?: unknown): StompRtcError {
  const what = room === undefined ? `${action} on ${destination}` : `${action} in room "${room}"`;
  const error = new StompRtcError('FORBIDDEN', `${who} does not allow ${what}`);
  if (cause !== undefined) error.cause = cause;
  return error;
}
