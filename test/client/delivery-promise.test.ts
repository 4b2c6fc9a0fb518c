import { afterEach, describe, expect, it } from 'vitest';
import wrtc from '@roamhq/wrtc';
import { connect, NEVER_RECONNECT, type Room, type Session, type UndeliveredEvent } from '../../client/src/index.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { DeliveryLedger } from './helpers/delivery-ledger.js';
import { allDirect, sleep, waitFor } from './helpers/wait.js';

let servers: TestServer[] = [];
let sessions: Session[] = [];
afterEach(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
  sessions = [];
  servers = [];
});

/** A reconnect policy whose delay a test sets before it drops the connection. */
function settableDelay(ms: number): { delayMs: number; nextDelayMs(): number } {
  return {
    delayMs: ms,
    nextDelayMs() {
      return this.delayMs;
    },
  };
}

async function chatter(
  server: TestServer,
  name: string,
  reconnect = settableDelay(100),
  rejoinGraceMs = 3000,
): Promise<{
  session: Session;
  room: Room;
  reconnect: ReturnType<typeof settableDelay>;
}> {
  const session = await connect(server.wsUrl, { wrtc, reconnect });
  sessions.push(session);
  const room = await session.join('chat', { name, rejoinGraceMs });
  return { session, room, reconnect };
}

/** Both send a numbered message every `everyMs` for `forMs`, running `fault` at `faultAtMs`. */
async function chat(
  ledger: DeliveryLedger,
  rooms: Room[],
  forMs: number,
  everyMs: number,
  faultAtMs: number,
  fault: () => void | Promise<void>,
): Promise<void> {
  const started = Date.now();
  let faulted = false;
  while (Date.now() - started < forMs) {
    for (const r of rooms) ledger.send(r);
    if (!faulted && Date.now() - started >= faultAtMs) {
      faulted = true;
      await fault();
    }
    await sleep(everyMs);
  }
}

describe('the delivery promise against a real server', () => {
  it('delivers or reports every message when Bob is back in 0.5 s and Ann after 6 s (rejoinGraceMs 3000)', async () => {
    const server = await startServer();
    servers.push(server);
    const ann = await chatter(server, 'Ann');
    const bob = await chatter(server, 'Bob');
    await waitFor(() => allDirect([ann.room, bob.room]), 30_000, 'p2p');
    const ledger = new DeliveryLedger({ ann: ann.room, bob: bob.room });
    await chat(ledger, [ann.room, bob.room], 10_000, 200, 1000, () => {
      ann.reconnect.delayMs = 6000;
      bob.reconnect.delayMs = 500;
      ann.session.dropConnection();
      bob.session.dropConnection();
    });
    await waitFor(() => ann.room.peers.length === 1 && bob.room.peers.length === 1, 20_000, 'both members again');
    await waitFor(() => ledger.settled(), 30_000, 'every message delivered or reported');
    const report = ledger.check();
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ lost: 0, duplicated: 0, outOfOrder: 0, deliveredAfterReport: 0 });
    // Ann was a member in Bob's eyes again after she came back: the chat goes on both ways.
    const before = report.delivered;
    ledger.send(ann.room);
    ledger.send(bob.room);
    await waitFor(() => ledger.settled(), 20_000, 'the last two messages');
    expect(ledger.check()).toMatchObject({ lost: 0, duplicated: 0, delivered: before + 2 });
  });

  it('delivers or reports every message across a server restart mid-chat', async () => {
    let server = await startServer();
    servers.push(server);
    const port = server.port;
    const ann = await chatter(server, 'Ann', settableDelay(300));
    const bob = await chatter(server, 'Bob', settableDelay(300));
    await waitFor(() => allDirect([ann.room, bob.room]), 30_000, 'p2p');
    const ledger = new DeliveryLedger({ ann: ann.room, bob: bob.room });
    await chat(ledger, [ann.room, bob.room], 8000, 100, 1000, async () => {
      // Bob is back as soon as the server is; Ann only after Bob's grace for her ran out.
      ann.reconnect.delayMs = 5000;
      await server.close();
      await sleep(1500);
      server = await startServer({}, {}, port);
      servers.push(server);
    });
    await waitFor(() => ann.room.peers.length === 1 && bob.room.peers.length === 1, 20_000, 'both members again');
    await waitFor(() => ledger.settled(), 30_000, 'every message delivered or reported');
    const report = ledger.check();
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ lost: 0, duplicated: 0, outOfOrder: 0, deliveredAfterReport: 0 });
    expect(report.delivered + report.reported).toBeGreaterThanOrEqual(report.expected);
  });

  it('reports undelivered, with the ids send() returned, what a member that left for good had not acknowledged', async () => {
    const server = await startServer();
    servers.push(server);
    const a = await chatter(server, 'Ann', settableDelay(100), 500);
    const gone = await connect(server.wsUrl, { relayOnly: true, reconnect: NEVER_RECONNECT });
    sessions.push(gone);
    const b = await gone.join('chat', { name: 'Bob' });
    // Encrypted means each has the other's hello: Ann knows Bob as a stomprtc member, which waits out
    // its rejoin grace ('timeout'); one she knew nothing of yet would be gone at once ('left').
    await waitFor(() => a.room.peers[0]?.encrypted === true && b.peers[0]?.encrypted === true, 10_000, 'both known');
    const reports: UndeliveredEvent[] = [];
    a.room.on('undelivered', (e) => reports.push(e));
    const bobId = b.self.id;
    gone.dropConnection();
    const ids = [a.room.send('one'), a.room.send({ two: 2 }), a.room.send(new Uint8Array([3]))];
    await waitFor(() => reports.length === 1, 10_000, 'the report');
    expect(reports).toEqual([{ peerId: bobId, ids, reason: 'timeout' }]);
    expect(a.room.peers).toEqual([]);
  });
});
