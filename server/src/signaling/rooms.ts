import { StompRtcError } from '../../../shared/src/errors.js';
import { createHeaders, textEncoder } from '../../../shared/src/stomp/frame.js';
import { DESTINATIONS, MAX_DISPLAY_NAME_CHARS, ROOM_ID_PATTERN, roomDestination } from '../../../shared/src/signaling/destinations.js';
import type { PeerJoinedMessage, PeerLeftMessage, WelcomeMessage } from '../../../shared/src/signaling/messages.js';
import type { SubscriptionHooks } from '../messaging/app-handlers.js';
import type { InboundRouter } from '../messaging/router.js';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { Presence } from './presence.js';
import { iceServersFor } from './turn-credentials.js';

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

/**
 * Rooms: SUBSCRIBE `/topic/room/<id>` is a join, its UNSUBSCRIBE (or the session's end) a leave.
 * The joiner's first MESSAGE on that subscription is its welcome, sent to it alone; every member
 * then hears `peer-joined` through the broker, the joiner included.
 */
export function roomHooks(config: Config, presence: Presence, router: InboundRouter, metrics: Metrics): SubscriptionHooks {
  let welcomeCount = 0;
  const updateGauges = () => {
    const { rooms, memberships } = presence.size;
    metrics.rooms.set(rooms);
    metrics.roomMembers.set(memberships);
  };

  return {
    prefix: DESTINATIONS.roomPrefix,

    check(session, destination, frame) {
      const roomId = destination.slice(DESTINATIONS.roomPrefix.length);
      if (!ROOM_ID_PATTERN.test(roomId)) {
        throw new StompRtcError('INVALID_ROOM_ID', `"${roomId}" is not a room id: it must match ${ROOM_ID_PATTERN.source}`);
      }
      const name = frame.headers['display-name'] ?? '';
      if ([...name].length > MAX_DISPLAY_NAME_CHARS) {
        throw new StompRtcError('INVALID_DISPLAY_NAME', `display-name has ${[...name].length} characters; at most ${MAX_DISPLAY_NAME_CHARS}`);
      }
      if (presence.member(roomId, session.sessionId)) {
        throw new StompRtcError('ALREADY_IN_ROOM', `you are already in room "${roomId}"`);
      }
      if (presence.roomCount(session.sessionId) >= config.maxRoomsPerSession) {
        throw new StompRtcError('TOO_MANY_ROOMS', `a session may be in ${config.maxRoomsPerSession} rooms at once (MAX_ROOMS_PER_SESSION)`);
      }
      if (presence.memberCount(roomId) >= config.maxRoomMembers) {
        throw new StompRtcError('ROOM_FULL', `room "${roomId}" has its maximum of ${config.maxRoomMembers} members (MAX_ROOM_MEMBERS)`);
      }
    },

    subscribed(session, subscriptionId, destination, frame) {
      const roomId = destination.slice(DESTINATIONS.roomPrefix.length);
      const self = { id: session.sessionId, name: frame.headers['display-name'] ?? '' };
      const welcome: WelcomeMessage = {
        type: 'welcome',
        self: self.id,
        peers: presence.members(roomId).map(({ id, name }) => ({ id, name })),
        iceServers: iceServersFor(config, self.id),
        limits: { relayMaxBytes: config.relayMaxBytes, signalMaxBytes: config.signalMaxBytes, maxRoomMembers: config.maxRoomMembers },
      };
      presence.join(roomId, { ...self, subscriptionId });
      updateGauges();
      session.send({
        command: 'MESSAGE',
        headers: createHeaders(Object.entries({
          destination, subscription: subscriptionId, 'message-id': `welcome-${++welcomeCount}`, ...JSON_HEADERS,
        })),
        body: textEncoder.encode(JSON.stringify(welcome)),
      });
      const joined: PeerJoinedMessage = { type: 'peer-joined', peer: self };
      router.publish(roomDestination(roomId), createHeaders(Object.entries(JSON_HEADERS)), textEncoder.encode(JSON.stringify(joined)));
    },

    unsubscribed(session, _subscriptionId, destination, why) {
      const roomId = destination.slice(DESTINATIONS.roomPrefix.length);
      if (!presence.leave(roomId, session.sessionId)) return;
      updateGauges();
      const left: PeerLeftMessage = { type: 'peer-left', peer: { id: session.sessionId }, reason: why === 'unsubscribe' ? 'left' : 'disconnected' };
      router.publish(roomDestination(roomId), createHeaders(Object.entries(JSON_HEADERS)), textEncoder.encode(JSON.stringify(left)));
    },
  };
}
