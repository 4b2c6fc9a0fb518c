/**
 * `npx stomprtc` from the installed package (runtime dependencies only): --help names the
 * settings, and the server it starts answers health checks, serves the demo built into the
 * package, and speaks STOMP on /ws.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PACK_TIMEOUT_MS,
  runOk,
  startStomprtcCommand,
  userProject,
  type Program,
  type UserProject,
} from '../helpers/packed.js';

describe('npx stomprtc', () => {
  let project: UserProject;
  let server: { program: Program; url: string; port: number } | undefined;
  beforeAll(async () => {
    project = await userProject('runtime');
  }, PACK_TIMEOUT_MS);
  afterAll(async () => {
    await server?.program.stop();
  });

  it('--help lists the environment variables and exits 0', async () => {
    const { stdout } = await runOk('npx', ['--no-install', 'stomprtc', '--help'], {
      cwd: project.dir,
      timeoutMs: 30_000,
    });
    for (const name of [
      'PORT',
      'HOST',
      'LOG_LEVEL',
      'MAX_FRAME_BYTES',
      'HEARTBEAT_MS',
      'AUTH_JWT_SECRET',
      'TURN_SECRET',
      'BROKER_RELAY_URL',
    ]) {
      expect(stdout).toContain(name);
    }
  });

  it('starts the server: /healthz answers 200, / serves the demo page', async () => {
    server = await startStomprtcCommand(project);
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    const demo = await fetch(`${server.url}/`);
    expect(demo.status).toBe(200);
    expect(demo.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await demo.text()).toMatch(/<script[^>]+type="module"[^>]+src="[^"]+\.js"/);
  });

  it('speaks STOMP 1.2 on /ws', async () => {
    if (!server) throw new Error('the server did not start (see the test before)');
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, ['v12.stomp']);
    const firstFrame = new Promise<string>((resolve, reject) => {
      socket.once('message', (data: Buffer) => resolve(data.toString()));
      socket.once('error', reject);
    });
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    expect(socket.protocol).toBe('v12.stomp');
    socket.send('CONNECT\naccept-version:1.2\nhost:stomprtc\n\n\0');
    const connected = await firstFrame;
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.close();
    await closed;
    expect(connected).toMatch(/^CONNECTED\n/);
    expect(connected).toContain('\nversion:1.2\n');
    expect(connected).toMatch(/\nuser-name:[^\n]+\n/);
  });
});
