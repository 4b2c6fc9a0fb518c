/**
 * A WebSocket proxy in front of a real server that sees every SEND to /app/relay on its way in:
 * it records the bodies (what the server's relay, its logs and the broker get to read) and lets a
 * test rewrite, drop or duplicate them — a stand-in for a curious or hostile server.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket, type RawData } from 'ws';

export interface RelaySend {
  readonly to: string;
  readonly body: string;
}

/** What to forward for one relayed body: replacements (none drops it, two duplicate it). */
export type RelayRewrite = (send: RelaySend) => string[] | Promise<string[]>;

export interface RelayTap {
  readonly wsUrl: string;
  /** Every /app/relay body the clients sent, before any rewrite. */
  readonly bodies: string[];
  rewrite: RelayRewrite | undefined;
  close(): Promise<void>;
}

export async function startRelayTap(serverWsUrl: string): Promise<RelayTap> {
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    handleProtocols: (protocols) => [...protocols][0] ?? false,
  });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const tap: RelayTap = {
    wsUrl: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`,
    bodies: [],
    rewrite: undefined,
    close: () =>
      new Promise((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
  wss.on('connection', (client, request) => {
    const upstream = new WebSocket(
      serverWsUrl,
      request.headers['sec-websocket-protocol']?.split(',').map((p) => p.trim()),
    );
    const early: Array<() => void> = [];
    // Client frames go out in arrival order, though a rewrite may take a while.
    let chain = Promise.resolve();
    const toServer = (data: string) => {
      if (upstream.readyState === WebSocket.OPEN) upstream.send(data);
      else early.push(() => upstream.send(data));
    };
    upstream.on('open', () => {
      for (const send of early.splice(0)) send();
    });
    upstream.on('message', (data: RawData, isBinary) => {
      if (client.readyState === WebSocket.OPEN) client.send(data as Buffer, { binary: isBinary });
    });
    upstream.on('close', () => client.close());
    upstream.on('error', () => client.terminate());
    client.on('close', () => upstream.close());
    client.on('message', (data: RawData) => {
      const text = (data as Buffer).toString('utf8');
      chain = chain.then(async () => {
        for (const out of await rewriteFrame(tap, text)) toServer(out);
      });
    });
  });
  return tap;
}

/** SEND frames to /app/relay are recorded and rewritten; anything else passes as it came. */
async function rewriteFrame(tap: RelayTap, text: string): Promise<string[]> {
  if (!text.startsWith('SEND\n')) return [text];
  const split = text.indexOf('\n\n');
  const lines = text.slice(0, split).split('\n');
  const headers = new Map(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]));
  if (headers.get('destination') !== '/app/relay') return [text];
  const body = text.slice(split + 2, text.lastIndexOf('\0'));
  tap.bodies.push(body);
  if (!tap.rewrite) return [text];
  const bodies = await tap.rewrite({ to: headers.get('to') ?? '', body });
  return bodies.map((b) => {
    headers.set('content-length', String(Buffer.byteLength(b)));
    return `SEND\n${[...headers].map(([k, v]) => `${k}:${v}`).join('\n')}\n\n${b}\0`;
  });
}
