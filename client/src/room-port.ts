/**
 * The seam between a Room and the signaling connection. The STOMP binding (stomp-session.ts)
 * implements RoomPort and feeds RoomInbound; tests cross-wire rooms through an in-memory one.
 */
import type { RoomErrorInfo } from './errors.js';
import type { LinkReport, PeerId, PeerInfo, WelcomeMessage } from '../../shared/src/signaling/messages.js';

export type { LinkReport, PeerId, PeerInfo, WelcomeMessage };

/** What a Room asks of the signaling connection. Sends return false while it is down. */
export interface RoomPort {
  /** Changes on every (re)connection of the signaling session; undefined while it is down. */
  readonly epoch: number | undefined;
  sendSignal(to: PeerId, signal: Record<string, unknown>): boolean;
  sendRelay(to: PeerId, body: string | Uint8Array): boolean;
  sendReport(report: LinkReport): void;
  /** Leaves the room on the server (UNSUBSCRIBE). */
  leave(): Promise<void>;
}

/** What the signaling connection tells a Room, in arrival order. */
export interface RoomInbound {
  /** The first welcome, and again after every rejoin that follows a signaling reconnect. */
  welcome(msg: WelcomeMessage): void;
  peerJoined(peer: PeerInfo): void;
  peerLeft(peerId: PeerId): void;
  signal(from: PeerId, signal: Record<string, unknown>): void;
  relay(from: PeerId, body: string | Uint8Array): void;
  /** A non-fatal error about a relay or signal SEND (UNKNOWN_PEER, RATE_LIMITED). */
  error(err: RoomErrorInfo): void;
  /** The server refused our join, or our rejoin after a reconnect: the room is over. */
  refused(err: RoomErrorInfo): void;
  /** The signaling connection dropped; the relay path is down until the next welcome. */
  signalingLost(): void;
}
