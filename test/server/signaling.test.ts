/**
 * The signaling application over real sockets with @stomp/stompjs: rooms, welcome and presence,
 * signals, relay, link reports, ICE servers, health and shutdown. Limits are small so every
 * boundary is cheap to reach: 3 members per room, 2 rooms per session, 1 KiB signal and relay.
 */
import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { IMessage } from '@stomp/stompjs';
import type { PeerJoinedMessage, PeerLeftMessage, WelcomeMessage } from '../../shared/src/signaling/messages.js';
import {
  rawStomp,
  startServer,
  stompClient,
  wire,
  type RawStomp,
  type Subscription,
  type TestClient,
  type TestServer,
  type Transport,
} from '../helpers/server.js';

const ENV = {
  MAX_ROOM_MEMBERS: '3',
  MAX_ROOMS_PER_SESSION: '2',
  SIGNAL_MAX_BYTES: '1024',
  RELAY_MAX_BYTES: '1024',
  HEARTBEAT_MS: '200',
  HEARTBEAT_GRACE_MS: '200',
};

let server: TestServer;
let clients: TestClient[] = [];
let raws: RawStomp[] = [];
let seq = 0;
const roomId = () => `room-${++seq}`;

beforeAll(async () => {
  server = await startServer(ENV);
});
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  for (const r of raws) r.close();
  clients = [];
  raws = [];
});
afterAll(async () => {
  await server.close();
});

/** A peer: a stompjs session subscribed to its signal and relay queues (and errors). */
interface Peer extends TestClient {
  readonly signals: Subscription;
  readonly relays: Subscription;
}

async function peer(transport: Transport = 'ws', target: TestServer = server): Promise<Peer> {
  const client = await stompClient(target, { transport });
  clients.push(client);
  const signals = client.subscribe('/user/queue/signal');
  const relays = client.subscribe('/user/queue/relay');
  await client.sync();
  return Object.assign(client, { signals, relays });
}

interface Membership {
  readonly room: string;
  readonly welcome: WelcomeMessage;
  readonly subscription: Subscription;
  /** The next presence message (peer-joined / peer-left) on the room subscription. */
  next<T = PeerJoinedMessage | PeerLeftMessage>(): Promise<T>;
}

/** Joins `room` and returns the welcome, after consuming the joiner's own peer-joined. */
async function join(p: TestClient, room: string, name = ''): Promise<Membership> {
  const subscription = p.subscribe(`/topic/room/${room}`, name ? { 'display-name': name } : {});
  const welcome = await subscription.json<WelcomeMessage>();
  const self = await subscription.json<PeerJoinedMessage>();
  expect(self).toEqual({ type: 'peer-joined', peer: { id: p.peerId, name } });
  return { room, welcome, subscription, next: () => subscription.json() };
}

async function errorCode(p: TestClient): Promise<string> {
  return JSON.parse((await p.errors.next()).body).code;
}

function signal(from: TestClient, room: string, to: string, body: unknown, headers: Record<string, string> = {}): void {
  from.send('/app/signal', typeof body === 'string' ? body : JSON.stringify(body), { room, to, ...headers });
}

/** A JSON object body of exactly `bytes` bytes. */
function jsonOfSize(bytes: number): string {
  const body = `{"type":"candidate","pad":"${'p'.repeat(bytes - 29)}"}`;
  expect(Buffer.byteLength(body)).toBe(bytes);
  return body;
}

const json = (m: IMessage) => JSON.parse(m.body);

