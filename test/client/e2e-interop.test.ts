import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@stomp/stompjs';
import WebSocket from 'ws';
import { connect, type Session } from '../../client/src/index.js';
import type { RoomErrorInfo } from '../../client/src/errors.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { record, sleep, waitFor } from './helpers/wait.js';

/** A member written from PROTOCOL.md alone that talks over /app/relay in clear: no envelope, no keys. */
class PlainRelayPeer {
  readonly received: string[] = [];
  self = '';
  readonly #client: Client;
  readonly #roomId: string;
  constructor(url: string, roomId: string) {
    this.#roomId = roomId;
    this.#client = new Client({ webSocketFactory: () => new WebSocket(url, ['v12.stomp']), reconnectDelay: 0 });
  }

  start(): Promise<void> {
    return new Promise((resolve) => {
      this.#client.onConnect = () => {
        this.#client.subscribe('/user/queue/relay', (m) => this.received.push(m.body));
        this.#client.subscribe(
          `/topic/room/${this.#roomId}`,
          (m) => {
            const msg = JSON.parse(m.body) as { type: string; self: string };
            if (msg.type === 'welcome') {
              this.self = msg.self;
              resolve();
            }
          },
          { 'display-name': 'plain' },
        );
      };
      this.#client.activate();
    });
  }

  send(to: string, body: string): void {
    this.#client.publish({ destination: '/app/relay', headers: { room: this.#roomId, to }, body });
  }

  stop(): Promise<void> {
    return this.#client.deactivate();
  }
}

let server: TestServer;
let sessions: Session[] = [];
let plains: PlainRelayPeer[] = [];
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  await Promise.all([...sessions.map((s) => s.close()), ...plains.map((p) => p.stop())]);
  sessions = [];
  plains = [];
});

describe('a plain peer on the relay', () => {
  it('talks in clear in a room without a passphrase, shown as not end-to-end encrypted', async () => {
    const roomId = `e2e-plain-${process.pid}-open`;
    const session = await connect(server.wsUrl, { relayOnly: true });
    sessions.push(session);
    const room = await session.join(roomId, { name: 'ours' });
    const got = record(room);
    const plain = new PlainRelayPeer(server.wsUrl, roomId);
    plains.push(plain);
    await plain.start();
    await waitFor(() => room.peers.length === 1, 5_000, 'the plain peer');
    plain.send(room.self.id, 'hi in clear');
    await waitFor(() => got.length === 1, 5_000, 'the clear message');
    expect(got[0]!.data).toBe('hi in clear');
    room.send('to plain');
    await waitFor(() => plain.received.includes('to plain'), 5_000, 'the raw reply');
    expect(room.peers[0]).toMatchObject({ link: 'relay', encrypted: false });
    expect(room.peers[0]!.safetyNumber).toBeUndefined();
  });

  it('is refused, with an error naming it, in a room with a passphrase', async () => {
    const roomId = `e2e-plain-${process.pid}-closed`;
    const session = await connect(server.wsUrl, { relayOnly: true });
    sessions.push(session);
    const room = await session.join(roomId, { name: 'ours', passphrase: 'only for us' });
    const got = record(room);
    const errors: RoomErrorInfo[] = [];
    room.on('error', (e) => errors.push(e));
    const plain = new PlainRelayPeer(server.wsUrl, roomId);
    plains.push(plain);
    await plain.start();
    await waitFor(() => room.peers.length === 1, 5_000, 'the plain peer');
    plain.send(room.self.id, 'let me in');
    await waitFor(() => errors.length === 1, 5_000, 'the refusal');
    expect(errors[0]!.code).toBe('E2E_REQUIRED');
    expect(errors[0]!.message).toContain(`peer ${plain.self}`);
    room.send('not for plain ears');
    plain.send(room.self.id, 'still here');
    await sleep(500);
    expect(got).toEqual([]);
    expect(plain.received.some((b) => b.includes('not for plain ears'))).toBe(false);
    expect(room.peers[0]!.encrypted).toBe(false);
  });
});
