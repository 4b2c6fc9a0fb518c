/**
 * The broker contract: what PROTOCOL.md § Destinations promises, at the broker's seam. The same
 * suite runs against the in-memory SimpleBroker (simple-broker.test.ts) and the RabbitMQ relay
 * (relay-broker.test.ts): requests go in, MESSAGE frames come out to subscribers that only record
 * what they are handed. Deliveries may be asynchronous (the relay goes through RabbitMQ), so the
 * suite waits for what must come, and proves that something must NOT come with a marker message
 * sent after it on the same path.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AckMode, Broker, Subscriber } from '../../server/src/broker/types.js';
import type { StompRtcError } from '../../shared/src/errors.js';
import { createHeaders, textDecoder, textEncoder, type StompFrame } from '../../shared/src/stomp/frame.js';
import { stompClient, until, type TestClient, type TestServer } from '../helpers/server.js';

export interface ContractBroker {
  readonly broker: Broker;
  close(): Promise<void>;
}

/**
 * Servers on this broker for the room contract, with `env` (limits): `count` nodes of one cluster
 * with the relay; the in-memory broker is one node, so all `count` are that node.
 */
export type ContractServers = (
  count: number,
  env: Record<string, string>,
) => Promise<{ servers: TestServer[]; close(): Promise<void> }>;

/** A subscriber that records every frame it is handed, and any abort. */
export interface Recorder extends Subscriber {
  readonly frames: StompFrame[];
  readonly aborts: StompRtcError[];
  bodies(): string[];
  /** Waits until `count` frames have arrived in all. */
  received(count: number): Promise<StompFrame[]>;
}

export function recorder(sessionId: string): Recorder {
  const frames: StompFrame[] = [];
  const aborts: StompRtcError[] = [];
  return {
    sessionId,
    frames,
    aborts,
    deliver: (f) => frames.push(f),
    abort: (err) => aborts.push(err),
    bodies: () => frames.map((f) => textDecoder.decode(f.body)),
    received: async (count) => {
      await until(
        () => frames.length >= count,
        `${sessionId} has ${count} MESSAGE frames (has ${frames.length}: ${frames.map((f) => textDecoder.decode(f.body)).join(', ')})`,
      );
      return frames;
    },
  };
}

function ackIdOf(frame: StompFrame | undefined): string {
  const id = frame?.headers.ack;
  if (id === undefined) throw new Error('the MESSAGE has no ack header');
  return id;
}

