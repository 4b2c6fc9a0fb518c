/**
 * The shared presence at its seam: several replicas (one per "node") on one ordered log that
 * delivers asynchronously, as the RabbitMQ stream does, with a switch to cut a node off the log.
 * The RabbitMQ stream itself is exercised by test/contract and test/e2e/cluster-*.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PresenceEntry, PresenceLog, PresenceLogHandlers } from '../../server/src/signaling/presence-log.js';
import { SharedPresence, type JoinRefusal } from '../../server/src/signaling/shared-presence.js';
import type { Member } from '../../server/src/signaling/presence.js';
import { until } from '../helpers/server.js';

/** One totally ordered log; each node reads it from where it joined, in order, a turn of the event loop later. */
class OrderedLog {
  readonly entries: PresenceEntry[] = [];
  readonly #readers = new Set<Reader>();

  reader(): Reader {
    const reader = new Reader(this, this.entries.length);
    this.#readers.add(reader);
    return reader;
  }

  push(entry: PresenceEntry): void {
    this.entries.push(entry);
    setImmediate(() => this.pump());
  }

  pump(): void {
    for (const reader of this.#readers) reader.catchUp();
  }
}

class Reader implements PresenceLog {
  readonly shared = true;
  connected = false;
  #handlers: PresenceLogHandlers | undefined;
  readonly #log: OrderedLog;
  #cursor: number;

  constructor(log: OrderedLog, cursor: number) {
    this.#log = log;
    this.#cursor = cursor;
  }

  async start(handlers: PresenceLogHandlers): Promise<void> {
    this.#handlers = handlers;
    this.connected = true;
    handlers.connected();
  }

  append(entry: PresenceEntry): void {
    if (!this.connected) throw new Error('cut off');
    this.#log.push(entry);
  }

