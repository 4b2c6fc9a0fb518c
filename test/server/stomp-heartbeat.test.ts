/**
 * Heart-beating (§Heart-beating) with short intervals: HEARTBEAT_MS=200 and a 200 ms grace.
 * Every wait here is for an event (a heart-beat count, an ERROR, a close), never a sleep.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  rawStomp,
  startServer,
  stompClient,
  until,
  wire,
  type RawStomp,
  type TestClient,
  type TestServer,
  type Transport,
} from '../helpers/server.js';

let server: TestServer;
const raws: RawStomp[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  server = await startServer({ HEARTBEAT_MS: '200', HEARTBEAT_GRACE_MS: '200' });
});
afterAll(async () => {
  for (const raw of raws) raw.close();
  await Promise.all(clients.map((c) => c.close()));
  await server.close();
});

async function raw(): Promise<RawStomp> {
  const r = await rawStomp(server);
  raws.push(r);
  return r;
}

describe('heart-beats', () => {
  it('announces its heart-beat in CONNECTED', async () => {
    const r = await raw();
    const reply = await r.connect({ 'accept-version': '1.2', host: 'stomprtc', 'heart-beat': '0,0' });
    expect(reply.headers['heart-beat']).toBe('200,200');
  });

  it('sends EOL heart-beats to a client that asked for them', async () => {
    const r = await raw();
    await r.connect({ 'accept-version': '1.2', host: 'stomprtc', 'heart-beat': '0,200' });
    await until(() => r.heartbeats >= 4, 'four heart-beats arrived');
    expect(r.frames.all.map((f) => f.command)).toEqual(['CONNECTED']);
  });

  it('sends no heart-beats to a client that asked for none', async () => {
    const silent = await raw();
    await silent.connect({ 'accept-version': '1.2', host: 'stomprtc', 'heart-beat': '0,0' });
    const listener = await raw();
    await listener.connect({ 'accept-version': '1.2', host: 'stomprtc', 'heart-beat': '0,200' });
    await until(() => listener.heartbeats >= 4, 'the other session got four heart-beats');
    expect(silent.heartbeats).toBe(0);
    expect(silent.socket.readyState).toBe(silent.socket.OPEN);
  });

  it('closes a client that promised heart-beats and went silent, with ERROR HEARTBEAT_TIMEOUT', async () => {
    const r = await raw();
    await r.connect({ 'accept-version': '1.2', host: 'stomprtc', 'heart-beat': '200,200' });
    const error = await r.nextFrame();
    expect(error.command).toBe('ERROR');
    expect(error.headers.code).toBe('HEARTBEAT_TIMEOUT');
    expect(error.headers.message).toEqual(expect.any(String));
    await r.waitForClose();
  });

  it.each(['0,2147483648', '2147483648,0', '0,3600001'])(
    'refuses heart-beat:%s, an interval over HEARTBEAT_MAX_MS, with MALFORMED_FRAME',
    async (value) => {
      const r = await raw();
      const reply = await r.connect({ 'accept-version': '1.2', host: 'stomprtc', 'heart-beat': value });
      expect([reply.command, reply.headers.code]).toEqual(['ERROR', 'MALFORMED_FRAME']);
      expect(reply.headers.message).toMatch(/3600000/);
      await r.waitForClose();
    },
  );

  it('accepts heart-beat intervals of exactly HEARTBEAT_MAX_MS', async () => {
    const r = await raw();
    const reply = await r.connect({ 'accept-version': '1.2', host: 'stomprtc', 'heart-beat': '3600000,3600000' });
    expect(reply.command).toBe('CONNECTED');
  });

  it("raises a client's 1 ms heart-beat to the server's own interval, so 1,1 costs no more than 200,200", async () => {
    const r = await raw();
    await r.connect({ 'accept-version': '1.2', host: 'stomprtc', 'heart-beat': '0,1' });
    const started = Date.now();
    await until(() => r.heartbeats >= 3, 'three heart-beats arrived');
    // Three beats at 1 ms would take 3 ms; at the negotiated 200 ms they take about 600 (a count, not a timing bound).
    expect(r.heartbeats).toBeLessThanOrEqual(3 + Math.ceil((Date.now() - started) / 200));
  });

  it('keeps a raw client that sends EOL heart-beats', async () => {
    const r = await raw();
    await r.connect({ 'accept-version': '1.2', host: 'stomprtc', 'heart-beat': '200,200' });
    const beat = setInterval(() => r.send('\n'), 100);
    try {
      await until(() => r.heartbeats >= 8, 'eight heart-beats arrived');
    } finally {
      clearInterval(beat);
    }
    expect(r.frames.all.map((f) => f.command)).toEqual(['CONNECTED']);
    r.send(wire('DISCONNECT', { receipt: 'still-here' }));
    expect((await r.nextFrame()).headers['receipt-id']).toBe('still-here');
  });

  it('does not read its own event-loop lag as client silence: a client that kept beating survives a 1.5 s stall of the server', async () => {
    const r = await raw();
    await r.connect({ 'accept-version': '1.2', host: 'stomprtc', 'heart-beat': '200,0' });
    const beat = setInterval(() => r.send('\n'), 50);
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The server (this process) is busy: nothing is read, and the client's beats wait in the socket.
      const stalledUntil = Date.now() + 1500;
      while (Date.now() < stalledUntil);
      await new Promise((resolve) => setTimeout(resolve, 600));
    } finally {
      clearInterval(beat);
    }
    expect(r.frames.all.map((f) => f.command)).toEqual(['CONNECTED']);
    r.send(wire('DISCONNECT', { receipt: 'survived' }));
    expect((await r.nextFrame()).headers['receipt-id']).toBe('survived');
  });

  it.each<Transport>(['ws', 'sockjs'])(
    'keeps a @stomp/stompjs client with heart-beats connected over %s across several intervals',
    async (transport) => {
      const client = await stompClient(server, { transport, heartbeatMs: 200 });
      clients.push(client);
      let received = 0;
      client.client.onHeartbeatReceived = () => received++;
      await until(() => received >= 6, 'six server heart-beats reached the client');
      expect(client.isClosed()).toBe(false);
      expect(client.errorFrames.all).toEqual([]);
      await client.sync();
    },
  );
});
