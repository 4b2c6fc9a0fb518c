import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { connect, type Session } from '../../client/src/index.js';
import type { Room } from '../../client/src/room.js';
import type { RoomErrorInfo } from '../../client/src/errors.js';
import { decodeEnvelope, encodeForRelay } from '../../client/src/envelope.js';
import { Keyring, readSealed } from '../../client/src/e2e.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { startRelayTap, type RelayTap } from '../helpers/relay-tap.js';
import { record, waitFor } from './helpers/wait.js';

/**
 * Relay-only members of a real server, behind a proxy that records (and, as a hostile server
 * would, rewrites) every body sent to /app/relay.
 */
let server: TestServer;
let tap: RelayTap;
let sessions: Session[] = [];
beforeAll(async () => {
  server = await startServer();
  tap = await startRelayTap(server.wsUrl);
});
afterAll(async () => {
  await tap.close();
  await server.close();
});
afterEach(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  sessions = [];
  tap.rewrite = undefined;
  tap.bodies.length = 0;
});

let roomCounter = 0;
async function pair(passphrases: [string | undefined, string | undefined] = [undefined, undefined]) {
  const roomId = `e2e-${process.pid}-${++roomCounter}`;
  const rooms: Room[] = [];
  const errors: RoomErrorInfo[][] = [[], []];
  for (const [i, passphrase] of passphrases.entries()) {
    const session = await connect(tap.wsUrl, { relayOnly: true });
    sessions.push(session);
    const room = await session.join(roomId, { name: `m${i}`, ...(passphrase !== undefined ? { passphrase } : {}) });
    room.on('error', (e) => errors[i]!.push(e));
    rooms.push(room);
  }
  const [ann, bob] = rooms as [Room, Room];
  await waitFor(() => ann.peers.length === 1 && bob.peers.length === 1, 10_000, 'both members');
  return { ann, bob, errors };
}

const secured = (room: Room) => room.peers.length === 1 && room.peers[0]!.safetyNumber !== undefined;

