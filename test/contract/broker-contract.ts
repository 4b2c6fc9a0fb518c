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
import type { AckMode, Broker, Subscriber } from '../../server/src/broker/broker.js';
import type { StompRtcError } from '../../shared/src/errors.js';
import { createHeaders, textDecoder, textEncoder, type StompFrame } from '../../shared/src/stomp/frame.js';
import { until } from '../helpers/server.js';

export interface ContractBroker {
  readonly broker: Broker;
  close(): Promise<void>;
}

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
      await until(() => frames.length >= count, `${sessionId} has ${count} MESSAGE frames (has ${frames.length}: ${frames.map((f) => textDecoder.decode(f.body)).join(', ')})`);
      return frames;
    },
  };
}

function ackIdOf(frame: StompFrame | undefined): string {
  const id = frame?.headers.ack;
  if (id === undefined) throw new Error('the MESSAGE has no ack header');
  return id;
}

export function brokerContract(name: string, create: () => Promise<ContractBroker>): void {
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
      for (const session of sessions) broker.removeSession(session);
      sessions.clear();
      await under.close();
    });

    const who = (label: string) => {
      const sessionId = `${label}-${unique}`;
      sessions.add(sessionId);
      return recorder(sessionId);
    };
    const publish = (destination: string, body: string | Uint8Array, headers: Record<string, string> = {}) =>
      broker.publish({ destination, headers: createHeaders(Object.entries(headers)), body: typeof body === 'string' ? textEncoder.encode(body) : body });
    const subscribe = async (subscriber: Subscriber, destination: string, ack: AckMode = 'auto', id = 'sub', clientDestination = destination) => {
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
          'content-type': 'text/plain;charset=utf-8', colour: 'blue', 'with:colon': 'line\nbreak\\slash',
          // Names RabbitMQ would act on or add itself: they must come through as plain user headers.
          priority: '9', 'reply-to': `/queue/${unique}-nowhere`, persistent: 'true', expiration: '1',
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

      it('refuses ACK and NACK of an unknown id, or of another session\'s delivery', async () => {
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
      const subscribeUser = (s: Recorder, ack: AckMode = 'auto') => subscribe(s, userQueue(s.sessionId), ack, 'signal', '/user/queue/signal');

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