describe.each<Transport>(['ws', 'sockjs'])('rooms and signals over %s', (transport) => {
  it('welcomes the joiner alone, first, with self, peers, iceServers and limits', async () => {
    const room = roomId();
    const alice = await peer(transport);
    const a = await join(alice, room, 'Alice');
    expect(a.welcome).toEqual({
      type: 'welcome',
      self: alice.peerId,
      peers: [],
      iceServers: [],
      limits: { relayMaxBytes: 1024, signalMaxBytes: 1024, maxRoomMembers: 3 },
    });
    const bob = await peer(transport);
    const b = await join(bob, room, 'Bob');
    expect(b.welcome.self).toBe(bob.peerId);
    expect(b.welcome.peers).toEqual([{ id: alice.peerId, name: 'Alice' }]);
    // Alice hears of Bob, and nothing of Bob's welcome.
    expect(await a.next()).toEqual({ type: 'peer-joined', peer: { id: bob.peerId, name: 'Bob' } });
    expect(a.subscription.messages.pending).toEqual([]);
  });

  it('delivers a signal only to its addressee, with from and room stamped and the body unchanged', async () => {
    const room = roomId();
    const [alice, bob, carol] = [await peer(transport), await peer(transport), await peer(transport)];
    for (const p of [alice, bob, carol]) await join(p, room);
    const offer = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' };
    signal(alice, room, bob.peerId, offer, { from: carol.peerId });
    const received = await bob.signals.next();
    expect(json(received)).toEqual(offer);
    expect(received.headers).toMatchObject({ from: alice.peerId, room });
    // Carol's first signal is the one addressed to her, so Alice's offer to Bob never reached her.
    signal(alice, room, carol.peerId, { type: 'answer', sdp: 'for carol' });
    expect(json(await carol.signals.next()).sdp).toBe('for carol');
    expect(alice.signals.messages.all).toEqual([]);
    expect(alice.errors.all).toEqual([]);
  });

  it('stamps each signal with its own sender and room, for a sender in two rooms and for two senders', async () => {
    const [first, second] = [roomId(), roomId()];
    const [alice, bob, carol] = [await peer(transport), await peer(transport), await peer(transport)];
    for (const p of [alice, bob]) {
      await join(p, first);
      await join(p, second);
    }
    await join(carol, first);
    const sent: Array<[TestClient, string]> = [
      [alice, first],
      [alice, second],
      [carol, first],
      [alice, first],
      [alice, second],
      [carol, first],
    ];
    for (const [i, [from, room]] of sent.entries()) signal(from, room, bob.peerId, { type: 'candidate', i });
    // Alice's and Carol's signals come over two connections: in order for each, in any order between them.
    const received = new Map<number, IMessage>();
    for (const _ of sent) {
      const message = await bob.signals.next();
      received.set(json(message).i, message);
    }
    for (const [i, [from, room]] of sent.entries()) {
      expect(received.get(i)?.headers).toMatchObject({ from: from.peerId, room, 'content-type': 'application/json' });
    }
  });

  it('relays to every other member, sender excluded, with content-type, from and room', async () => {
    const room = roomId();
    const [alice, bob, carol] = [await peer(transport), await peer(transport), await peer(transport)];
    for (const p of [alice, bob, carol]) await join(p, room);
    alice.send('/app/relay', 'hello all', { room, 'content-type': 'text/plain' });
    for (const p of [bob, carol]) {
      const m = await p.relays.next();
      expect(m.body).toBe('hello all');
      expect(m.headers).toMatchObject({ from: alice.peerId, room, 'content-type': 'text/plain' });
    }
    bob.send('/app/relay', 'from bob', { room, to: alice.peerId });
    expect((await alice.relays.next()).body).toBe('from bob');
  });
});

describe('presence', () => {
  it('tells members peer-left with reason "left" on UNSUBSCRIBE', async () => {
    const room = roomId();
    const [alice, bob] = [await peer(), await peer()];
    const a = await join(alice, room);
    const b = await join(bob, room);
    await a.next();
    b.subscription.unsubscribe();
    expect(await a.next()).toEqual({ type: 'peer-left', peer: { id: bob.peerId }, reason: 'left' });
    // Bob is no longer a member: signalling him is refused.
    signal(alice, room, bob.peerId, { type: 'offer' });
    expect(await errorCode(alice)).toBe('UNKNOWN_PEER');
  });

  it('tells members peer-left with reason "disconnected" on DISCONNECT', async () => {
    const room = roomId();
    const [alice, bob] = [await peer(), await peer()];
    const a = await join(alice, room);
    await join(bob, room);
    await a.next();
    await bob.close();
    expect(await a.next()).toEqual({ type: 'peer-left', peer: { id: bob.peerId }, reason: 'disconnected' });
  });

  it('tells members peer-left with reason "disconnected" when a socket closes without DISCONNECT', async () => {
    const room = roomId();
    const alice = await peer();
    const a = await join(alice, room);
    const crash = await rawStomp(server);
    raws.push(crash);
    await crash.connect();
    crash.send(wire('SUBSCRIBE', { id: 'r', destination: `/topic/room/${room}` }));
    const welcome = JSON.parse(Buffer.from((await crash.nextFrame()).body).toString());
    expect((await a.next()).type).toBe('peer-joined');
    crash.socket.terminate();
    expect(await a.next()).toEqual({ type: 'peer-left', peer: { id: welcome.self }, reason: 'disconnected' });
  });

  it('tells members peer-left with reason "disconnected" when a member stops heart-beating', async () => {
    const room = roomId();
    const alice = await peer();
    const a = await join(alice, room);
    const silent = await rawStomp(server);
    raws.push(silent);
    await silent.connect({ 'accept-version': '1.2', host: 'stomprtc', 'heart-beat': '200,0' });
    silent.send(wire('SUBSCRIBE', { id: 'r', destination: `/topic/room/${room}` }));
    const welcome = JSON.parse(Buffer.from((await silent.nextFrame()).body).toString());
    expect((await a.next()).type).toBe('peer-joined');
    expect(await a.next()).toEqual({ type: 'peer-left', peer: { id: welcome.self }, reason: 'disconnected' });
    await silent.waitForClose();
    expect(silent.frames.all.at(-1)?.headers.code).toBe('HEARTBEAT_TIMEOUT');
  });
});

