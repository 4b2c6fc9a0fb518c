import { StompRtcError } from '../../../shared/src/errors.js';
import { createHeaders } from '../../../shared/src/stomp/frame.js';
import { DESTINATIONS } from '../../../shared/src/signaling/destinations.js';
import type { SendHandler } from '../messaging/app-handlers.js';
import type { InboundRouter } from '../messaging/router.js';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { Presence } from './presence.js';
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
    const headers = createHeaders([
      ['from', session.sessionId],
      ['room', room],
      ['content-type', 'application/json'],
    ]);
    router.sendToUser(to, DESTINATIONS.userSignal, headers, frame.body);
    metrics.signals.inc();
  };
}