export function brokerContract(name: string, create: () => Promise<ContractBroker>, servers: ContractServers): void {
  roomContract(name, servers);
  describe(`broker contract: ${name}`, () => {
    let under: ContractBroker;
    let broker: Broker;
    /** Destinations unique to this test: RabbitMQ's queues are durable and shared by every run. */
    let unique: string;
    const sessions = new Set<string>();

    beforeEach(async () => {
      under = await create();
      broker = under.broker;
      unique = `stomprtc-test-${randomBytes(5).toString('hex')}`;
    });

    afterEach(async () => {
      const pending = confirms;
      confirms = [];
      await Promise.all(pending);
      for (const session of sessions) broker.removeSession(session);
      sessions.clear();
      await under.close();
    });

    const who = (label: string) => {
      const sessionId = `${label}-${unique}`;
      sessions.add(sessionId);
      return recorder(sessionId);
    };
    /** Confirmations of queue messages (the relay's), awaited before the broker closes: a refusal fails the test. */
    let confirms: Array<Promise<void>> = [];
    const publish = (destination: string, body: string | Uint8Array, headers: Record<string, string> = {}) => {
      const confirmed = broker.publish({
        destination,
        headers: createHeaders(Object.entries(headers)),
        body: typeof body === 'string' ? textEncoder.encode(body) : body,
      });
      if (confirmed) confirms.push(confirmed);
    };
    const subscribe = async (
      subscriber: Subscriber,
      destination: string,
      ack: AckMode = 'auto',
      id = 'sub',
      clientDestination = destination,
    ) => {
      await broker.subscribe(subscriber, { id, destination, clientDestination, ack });
    };

    describe('/topic', () => {
      it('delivers each message to every subscriber of the destination, in order', async () => {
        const [a, b, other] = [who('a'), who('b'), who('other')];
        const news = `/topic/${unique}/news`;
        const sport = `/topic/${unique}/sport`;
        await subscribe(a, news);
        await subscribe(b, news);
        await subscribe(other, sport);
        publish(news, 'one');
        publish(news, 'two');
        publish(sport, 'marker');
        await Promise.all([a.received(2), b.received(2), other.received(1)]);
        expect(a.bodies()).toEqual(['one', 'two']);
        expect(b.bodies()).toEqual(['one', 'two']);
        expect(other.bodies()).toEqual(['marker']);
      });

      it('keeps /topic/a/b and /topic/a.b apart', async () => {
        const [slash, dot] = [who('slash'), who('dot')];
        await subscribe(slash, `/topic/${unique}/room/a/b`);
        await subscribe(dot, `/topic/${unique}/room/a.b`);
        publish(`/topic/${unique}/room/a/b`, 'for slash');
        publish(`/topic/${unique}/room/a.b`, 'for dot');
        await Promise.all([slash.received(1), dot.received(1)]);
        expect(slash.bodies()).toEqual(['for slash']);
        expect(dot.bodies()).toEqual(['for dot']);
        expect(slash.frames[0]?.headers.destination).toBe(`/topic/${unique}/room/a/b`);
      });

      it('builds MESSAGE frames with the client destination, subscription, message-id and the carried headers verbatim', async () => {
        const a = who('a');
        await subscribe(a, `/topic/${unique}/news`, 'auto', 'my-sub');
        const carried = {
          'content-type': 'text/plain;charset=utf-8',
          colour: 'blue',
          'with:colon': 'line\nbreak\\slash',
          // Names RabbitMQ would act on or add itself: they must come through as plain user headers.
          priority: '9',
          'reply-to': `/queue/${unique}-nowhere`,
          persistent: 'true',
          expiration: '1',
        };
        publish(`/topic/${unique}/news`, 'hello', carried);
        const [message] = await a.received(1);
        expect(message?.command).toBe('MESSAGE');
        expect({ ...message?.headers }).toEqual({
          ...carried,
          destination: `/topic/${unique}/news`,
          subscription: 'my-sub',
          'message-id': expect.any(String),
        });
      });

      it('drops a message nobody subscribes to', async () => {
        publish(`/topic/${unique}/void`, 'lost');
        const late = who('late');
        await subscribe(late, `/topic/${unique}/void`);
        publish(`/topic/${unique}/void`, 'marker');
        await late.received(1);
        expect(late.bodies()).toEqual(['marker']);
      });

      it('stops delivering to an unsubscribed subscription and reports an unknown one', async () => {
        const [a, b] = [who('a'), who('b')];
        await subscribe(a, `/topic/${unique}/news`, 'auto', 's1');
        await subscribe(b, `/topic/${unique}/news`, 'auto', 's1');
        expect(broker.unsubscribe(a.sessionId, 's1')).toBe(true);
        expect(broker.unsubscribe(a.sessionId, 's1')).toBe(false);
        publish(`/topic/${unique}/news`, 'after');
        await b.received(1);
        expect(a.frames).toEqual([]);
      });

      it('takes ACK and NACK of topic deliveries but never redelivers them', async () => {
        const a = who('a');
        await subscribe(a, `/topic/${unique}/news`, 'client-individual');
        publish(`/topic/${unique}/news`, 'once');
        const [first] = await a.received(1);
        expect(broker.nack(a.sessionId, ackIdOf(first))).toBe(true);
        publish(`/topic/${unique}/news`, 'marker');
        await a.received(2);
        expect(a.bodies()).toEqual(['once', 'marker']);
        expect(broker.ack(a.sessionId, ackIdOf(a.frames[1]))).toBe(true);
      });
    });

    describe('/queue', () => {
      it('hands each message to exactly one subscriber, spreading them round robin', async () => {
        const subscribers = [who('a'), who('b'), who('c')];
        for (const s of subscribers) await subscribe(s, `/queue/${unique}-work`);
        const sent = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'];
        for (const body of sent) publish(`/queue/${unique}-work`, body);
        await until(() => subscribers.reduce((n, s) => n + s.frames.length, 0) >= sent.length, 'all six delivered');
        expect(subscribers.flatMap((s) => s.bodies()).sort()).toEqual(sent);
        for (const s of subscribers) expect(s.bodies(), s.sessionId).toHaveLength(2);
      });

      it('keeps messages sent before anyone subscribes and delivers them in order to the first subscriber', async () => {
        publish(`/queue/${unique}-work`, 'early-1');
        publish(`/queue/${unique}-work`, 'early-2');
        const a = who('a');
        await subscribe(a, `/queue/${unique}-work`);
        await a.received(2);
        expect(a.bodies()).toEqual(['early-1', 'early-2']);
        expect(a.frames.map((f) => f.headers.redelivered)).toEqual([undefined, undefined]);
      });

      it('carries binary bodies with NUL octets unchanged', async () => {
        const a = who('a');
        await subscribe(a, `/queue/${unique}-bin`);
        const body = Uint8Array.of(0, 1, 0, 255, 0x0a, 0);
        publish(`/queue/${unique}-bin`, body, { 'content-type': 'application/octet-stream' });
        const [message] = await a.received(1);
        expect([...message!.body]).toEqual([...body]);
        expect(message?.headers['content-type']).toBe('application/octet-stream');
      });

      it('puts ack:<message-id> on MESSAGE frames of client-ack subscriptions', async () => {
        const a = who('a');
        await subscribe(a, `/queue/${unique}-work`, 'client');
        publish(`/queue/${unique}-work`, 'm1');
        const [message] = await a.received(1);
        expect(message?.headers.ack).toBe(message?.headers['message-id']);
        expect(message?.headers.redelivered).toBeUndefined();
      });

      it('in ack mode client acknowledges cumulatively: ACK of the second settles the first too', async () => {
        const a = who('a');
        await subscribe(a, `/queue/${unique}-work`, 'client');
        for (const body of ['m1', 'm2', 'm3']) publish(`/queue/${unique}-work`, body);
        await a.received(3);
        expect(broker.ack(a.sessionId, ackIdOf(a.frames[1]))).toBe(true);
        expect(broker.ack(a.sessionId, ackIdOf(a.frames[0]))).toBe(false);
        // Only m3 comes back when the subscriber's session goes away.
        broker.removeSession(a.sessionId);
        const b = who('b');
        await subscribe(b, `/queue/${unique}-work`, 'client');
        await b.received(1);
        expect(b.bodies()).toEqual(['m3']);
        expect(b.frames[0]?.headers.redelivered).toBe('true');
      });

      it('in ack mode client-individual acknowledges only the message named', async () => {
        const a = who('a');
        await subscribe(a, `/queue/${unique}-work`, 'client-individual');
        for (const body of ['m1', 'm2', 'm3']) publish(`/queue/${unique}-work`, body);
        await a.received(3);
        expect(broker.ack(a.sessionId, ackIdOf(a.frames[1]))).toBe(true);
        expect(broker.ack(a.sessionId, ackIdOf(a.frames[1]))).toBe(false);
        broker.removeSession(a.sessionId);
        const b = who('b');
        await subscribe(b, `/queue/${unique}-work`, 'client-individual');
        await b.received(2);
        expect(b.bodies()).toEqual(['m1', 'm3']);
        expect(b.frames.map((f) => f.headers.redelivered)).toEqual(['true', 'true']);
      });

      it('redelivers a NACKed message, marked redelivered:true, under a new ack id', async () => {
        const a = who('a');
        await subscribe(a, `/queue/${unique}-work`, 'client-individual');
        publish(`/queue/${unique}-work`, 'hot potato');
        const [first] = await a.received(1);
        expect(broker.nack(a.sessionId, ackIdOf(first))).toBe(true);
        const [, again] = await a.received(2);
        expect(a.bodies()).toEqual(['hot potato', 'hot potato']);
        expect(again?.headers.redelivered).toBe('true');
        expect(ackIdOf(again)).not.toBe(ackIdOf(first));
        expect(broker.ack(a.sessionId, ackIdOf(first))).toBe(false);
        expect(broker.ack(a.sessionId, ackIdOf(again))).toBe(true);
      });

      it('redelivers the unacknowledged messages of an unsubscribed subscriber to the next one, in order', async () => {
        const a = who('a');
        await subscribe(a, `/queue/${unique}-work`, 'client');
        publish(`/queue/${unique}-work`, 'm1');
        publish(`/queue/${unique}-work`, 'm2');
        await a.received(2);
        expect(broker.unsubscribe(a.sessionId, 'sub')).toBe(true);
        const b = who('b');
        await subscribe(b, `/queue/${unique}-work`, 'client');
        await b.received(2);
        expect(b.bodies()).toEqual(['m1', 'm2']);
        expect(b.frames.map((f) => f.headers.redelivered)).toEqual(['true', 'true']);
        expect(a.frames).toHaveLength(2);
      });

      it("refuses ACK and NACK of an unknown id, or of another session's delivery", async () => {
        const a = who('a');
        await subscribe(a, `/queue/${unique}-work`, 'client');
        publish(`/queue/${unique}-work`, 'mine');
        const [message] = await a.received(1);
        const id = ackIdOf(message);
        expect(broker.ack(a.sessionId, 'no-such-id')).toBe(false);
        expect(broker.nack(a.sessionId, 'no-such-id')).toBe(false);
        expect(broker.ack('intruder', id)).toBe(false);
        expect(broker.nack('intruder', id)).toBe(false);
        expect(broker.ack(a.sessionId, id)).toBe(true);
      });
    });

    describe('per-session user queues', () => {
      const userQueue = (session: string) => `/queue/signal-${unique}~user~${session}`;
      const subscribeUser = (s: Recorder, ack: AckMode = 'auto') =>
        subscribe(s, userQueue(s.sessionId), ack, 'signal', '/user/queue/signal');

      it('delivers to the session subscribed to its user queue only, as /user/queue/...', async () => {
        const [a, b] = [who('a'), who('b')];
        await subscribeUser(a);
        await subscribeUser(b);
        publish(userQueue(a.sessionId), 'for a');
        publish(userQueue(b.sessionId), 'for b');
        await Promise.all([a.received(1), b.received(1)]);
        expect(a.bodies()).toEqual(['for a']);
        expect(b.bodies()).toEqual(['for b']);
        expect(a.frames[0]?.headers).toMatchObject({ destination: '/user/queue/signal', subscription: 'signal' });
      });

      it('drops messages for a user queue nobody subscribes to, instead of keeping them', async () => {
        const a = who('a');
        publish(userQueue(a.sessionId), 'before');
        await subscribeUser(a);
        publish(userQueue(a.sessionId), 'marker');
        await a.received(1);
        expect(a.bodies()).toEqual(['marker']);
      });

      it('keeps nothing for a user queue once its session is gone', async () => {
        const a = who('a');
        await subscribeUser(a, 'client-individual');
        publish(userQueue(a.sessionId), 'unacked');
        await a.received(1);
        broker.removeSession(a.sessionId);
        publish(userQueue(a.sessionId), 'after');
        // Were anything kept (the unacknowledged one, or "after"), a subscriber under that queue would get it first.
        const again = recorder(a.sessionId);
        await subscribeUser(again);
        publish(userQueue(a.sessionId), 'marker');
        await again.received(1);
        expect(again.bodies()).toEqual(['marker']);
      });
    });
  });
}

