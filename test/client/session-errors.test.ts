import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import wrtc from '@roamhq/wrtc';
import { connect, type Session } from '../../client/src/index.js';
import type { RoomErrorInfo } from '../../client/src/errors.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { record, sleep, waitFor } from './helpers/wait.js';

let servers: TestServer[] = [];
let sessions: Session[] = [];
afterEach(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
  sessions = [];
  servers = [];
});

async function server(env: Record<string, string> = {}): Promise<TestServer> {
  const s = await startServer(env);
  servers.push(s);
  return s;
}

async function open(url: string | string[], opts: Parameters<typeof connect>[1] = {}): Promise<Session> {
  const s = await connect(url, opts);
  sessions.push(s);
  return s;
}

/** A URL where nothing listens: a server's port after it closed. */
async function deadUrl(): Promise<string> {
  const s = await startServer();
  await s.close();
  return s.wsUrl;
}

/** Counts the WebSocket attempts a session makes, from its stompjs debug lines. */
function attempts(): { debug: (m: string) => void; readonly count: number } {
  let count = 0;
  return {
    debug: (m) => {
      if (m.includes('Opening Web Socket')) count++;
    },
    get count() {
      return count;
    },
  };
}

/** Runs test/fixtures/refused-connect.ts; resolves with its output once the process has exited by itself. */
function connectInChild(url: string, options: object, exitWithinMs: number): Promise<string> {
  const repo = fileURLToPath(new URL('../../', import.meta.url));
  const args = ['--import', 'tsx', 'test/fixtures/refused-connect.ts', url, JSON.stringify(options)];
  const child = spawn(process.execPath, args, { cwd: repo });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`the process was still alive after ${exitWithinMs} ms: ${out}`));
    }, exitWithinMs);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(out.trim());
    });
  });
}

describe('connect() settles', () => {
  it('rejects with CONNECT_FAILED within connectTimeoutMs on a port with nothing listening', async () => {
    const url = await deadUrl();
    const started = Date.now();
    const err = await connect(url, { connectTimeoutMs: 1500, reconnect: { nextDelayMs: () => 100 } }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'CONNECT_FAILED' });
    expect((err as Error).message).toMatch(/within 1500 ms.*ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(1500 + 1000);
  });

  it('rejects with CONNECT_FAILED on a wrong path', async () => {
    const s = await server();
    const err = await connect(s.wsUrl.replace('/ws', '/nowhere'), { connectTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CONNECT_FAILED' });
    // The cause is the socket's own word for it (a 404 on the upgrade, or a close code).
    expect((err as Error).message).toMatch(
      /could not connect to ws:\/\/127\.0\.0\.1:\d+\/nowhere within 1000 ms \(.+\)/,
    );
  });

  it('rejects SockJS given the WebSocket endpoint instead of hanging', async () => {
    const s = await server();
    const err = await connect(s.wsUrl, { transport: 'sockjs', connectTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CONNECT_FAILED' });
  });

  it('rejects a bad token at once with AUTH_FAILED, the message unescaped, and tries no more', async () => {
    const s = await server({ AUTH_JWT_SECRET: 'a-secret-of-at-least-32-characters!!' });
    const counter = attempts();
    const err = await connect(s.wsUrl, {
      token: 'not-a-jwt',
      debug: counter.debug,
      reconnect: { nextDelayMs: () => 50 },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AUTH_FAILED' });
    expect((err as Error).message).toContain(':');
    expect((err as Error).message).not.toContain('\\c');
    await sleep(500);
    expect(counter.count).toBe(1);
  });

  it('lets the Node process exit once connect() has rejected, refused or timed out', async () => {
    const s = await server({ AUTH_JWT_SECRET: 'a-secret-of-at-least-32-characters!!' });
    // connectTimeoutMs is 20 s: a timer or socket left behind would hold the process that long.
    const refused = connectInChild(s.wsUrl, { token: 'not-a-jwt', connectTimeoutMs: 20_000 }, 15_000);
    const dead = connectInChild(await deadUrl(), { connectTimeoutMs: 1000 }, 15_000);
    expect(await refused).toContain('rejected AUTH_FAILED');
    expect(await dead).toContain('rejected CONNECT_FAILED');
  });

  it('reaches the second URL when the first is dead, and moves to it when its node closes', async () => {
    const a = await server();
    const b = await server();
    const x = await open([await deadUrl(), a.wsUrl, b.wsUrl], { wrtc, reconnect: { nextDelayMs: () => 100 } });
    const states: string[] = [];
    x.on('state', (st) => states.push(st));
    const rx = await x.join('lobby', { name: 'x', rejoinGraceMs: 2000 });
    const y = await open(b.wsUrl, { wrtc });
    const ry = await y.join('lobby', { name: 'y' });
    expect(rx.peers).toEqual([]);
    await a.close();
    await waitFor(() => rx.peers.length === 1 && ry.peers.length === 1, 10_000, 'x in the lobby on b');
    expect(states).toEqual(['reconnecting', 'connected']);
    const logY = record(ry);
    rx.send('from x, now on b');
    await waitFor(() => logY.length === 1, 10_000, 'message on b');
    expect(logY[0]!.data).toBe('from x, now on b');
  });
});

describe('errors after connect', () => {
  it('leaves the session usable after a refused join', async () => {
    const s = await server();
    const session = await open(s.wsUrl, { relayOnly: true });
    const errors: RoomErrorInfo[] = [];
    session.on('error', (e) => errors.push(e));
    await expect(session.join('-not-a-room-id')).rejects.toMatchObject({ code: 'INVALID_ROOM_ID' });
    await expect(session.join('x'.repeat(65))).rejects.toMatchObject({ code: 'INVALID_ROOM_ID' });
    const room = await session.join('fine');
    expect(room.self.id).toBe(session.peerId);
    await sleep(300);
    expect(errors).toEqual([]);
  });

  it('raises no error when the other peer leaves normally', async () => {
    const s = await server();
    const sa = await open(s.wsUrl, { relayOnly: true });
    const sb = await open(s.wsUrl, { relayOnly: true });
    const errors: string[] = [];
    sa.on('error', (e) => errors.push(`session ${e.code}`));
    const a = await sa.join('bye');
    a.on('error', (e) => errors.push(`room ${e.code}`));
    const b = await sb.join('bye');
    await waitFor(() => a.peers.length === 1 && b.peers.length === 1);
    const logB = record(b);
    for (let i = 0; i < 20; i++) a.send(`m${i}`);
    await waitFor(() => logB.length === 20);
    const left: string[] = [];
    a.on('peer-left', (p, reason) => left.push(reason));
    b.send('last words');
    await b.leave();
    await waitFor(() => left.length === 1, 5000, 'peer-left');
    // Whatever a still had to say to b (an ack, a retransmission) now goes to nobody.
    await sleep(1000);
    expect(left).toEqual(['left']);
    expect(errors).toEqual([]);
  });
});