describe('end-to-end encryption on the relay', () => {
  it('relays ciphertext only: the server reads neither the text, the bytes nor the JSON', async () => {
    const { ann, bob } = await pair();
    const got = record(bob);
    const back = record(ann);
    ann.send('the eagle lands at midnight');
    ann.send(new TextEncoder().encode('bytes-no-one-reads'));
    ann.send({ plan: 'json-no-one-reads' }, { channel: 'secret-channel' });
    bob.send('reply from the bunker');
    await waitFor(() => got.length === 3 && back.length === 1, 10_000, 'messages');
    expect(got.map((m) => m.data)).toEqual([
      'the eagle lands at midnight',
      new TextEncoder().encode('bytes-no-one-reads'),
      { plan: 'json-no-one-reads' },
    ]);
    expect(got[2]!.channel).toBe('secret-channel');
    expect(back[0]!.data).toBe('reply from the bunker');
    const relayed = tap.bodies.join('\n');
    const b64 = (s: string) => btoa(s);
    for (const secret of [
      'eagle',
      'bytes-no-one-reads',
      b64('bytes-no-one-reads'),
      'json-no-one-reads',
      'secret-channel',
      'bunker',
    ]) {
      expect(relayed).not.toContain(secret);
    }
    // Every relayed body is a clear hello (keys) or a sealed frame.
    for (const body of tap.bodies) {
      expect(body.startsWith('SRTC1 {"k":"e",') || decodeEnvelope(body)?.kind === 'hello').toBe(true);
    }
    expect(tap.bodies.some((b) => b.startsWith('SRTC1 {"k":"e",'))).toBe(true);
    // Both see the same safety number, and the relay link as encrypted.
    await waitFor(() => secured(ann) && secured(bob), 5_000, 'safety numbers');
    expect(ann.peers[0]!.safetyNumber).toMatch(/^\d{5} \d{5} \d{5} \d{5}$/);
    expect(ann.peers[0]!.safetyNumber).toBe(bob.peers[0]!.safetyNumber);
    expect(ann.peers[0]!.encrypted).toBe(true);
    expect(bob.peers[0]!.link).toBe('relay');
  });

  it('relays in clear, readable by the server, when a member turns end-to-end encryption off (the control)', async () => {
    const roomId = `e2e-${process.pid}-${++roomCounter}`;
    const rooms: Room[] = [];
    for (const [i, endToEnd] of [true, false].entries()) {
      const session = await connect(tap.wsUrl, { relayOnly: true });
      sessions.push(session);
      rooms.push(await session.join(roomId, { name: `m${i}`, endToEnd }));
    }
    const [ann, bob] = rooms as [Room, Room];
    const got = record(bob);
    await waitFor(() => ann.peers.length === 1 && bob.peers.length === 1, 10_000, 'both members');
    ann.send('the eagle lands at noon');
    await waitFor(() => got.length === 1, 10_000, 'message');
    expect(tap.bodies.join('\n')).toContain('the eagle lands at noon');
    expect(ann.peers[0]).toMatchObject({ link: 'relay', encrypted: false });
  });

  it('rejects and reports a relayed envelope with a flipped byte, and delivers the resent one once', async () => {
    const { ann, bob, errors } = await pair();
    await waitFor(() => secured(ann) && secured(bob), 5_000, 'keys');
    const got = record(bob);
    let flipped = 0;
    tap.rewrite = ({ body }) => {
      const sealed = readSealed(body);
      if (!sealed || flipped > 0 || sealed.from !== ann.clientId) return [body];
      flipped++;
      const bytes = Uint8Array.from(atob(sealed.body), (c) => c.charCodeAt(0));
      bytes[bytes.length >> 1]! ^= 0x01;
      return [`${sealed.head}\n${btoa(String.fromCharCode(...bytes))}`];
    };
    ann.send('tamper with me');
    await waitFor(() => got.length === 1, 10_000, 'the resent message');
    expect(flipped).toBe(1);
    expect(got[0]!.data).toBe('tamper with me');
    expect(errors[1]).toEqual([
      { code: 'E2E_TAMPERED', message: `a relay frame that fails authentication from peer ${ann.self.id}: dropped` },
    ]);
  });

  it('rejects and reports a replayed envelope, and delivers the message once', async () => {
    const { ann, bob, errors } = await pair();
    await waitFor(() => secured(ann) && secured(bob), 5_000, 'keys');
    const got = record(bob);
    let replayed: string | undefined;
    tap.rewrite = ({ body }) => {
      const sealed = readSealed(body);
      if (!sealed || replayed || sealed.from !== ann.clientId) return [body];
      replayed = body;
      return [body, body];
    };
    ann.send('say it once');
    await waitFor(() => got.length === 1 && errors[1]!.length === 1, 10_000, 'message and report');
    expect(errors[1]![0]!.code).toBe('E2E_REPLAY');
    expect(errors[1]![0]!.message).toContain(`from peer ${ann.self.id}`);
    ann.send('and then another');
    await waitFor(() => got.length === 2, 10_000, 'the next message');
    expect(got.map((m) => m.data)).toEqual(['say it once', 'and then another']);
  });

  it('seals as soon as the keys are derived in a room without a passphrase, before any confirmation', async () => {
    // A server that drops every key confirmation: the members derive their keys but never confirm them.
    tap.rewrite = ({ body }) => (/^SRTC1 \{"k":"h".*"m":/.test(body) ? [] : [body]);
    const { ann, bob } = await pair();
    const got = record(bob);
    ann.send('sealed before the confirmation');
    await waitFor(() => got.length === 1, 5_000, 'message');
    expect(got[0]!.data).toBe('sealed before the confirmation');
    expect(tap.bodies.join('\n')).not.toContain('sealed before the confirmation');
    expect(tap.bodies.some((b) => readSealed(b)?.from === ann.clientId)).toBe(true);
    // Only a confirmation makes a member `encrypted`, and shows the safety number.
    expect(ann.peers[0]!.encrypted).toBe(false);
    expect(ann.peers[0]!.safetyNumber).toBeUndefined();
  });

  it('sends nothing before the confirmation in a room with a passphrase', async () => {
    tap.rewrite = ({ body }) => (/^SRTC1 \{"k":"h".*"m":/.test(body) ? [] : [body]);
    const { ann, bob } = await pair(['correct horse battery', 'correct horse battery']);
    const got = record(bob);
    ann.send('waits for the confirmation');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(got).toEqual([]);
    expect(tap.bodies.some((b) => readSealed(b)?.from === ann.clientId)).toBe(false);
    tap.rewrite = undefined;
    await waitFor(() => got.length === 1, 5_000, 'the message once confirmed');
    expect(got[0]!.data).toBe('waits for the confirmation');
  });

  it('connects members with the same passphrase, and refuses members whose passphrases differ, on both sides', async () => {
    const same = await pair(['correct horse battery', 'correct horse battery']);
    const got = record(same.bob);
    same.ann.send('with a passphrase');
    await waitFor(() => got.length === 1, 10_000, 'message');
    expect(same.ann.peers[0]!.safetyNumber).toBe(same.bob.peers[0]!.safetyNumber);

    const { ann, bob, errors } = await pair(['correct horse battery', 'wrong horse battery']);
    const lost = record(bob);
    ann.send('must not arrive');
    await waitFor(() => errors[0]!.length > 0 && errors[1]!.length > 0, 10_000, 'both errors');
    expect(errors[0]).toEqual([
      { code: 'E2E_MISMATCH', message: expect.stringContaining(`peer ${bob.self.id} failed`) },
    ]);
    expect(errors[1]).toEqual([
      { code: 'E2E_MISMATCH', message: expect.stringContaining(`peer ${ann.self.id} failed`) },
    ]);
    await new Promise((r) => setTimeout(r, 500));
    expect(lost).toEqual([]);
    expect(ann.peers[0]!.encrypted).toBe(false);
    expect(tap.bodies.join('\n')).not.toContain('must not arrive');
  });
});

describe('crypto warm-up', () => {
  it('runs a key agreement, a seal and an open once per process, and nothing on later calls', async () => {
    vi.resetModules();
    const { warmUpCrypto } = await import('../../client/src/e2e.js');
    const subtle = globalThis.crypto.subtle;
    const spies = {
      deriveBits: vi.spyOn(subtle, 'deriveBits'),
      encrypt: vi.spyOn(subtle, 'encrypt'),
      decrypt: vi.spyOn(subtle, 'decrypt'),
    };
    try {
      const first = warmUpCrypto();
      await first;
      // ECDH, then HKDF; the open fails authentication (the other direction's key) but decrypts.
      expect(spies.deriveBits).toHaveBeenCalledTimes(2);
      expect(spies.encrypt).toHaveBeenCalledTimes(1);
      expect(spies.decrypt).toHaveBeenCalledTimes(1);
      expect(warmUpCrypto()).toBe(first);
      expect(spies.deriveBits).toHaveBeenCalledTimes(2);
    } finally {
      for (const spy of Object.values(spies)) spy.mockRestore();
    }
  });
});

/**
 * The server in the middle: it swaps the keys in the relayed hellos for its own, recomputes the
 * key confirmation it can (it knows no passphrase), and re-seals what passes.
 */
function manInTheMiddle(roomId: string) {
  const keyrings = new Map<string, Keyring>();
  const realKeys = new Map<string, { x?: string; p?: string }>();
  const read: string[] = [];
  const impostor = (cid: string) => {
    let k = keyrings.get(cid);
    if (!k) keyrings.set(cid, (k = new Keyring(cid, roomId, undefined)));
    return k;
  };
  const other = (cid: string) => [...realKeys.keys()].find((c) => c !== cid);
  const rewrite = async ({ body }: { body: string }): Promise<string[]> => {
    const sealed = readSealed(body);
    if (sealed) {
      const to = other(sealed.from)!;
      // Sealed by the sender for "to", whose keys it got from us: open as "to", re-seal as the sender.
      const opened = await (await impostor(to).pair(sealed.from, realKeys.get(sealed.from)!)!).open(sealed);
      if ('failure' in opened) return [];
      read.push(opened.inner);
      const toReceiver = await impostor(sealed.from).pair(to, realKeys.get(to)!)!;
      return [await toReceiver.seal(sealed.from, impostor(sealed.from).nextCounter(), opened.inner)];
    }
    const env = decodeEnvelope(body);
    if (env?.kind !== 'hello' || !env.keys) return [body];
    realKeys.set(env.from, env.keys);
    const me = impostor(env.from);
    await me.ready;
    const to = other(env.from);
    const confirm = env.confirm && to ? { confirm: (await me.pair(to, realKeys.get(to)!)!).confirmation } : {};
    const { confirm: _dropped, ...rest } = env;
    return [encodeForRelay({ ...rest, keys: me.offered, ...confirm })];
  };
  return { rewrite, read };
}

describe('a server that swaps the keys (man in the middle)', () => {
  it('reads the chat unnoticed without a passphrase, but the safety numbers differ', async () => {
    const roomId = `e2e-${process.pid}-${++roomCounter}`;
    const mitm = manInTheMiddle(roomId);
    tap.rewrite = mitm.rewrite;
    const rooms: Room[] = [];
    const errors: RoomErrorInfo[] = [];
    for (const name of ['ann', 'bob']) {
      const session = await connect(tap.wsUrl, { relayOnly: true });
      sessions.push(session);
      const room = await session.join(roomId, { name });
      room.on('error', (e) => errors.push(e));
      rooms.push(room);
    }
    const [ann, bob] = rooms as [Room, Room];
    const got = record(bob);
    await waitFor(() => secured(ann) && secured(bob), 10_000, 'keys (with the impostor)');
    ann.send('read by the server');
    await waitFor(() => got.length === 1, 10_000, 'message');
    expect(mitm.read.some((inner) => inner.includes('read by the server'))).toBe(true);
    expect(errors).toEqual([]);
    // What gives it away: the numbers the two people compare out of band.
    expect(ann.peers[0]!.safetyNumber).not.toBe(bob.peers[0]!.safetyNumber);
  });

  it('is detected on both sides when the room has a passphrase, and reads nothing', async () => {
    const roomId = `e2e-${process.pid}-${++roomCounter}`;
    const mitm = manInTheMiddle(roomId);
    tap.rewrite = mitm.rewrite;
    const rooms: Room[] = [];
    const errors: RoomErrorInfo[][] = [[], []];
    for (const [i, name] of ['ann', 'bob'].entries()) {
      const session = await connect(tap.wsUrl, { relayOnly: true });
      sessions.push(session);
      const room = await session.join(roomId, { name, passphrase: 'a long shared passphrase' });
      room.on('error', (e) => errors[i]!.push(e));
      rooms.push(room);
    }
    const [ann, bob] = rooms as [Room, Room];
    await waitFor(() => ann.peers.length === 1 && bob.peers.length === 1, 10_000, 'both members');
    ann.send('never for the server');
    await waitFor(() => errors[0]!.length > 0 && errors[1]!.length > 0, 10_000, 'both errors');
    expect(errors[0]![0]!.code).toBe('E2E_MISMATCH');
    expect(errors[0]![0]!.message).toContain(`peer ${bob.self.id}`);
    expect(errors[1]![0]!.code).toBe('E2E_MISMATCH');
    expect(errors[1]![0]!.message).toContain(`peer ${ann.self.id}`);
    expect(mitm.read).toEqual([]);
    expect(tap.bodies.join('\n')).not.toContain('never for the server');
  });
});
