/**
 * SimpleBroker at its seam: requests go in, MESSAGE frames come out to subscribers that only
 * record what they are handed. No sockets, no sessions.
 */
import { describe, expect, it } from 'vitest';
import { SimpleBroker, type SimpleBrokerLimits } from '../../server/src/broker/simple-broker.js';
import type { AckMode, Subscriber } from '../../server/src/broker/types.js';
import { StompRtcError } from '../../shared/src/errors.js';
import { createHeaders, textDecoder, textEncoder, type StompFrame } from '../../shared/src/stomp/frame.js';

/** A subscriber that records every frame it is handed. */
interface Recorder extends Subscriber {
  readonly frames: StompFrame[];
  bodies(): string[];
}

function recorder(sessionId: string): Recorder {
  const frames: StompFrame[] = [];
  return {
    sessionId,
    frames,
    deliver: (f) => frames.push(f),
    bodies: () => frames.map((f) => textDecoder.decode(f.body)),
  };
}

function brokerWith(limits: Partial<SimpleBrokerLimits> = {}): SimpleBroker {
  return new SimpleBroker({
    maxUnackedPerSubscription: 1000,
    maxQueueDepth: 10_000,
    maxQueuedBytes: 1 << 30,
    maxQueuedBytesPerSession: 1 << 30,
    ...limits,
  });
}

function publish(
  broker: SimpleBroker,
  destination: string,
  body: string,
  headers: Record<string, string> = {},
  sender?: string,
): void {
  broker.publish({
    destination,
    headers: createHeaders(Object.entries(headers)),
    body: textEncoder.encode(body),
    ...(sender ? { sender } : {}),
  });
}

/** The code of the StompRtcError `action` throws. */
function refusal(action: () => void): string {
  try {
    action();
  } catch (err) {
    expect(err).toBeInstanceOf(StompRtcError);
    return (err as StompRtcError).code;
  }
  throw new Error('expected a refusal');
}

function subscribe(
  broker: SimpleBroker,
  who: Recorder,
  destination: string,
  ack: AckMode = 'auto',
  id = `sub-${destination}`,
): void {
  broker.subscribe(who, { id, destination, clientDestination: destination, ack });
}

function ackIdOf(frame: StompFrame | undefined): string {
  const id = frame?.headers.ack;
  if (id === undefined) throw new Error('the MESSAGE has no ack header');
  return id;
}

describe('SimpleBroker /topic', () => {
  it('delivers each message to every subscriber of the destination', () => {
    const broker = brokerWith();
    const [a, b, other] = [recorder('a'), recorder('b'), recorder('other')];
    subscribe(broker, a, '/topic/news');
    subscribe(broker, b, '/topic/news');
    subscribe(broker, other, '/topic/sport');
    publish(broker, '/topic/news', 'one');
    publish(broker, '/topic/news', 'two');
    expect(a.bodies()).toEqual(['one', 'two']);
    expect(b.bodies()).toEqual(['one', 'two']);
    expect(other.frames).toEqual([]);
  });

  it('builds MESSAGE frames with destination, subscription, message-id and the carried headers', () => {
    const broker = brokerWith();
    const a = recorder('a');
    subscribe(broker, a, '/topic/news', 'auto', 'my-sub');
    publish(broker, '/topic/news', 'hello', { 'content-type': 'text/plain', colour: 'blue' });
    const [message] = a.frames;
    expect(message?.command).toBe('MESSAGE');
    expect(message?.headers).toMatchObject({
      destination: '/topic/news',
      subscription: 'my-sub',
      'content-type': 'text/plain',
      colour: 'blue',
    });
    expect(message?.headers['message-id']).toEqual(expect.any(String));
    expect(message?.headers.ack).toBeUndefined();
    expect(message?.headers.redelivered).toBeUndefined();
  });

  it('drops a topic message nobody subscribes to', () => {
    const broker = brokerWith();
    publish(broker, '/topic/void', 'lost');
    const late = recorder('late');
    subscribe(broker, late, '/topic/void');
    expect(late.frames).toEqual([]);
    expect(broker.stats().queuedMessages).toBe(0);
  });
});

