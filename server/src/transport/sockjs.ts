import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import sockjs from 'sockjs';
import type { Connection as SockJsConnection } from 'sockjs';
import type { Connection, ConnectionHandler } from './connection.js';
import type { Config } from '../config.js';
import type { Admission } from './admission.js';
import { textDecoder, textEncoder } from '../../../shared/src/stomp/frame.js';

export interface SockJsTransportOptions {
  readonly config: Config;
  readonly prefix: string;
  readonly admission: Admission;
  readonly accept: (connection: Connection) => void;
}

const require = createRequire(import.meta.url);

/**
 * `/sockjs`: the same STOMP frames over SockJS, for networks that block WebSocket. The sockjs
 * server attaches to the raw HTTP server; requests under the prefix go to it, after a cap on the
 * request body that sockjs itself does not have (it buffers whole xhr_send bodies).
 */
export const sockjsTransport = fp<SockJsTransportOptions>(
  async (app: FastifyInstance, { config, prefix, admission, accept }) => {
    const server = sockjs.createServer({
      prefix,
      log: () => {},
      // The iframe-based transports load the client from here instead of a CDN.
      sockjs_url: `${prefix}-client.min.js`,
      // For the raw-WebSocket variant (faye-websocket): same cap as request bodies.
      faye_server_options: { maxLength: config.sockjsMaxRequestBytes },
    } as sockjs.ServerOptions);
    /** Live connections by their SockJS session id (the URL's), so a throttled one's sends can be held back. */
    const bySessionId = new Map<string, SockJsTransportConnection>();
    server.on('connection', (conn: SockJsConnection | null) => {
      // sockjs emits null for a connection that closed before it opened.
      if (!conn) return;
      const address = admission.clientAddress(conn.remoteAddress ?? '', conn.headers);
      const connection = new SockJsTransportConnection(conn, address);
      const id = connection.sessionId;
      if (id !== undefined) {
        bySessionId.set(id, connection);
        conn.on('close', () => bySessionId.delete(id));
      }
      accept(connection);
    });
    const handle = (server as unknown as SockJsListener).listener({ prefix }).getHandler();

    const clientScript = require.resolve('sockjs-client/dist/sockjs.min.js');
    app.get(`${prefix}-client.min.js`, (_request, reply) =>
      reply.type('application/javascript').send(createReadStream(clientScript)),
    );

    const http = app.server;
    // The origin is checked on every request of the handshake and after; the per-address cap at the
    // session's start (accept), since one SockJS session spans many requests.
    const refused = (req: IncomingMessage) => admission.originRefusal(requestOrigin(req), req.headers.host);
    const serve = (req: IncomingMessage, res: ServerResponse): boolean => {
      if (!withinBodyLimit(req, res, config.sockjsMaxRequestBytes)) return true;
      return handle(req, res);
    };
    interceptBefore(http, 'request', (req: IncomingMessage, res: ServerResponse) => {
      if (!isUnder(req.url, prefix)) return false;
      const refusal = refused(req);
      if (refusal) {
        res.writeHead(refusal.status, { 'content-type': 'text/plain', connection: 'close' }).end(refusal.message);
        req.resume();
        return true;
      }
      // A throttled session's next xhr_send waits, unread, until the session takes frames again:
      // SockJS clients send one request at a time, so this holds the client back like a paused socket.
      // Only one is held: a client that sends more at once has them read, and its waiting frames meet
      // the throttle's backlog bound (THROTTLE_BACKLOG_EXCEEDED) instead of piling up held requests.
      const throttled = bySessionId.get(sendingSessionId(req.url!, prefix) ?? '');
      if (throttled?.paused && !throttled.holding) {
        throttled.holdUntilResumed(() => serve(req, res));
        return true;
      }
      return serve(req, res);
    });
    interceptBefore(http, 'upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!isUnder(req.url, prefix)) return false;
      const refusal = refused(req);
      if (refusal) {
        socket.end(
          `HTTP/1.1 ${refusal.status} Forbidden\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${refusal.message}`,
        );
        return true;
      }
      return handle(req, socket, head);
    });
  },
  { name: 'stomprtc-sockjs' },
);

interface SockJsListener {
  listener(options: { prefix: string }): { getHandler(): (...args: unknown[]) => boolean };
}

/** The session id of `<prefix>/<server>/<session>/xhr_send` (or jsonp_send), the requests that carry client frames. */
function sendingSessionId(url: string, prefix: string): string | undefined {
  const match = /^\/[^/?]+\/([^/?]+)\/(?:xhr_send|jsonp_send)(?:\?|$)/.exec(url.slice(prefix.length));
  return match?.[1];
}

