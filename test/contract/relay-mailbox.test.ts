/**
 * Node mailboxes (server/src/broker/node-mailbox.ts) on a real RabbitMQ: two relay nodes, and a
 * watcher of our own on RabbitMQ bound to the receiving node's mailbox, which counts the RabbitMQ
 * messages a batch took.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRelayUrl, upstreamDestination } from '../../server/src/broker/rabbitmq-wire.js';
import type { RelayBroker } from '../../server/src/broker/relay-broker.js';
import type { AckMode } from '../../server/src/broker/types.js';
import { StompTcpConnection } from '../../server/src/broker/stomp-tcp-connection.js';
import { mailboxDestination, openMailbox } from '../../server/src/broker/node-mailbox.js';
import { encodeFrame } from '../../shared/src/stomp/frame-encoder.js';
import { createHeaders, frame, textDecoder, textEncoder, type StompFrame } from '../../shared/src/stomp/frame.js';
import { until } from '../helpers/server.js';
import { recorder, type Recorder } from './broker-contract.js';
import { describeWithRabbitMq, relayBroker, RELAY_URL } from './rabbitmq.js';

/** relayBroker()'s MAX_FRAME_BYTES: a batch goes once it would grow past it. */
const MAX_BATCH_BYTES = 64 * 1024;

/** What the test's own connection and its opening of batches accept. */
const WATCH_LIMITS = { maxFrameBytes: 1 << 20, maxHeaders: 64, maxHeaderLineBytes: 8 * 1024 };

const closing: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closing.splice(0).map((close) => close()));
});

async function node(): Promise<RelayBroker> {
  const broker = relayBroker();
  await broker.start();
  closing.push(() => broker.close());
  expect(broker.available).toBe(true);
  return broker;
}

/** A STOMP connection of the test's own to RabbitMQ, beside the nodes'. */
async function rabbitConnection(): Promise<StompTcpConnection> {
  const connection = await StompTcpConnection.open({
    ...parseRelayUrl(RELAY_URL, '/'),
    heartbeatMs: 0,
    timeoutMs: 5_000,
    limits: WATCH_LIMITS,
  });
  closing.push(() => connection.disconnect());
  return connection;
}

/** Every RabbitMQ message that reaches `broker`'s mailbox, seen through a second queue bound to it. */
async function watchMailbox(broker: RelayBroker): Promise<StompFrame[]> {
  const connection = await rabbitConnection();
  const seen: StompFrame[] = [];
  connection.subscribe('watch', (message) => seen.push(message));
  await connection.request(
    frame('SUBSCRIBE', { id: 'watch', destination: mailboxDestination(broker.sessionIdPrefix.slice(0, -1)) }),
  );
  return seen;
}

/** A session of `broker`'s node subscribed to its `/user/queue/<name>`: its queue and what it receives. */
async function userSession(
  broker: RelayBroker,
  name: string,
  ack: AckMode = 'auto',
): Promise<{ session: string; queue: string; received: Recorder }> {
  const session = `${broker.sessionIdPrefix}${randomBytes(6).toString('hex')}`;
  const queue = `/queue/${name}~user~${session}`;
  const received = recorder(session);
  await broker.subscribe(received, { id: 's', destination: queue, clientDestination: `/user/queue/${name}`, ack });
  return { session, queue, received };
}

/** How many messages the batches a watcher saw hold. */
function openedCount(batches: StompFrame[]): number {
  let count = 0;
  for (const batch of batches) openMailbox(batch.body, WATCH_LIMITS, () => count++);
  return count;
}

const message = (destination: string, body: string, headers: Record<string, string> = {}) => ({
  destination,
  headers: createHeaders(Object.entries({ 'content-type': 'text/plain', ...headers })),
  body: textEncoder.encode(body),
});