describe('relay', () => {
  it('relays to a listed subset only', async () => {
    const room = roomId();
    const [alice, bob, carol] = [await peer(), await peer(), await peer()];
    for (const p of [alice, bob, carol]) await join(p, room);
    alice.send('/app/relay', 'only carol', { room, to: carol.peerId });
    expect((await carol.relays.next()).body).toBe('only carol');
    alice.send('/app/relay', 'then bob', { room, to: bob.peerId });
    expect((await bob.relays.next()).body).toBe('then bob');
  });

  it('relays once to each member a list names, whatever its spaces and repeats', async () => {
    const room = roomId();
    const [alice, bob, carol] = [await peer(), await peer(), await peer()];
    for (const p of [alice, bob, carol]) await join(p, room);
    alice.send('/app/relay', 'both', { room, to: ` ${bob.peerId}, ${carol.peerId},${bob.peerId}` });
    alice.send('/app/relay', 'marker', { room, to: bob.peerId });
    expect((await carol.relays.next()).body).toBe('both');
    expect((await bob.relays.next()).body).toBe('both');
    // The next thing bob gets is the marker: the repeat in the list was not a second copy.
    expect((await bob.relays.next()).body).toBe('marker');
  });

  it('carries binary relay bodies unchanged', async () => {
    const room = roomId();
    const [alice, bob] = [await peer(), await peer()];
    for (const p of [alice, bob]) await join(p, room);
    const bytes = Uint8Array.from([0, 255, 0, 128, 10, 0]);
    alice.client.publish({
      destination: '/app/relay',
      binaryBody: bytes,
      headers: { room, 'content-type': 'application/octet-stream' },
    });
    const m = await bob.relays.next();
    expect(Array.from(m.binaryBody)).toEqual(Array.from(bytes));
    expect(m.headers['content-type']).toBe('application/octet-stream');
  });
  it("gives each relayed message the headers of its own SEND, as a sender's headers change and between rooms", async () => {
    const [first, second] = [roomId(), roomId()];
    const [alice, bob] = [await peer(), await peer()];
    for (const p of [alice, bob]) {
      await join(p, first);
      await join(p, second);
    }
    const sent: Array<[string, Record<string, string>]> = [
      [first, { 'content-type': 'text/plain', 'x-a': '1' }],
      [first, { 'content-type': 'text/plain', 'x-a': '1' }],
      // A header dropped, then one changed and one added, then the same in the other room.
      [first, { 'content-type': 'text/plain' }],
      [first, { 'content-type': 'application/json', 'x-b': '2' }],
      [second, { 'content-type': 'application/json', 'x-b': '2' }],
      // One more than the last, then none; a forged `from` is the server's to stamp.
      [second, { 'content-type': 'application/json', 'x-a': '1', 'x-b': '2' }],
      [second, { from: bob.peerId }],
    ];
    for (const [i, [room, headers]] of sent.entries())
      alice.send('/app/relay', `m${i}`, { room, to: bob.peerId, ...headers });
    for (const [i, [room, headers]] of sent.entries()) {
      const message = await bob.relays.next();
      expect(message.body).toBe(`m${i}`);
      const { destination, subscription, 'message-id': id, 'content-length': length, ...user } = message.headers;
      expect([destination, subscription, id, length].every(Boolean)).toBe(true);
      expect(user).toEqual({ ...headers, from: alice.peerId, room });
    }
  });
});

