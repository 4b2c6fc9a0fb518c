import { StompRtcError } from '../../../shared/src/errors.js';
import { createHeaders, textEncoder } from '../../../shared/src/stomp/frame.js';
import {
  DESTINATIONS,
  MAX_DISPLAY_NAME_CHARS,
  ROOM_ID_PATTERN,
  roomDestination,
} from '../../../shared/src/signaling/destinations.js';
import type {
  PeerId,
  PeerJoinedMessage,
  PeerLeftMessage,
  WelcomeMessage,
} from '../../../shared/src/signaling/messages.js';
import type { SubscriptionHooks } from '../messaging/app-handlers.js';
import type { SessionContext } from '../messaging/session-context.js';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { JoinRefusal, SharedPresence } from './shared-presence.js';
import type { IceServerSource } from './turn-credentials.js';

/** A session of this node in a room, and the SUBSCRIBE that made it a member. */
interface LocalMember {
  readonly session: SessionContext;
  readonly subscriptionId: string;
}

/** A join waiting for its verdict from the presence log. */
interface Joining extends LocalMember {
  readonly name: string;
  /** The session left (or closed) before the verdict: a granted place is given back at once. */
  cancelled: boolean;
  granted(): void;
  refused(error: StompRtcError): void;
}

/**
 * Rooms: SUBSCRIBE `/topic/room/<id>` is a join, its UNSUBSCRIBE (or the session's end) a leave.
 * A join is a claim on the shared presence (shared-presence.ts), decided in the same order on
 * every node; once it is granted the joiner's first MESSAGE on that subscription is its welcome,
 * listing every member on every node, and each node tells its own members `peer-joined` (the
 * joiner included) and, later, `peer-left`. Room events go straight to the members' subscriptions:
 * each node hears every change from the log, so nothing about rooms travels on the room topics.
 */
