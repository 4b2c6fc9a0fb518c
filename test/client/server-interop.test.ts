import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import wrtc from '@roamhq/wrtc';
import SimplePeer from 'simple-peer';
import { Client, type IMessage } from '@stomp/stompjs';
import WebSocket from 'ws';
import { connect, type Session } from '../../client/src/index.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { waitFor } from './helpers/wait.js';

/**
 * A peer written only from PROTOCOL.md with plain simple-peer and @stomp/stompjs: no envelope,
 * no stomprtc code. It answers or initiates per the later-joiner convention and sends raw data.
 */
class PlainPeer {
  readonly received: Array<string | Uint8Array> = [];
  readonly peers = new Map<string, SimplePeer.Instance>();
  self = '';
  #client: Client;
  readonly #roomId: string;
  constructor(url: string, roomId: string) {
    this.#roomId = roomId;
    this.#client = new Client({
      webSocketFactory: () => new WebSocket(url, ['v12.stomp']),
      reconnectDelay: 0,
    });
  }
  start(): Promise<void> {
    return new Promise((resolve) => {
      this.#client.onConnect = () => {
        this.#client.subscribe('/user/queue/signal', (m) =>
          this.#peer(m.headers.from!, false).signal(JSON.parse(m.body)),
        );
        this.#client.subscribe(
          `/topic/room/${this.#roomId}`,
          (m: IMessage) => {
            const msg = JSON.parse(m.body);
            if (msg.type === 'welcome') {
              this.self = msg.self;
              for (const p of msg.peers) this.#peer(p.id, true);
              resolve();
            }
          },
          { 'display-name': 'plain' },
        );
      };
      this.#client.activate();
    });
  }
  #peer(id: string, initiator: boolean): SimplePeer.Instance {
    let p = this.peers.get(id);
    if (p) return p;
    p = new SimplePeer({ initiator, trickle: true, wrtc, objectMode: true });
    p.on('signal', (s) =>
      this.#client.publish({
        destination: '/app/signal',
        headers: { room: this.#roomId, to: id },
        body: JSON.stringify(s),
      }),
    );
    p.on('data', (d: string | Uint8Array) => this.received.push(d));
    this.peers.set(id, p);
    return p;
  }
  async stop(): Promise<void> {
    for (const p of this.peers.values()) p.destroy();
    await this.#client.deactivate();
  }
}

let server: TestServer;
let sessions: Session[] = [];
let plains: PlainPeer[] = [];
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

describe('interop with a plain simple-peer + @stomp/stompjs peer', () => {
  for (const plainJoinsFirst of [true, false]) {
    it(`connects and exchanges raw data when the plain peer joins ${plainJoinsFirst ? 'first' : 'second'}`, async () => {
      const plain = new PlainPeer(server.wsUrl, `interop-${plainJoinsFirst}`);
      plains.push(plain);
      const session = await connect(server.wsUrl, { wrtc });
      sessions.push(session);
      let room;
      if (plainJoinsFirst) {
        await plain.start();
        room = await session.join(`interop-${plainJoinsFirst}`, { name: 'ours' });
      } else {
        room = await session.join(`interop-${plainJoinsFirst}`, { name: 'ours' });
        await plain.start();
      }
      const got: Array<{ data: unknown; seq?: number }> = [];
      room.on('message', (m) => got.push(m));
      await waitFor(() => room.peers.length === 1 && room.peers[0]!.link === 'p2p', 30_000, 'p2p with plain peer');
      const sp = [...plain.peers.values()][0]!;
      await waitFor(() => (sp as unknown as { connected: boolean }).connected, 10_000);
      sp.send('raw hello');
      sp.send(new Uint8Array([1, 2, 3]));
      room.send('to plain');
      await waitFor(() => got.length === 2 && plain.received.length === 1, 10_000, 'raw exchange');
      expect(got[0]!.data).toBe('raw hello');
      expect(got[0]!.seq).toBeUndefined();
      expect(got[1]!.data).toEqual(new Uint8Array([1, 2, 3]));
      expect(plain.received[0]).toBe('to plain');
    });
  }
});
