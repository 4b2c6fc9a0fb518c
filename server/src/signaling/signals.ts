import { StompRtcError } from '../../../shared/src/errors.js';
import { createHeaders, type StompHeaders } from '../../../shared/src/stomp/frame.js';
import { DESTINATIONS } from '../../../shared/src/signaling/destinations.js';
import type { SendHandler } from '../messaging/app-handlers.js';
import type { InboundRouter } from '../messaging/router.js';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { Member, Presence } from './presence.js';
import { parseJsonObject, requireBodyAtMost, requireMember, requireRoomHeader } from './guards.js';

/**
 * SEND /app/signal: an SDP or ICE signal to one member of a shared room, delivered on the
 * addressee's /user/queue/signal with `from` stamped by the server and the body unchanged.
 */
export function signalHandler(
  config: Config,
  presence: Presence,
  router: InboundRouter,
  metrics: Metrics,
): SendHandler {
  /**
   * The headers of a member's signals, made once per membership and frozen: they are the same for
   * every signal it sends in the room, and the broker encodes a frozen headers object once
   * (broker/message-frame.ts).
   */
  const headersOf = new WeakMap<Member, StompHeaders>();
  return (session, frame) => {
    const room = requireRoomHeader(frame);
    const to = frame.headers.to;
    if (!to) throw new StompRtcError('MISSING_ROOM', '/app/signal needs a "to" header naming the peer');
    requireBodyAtMost(frame, config.signalMaxBytes, 'SIGNAL_MAX_BYTES');
    parseJsonObject(frame, 'INVALID_SIGNAL');
    const members = requireMember(presence, room, session.sessionId);
    if (to === session.sessionId || !members.has(to)) {
      throw new StompRtcError('UNKNOWN_PEER', `peer "${to}" is not in room "${room}"`);
    }
    const sender = members.get(session.sessionId)!;
    let headers = headersOf.get(sender);
    if (headers?.room !== room) {
      headers = Object.freeze(
        createHeaders([
          ['from', session.sessionId],
          ['room', room],
          ['content-type', 'application/json'],
        ]),
      );
      headersOf.set(sender, headers);
    }
    router.sendToUser(to, DESTINATIONS.userSignal, headers, frame.body);
    metrics.signals.inc();
  };
}
