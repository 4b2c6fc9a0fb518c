import { StompRtcError } from '../../../shared/src/errors.js';
import { textDecoder, type StompFrame } from '../../../shared/src/stomp/frame.js';
import type { Member, Presence } from './presence.js';

/** Checks shared by /app/signal, /app/relay and /app/report. */
export function requireRoomHeader(frame: StompFrame): string {
  const room = frame.headers.room;
  if (!room) throw new StompRtcError('MISSING_ROOM', `${frame.headers.destination} needs a "room" header`);
  return room;
}

/** The room's members by id, once `peerId` is found among them. */
export function requireMember(presence: Presence, room: string, peerId: string): ReadonlyMap<string, Member> {
  const members = presence.membersById(room);
  if (!members?.has(peerId))
    throw new StompRtcError(
      'NOT_A_MEMBER',
      `you are not a member of room "${room}"; join it by SUBSCRIBE /topic/room/${room}`,
    );
  return members;
}

export function requireBodyAtMost(frame: StompFrame, maxBytes: number, limitName: string): void {
  if (frame.body.length > maxBytes) {
    throw new StompRtcError(
      'BODY_TOO_LARGE',
      `${frame.headers.destination} body is ${frame.body.length} bytes; the limit is ${maxBytes} (${limitName})`,
    );
  }
}

export function parseJsonObject(frame: StompFrame, code: 'INVALID_SIGNAL' | 'INVALID_REPORT'): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(textDecoder.decode(frame.body));
  } catch {
    throw new StompRtcError(code, `${frame.headers.destination} body is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StompRtcError(code, `${frame.headers.destination} body must be a JSON object`);
  }
  return value as Record<string, unknown>;
}
