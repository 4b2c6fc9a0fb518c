import type { Room, RoomMessage } from '../../../client/src/room.js';

export function waitFor(cond: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = () => {
      if (cond()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(check, 10);
    };
    check();
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Every message a room receives, in order. */
export function record(room: Room): RoomMessage[] {
  const log: RoomMessage[] = [];
  room.on('message', (m) => log.push(m));
  return log;
}

export function allDirect(rooms: Room[]): boolean {
  return rooms.every((r) => r.peers.length === rooms.length - 1 && r.peers.every((p) => p.link === 'p2p'));
}