describe('hostile signals and relays: a non-fatal error to the sender, nothing delivered, others unaffected', () => {
  /** alice and bob in `room`; dave elsewhere. */
  async function cast() {
    const room = roomId();
    const [alice, bob, dave] = [await peer(), await peer(), await peer()];
    await join(alice, room);
    await join(bob, room);
    await join(dave, roomId());
    /** Bob's next signal and relay are the markers alice sends now: nothing came before them. */
    const bobGotNothingElse = async () => {
      signal(alice, room, bob.peerId, { type: 'marker' });
      alice.send('/app/relay', 'marker', { room, to: bob.peerId });
      expect(json(await bob.signals.next()).type).toBe('marker');
      expect((await bob.relays.next()).body).toBe('marker');
      expect(bob.errors.all).toEqual([]);
    };
    return { room, alice, bob, dave, bobGotNothingElse };
  }

  it('refuses a signal to a peer outside the room with UNKNOWN_PEER', async () => {
    const { room, alice, dave, bobGotNothingElse } = await cast();
    signal(alice, room, dave.peerId, { type: 'offer' });
    expect(await errorCode(alice)).toBe('UNKNOWN_PEER');
    await dave.sync();
    expect(dave.signals.messages.all).toEqual([]);
    await bobGotNothingElse();
  });

  it('refuses a signal to a peer id that does not exist, and to oneself, with UNKNOWN_PEER', async () => {
    const { room, alice, bobGotNothingElse } = await cast();
    signal(alice, room, 'no-such-peer', { type: 'offer' });
    expect(await errorCode(alice)).toBe('UNKNOWN_PEER');
    signal(alice, room, alice.peerId, { type: 'offer' });
    expect(await errorCode(alice)).toBe('UNKNOWN_PEER');
    await bobGotNothingElse();
  });

  it('refuses a signal from a sender outside the room with NOT_A_MEMBER', async () => {
    const { room, bob, dave, bobGotNothingElse } = await cast();
    signal(dave, room, bob.peerId, { type: 'offer' });
    expect(await errorCode(dave)).toBe('NOT_A_MEMBER');
    await bobGotNothingElse();
  });

  it('refuses a signal naming a room that does not exist with NOT_A_MEMBER', async () => {
    const { alice, bob, bobGotNothingElse } = await cast();
    signal(alice, 'no-such-room', bob.peerId, { type: 'offer' });
    expect(await errorCode(alice)).toBe('NOT_A_MEMBER');
    await bobGotNothingElse();
  });

  it('refuses a signal without room or to with MISSING_ROOM, and a body that is not a JSON object with INVALID_SIGNAL', async () => {
    const { room, alice, bob, bobGotNothingElse } = await cast();
    alice.send('/app/signal', '{}', { to: bob.peerId });
    expect(await errorCode(alice)).toBe('MISSING_ROOM');
    alice.send('/app/signal', '{}', { room });
    expect(await errorCode(alice)).toBe('MISSING_ROOM');
    signal(alice, room, bob.peerId, 'not json');
    expect(await errorCode(alice)).toBe('INVALID_SIGNAL');
    signal(alice, room, bob.peerId, '[1,2]');
    expect(await errorCode(alice)).toBe('INVALID_SIGNAL');
    await bobGotNothingElse();
  });

  it('accepts a signal of exactly SIGNAL_MAX_BYTES and refuses one byte more with BODY_TOO_LARGE', async () => {
    const { room, alice, bob, bobGotNothingElse } = await cast();
    signal(alice, room, bob.peerId, jsonOfSize(1024));
    expect((await bob.signals.next()).body).toHaveLength(1024);
    signal(alice, room, bob.peerId, jsonOfSize(1025));
    expect(await errorCode(alice)).toBe('BODY_TOO_LARGE');
    await bobGotNothingElse();
  });

  it('accepts a relay of exactly RELAY_MAX_BYTES and refuses one byte more with BODY_TOO_LARGE', async () => {
    const { room, alice, bob, bobGotNothingElse } = await cast();
    alice.send('/app/relay', 'r'.repeat(1024), { room });
    expect((await bob.relays.next()).body).toHaveLength(1024);
    alice.send('/app/relay', 'r'.repeat(1025), { room });
    expect(await errorCode(alice)).toBe('BODY_TOO_LARGE');
    await bobGotNothingElse();
  });

  it('refuses a relay whose list names a non-member with UNKNOWN_PEER, delivering to none of the list', async () => {
    const { room, alice, bob, dave, bobGotNothingElse } = await cast();
    alice.send('/app/relay', 'partial', { room, to: `${bob.peerId},${dave.peerId}` });
    expect(await errorCode(alice)).toBe('UNKNOWN_PEER');
    await bobGotNothingElse();
    expect(dave.relays.messages.all).toEqual([]);
  });

  it('refuses a relay from a non-member with NOT_A_MEMBER', async () => {
    const { room, dave, bobGotNothingElse } = await cast();
    dave.send('/app/relay', 'intruder', { room });
    expect(await errorCode(dave)).toBe('NOT_A_MEMBER');
    await bobGotNothingElse();
  });
});

