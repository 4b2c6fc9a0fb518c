import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import sockjs from 'sockjs';
import type { Connection as SockJsConnection } from 'sockjs';
import type { Connection } from './connection.js';
import type { Config } from '../config.js';
import { textDecoder, textEncoder } from '../../../shared/src/stomp/frame.js';

export interface SockJsTransportOptions {
  readonly config: Config;
  readonly prefix: string;
  readonly accept: (connection: Connection) => void;
}

const require = createRequire(import.meta.url);

/**
 * `/sockjs`: the same STOMP frames over SockJS, for networks that block WebSocket. The sockjs
 * server attaches to the raw HTTP server; requests under the prefix go to it, after a cap on the
 * request body that sockjs itself does not have (it buffers whole xhr_send bodies).
 */
export const sockjsTransport = fp<SockJsTransportOptions>(async (app: FastifyInstance, { config, prefix, accept }) => {
  const server = sockjs.createServer({
    prefix,
    log: () => {},
    // The iframe-based transports load the client from here instead of a CDN.
    sockjs_url: `${prefix}-client.min.js`,
    // For the raw-WebSocket variant (faye-websocket): same cap as request bodies.
    faye_server_options: { maxLength: config.sockjsMaxRequestBytes },
  } as sockjs.ServerOptions);
  server.on('connection', (conn: SockJsConnection | null) => {
    // sockjs emits null for a connection that closed before it opened.
    if (conn) accept(new SockJsTransportConnection(conn));
  });
  const handle = (server as unknown as SockJsListener).listener({ prefix }).getHandler();

  const clientScript = require.resolve('sockjs-client/dist/sockjs.min.js');
  app.get(`${prefix}-client.min.js`, (_request, reply) => reply.type('application/javascript').send(createReadStream(clientScript)));

  const http = app.server;
  interceptBefore(http, 'request', (req: IncomingMessage, res: ServerResponse) => {
    if (!isUnder(req.url, prefix)) return false;
    if (!withinBodyLimit(req, res, config.sockjsMaxRequestBytes)) return true;
    return handle(req, res);
  });
  interceptBefore(http, 'upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!isUnder(req.url, prefix)) return false;
    return handle(req, socket, head);
  });
}, { name: 'stomprtc-sockjs' });

interface SockJsListener {
  listener(options: { prefix: string }): { getHandler(): (...args: unknown[]) => boolean };
}

function isUnder(url: string | undefined, prefix: string): boolean {
  return url !== undefined && (url === prefix || url.startsWith(prefix + '/') || url.startsWith(prefix + '?'));
}

/** Puts `handler` in front of the server's existing listeners; it returns true when it took the event. */
function interceptBefore(emitter: NodeJS.EventEmitter, event: string, handler: (...args: any[]) => boolean): void {
  const existing = emitter.listeners(event) as Array<(...args: unknown[]) => void>;
  emitter.removeAllListeners(event);
  emitter.on(event, function (this: unknown, ...args: unknown[]) {
    if (handler(...args) === true) return;
    for (const listener of existing) listener.apply(this, args);
  });
}

/** 413 for a declared length over the cap; a body that grows past it mid-stream drops the socket. */
function withinBodyLimit(req: IncomingMessage, res: ServerResponse, limit: number): boolean {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' });
    res.end(`request body over ${limit} bytes (SOCKJS_MAX_REQUEST_BYTES)\n`);
    req.resume();
    return false;
  }
  let received = 0;
  req.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > limit) req.destroy();
  });
  return true;
}

class SockJsTransportConnection implements Connection {
  readonly transport = 'sockjs' as const;
  /** SockJS frames are JavaScript strings; bodies that are not UTF-8 do not survive. */
  readonly binary = false;
  readonly bufferedBytes = 0;

  constructor(private readonly conn: SockJsConnection) {}

  get remoteAddress(): string {
    return this.conn.remoteAddress ?? '';
  }

  send(data: Uint8Array): void {
    this.conn.write(textDecoder.decode(data));
  }

  close(terminate = false): void {
    if (terminate) this.conn.destroy();
    else this.conn.close();
  }

  onData(listener: (chunk: Uint8Array) => void): void {
    this.conn.on('data', (message: string) => listener(textEncoder.encode(message)));
  }

  onClose(listener: () => void): void {
    this.conn.on('close', listener);
  }
}
