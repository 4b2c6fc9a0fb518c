/** Messages of the signaling application, as JSON bodies on the wire (PROTOCOL.md § Rooms). */
export type PeerId = string;

export interface PeerInfo {
  readonly id: PeerId;
  readonly name: string;
}

/** RTCIceServer, spelled out so this module needs no DOM types. */
export interface IceServer {
  readonly urls: string | string[];
  readonly username?: string;
  readonly credential?: string;
}

/** Our extension of the welcome: the limits a client must respect, so it can chunk under them. */
export interface RoomLimits {
  readonly relayMaxBytes: number;
  readonly signalMaxBytes: number;
  readonly maxRoomMembers: number;
}

export interface WelcomeMessage {
  readonly type: 'welcome';
  readonly self: PeerId;
  readonly peers: readonly PeerInfo[];
  readonly iceServers: readonly IceServer[];
  readonly limits: RoomLimits;
}

export interface PeerJoinedMessage {
  readonly type: 'peer-joined';
  readonly peer: PeerInfo;
}

export type LeaveReason = 'left' | 'disconnected';

export interface PeerLeftMessage {
  readonly type: 'peer-left';
  readonly peer: { readonly id: PeerId };
  /** Our extension: UNSUBSCRIBE is 'left'; DISCONNECT, close or heart-beat loss is 'disconnected'. */
  readonly reason: LeaveReason;
}

export type RoomMessage = WelcomeMessage | PeerJoinedMessage | PeerLeftMessage;

export type LinkTier = 'connecting' | 'p2p' | 'turn' | 'relay';
export const LINK_TIERS: readonly LinkTier[] = ['connecting', 'p2p', 'turn', 'relay'];

export type LinkFailure = 'ice-timeout' | 'no-turn' | 'turn-auth' | 'channel-closed' | 'unsupported';
export const LINK_FAILURES: readonly LinkFailure[] = [
  'ice-timeout',
  'no-turn',
  'turn-auth',
  'channel-closed',
  'unsupported',
];

/** Body of SEND /app/report: a client tells the server the state of one of its links. */
export interface LinkReport {
  readonly type: 'link';
  readonly peer: PeerId;
  readonly tier: LinkTier;
  readonly connectMs: number | null;
  readonly failure: LinkFailure | null;
}