describe('hostile joins: a non-fatal error to the joiner, no presence change, members unaffected', () => {
  it('accepts MAX_ROOM_MEMBERS members and refuses one more with ROOM_FULL', async () => {
    const room = roomId();
    const [p1, p2, p3, p4] = [await peer(), await peer(), await peer(), await peer()];
    const first = await join(p1, room);
    await join(p2, room);
    await join(p3, room);
    expect((await first.next()).type).toBe('peer-joined');
    expect((await first.next()).type).toBe('peer-joined');
    const refused = p4.subscribe(`/topic/room/${room}`);
    expect(await errorCode(p4)).toBe('ROOM_FULL');
    await p4.sync();
    expect(refused.messages.all).toEqual([]);
    // The next presence news members hear is p3 leaving, not p4 arriving.
    await p3.close();
    expect(await first.next()).toMatchObject({ type: 'peer-left', peer: { id: p3.peerId } });
    // With room again, p4 may join (under a new subscription id).
    const again = await join(p4, room);
    expect(again.welcome.peers.map((p) => p.id).sort()).toEqual([p1.peerId, p2.peerId].sort());
  });

  it('accepts MAX_ROOMS_PER_SESSION rooms and refuses one more with TOO_MANY_ROOMS', async () => {
    const p = await peer();
    await join(p, roomId());
    await join(p, roomId());
    const third = roomId();
    const watcher = await peer();
    const w = await join(watcher, third);
    p.subscribe(`/topic/room/${third}`);
    expect(await errorCode(p)).toBe('TOO_MANY_ROOMS');
    const late = await peer();
    await join(late, third);
    expect(await w.next()).toMatchObject({ type: 'peer-joined', peer: { id: late.peerId } });
  });

  it.each([
    ['65 characters', 'a'.repeat(65)],
    ['a leading "."', '.hidden'],
    ['a leading "-"', '-dash'],
    ['a leading "_"', '_under'],
    ['a "/"', 'a/b'],
  ])('refuses a room id with %s with INVALID_ROOM_ID', async (_label, id) => {
    const p = await peer();
    p.subscribe(`/topic/room/${id}`);
    expect(await errorCode(p)).toBe('INVALID_ROOM_ID');
  });

  it.each([
    ['a space', 'a b'],
    ['a "~"', 'a~b'],
    ['nothing', ''],
  ])('refuses a room destination with %s with INVALID_DESTINATION', async (_label, id) => {
    const p = await peer();
    p.subscribe(`/topic/room/${id}`);
    expect(await errorCode(p)).toBe('INVALID_DESTINATION');
  });

  it('accepts a room id of 64 characters, dots, dashes and underscores', async () => {
    const p = await peer();
    const id = `A9._-${'x'.repeat(59)}`;
    expect(id).toHaveLength(64);
    const m = await join(p, id);
    expect(m.welcome.self).toBe(p.peerId);
  });

  it('refuses a second join of the same room by one session with ALREADY_IN_ROOM', async () => {
    const room = roomId();
    const [alice, bob] = [await peer(), await peer()];
    const a = await join(alice, room);
    await join(bob, room);
    await a.next();
    bob.subscribe(`/topic/room/${room}`);
    expect(await errorCode(bob)).toBe('ALREADY_IN_ROOM');
    const carol = await peer();
    await join(carol, room);
    expect(await a.next()).toMatchObject({ type: 'peer-joined', peer: { id: carol.peerId } });
  });

  it('accepts a display-name of 64 characters and refuses 65 with INVALID_DISPLAY_NAME', async () => {
    const room = roomId();
    const p = await peer();
    p.subscribe(`/topic/room/${room}`, { 'display-name': 'n'.repeat(65) });
    expect(await errorCode(p)).toBe('INVALID_DISPLAY_NAME');
    const name = '🙂'.repeat(64);
    const m = await join(p, room, name);
    expect(m.welcome.self).toBe(p.peerId);
  });
});

