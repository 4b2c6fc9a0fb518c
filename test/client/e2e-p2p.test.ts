import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import wrtc from '@roamhq/wrtc';
import { connect, type Session } from '../../client/src/index.js';
import type { Room } from '../../client/src/room.js';
import type { RoomErrorInfo } from '../../client/src/errors.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { record, sleep, waitFor } from './helpers/wait.js';

/** Members with real data channels (@roamhq/wrtc): the passphrase guards the channel path too. */
let server: TestServer;
let sessions: Session[] = [];
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  sessions = [];
});

async function pairOf(roomId: string, passphrases: [string, string]) {
  const rooms: Room[] = [];
  const errors: RoomErrorInfo[][] = [[], []];
  for (const [i, passphrase] of passphrases.entries()) {
    const session = await connect(server.wsUrl, { wrtc });
    sessions.push(session);
    const room = await session.join(roomId, { name: `m${i}`, passphrase });
    room.on('error', (e) => errors[i]!.push(e));
    rooms.push(room);
  }
  return { ann: rooms[0]!, bob: rooms[1]!, errors };
}

describe('end-to-end keys on data channels', () => {
  it('agrees on keys over p2p with a passphrase: both see the same safety number and talk', async () => {
    const { ann, bob, errors } = await pairOf(`e2e-p2p-${process.pid}-same`, ['pass phrase', 'pass phrase']);
    const got = record(bob);
    await waitFor(() => [ann, bob].every((r) => r.peers.length === 1 && r.peers[0]!.link === 'p2p'), 20_000, 'p2p');
    await waitFor(() => [ann, bob].every((r) => r.peers[0]!.safetyNumber !== undefined), 10_000, 'keys');
    expect(ann.peers[0]!.safetyNumber).toBe(bob.peers[0]!.safetyNumber);
    expect(ann.peers[0]!.encrypted).toBe(true);
    ann.send('over the channel');
    await waitFor(() => got.length === 1, 10_000, 'message');
    expect(got[0]!.data).toBe('over the channel');
    expect(errors).toEqual([[], []]);
  });

  it('sends nothing on the data channel when the passphrases differ, and says so on both sides', async () => {
    const { ann, bob, errors } = await pairOf(`e2e-p2p-${process.pid}-differ`, ['pass phrase', 'other phrase']);
    const got = record(bob);
    ann.send('must wait for the keys');
    await waitFor(() => errors[0]!.length > 0 && errors[1]!.length > 0, 20_000, 'both errors');
    expect(errors[0]![0]!.code).toBe('E2E_MISMATCH');
    expect(errors[1]![0]!.code).toBe('E2E_MISMATCH');
    await waitFor(() => ann.peers[0]?.link === 'p2p', 20_000, 'p2p');
    await sleep(500);
    expect(got).toEqual([]);
    expect(ann.peers[0]!.encrypted).toBe(false);
  });
});