describe('SimpleBroker /queue', () => {
  it('hands each message to one subscriber, round robin', () => {
    const broker = brokerWith();
    const [a, b, c] = [recorder('a'), recorder('b'), recorder('c')];
    for (const s of [a, b, c]) subscribe(broker, s, '/queue/work');
    for (const n of [1, 2, 3, 4, 5, 6, 7]) publish(broker, '/queue/work', `m${n}`);
    expect(a.bodies()).toEqual(['m1', 'm4', 'm7']);
    expect(b.bodies()).toEqual(['m2', 'm5']);
    expect(c.bodies()).toEqual(['m3', 'm6']);
  });

  it('keeps messages sent before anyone subscribes and delivers them in order to the first subscriber', () => {
    const broker = brokerWith();
    publish(broker, '/queue/work', 'early-1');
    publish(broker, '/queue/work', 'early-2');
    const a = recorder('a');
    subscribe(broker, a, '/queue/work');
    expect(a.bodies()).toEqual(['early-1', 'early-2']);
  });

  it('in ack mode auto forgets a message once delivered', () => {
    const broker = brokerWith();
    const a = recorder('a');
    subscribe(broker, a, '/queue/work', 'auto');
    publish(broker, '/queue/work', 'once');
    broker.unsubscribe('a', 'sub-/queue/work');
    const b = recorder('b');
    subscribe(broker, b, '/queue/work');
    expect(b.frames).toEqual([]);
    expect(broker.stats()).toMatchObject({ queuedMessages: 0, unacked: 0 });
  });

  it('in ack mode client acknowledges cumulatively: ACK of the second settles the first too', () => {
    const broker = brokerWith();
    const a = recorder('a');
    subscribe(broker, a, '/queue/work', 'client');
    for (const body of ['m1', 'm2', 'm3']) publish(broker, '/queue/work', body);
    expect(broker.stats().unacked).toBe(3);
    expect(broker.ack('a', ackIdOf(a.frames[1]))).toBe(true);
    expect(broker.stats().unacked).toBe(1);
    // The first is already settled by the cumulative ACK.
    expect(broker.ack('a', ackIdOf(a.frames[0]))).toBe(false);
    // Only m3 comes back when the subscriber goes away.
    broker.removeSession('a');
    const b = recorder('b');
    subscribe(broker, b, '/queue/work', 'client');
    expect(b.bodies()).toEqual(['m3']);
  });

  it('in ack mode client-individual acknowledges only the message named', () => {
    const broker = brokerWith();
    const a = recorder('a');
    subscribe(broker, a, '/queue/work', 'client-individual');
    for (const body of ['m1', 'm2', 'm3']) publish(broker, '/queue/work', body);
    expect(broker.ack('a', ackIdOf(a.frames[1]))).toBe(true);
    expect(broker.stats().unacked).toBe(2);
    broker.removeSession('a');
    const b = recorder('b');
    subscribe(broker, b, '/queue/work', 'client-individual');
    expect(b.bodies()).toEqual(['m1', 'm3']);
    expect(b.frames.map((f) => f.headers.redelivered)).toEqual(['true', 'true']);
  });

  it('puts ack:<message-id> on MESSAGE frames of client-ack subscriptions', () => {
    const broker = brokerWith();
    const a = recorder('a');
    subscribe(broker, a, '/queue/work', 'client');
    publish(broker, '/queue/work', 'm1');
    expect(a.frames[0]?.headers.ack).toBe(a.frames[0]?.headers['message-id']);
  });

  it('redelivers a NACKed message to the next subscriber, marked redelivered:true', () => {
    const broker = brokerWith();
    const [a, b] = [recorder('a'), recorder('b')];
    subscribe(broker, a, '/queue/work', 'client-individual');
    subscribe(broker, b, '/queue/work', 'client-individual');
    publish(broker, '/queue/work', 'hot potato');
    expect(a.bodies()).toEqual(['hot potato']);
    expect(broker.nack('a', ackIdOf(a.frames[0]))).toBe(true);
    expect(b.bodies()).toEqual(['hot potato']);
    expect(b.frames[0]?.headers.redelivered).toBe('true');
    expect(a.frames).toHaveLength(1);
  });

  it('redelivers the unacknowledged messages of a removed subscriber, in their order, before newer ones', () => {
    const broker = brokerWith();
    const [a, b] = [recorder('a'), recorder('b')];
    subscribe(broker, a, '/queue/work', 'client');
    publish(broker, '/queue/work', 'm1');
    publish(broker, '/queue/work', 'm2');
    broker.unsubscribe('a', 'sub-/queue/work');
    publish(broker, '/queue/work', 'm3');
    subscribe(broker, b, '/queue/work', 'client');
    expect(b.bodies()).toEqual(['m1', 'm2', 'm3']);
    expect(b.frames.map((f) => f.headers.redelivered ?? 'false')).toEqual(['true', 'true', 'false']);
  });

  it('skips a subscriber that holds maxUnacked unacknowledged messages and resumes it after an ACK', () => {
    const broker = brokerWith({ maxUnackedPerSubscription: 2 });
    const [slow, fast] = [recorder('slow'), recorder('fast')];
    subscribe(broker, slow, '/queue/work', 'client-individual');
    subscribe(broker, fast, '/queue/work', 'auto');
    for (const n of [1, 2, 3, 4, 5, 6]) publish(broker, '/queue/work', `m${n}`);
    expect(slow.bodies()).toEqual(['m1', 'm3']);
    expect(fast.bodies()).toEqual(['m2', 'm4', 'm5', 'm6']);
    broker.ack('slow', ackIdOf(slow.frames[0]));
    publish(broker, '/queue/work', 'm7');
    publish(broker, '/queue/work', 'm8');
    expect(slow.bodies()).toEqual(['m1', 'm3', 'm7']);
    expect(fast.bodies()).toEqual(['m2', 'm4', 'm5', 'm6', 'm8']);
  });

  it('holds messages while every subscriber is at maxUnacked and delivers them on ACK', () => {
    const broker = brokerWith({ maxUnackedPerSubscription: 1 });
    const a = recorder('a');
    subscribe(broker, a, '/queue/work', 'client');
    publish(broker, '/queue/work', 'm1');
    publish(broker, '/queue/work', 'm2');
    expect(a.bodies()).toEqual(['m1']);
    expect(broker.stats().queuedMessages).toBe(1);
    broker.ack('a', ackIdOf(a.frames[0]));
    expect(a.bodies()).toEqual(['m1', 'm2']);
  });

  it('accepts a queue up to exactly maxQueueDepth undelivered messages and refuses one more with QUEUE_FULL', () => {
    const broker = brokerWith({ maxQueueDepth: 3 });
    for (const n of [1, 2, 3]) publish(broker, '/queue/backlog', `m${n}`);
    expect(broker.stats().queuedMessages).toBe(3);
    let refused: unknown;
    try {
      publish(broker, '/queue/backlog', 'm4');
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(StompRtcError);
    expect((refused as StompRtcError).code).toBe('QUEUE_FULL');
    const a = recorder('a');
    subscribe(broker, a, '/queue/backlog');
    expect(a.bodies()).toEqual(['m1', 'm2', 'm3']);
  });

  // A message of body 'x'.repeat(n) and no headers parks n bytes.
  it('parks up to exactly maxQueuedBytes across queues and refuses one byte more with QUEUE_BYTES_EXCEEDED', () => {
    const broker = brokerWith({ maxQueuedBytes: 100 });
    publish(broker, '/queue/a', 'x'.repeat(60), {}, 's1');
    publish(broker, '/queue/b', 'x'.repeat(40), {}, 's2');
    expect(broker.stats().queuedBytes).toBe(100);
    expect(refusal(() => publish(broker, '/queue/c', 'x', {}, 's3'))).toBe('QUEUE_BYTES_EXCEEDED');
    expect(broker.stats()).toMatchObject({ queuedBytes: 100, queuedMessages: 2 });
    // Delivery frees the bytes.
    subscribe(broker, recorder('a'), '/queue/a');
    publish(broker, '/queue/c', 'x'.repeat(60), {}, 's3');
    expect(broker.stats().queuedBytes).toBe(100);
  });

  it('parks up to exactly maxQueuedBytesPerSession from one sender and refuses one byte more, while others still park', () => {
    const broker = brokerWith({ maxQueuedBytesPerSession: 50 });
    publish(broker, '/queue/a', 'x'.repeat(30), {}, 'flooder');
    publish(broker, '/queue/b', 'x'.repeat(20), {}, 'flooder');
    expect(refusal(() => publish(broker, '/queue/c', 'x', {}, 'flooder'))).toBe('QUEUE_BYTES_EXCEEDED');
    publish(broker, '/queue/c', 'x'.repeat(50), {}, 'someone-else');
    expect(broker.stats()).toMatchObject({ queuedBytes: 100, queuedMessages: 3 });
  });

  it('does not count a message a consumer takes at once against the queued-bytes caps', () => {
    const broker = brokerWith({ maxQueuedBytes: 10, maxQueuedBytesPerSession: 10 });
    const a = recorder('a');
    subscribe(broker, a, '/queue/live');
    for (let i = 0; i < 5; i++) publish(broker, '/queue/live', 'x'.repeat(100), {}, 's1');
    expect(a.frames).toHaveLength(5);
    expect(broker.stats().queuedBytes).toBe(0);
  });

  it("refuses ACK and NACK of an unknown id, or of another session's delivery", () => {
    const broker = brokerWith();
    const a = recorder('a');
    subscribe(broker, a, '/queue/work', 'client');
    publish(broker, '/queue/work', 'mine');
    const id = ackIdOf(a.frames[0]);
    expect(broker.ack('a', 'no-such-id')).toBe(false);
    expect(broker.nack('a', 'no-such-id')).toBe(false);
    expect(broker.ack('intruder', id)).toBe(false);
    expect(broker.nack('intruder', id)).toBe(false);
    expect(broker.ack('a', id)).toBe(true);
  });
});

describe('SimpleBroker per-session user queues', () => {
  const userQueue = (session: string) => `/queue/signal~user~${session}`;

  it('delivers to the session subscribed to its user queue only', () => {
    const broker = brokerWith();
    const [a, b] = [recorder('a'), recorder('b')];
    broker.subscribe(a, { id: 's', destination: userQueue('a'), clientDestination: '/user/queue/signal', ack: 'auto' });
    broker.subscribe(b, { id: 's', destination: userQueue('b'), clientDestination: '/user/queue/signal', ack: 'auto' });
    publish(broker, userQueue('a'), 'for a');
    expect(a.bodies()).toEqual(['for a']);
    expect(a.frames[0]?.headers.destination).toBe('/user/queue/signal');
    expect(b.frames).toEqual([]);
  });

  it('drops messages to a user queue nobody subscribes to, instead of keeping them', () => {
    const broker = brokerWith();
    publish(broker, userQueue('gone'), 'lost');
    const late = recorder('gone');
    broker.subscribe(late, {
      id: 's',
      destination: userQueue('gone'),
      clientDestination: '/user/queue/signal',
      ack: 'auto',
    });
    expect(late.frames).toEqual([]);
    expect(broker.stats().queuedMessages).toBe(0);
  });

  it('drops messages to a user queue once its subscriber unsubscribed', () => {
    const broker = brokerWith({ maxQueueDepth: 1 });
    const a = recorder('a');
    broker.subscribe(a, { id: 's', destination: userQueue('a'), clientDestination: '/user/queue/signal', ack: 'auto' });
    broker.unsubscribe('a', 's');
    // Past maxQueueDepth too: nothing is kept, so nothing can fill up.
    publish(broker, userQueue('a'), 'one');
    publish(broker, userQueue('a'), 'two');
    expect(broker.stats()).toMatchObject({ queuedMessages: 0, destinations: 0 });
    expect(a.frames).toEqual([]);
  });
});

describe('SimpleBroker subscriptions', () => {
  it('stops delivering to an unsubscribed subscription and reports an unknown one', () => {
    const broker = brokerWith();
    const a = recorder('a');
    subscribe(broker, a, '/topic/news', 'auto', 's1');
    expect(broker.unsubscribe('a', 's1')).toBe(true);
    expect(broker.unsubscribe('a', 's1')).toBe(false);
    publish(broker, '/topic/news', 'after');
    expect(a.frames).toEqual([]);
    expect(broker.stats().destinations).toBe(0);
  });

  it('removes every subscription of a session at once', () => {
    const broker = brokerWith();
    const [a, b] = [recorder('a'), recorder('b')];
    subscribe(broker, a, '/topic/one', 'auto', 's1');
    subscribe(broker, a, '/topic/two', 'auto', 's2');
    subscribe(broker, b, '/topic/one', 'auto', 's1');
    broker.removeSession('a');
    publish(broker, '/topic/one', 'x');
    publish(broker, '/topic/two', 'y');
    expect(a.frames).toEqual([]);
    expect(b.bodies()).toEqual(['x']);
    expect(broker.stats().destinations).toBe(1);
  });
});