describe('iceServers', () => {
  it('lists STUN and TURN with TURN REST credentials: username "<expiry>:<peerId>", credential base64 HMAC-SHA1', async () => {
    const secret = 'coturn-static-auth-secret';
    const ice = await startServer({
      STUN_URLS: 'stun:stun.test:3478',
      TURN_URLS: 'turn:turn.test:3478?transport=udp, turns:turn.test:5349',
      TURN_SECRET: secret,
      TURN_TTL_S: '600',
    });
    try {
      const p = await peer('ws', ice);
      const before = Math.floor(Date.now() / 1000);
      const { welcome } = await join(p, roomId());
      const after = Math.floor(Date.now() / 1000);
      expect(welcome.iceServers).toHaveLength(2);
      expect(welcome.iceServers[0]).toEqual({ urls: ['stun:stun.test:3478'] });
      const turn = welcome.iceServers[1]!;
      expect(turn.urls).toEqual(['turn:turn.test:3478?transport=udp', 'turns:turn.test:5349']);
      const [expiry, peerId] = turn.username!.split(':');
      expect(peerId).toBe(p.peerId);
      expect(Number(expiry)).toBeGreaterThanOrEqual(before + 600);
      expect(Number(expiry)).toBeLessThanOrEqual(after + 600);
      expect(turn.credential).toBe(createHmac('sha1', secret).update(turn.username!).digest('base64'));
      await p.close();
    } finally {
      await ice.close();
    }
  });

  it('is empty when no STUN or TURN is configured', async () => {
    const p = await peer();
    expect((await join(p, roomId())).welcome.iceServers).toEqual([]);
  });
});

describe('link reports and metrics', () => {
  const links = async (tier: string): Promise<number> => {
    const text = await (await fetch(`${server.httpUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`stomprtc_links{tier="${tier}"}`));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  it('counts a reported link under its tier in stomprtc_links, and forgets it when a member leaves', async () => {
    const room = roomId();
    const [alice, bob] = [await peer(), await peer()];
    await join(alice, room);
    const b = await join(bob, room);
    const p2pBefore = await links('p2p');
    await alice.receipt((headers) =>
      alice.send(
        '/app/report',
        JSON.stringify({ type: 'link', peer: bob.peerId, tier: 'relay', connectMs: null, failure: null }),
        { room, ...headers },
      ),
    );
    await alice.receipt((headers) =>
      alice.send(
        '/app/report',
        JSON.stringify({ type: 'link', peer: bob.peerId, tier: 'p2p', connectMs: 42, failure: null }),
        { room, ...headers },
      ),
    );
    expect(await links('p2p')).toBe(p2pBefore + 1);
    expect(await links('relay')).toBe(0);
    await bob.receipt((headers) => b.subscription.unsubscribe(headers));
    expect(await links('p2p')).toBe(p2pBefore);
  });

  it('refuses a report that is not of the documented form with INVALID_REPORT', async () => {
    const room = roomId();
    const [alice, bob] = [await peer(), await peer()];
    await join(alice, room);
    await join(bob, room);
    alice.send('/app/report', JSON.stringify({ type: 'link', peer: bob.peerId, tier: 'carrier-pigeon' }), { room });
    expect(await errorCode(alice)).toBe('INVALID_REPORT');
    alice.send('/app/report', 'nope', { room });
    expect(await errorCode(alice)).toBe('INVALID_REPORT');
  });
});

describe('health and shutdown', () => {
  it('answers /healthz 200 with the number of sessions', async () => {
    await peer();
    const response = await fetch(`${server.httpUrl}/healthz`);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.status).toBe('ok');
    expect(body.sessions).toBeGreaterThanOrEqual(1);
  });

  it('ends every session with ERROR SERVER_SHUTTING_DOWN when the server closes', async () => {
    const closing = await startServer();
    const viaWs = await stompClient(closing);
    const viaSockJs = await stompClient(closing, { transport: 'sockjs' });
    const rawSession = await rawStomp(closing);
    await rawSession.connect();
    await closing.close();
    for (const client of [viaWs, viaSockJs]) {
      expect((await client.errorFrames.next()).headers.code).toBe('SERVER_SHUTTING_DOWN');
      await client.closed;
    }
    expect((await rawSession.nextFrame()).headers.code).toBe('SERVER_SHUTTING_DOWN');
    await rawSession.waitForClose();
  });
});