export function roomHooks(
  config: Config,
  presence: SharedPresence,
  metrics: Metrics,
  iceServers: IceServerSource,
): SubscriptionHooks {
  const { view } = presence;
  let messageCount = 0;
  const localMembers = new Map<string, Map<PeerId, LocalMember>>();
  const joining = new Map<string, Joining>();

  const updateGauges = () => {
    const { rooms, memberships } = view.size;
    metrics.rooms.set(rooms);
    metrics.roomMembers.set(memberships);
  };
  const sendTo = (member: LocalMember, roomId: string, message: object) => {
    member.session.send({
      command: 'MESSAGE',
      headers: createHeaders(
        Object.entries({
          destination: roomDestination(roomId),
          subscription: member.subscriptionId,
          'message-id': `room-${++messageCount}`,
          'content-type': 'application/json',
        }),
      ),
      body: textEncoder.encode(JSON.stringify(message)),
    });
  };
  const tellRoom = (roomId: string, message: PeerJoinedMessage | PeerLeftMessage) => {
    for (const member of localMembers.get(roomId)?.values() ?? []) sendTo(member, roomId, message);
  };

  presence.listen({
    joined(roomId, member) {
      updateGauges();
      const claim = joining.get(key(roomId, member.id));
      if (claim) {
        joining.delete(key(roomId, member.id));
        if (claim.cancelled) return presence.leave(roomId, member.id, 'disconnected');
        const welcome: WelcomeMessage = {
          type: 'welcome',
          self: member.id,
          peers: view
            .members(roomId)
            .filter(({ id }) => id !== member.id)
            .map(({ id, name }) => ({ id, name })),
          iceServers: iceServers.for(member.id),
          limits: {
            relayMaxBytes: config.relayMaxBytes,
            signalMaxBytes: config.signalMaxBytes,
            maxRoomMembers: config.maxRoomMembers,
          },
        };
        sendTo(claim, roomId, welcome);
        let members = localMembers.get(roomId);
        if (!members) localMembers.set(roomId, (members = new Map<PeerId, LocalMember>()));
        members.set(member.id, claim);
        claim.granted();
      }
      tellRoom(roomId, { type: 'peer-joined', peer: { id: member.id, name: member.name } });
    },
    left(roomId, member, reason) {
      updateGauges();
      const members = localMembers.get(roomId);
      members?.delete(member.id);
      if (members?.size === 0) localMembers.delete(roomId);
      tellRoom(roomId, { type: 'peer-left', peer: { id: member.id }, reason });
    },
    refused(roomId, peerId, code) {
      const claim = joining.get(key(roomId, peerId));
      if (!claim) return;
      joining.delete(key(roomId, peerId));
      claim.refused(refusal(code, roomId));
    },
  });

  function refusal(code: JoinRefusal, roomId: string): StompRtcError {
    switch (code) {
      case 'ROOM_FULL':
        return new StompRtcError(
          code,
          `room "${roomId}" has its maximum of ${config.maxRoomMembers} members (MAX_ROOM_MEMBERS)`,
        );
      case 'TOO_MANY_ROOMS':
        return new StompRtcError(
          code,
          `a session may be in ${config.maxRoomsPerSession} rooms at once (MAX_ROOMS_PER_SESSION)`,
        );
      case 'NOT_FORWARDED':
        return new StompRtcError(
          code,
          `this node lost RabbitMQ before joining room "${roomId}" was decided; retry later`,
        );
    }
  }

  return {
    prefix: DESTINATIONS.roomPrefix,
    servedByApp: true,

    check(session, destination, frame) {
      const roomId = destination.slice(DESTINATIONS.roomPrefix.length);
      if (!ROOM_ID_PATTERN.test(roomId)) {
        throw new StompRtcError(
          'INVALID_ROOM_ID',
          `"${roomId}" is not a room id: it must match ${ROOM_ID_PATTERN.source}`,
        );
      }
      const name = frame.headers['display-name'] ?? '';
      if ([...name].length > MAX_DISPLAY_NAME_CHARS) {
        throw new StompRtcError(
          'INVALID_DISPLAY_NAME',
          `display-name has ${[...name].length} characters; at most ${MAX_DISPLAY_NAME_CHARS}`,
        );
      }
      if (view.member(roomId, session.sessionId) || presence.claiming(roomId, session.sessionId)) {
        throw new StompRtcError('ALREADY_IN_ROOM', `you are already in room "${roomId}"`);
      }
      // Refused early when already known; the log decides the races (shared-presence.ts).
      if (view.roomCount(session.sessionId) >= config.maxRoomsPerSession) {
        throw new StompRtcError(
          'TOO_MANY_ROOMS',
          `a session may be in ${config.maxRoomsPerSession} rooms at once (MAX_ROOMS_PER_SESSION)`,
        );
      }
      if (view.memberCount(roomId) + presence.pendingIn(roomId) >= config.maxRoomMembers) {
        throw new StompRtcError(
          'ROOM_FULL',
          `room "${roomId}" has its maximum of ${config.maxRoomMembers} members (MAX_ROOM_MEMBERS)`,
        );
      }
    },

    subscribed(session, subscriptionId, destination, frame) {
      const roomId = destination.slice(DESTINATIONS.roomPrefix.length);
      let outcome: StompRtcError | 'granted' | undefined;
      let settle: { resolve(): void; reject(err: StompRtcError): void } | undefined;
      const claim: Joining = {
        session,
        subscriptionId,
        name: frame.headers['display-name'] ?? '',
        cancelled: false,
        granted: () => (settle ? settle.resolve() : (outcome = 'granted')),
        refused: (error) => (settle ? settle.reject(error) : (outcome = error)),
      };
      joining.set(key(roomId, session.sessionId), claim);
      try {
        presence.claim(roomId, session.sessionId, claim.name);
      } catch (err) {
        joining.delete(key(roomId, session.sessionId));
        throw err;
      }
      // One node alone decides at once; with RabbitMQ the verdict comes one log round trip later.
      if (outcome === 'granted') return;
      if (outcome) throw outcome;
      return new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    },

    unsubscribed(session, _subscriptionId, destination, why) {
      const roomId = destination.slice(DESTINATIONS.roomPrefix.length);
      const claim = joining.get(key(roomId, session.sessionId));
      if (claim?.session === session) {
        claim.cancelled = true;
        return;
      }
      const members = localMembers.get(roomId);
      if (!members?.delete(session.sessionId)) return;
      if (members.size === 0) localMembers.delete(roomId);
      presence.leave(roomId, session.sessionId, why === 'unsubscribe' ? 'left' : 'disconnected');
    },
  };
}

function key(room: string, id: PeerId): string {
  return `${room}|${id}`;
}