describeWithRabbitMq('relay node mailboxes', () => {
  describe('per-session messages for another node', () => {
    it('go to that node as one RabbitMQ message per event-loop turn, arrive in order with their headers', async () => {
      const [a, b] = [await node(), await node()];
      const watched = await watchMailbox(b);
      const { queue, received: addressee } = await userSession(b, 'signal');

      const sent = Array.from({ length: 200 }, (_, i) => `m${i}`);
      for (const body of sent) void a.publish(message(queue, body, { from: 'peer:1\nx', room: 'r' }));

      await addressee.received(sent.length);
      expect(addressee.bodies()).toEqual(sent);
      expect(addressee.frames[0]!.headers).toMatchObject({
        destination: '/user/queue/signal',
        subscription: 's',
        from: 'peer:1\nx',
        room: 'r',
        'content-type': 'text/plain',
      });
      await until(() => watched.length >= 1, 'the watcher saw the batch');
      expect(watched).toHaveLength(1);
    });

    it("gather in the next batch what turns post while RabbitMQ's receipt of the last is awaited", async () => {
      const [a, b] = [await node(), await node()];
      const watched = await watchMailbox(b);
      const { queue, received: addressee } = await userSession(b, 'signal');

      // Forty turns of two messages each: a RabbitMQ message per turn without the receipt's wait.
      const turns = 40;
      const sent: string[] = [];
      for (let turn = 0; turn < turns; turn++) {
        for (let i = 0; i < 2; i++) {
          const body = `t${turn}m${i}`;
          sent.push(body);
          void a.publish(message(queue, body));
        }
        await new Promise((resolve) => setImmediate(resolve));
      }

      await addressee.received(sent.length);
      expect(addressee.bodies()).toEqual(sent);
      // A RECEIPT takes RabbitMQ far longer than a turn of this loop.
      await until(() => openedCount(watched) === sent.length, 'the watcher saw every message');
      expect(watched.length).toBeLessThanOrEqual(turns / 2);
    });

    it(`sends a batch before it would pass MAX_FRAME_BYTES (${MAX_BATCH_BYTES} here), and keeps the order across batches`, async () => {
      const [a, b] = [await node(), await node()];
      const watched = await watchMailbox(b);
      const { queue, received: addressee } = await userSession(b, 'relay');

      // 10 KiB bodies: six fit in a 64 KiB batch with their frame lines, a seventh would not.
      const sent = Array.from({ length: 20 }, (_, i) => `${String(i).padStart(2, '0')}${'x'.repeat(10 * 1024 - 2)}`);
      for (const body of sent) void a.publish(message(queue, body));

      await addressee.received(sent.length);
      expect(addressee.bodies().map((body) => body.slice(0, 2))).toEqual(sent.map((body) => body.slice(0, 2)));
      await until(() => watched.length >= 4, 'the watcher saw four batches');
      expect(watched.map((batch) => batch.body.length).every((bytes) => bytes <= MAX_BATCH_BYTES)).toBe(true);
      expect(watched).toHaveLength(4);
    });

    it('need no queue of their own on RabbitMQ: a message sent to the per-session routing key there reaches nobody', async () => {
      const [a, b] = [await node(), await node()];
      const { queue, received: addressee } = await userSession(b, 'signal');
      const producer = await rabbitConnection();
      // With a receipt, so RabbitMQ has routed it before the marker is sent.
      await producer.request(frame('SEND', { destination: upstreamDestination(queue) }, 'straight to RabbitMQ'));

      void a.publish(message(queue, 'marker'));
      await addressee.received(1);
      // The marker took another queue (b's mailbox), so it proves less than a marker on the same path:
      // some time for the other message to follow.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(addressee.bodies()).toEqual(['marker']);
    });

    it('are all a mailbox delivers: another destination put in one is not published', async () => {
      const b = await node();
      const { queue, received: addressee } = await userSession(b, 'signal');
      const topic = recorder('topic-listener');
      await b.subscribe(topic, {
        id: 't',
        destination: '/topic/mailbox-test',
        clientDestination: '/topic/mailbox-test',
        ack: 'auto',
      });
      const entry = (destination: string, body: string) =>
        encodeFrame(
          {
            command: 'MESSAGE',
            headers: createHeaders([['destination', destination]]),
            body: textEncoder.encode(body),
          },
          '1.2',
        );
      const producer = await rabbitConnection();
      const nodeId = b.sessionIdPrefix.slice(0, -1);
      await producer.request(
        frame(
          'SEND',
          { destination: mailboxDestination(nodeId) },
          Buffer.concat([entry('/topic/mailbox-test', 'smuggled'), entry(queue, 'marker')]),
        ),
      );

      await addressee.received(1);
      expect(addressee.bodies()).toEqual(['marker']);
      expect(topic.bodies()).toEqual([]);
    });

    it('reach a client-ack subscription through RabbitMQ, which then holds its acknowledgements', async () => {
      const [a, b] = [await node(), await node()];
      const { session, queue, received: addressee } = await userSession(b, 'signal', 'client-individual');
      void a.publish(message(queue, 'to be acknowledged'));
      const [delivered] = await addressee.received(1);
      expect(textDecoder.decode(delivered!.body)).toBe('to be acknowledged');
      expect(b.ack(session, delivered!.headers.ack!)).toBe(true);
    });
  });
});
