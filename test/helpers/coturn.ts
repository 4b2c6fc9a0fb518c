/**
 * A real coturn for end-to-end tests: started on the root-side addresses of a netns topology, with
 * TURN REST API credentials (`use-auth-secret`, the scheme the server's turn-credentials.ts
 * implements), UDP only, every state file in a temporary directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { access, constants, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SUBNET_CIDR } from './netns.js';

const TURNSERVER_BIN = process.env.TURNSERVER_BIN ?? '/usr/bin/turnserver';
const TURN_REALM = 'stomprtc.test';

/** Resolves to why coturn cannot run here, or undefined when it can. */
export async function coturnUnavailableReason(): Promise<string | undefined> {
  try {
    await access(TURNSERVER_BIN, constants.X_OK);
    return undefined;
  } catch {
    return `${TURNSERVER_BIN} not found or not executable (install the Debian/Ubuntu package "coturn", or set TURNSERVER_BIN)`;
  }
}

export interface Coturn {
  readonly port: number;
  readonly secret: string;
  readonly listeningIps: readonly string[];
  /** `turn:<ip>:<port>?transport=udp` for each listening address. */
  readonly urls: readonly string[];
  /** Everything coturn logged so far. */
  log(): string;
  stop(): Promise<void>;
}

export interface CoturnOptions {
  /** Addresses to listen on; every peer must reach at least one. */
  readonly listeningIps: readonly string[];
  /** Address relayed traffic leaves from. @default listeningIps[0] */
  readonly relayIp?: string;
  readonly secret?: string;
  /** @default 10000 */
  readonly readyTimeoutMs?: number;
}

/** TURN REST API credentials, computed independently of the server so tests cross-check it. */
export function restCredentials(
  secret: string,
  user: string,
  ttlSeconds = 600,
): { username: string; credential: string } {
  const username = `${Math.floor(Date.now() / 1000) + ttlSeconds}:${user}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

async function udpPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, host, () => s.close(() => resolve(true)));
  });
}

async function pickPort(hosts: readonly string[]): Promise<number> {
  for (let i = 0; i < 50; i++) {
    // Below the ephemeral range (32768+) and coturn's relay range (49152+).
    const port = 20000 + Math.floor(Math.random() * 12000);
    let free = true;
    for (const h of hosts) free &&= await udpPortFree(h, port);
    if (free) return port;
  }
  throw new Error('no free UDP port for coturn');
}

/** Sends a STUN Binding request (RFC 8489 §6) and resolves true on any STUN success response. */
async function stunBinding(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  const req = Buffer.alloc(20);
  req.writeUInt16BE(0x0001, 0);
  req.writeUInt16BE(0, 2);
  req.writeUInt32BE(0x2112a442, 4);
  randomBytes(12).copy(req, 8);
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.on('error', () => done(false));
    s.on('message', (msg) =>
      done(msg.length >= 20 && msg.readUInt16BE(0) === 0x0101 && msg.subarray(8, 20).equals(req.subarray(8, 20))),
    );
    s.send(req, port, host);
  });
}

export async function startCoturn(options: CoturnOptions): Promise<Coturn> {
  const reason = await coturnUnavailableReason();
  if (reason) throw new Error(reason);
  const listeningIps = options.listeningIps;
  const relayIp = options.relayIp ?? listeningIps[0]!;
  const secret = options.secret ?? randomBytes(18).toString('base64url');
  const port = await pickPort(listeningIps);
  const dir = await mkdtemp(join(tmpdir(), 'srtc-coturn-'));
  const args = [
    '-n', // no configuration file: everything is on this command line
    ...listeningIps.map((ipAddr) => `--listening-ip=${ipAddr}`),
    `--relay-ip=${relayIp}`,
    `--listening-port=${port}`,
    '--use-auth-secret',
    `--static-auth-secret=${secret}`,
    `--realm=${TURN_REALM}`,
    '--no-tls',
    '--no-dtls',
    '--no-tcp',
    '--no-tcp-relay',
    '--no-cli',
    '--no-rfc5780',
    '--fingerprint',
    '--no-software-attribute',
    // Our private test range must be relayable; loopback and multicast stay refused.
    `--allowed-peer-ip=${cidrToRange(SUBNET_CIDR)}`,
    '--no-multicast-peers',
    '--log-file=stdout',
    '--simple-log',
    `--pidfile=${join(dir, 'turnserver.pid')}`,
    `--userdb=${join(dir, 'turndb')}`,
  ];
  const child: ChildProcess = spawn(TURNSERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    log += c;
  });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => {
    log += c;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 10_000);
  try {
    // coturn logs "Total General servers" once its listener threads exist; a STUN Binding answer
    // on every address then proves the UDP listeners are up.
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`turnserver exited (${child.exitCode ?? child.signalCode}) before it was ready`);
      if (Date.now() > deadline) throw new Error('turnserver was not ready in time');
      if (/Total General servers/.test(log)) {
        const answers = await Promise.all(listeningIps.map((h) => stunBinding(h, port)));
        if (answers.every(Boolean)) break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- turnserver ${args.join(' ')}\n${log}`, { cause: err });
  }

  return {
    port,
    secret,
    listeningIps,
    urls: listeningIps.map((h) => `turn:${h}:${port}?transport=udp`),
    log: () => log,
    stop,
  };
}

function cidrToRange(cidr: string): string {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const n = base!.split('.').reduce((acc, o) => (acc << 8) + Number(o), 0) >>> 0;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  const lo = (n & mask) >>> 0;
  const hi = (lo | (~mask >>> 0)) >>> 0;
  const q = (x: number) => [24, 16, 8, 0].map((s) => (x >>> s) & 255).join('.');
  return `${q(lo)}-${q(hi)}`;
}

/**
 * Gathers ICE candidates with `iceTransportPolicy: 'relay'` through @roamhq/wrtc, in this process's
 * namespace: a relay candidate proves that coturn granted an allocation for these credentials.
 * Resolves to the relay candidates' addresses (empty when none came within timeoutMs).
 */
export async function gatherRelayCandidates(
  server: { urls: string; username: string; credential: string },
  timeoutMs = 5000,
): Promise<string[]> {
  const wrtc = ((await import('@roamhq/wrtc')) as { default: { RTCPeerConnection: typeof RTCPeerConnection } }).default;
  const pc = new wrtc.RTCPeerConnection({ iceServers: [server], iceTransportPolicy: 'relay' });
  const relays: string[] = [];
  try {
    pc.createDataChannel('probe');
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      pc.onicecandidate = (e) => {
        if (!e.candidate) {
          clearTimeout(timer);
          resolve();
          return;
        }
        const m = / (\d+\.\d+\.\d+\.\d+) (\d+) typ relay/.exec(e.candidate.candidate);
        if (m) relays.push(`${m[1]}:${m[2]}`);
      };
    });
    await pc.setLocalDescription(await pc.createOffer());
    await done;
    return relays;
  } finally {
    pc.close();
  }
}