/**
 * Rooms, signals and relay (PROTOCOL.md § Rooms), end to end over the broker: peers on every node
 * of the cluster see one room. With the in-memory broker the "nodes" are one server.
 */
function roomContract(name: string, start: ContractServers): void {
  describe(`room contract: ${name}`, () => {
    const clients: TestClient[] = [];
    let closeServers: (() => Promise<void>) | undefined;
    let room: string;

    beforeEach(() => {
      room = `r-${randomBytes(4).toString('hex')}`;
    });

    afterEach(async () => {
      await Promise.all(clients.splice(0).map((c) => c.close()));
      await closeServers?.();
      closeServers = undefined;
    });

    const peers = async (count: number, env: Record<string, string> = {}) => {
      const started = await start(count, env);
      closeServers = () => started.close();
      const out: TestClient[] = [];
      for (const server of started.servers) {
        const c = await stompClient(server);
        clients.push(c);
        out.push(c);
      }
      return out;
    };
    const join = async (c: TestClient, name = '') => {
      const sub = c.subscribe(`/topic/room/${room}`, { 'display-name': name });
      const welcome = await sub.json();
      return { sub, welcome };
    };
    const errorCode = async (c: TestClient) => JSON.parse((await c.errors.next()).body).code as string;
    /**
     * Until `member`'s room subscription has told of each of `others` joining. A node learns of
     * joins on other nodes from the presence stream, a little later than the joiner's own welcome:
     * before this, "every other member" of its view may lack them, and a signal to them is refused.
     */
    const knows = async (member: Awaited<ReturnType<typeof join>>, others: TestClient[]) => {
      const unseen = new Set(others.map((c) => c.peerId));
      while (unseen.size > 0) {
        const event = await member.sub.json<{ type: string; peer?: { id: string } }>();
        if (event.type === 'peer-joined' && event.peer) unseen.delete(event.peer.id);
      }
    };

    it('welcomes each joiner with every member and tells every member of joins and leaves', async () => {
      const [a, b, c] = await peers(3);
      const inA = await join(a!, 'Ann');
      expect(inA.welcome).toMatchObject({ type: 'welcome', self: a!.peerId, peers: [] });
      expect(await inA.sub.json()).toEqual({ type: 'peer-joined', peer: { id: a!.peerId, name: 'Ann' } });
      const inB = await join(b!, 'Ben');
      expect(inB.welcome.peers).toEqual([{ id: a!.peerId, name: 'Ann' }]);
      expect(await inA.sub.json()).toEqual({ type: 'peer-joined', peer: { id: b!.peerId, name: 'Ben' } });
      const inC = await join(c!, 'Cy');
      expect(inC.welcome.peers).toHaveLength(2);
      expect(inC.welcome.peers).toEqual(
        expect.arrayContaining([
          { id: a!.peerId, name: 'Ann' },
          { id: b!.peerId, name: 'Ben' },
        ]),
      );
      await b!.close();
      expect(await inA.sub.json()).toEqual({ type: 'peer-joined', peer: { id: c!.peerId, name: 'Cy' } });
      expect(await inA.sub.json()).toEqual({ type: 'peer-left', peer: { id: b!.peerId }, reason: 'disconnected' });
      inC.sub.unsubscribe();
      expect(await inA.sub.json()).toEqual({ type: 'peer-left', peer: { id: c!.peerId }, reason: 'left' });
    });

    it('delivers a signal to the addressee alone with from stamped by the server; refuses an unknown addressee', async () => {
      const [a, b, c] = await peers(3);
      const signals = [b!, c!].map((p) => p.subscribe('/user/queue/signal'));
      const inA = await join(a!);
      for (const p of [b!, c!]) await join(p);
      await knows(inA, [b!, c!]);
      await Promise.all([b!.sync(), c!.sync()]);
      a!.send('/app/signal', '{"type":"offer"}', { room, to: b!.peerId, from: 'forged' });
      const signal = await signals[0]!.next();
      expect(signal.body).toBe('{"type":"offer"}');
      expect(signal.headers).toMatchObject({ from: a!.peerId, room });
      a!.send('/app/signal', '{}', { room, to: 'nobody' });
      expect(await errorCode(a!)).toBe('UNKNOWN_PEER');
      await c!.sync();
      expect(signals[1]!.messages.pending).toEqual([]);
    });

    it('relays to every other member or to the listed ones, and to nobody when one listed is unknown', async () => {
      const [a, b, c] = await peers(3);
      const relays = [a!, b!, c!].map((p) => p.subscribe('/user/queue/relay'));
      const inA = await join(a!);
      for (const p of [b!, c!]) await join(p);
      await knows(inA, [b!, c!]);
      await Promise.all([a!.sync(), b!.sync(), c!.sync()]);
      a!.send('/app/relay', 'all', { room });
      for (const inbox of [relays[1]!, relays[2]!])
        expect((await inbox.next()).headers).toMatchObject({ from: a!.peerId, room });
      a!.send('/app/relay', 'some', { room, to: `${c!.peerId},nobody` });
      expect(await errorCode(a!)).toBe('UNKNOWN_PEER');
      a!.send('/app/relay', 'just c', { room, to: c!.peerId });
      expect((await relays[2]!.next()).body).toBe('just c');
      await b!.sync();
      expect(relays[1]!.messages.pending).toEqual([]);
      expect(relays[0]!.messages.pending).toEqual([]);
    });

    it("refuses a non-member's signal with NOT_A_MEMBER", async () => {
      const [a, b] = await peers(2);
      await join(b!);
      a!.send('/app/signal', '{}', { room, to: b!.peerId });
      expect(await errorCode(a!)).toBe('NOT_A_MEMBER');
    });

    it('holds MAX_ROOM_MEMBERS and MAX_ROOMS_PER_SESSION across the cluster', async () => {
      const [a, b, c] = await peers(3, { MAX_ROOM_MEMBERS: '2', MAX_ROOMS_PER_SESSION: '1' });
      await join(a!);
      await join(b!);
      c!.subscribe(`/topic/room/${room}`);
      expect(await errorCode(c!)).toBe('ROOM_FULL');
      a!.subscribe(`/topic/room/${room}-2`);
      expect(await errorCode(a!)).toBe('TOO_MANY_ROOMS');
    });
  });
}
