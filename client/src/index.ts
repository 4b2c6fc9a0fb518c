/**
 * stomprtc client: connect to a stomprtc server, join rooms, talk to peers over WebRTC data
 * channels with the server relay as fallback.
 *
 *   const session = await connect('ws://host:8080/ws');
 *   const room = await session.join('my-room', { name: 'Ann' });
 *   room.on('message', ({ from, data }) => …);
 *   room.send('hello');
 */
export { connect, Session } from './stomp-session.js';
export type { ConnectOptions, JoinOptions, SessionState, SessionEvents } from './stomp-session.js';
export { Room, createRoom } from './room.js';
export type {
  RoomEvents,
  RoomMessage,
  LinkStateEvent,
  StreamEvent,
  PeerLeftReason,
  RoomOptions,
  Peer,
  UndeliveredEvent,
  SendOptions,
  RoomState,
} from './room.js';
export type { LinkTier, LinkFailure, LinkReason } from './peer-link.js';
export type { MessageValue, ReceivedValue, JsonValue } from './message-value.js';
export type { PeerId, PeerInfo, RoomPort, RoomInbound, WelcomeMessage, LinkReport } from './room-port.js';
export { ClientError, CLIENT_ERROR_CODES } from './errors.js';
export type { ClientErrorCode, AnyErrorCode, RoomErrorInfo } from './errors.js';
export { exponentialBackoff, NEVER_RECONNECT } from './reconnect-policy.js';
export type { TokenSource } from './token-refresh.js';
export type { ReconnectPolicy, ReconnectContext, BackoffOptions } from './reconnect-policy.js';
export * as limits from './limits.js';
