import { StompRtcError } from '../../../shared/src/errors.js';
import { DESTINATIONS } from '../../../shared/src/signaling/destinations.js';
import type { SendHandler } from '../messaging/app-handlers.js';
import { carriedHeaders, type InboundRouter } from '../messaging/router.js';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { Presence } from './presence.js';
import { requireBodyAtMost, requireMember, requireRoomHeader } from './guards.js';

/**
 * SEND /app/relay: the fallback data path. To the listed members (`to`, comma-separated) or to
 * every other member; each addressee gets it on /user/queue/relay with `from` and `room`. All
 * addressees are checked before anything is sent, so a bad list delivers to nobody.
 */
export function relayHandler(config: Config, presence: Presence, router: InboundRouter, metrics: Metrics): SendHandler {
  return (session, frame) => {
    const room = requireRoomHeader(frame);
    requireBodyAtMost(frame, config.relayMaxBytes, 'RELAY_MAX_BYTES');
    const members = requireMember(presence, room, session.sessionId);
    const addressees = addresseesOf(frame.headers.to, room, session.sessionId, presence);
    for (const id of addressees) {
      if (id === session.sessionId || !members.has(id))
        throw new StompRtcError('UNKNOWN_PEER', `peer "${id}" is not in room "${room}"`);
    }
    const headers = carriedHeaders(frame.headers, 'to');
    headers.from = session.sessionId;
    headers.room = room;
    for (const id of addressees) router.sendToUser(id, DESTINATIONS.userRelay, headers, frame.body);
    metrics.relayed.inc(addressees.length);
  };
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
