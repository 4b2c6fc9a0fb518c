/** Destinations of the stomprtc wire contract (PROTOCOL.md), shared by server and client. */
export const DESTINATIONS = Object.freeze({
  roomPrefix: '/topic/room/',
  signal: '/app/signal',
  relay: '/app/relay',
  report: '/app/report',
  userSignal: '/user/queue/signal',
  userRelay: '/user/queue/relay',
  userErrors: '/user/queue/errors',
});

/** "A room id matches [A-Za-z0-9][A-Za-z0-9._-]{0,63}" */
export const ROOM_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Longest `display-name`, in characters. */
export const MAX_DISPLAY_NAME_CHARS = 64;

export function roomDestination(roomId: string): string {
  return DESTINATIONS.roomPrefix + roomId;
}
