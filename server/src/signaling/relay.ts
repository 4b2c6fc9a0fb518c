import { StompRtcError } from '../../../shared/src/errors.js';
import type { StompHeaders } from '../../../shared/src/stomp/frame.js';
import { DESTINATIONS } from '../../../shared/src/signaling/destinations.js';
import { SEND_ONLY_HEADERS } from '../broker/broker.js';
import type { SendHandler } from '../messaging/app-handlers.js';
import { carriedHeaders, type InboundRouter } from '../messaging/router.js';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { Member, Presence } from './presence.js';
import { requireBodyAtMost, requireMember, requireRoomHeader } from './guards.js';

/**
 * SEND /app/relay: the fallback data path. To the listed members (`to`, comma-separated) or to
 * every other member; each addressee gets it on /user/queue/relay with `from` and `room`. All
 * addressees are checked before anything is sent, so a bad list delivers to nobody.
 */
export function relayHandler(config: Config, presence: Presence, router: InboundRouter, metrics: Metrics): SendHandler {
  /**
   * The headers of a member's last relayed message, kept while its SENDs carry the same ones (a
   * chat's `content-type`, nearly always) and frozen at their second use: the broker encodes a
   * frozen headers object once (broker/message-frame.ts), and a sender whose headers change with
   * every message (a sequence number of its own) makes no cache entry there. Keyed by the presence
   * Member, so they go with the membership.
   */
  const headersOf = new WeakMap<Member, KeptHeaders>();
  return (session, frame) => {
    const room = requireRoomHeader(frame);
    requireBodyAtMost(frame, config.relayMaxBytes, 'RELAY_MAX_BYTES');
    const members = requireMember(presence, room, session.sessionId);
    const addressees = addresseesOf(frame.headers.to, room, session.sessionId, presence);
    for (const id of addressees) {
      if (id === session.sessionId || !members.has(id))
        throw new StompRtcError('UNKNOWN_PEER', `peer "${id}" is not in room "${room}"`);
    }
    const sender = members.get(session.sessionId)!;
    let kept = headersOf.get(sender);
    if (kept?.headers.room !== room || !carriesSame(frame.headers, kept)) {
      kept = keptHeaders(frame.headers, session.sessionId, room);
      headersOf.set(sender, kept);
    } else if (!Object.isFrozen(kept.headers)) Object.freeze(kept.headers);
    const { headers } = kept;
    for (const id of addressees) router.sendToUser(id, DESTINATIONS.userRelay, headers, frame.body);
    metrics.relayed.inc(addressees.length);
  };
}

interface KeptHeaders {
  /** What the SEND carried, `from` and `room`; frozen from their second use, never written to. */
  readonly headers: StompHeaders;
  /** How many of them the SEND carried (not `from` nor `room`, which the server sets). */
  readonly carried: number;
}

/** The headers a relayed message carries to its addressees: the SEND's user headers but `to`, then `from` and `room`. */
function keptHeaders(send: StompHeaders, from: string, room: string): KeptHeaders {
  const headers = carriedHeaders(send, 'to');
  headers.from = from;
  headers.room = room;
  let carried = 0;
  for (const name in headers) if (name !== 'from' && name !== 'room') carried++;
  return { headers, carried };
}

/** Whether a SEND's headers make exactly `kept`'s headers (with the same `from` and `room`). */
function carriesSame(send: StompHeaders, kept: KeptHeaders): boolean {
  let carried = 0;
  for (const name in send) {
    if (SEND_ONLY_HEADERS.has(name) || name === 'to' || name === 'from' || name === 'room') continue;
    if (kept.headers[name] !== send[name]) return false;
    carried++;
  }
  return carried === kept.carried;
}

/** The `to` list without repeats, or every other member when there is none. */
function addresseesOf(listed: string | undefined, room: string, sender: string, presence: Presence): string[] {
  if (listed === undefined) {
    return presence
      .members(room)
      .map((m) => m.id)
      .filter((id) => id !== sender);
  }
  // One addressee, as a chat between two members has: no list to split.
  if (!listed.includes(',')) {
    const id = listed.trim();
    return id ? [id] : [];
  }
  return [
    ...new Set(
      listed
        .split(',')
        .map((id) => id.trim())
        .filter(Boolean),
    ),
  ];
}