  catchUp(): void {
    while (this.connected && this.#cursor < this.#log.entries.length)
      this.#handlers?.entry(this.#log.entries[this.#cursor++]!);
  }

  cut(): void {
    this.connected = false;
    this.#handlers?.disconnected();
  }

  /** Back on the log: reads what it missed, as the stream resumes after its last offset. */
  restore(): void {
    this.connected = true;
    this.#handlers?.connected();
    setImmediate(() => this.#log.pump());
  }

  async close(): Promise<void> {
    this.connected = false;
  }
}

interface Node {
  readonly presence: SharedPresence;
  readonly log: Reader;
  readonly events: string[];
}

const LIMITS = { maxRoomMembers: 2, maxRoomsPerSession: 2, clusterHeartbeatMs: 50, clusterNodeDownMs: 200 };
const started: Node[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((n) => n.presence.close()));
});

async function node(log: OrderedLog, limits = LIMITS): Promise<Node> {
  const reader = log.reader();
  const presence = new SharedPresence(reader, limits);
  const events: string[] = [];
  presence.listen({
    joined: (room: string, m: Member) => events.push(`joined ${room} ${m.id}`),
    left: (room: string, m: Member, reason: string) => events.push(`left ${room} ${m.id} ${reason}`),
    refused: (room: string, id: string, code: JoinRefusal) => events.push(`refused ${room} ${id} ${code}`),
  });
  await presence.start();
  const n = { presence, log: reader, events };
  started.push(n);
  await until(() => presence.available, 'the node is ready');
  return n;
}

const ids = (n: Node, room: string) =>
  n.presence.view
    .members(room)
    .map((m) => m.id)
    .sort();

describe('shared presence', () => {
  it('decides racing joins in log order, the same on every node, and tells only the claimant of a refusal', async () => {
    const log = new OrderedLog();
    const [a, b, c] = [await node(log), await node(log), await node(log)];
    a.presence.claim('r', 'pa', 'A');
    b.presence.claim('r', 'pb', 'B');
    c.presence.claim('r', 'pc', 'C');
    await until(
      () => [a, b, c].every((n) => !n.presence.claiming('r', `p${'abc'[[a, b, c].indexOf(n)]}`)),
      'all claims decided',
    );
    for (const n of [a, b, c]) expect(ids(n, 'r')).toEqual(['pa', 'pb']);
    expect(c.events).toContain('refused r pc ROOM_FULL');
    expect([...a.events, ...b.events].filter((e) => e.startsWith('refused'))).toEqual([]);
  });

  it('refuses a claim past MAX_ROOMS_PER_SESSION', async () => {
    const log = new OrderedLog();
    const a = await node(log);
    for (const room of ['r1', 'r2', 'r3']) a.presence.claim(room, 'pa', 'A');
    await until(() => a.events.length === 3, 'three verdicts');
    expect(a.events).toEqual(['joined r1 pa', 'joined r2 pa', 'refused r3 pa TOO_MANY_ROOMS']);
  });

  it("gives a node that starts later every member through the others' syncs", async () => {
    const log = new OrderedLog();
    const a = await node(log);
    a.presence.claim('r', 'pa', 'A');
    await until(() => a.presence.view.memberCount('r') === 1, 'joined');
    const late = await node(log);
    expect(ids(late, 'r')).toEqual(['pa']);
    expect(late.presence.view.member('r', 'pa')).toMatchObject({ name: 'A', node: a.presence.node });
  });

  it('drops the members of a silent node everywhere, once, and never takes that node back', async () => {
    const log = new OrderedLog();
    const [a, b, c] = [await node(log), await node(log), await node(log)];
    a.presence.claim('r', 'pa', 'A');
    b.presence.claim('r', 'pb', 'B');
    await until(() => c.presence.view.memberCount('r') === 2, 'both joined');
    const deadKey = a.presence.node;
    a.log.cut();
    await a.presence.close();
    await until(() => ids(b, 'r').length === 1 && ids(c, 'r').length === 1, "the silent node's member is gone", 2_000);
    for (const n of [b, c]) expect(n.events.filter((e) => e === 'left r pa disconnected')).toHaveLength(1);
    // An entry from the dead node that arrives late changes nothing.
    log.push({ t: 'join', node: deadKey, room: 'r', id: 'ghost', name: 'G' });
    await new Promise((r) => setImmediate(r));
    expect(ids(b, 'r')).toEqual(['pb']);
  });

  it('applies a leave locally when the log is out of reach, and the others learn it from the sync on reconnect', async () => {
    const log = new OrderedLog();
    const [a, b] = [
      await node(log, { ...LIMITS, clusterNodeDownMs: 60_000 }),
      await node(log, { ...LIMITS, clusterNodeDownMs: 60_000 }),
    ];
    a.presence.claim('r', 'pa', 'A');
    a.presence.claim('r', 'pa2', 'A2');
    await until(() => b.presence.view.memberCount('r') === 2, 'joined');
    a.log.cut();
    expect(() => a.presence.leave('r', 'pa', 'disconnected')).not.toThrow();
    expect(ids(a, 'r')).toEqual(['pa2']);
    expect(ids(b, 'r')).toEqual(['pa', 'pa2']);
    a.log.restore();
    await until(() => ids(b, 'r').length === 1, 'the sync removed the member');
    expect(ids(b, 'r')).toEqual(['pa2']);
    expect(b.events.at(-1)).toBe('left r pa disconnected');
  });

  it('refuses a claim in flight when the log is lost, and gives the place back if the claim landed after all', async () => {
    const log = new OrderedLog();
    const [a, b] = [
      await node(log, { ...LIMITS, clusterNodeDownMs: 60_000 }),
      await node(log, { ...LIMITS, clusterNodeDownMs: 60_000 }),
    ];
    a.presence.claim('r', 'pa', 'A');
    a.log.cut();
    expect(a.events).toEqual(['refused r pa NOT_FORWARDED']);
    await until(() => b.presence.view.memberCount('r') === 1, 'the claim landed for the others');
    a.log.restore();
    await until(
      () => b.presence.view.memberCount('r') === 0 && a.presence.view.memberCount('r') === 0,
      'the place is given back',
    );
  });

  it('comes back as a new incarnation, with its members, when the others declared it down while it lived', async () => {
    const log = new OrderedLog();
    const [a, b] = [await node(log), await node(log)];
    a.presence.claim('r', 'pa', 'A');
    await until(() => b.presence.view.memberCount('r') === 1, 'joined');
    const before = a.presence.node;
    a.log.cut();
    await until(() => b.presence.view.memberCount('r') === 0, 'declared down', 2_000);
    a.log.restore();
    await until(
      () => b.presence.view.member('r', 'pa')?.node === a.presence.node && a.presence.node !== before,
      'back under a new key',
      2_000,
    );
    expect(ids(a, 'r')).toEqual(['pa']);
  });
});
