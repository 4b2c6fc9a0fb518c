/**
 * When a node's batches for another node go (server/src/broker/node-mailbox.ts): the rule alone,
 * with a `send` whose receipts the test hands out. The wire, on a real RabbitMQ, is
 * test/contract/relay-mailbox.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { NodeMailboxes, openMailbox } from '../../server/src/broker/node-mailbox.js';
import type { BrokerMessage } from '../../server/src/broker/types.js';
import { createHeaders, textDecoder, textEncoder } from '../../shared/src/stomp/frame.js';

const LIMITS = { maxFrameBytes: 1 << 20, maxHeaders: 64, maxHeaderLineBytes: 8 * 1024 };

interface SentBatch {
  nodeId: string;
  bodies: string[];
  /** RabbitMQ's receipt for it. */
  land: () => void;
}

function mailboxes(maxBatchBytes = 64 * 1024): { mailboxes: NodeMailboxes; sent: SentBatch[] } {
  const sent: SentBatch[] = [];
  const boxes = new NodeMailboxes((nodeId, body) => {
    const bodies: string[] = [];
    openMailbox(body, LIMITS, (message) => bodies.push(textDecoder.decode(message.body)));
    return new Promise<void>((land) => sent.push({ nodeId, bodies, land }));
  }, maxBatchBytes);
  return { mailboxes: boxes, sent };
}

const message = (body: string): BrokerMessage => ({
  destination: '/queue/signal~user~b.x',
  headers: createHeaders([['content-type', 'text/plain']]),
  body: textEncoder.encode(body),
});

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('node mailboxes', () => {
  it('send what one turn posts for a node as one batch, at the end of the turn', async () => {
    const { mailboxes: boxes, sent } = mailboxes();
    boxes.post('b', message('m1'));
    boxes.post('b', message('m2'));
    boxes.post('c', message('m3'));
    expect(sent).toHaveLength(0);
    await nextTurn();
    expect(sent.map(({ nodeId, bodies }) => [nodeId, bodies])).toEqual([
      ['b', ['m1', 'm2']],
      ['c', ['m3']],
    ]);
  });

  it('hold what later turns post for a node until RabbitMQ has the batch on its way, then send it all as one', async () => {
    const { mailboxes: boxes, sent } = mailboxes();
    boxes.post('b', message('m0'));
    await nextTurn();
    for (let turn = 1; turn <= 5; turn++) {
      boxes.post('b', message(`m${turn}`));
      await nextTurn();
    }
    expect(sent.map(({ bodies }) => bodies)).toEqual([['m0']]);

    sent[0]!.land();
    await nextTurn();
    await nextTurn();
    expect(sent.map(({ bodies }) => bodies)).toEqual([['m0'], ['m1', 'm2', 'm3', 'm4', 'm5']]);
  });

  it('do not hold one node back for another: each node has its own batch on its way', async () => {
    const { mailboxes: boxes, sent } = mailboxes();
    boxes.post('b', message('to-b-1'));
    await nextTurn();
    boxes.post('b', message('to-b-2'));
    boxes.post('c', message('to-c-1'));
    await nextTurn();
    expect(sent.map(({ nodeId, bodies }) => [nodeId, bodies])).toEqual([
      ['b', ['to-b-1']],
      ['c', ['to-c-1']],
    ]);
  });

  it('send a batch that would pass maxBatchBytes at once, even while another is on its way, in order', async () => {
    const { mailboxes: boxes, sent } = mailboxes(256);
    const firsts = () => sent.map(({ bodies }) => bodies.map((body) => body[0]));
    boxes.post('b', message('first'));
    await nextTurn();
    // 117-byte frames: two make a batch of 234 bytes, a third would take it past 256.
    for (let i = 0; i < 5; i++) boxes.post('b', message(`${i}`.padEnd(30, '.')));
    expect(firsts()).toEqual([['f'], ['0', '1'], ['2', '3']]);
    sent[0]!.land();
    sent[1]!.land();
    await nextTurn();
    await nextTurn();
    expect(firsts()).toHaveLength(3);
    sent[2]!.land();
    await nextTurn();
    await nextTurn();
    expect(firsts()).toEqual([['f'], ['0', '1'], ['2', '3'], ['4']]);
  });

  it('send everything at once on flush, and forget what is pending on discard, late receipts included', async () => {
    const { mailboxes: boxes, sent } = mailboxes();
    boxes.post('b', message('m0'));
    await nextTurn();
    boxes.post('b', message('m1'));
    boxes.flush();
    expect(sent.map(({ bodies }) => bodies)).toEqual([['m0'], ['m1']]);

    boxes.post('b', message('m2'));
    boxes.post('c', message('m3'));
    expect(boxes.discard()).toBe(2);
    for (const batch of sent) batch.land();
    await nextTurn();
    await nextTurn();
    expect(sent).toHaveLength(2);
  });
});
