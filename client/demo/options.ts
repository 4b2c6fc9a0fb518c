/** What the page was asked to do, from its URL: `/?room=<id>&name=<name>&transport=sockjs&mode=relay&debug`. */

export type Transport = 'websocket' | 'sockjs';

export interface PageOptions {
  readonly room: string;
  readonly name: string;
  readonly transport: Transport;
  /** `?mode=relay`: no peer connections; every message goes through the server relay. */
  readonly relayOnly: boolean;
  /** `?debug`: the client library's protocol log goes to the console (debug level). */
  readonly debug: boolean;
}

/** The server's rule for room ids (PROTOCOL.md, Rooms). */
const ROOM_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** The server's limit for display names. */
export const MAX_NAME_LENGTH = 64;

export function readOptions(search: string): PageOptions {
  const params = new URLSearchParams(search);
  return {
    room: params.get('room')?.trim() ?? '',
    name: (params.get('name') ?? '').trim().slice(0, MAX_NAME_LENGTH),
    transport: params.get('transport') === 'sockjs' ? 'sockjs' : 'websocket',
    relayOnly: params.get('mode') === 'relay',
    debug: params.has('debug'),
  };
}

/** The query string that reproduces these options (so a reload rejoins the same room). */
export function toSearch(options: PageOptions, { withName = true } = {}): string {
  const params = new URLSearchParams();
  if (options.room) params.set('room', options.room);
  if (withName && options.name) params.set('name', options.name);
  if (options.transport === 'sockjs') params.set('transport', 'sockjs');
  if (options.relayOnly) params.set('mode', 'relay');
  if (options.debug) params.set('debug', '');
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The STOMP endpoint on the server that served this page. */
export function serverUrl(transport: Transport, location: Location): string {
  if (transport === 'sockjs') return `${location.origin}/sockjs`;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}

export function validRoomId(room: string): boolean {
  return ROOM_ID.test(room);
}

/** A readable random room id for "new room". */
export function randomRoomId(): string {
  const words = [
    'amber',
    'birch',
    'cedar',
    'delta',
    'ember',
    'fjord',
    'grove',
    'harbor',
    'iris',
    'juniper',
    'koi',
    'lumen',
    'maple',
    'nova',
    'orbit',
    'pine',
  ];
  const pick = () => words[Math.floor(Math.random() * words.length)]!;
  return `${pick()}-${pick()}-${Math.floor(Math.random() * 900 + 100)}`;
}