/**
 * The page's origin: `Origin`, or for SockJS's iframe page (a navigation, which carries no Origin)
 * the origin of its Referer, so a foreign page cannot use the iframe transports to get around the list.
 */
function requestOrigin(req: IncomingMessage): string | undefined {
  if (req.headers.origin !== undefined) return req.headers.origin;
  const referer = req.headers.referer;
  if (!req.url?.includes('/iframe') || !referer || !URL.canParse(referer)) return undefined;
  return new URL(referer).origin;
}

function isUnder(url: string | undefined, prefix: string): boolean {
  return url !== undefined && (url === prefix || url.startsWith(prefix + '/') || url.startsWith(prefix + '?'));
}

/** Puts `handler` in front of the server's existing listeners; it returns true when it took the event. */
function interceptBefore<A extends unknown[]>(
  emitter: NodeJS.EventEmitter,
  event: string,
  handler: (...args: A) => boolean,
): void {
  const existing = emitter.listeners(event) as Array<(...args: unknown[]) => void>;
  emitter.removeAllListeners(event);
  emitter.on(event, function (this: unknown, ...args: unknown[]) {
    if (handler(...(args as A)) === true) return;
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

/** The parts of sockjs's session that hold what waits to be sent (sockjs/lib/transport.js). */
interface SockJsSession {
  /** Messages written while no receiver (HTTP response or socket) is attached, or not yet flushed to it. */
  readonly send_buffer: string[];
  readonly session_id?: string;
  /** The attached receiver: an HTTP response (xhr-streaming, polling...) or the websocket transport's socket. */
  readonly recv?: {
    readonly response?: { readonly writableLength: number } | null;
    readonly connection?: { readonly writableLength?: number; pause?(): void; resume?(): void };
  } | null;
}

class SockJsTransportConnection implements Connection {
  readonly transport = 'sockjs' as const;
  /** SockJS frames are JavaScript strings; bodies that are not UTF-8 do not survive. */
  readonly binary = false;
  readonly #session: SockJsSession;
  /** send_buffer is replaced by a new array when flushed: count each array once, from where the count left off. */
  #counted: string[] | undefined;
  #countedItems = 0;
  #countedLength = 0;

  #paused = false;
  /** xhr_send requests that arrived while paused; served in order on resume. */
  #held: Array<() => void> = [];

  readonly #conn: SockJsConnection;

  constructor(
    conn: SockJsConnection,
    readonly remoteAddress: string,
  ) {
    this.#conn = conn;
    this.#session = (conn as unknown as { _session: SockJsSession })._session;
    // Requests held for a session that ends are served anyway: sockjs answers them (404), none hangs.
    conn.on('close', () => this.resume());
  }

  get sessionId(): string | undefined {
    return this.#session.session_id;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get holding(): boolean {
    return this.#held.length > 0;
  }

  holdUntilResumed(serve: () => void): void {
    this.#held.push(serve);
  }

  /** xhr_send requests are held back by the plugin; the websocket transport's socket is paused. */
  pause(): void {
    this.#paused = true;
    this.#session.recv?.connection?.pause?.();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#session.recv?.connection?.resume?.();
    const held = this.#held;
    this.#held = [];
    for (const serve of held) serve();
  }

  /**
   * What waits for this peer: sockjs's send buffer (it grows while an xhr-streaming client does not
   * come back for more) plus what the current response or socket has not written to the network.
   * String lengths stand in for bytes: SockJS frames are JSON-quoted, mostly ASCII.
   */
  get bufferedBytes(): number {
    const buffer = this.#session.send_buffer;
    if (buffer !== this.#counted) {
      this.#counted = buffer;
      this.#countedItems = 0;
      this.#countedLength = 0;
    }
    for (; this.#countedItems < buffer.length; this.#countedItems++) {
      this.#countedLength += buffer[this.#countedItems]!.length;
    }
    const recv = this.#session.recv;
    return this.#countedLength + (recv?.response?.writableLength ?? recv?.connection?.writableLength ?? 0);
  }

  send(data: Uint8Array): void {
    this.#conn.write(textDecoder.decode(data));
  }

  close(terminate = false): void {
    if (terminate) this.#conn.destroy();
    else this.#conn.close();
  }

  attach(handler: ConnectionHandler): void {
    // TextEncoder output is always UTF-8 (a lone surrogate becomes U+FFFD).
    this.#conn.on('data', (message: string) => handler.onData(textEncoder.encode(message)));
    this.#conn.on('close', () => handler.onClose());
  }
}
