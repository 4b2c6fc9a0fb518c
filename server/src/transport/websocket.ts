import type { ServerResponse } from 'node:http';
import fp from 'fastify-plugin';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import websocket from '@fastify/websocket';
import type { Socket } from 'node:net';
import WebSocket, { type RawData } from 'ws';
import type { Connection, ConnectionHandler } from './connection.js';
import type { Config } from '../config.js';
import { StompRtcError } from '../../../shared/src/errors.js';
import type { Admission } from './admission.js';
import { WriteBatch } from './write-batch.js';

/** Subprotocols in the server's order of preference (STOMP over WebSocket convention). */
const STOMP_SUBPROTOCOLS = ['v12.stomp', 'v11.stomp', 'v10.stomp'] as const;

export interface WebSocketTransportOptions {
  readonly config: Config;
  readonly path: string;
  readonly admission: Admission;
  readonly accept: (connection: Connection) => void;
}

/**
 * `GET /ws`: STOMP over WebSocket. A client that offers subprotocols gets the best STOMP one it
 * offered; one that offers none is served too (many STOMP clients send none).
 */
export const websocketTransport = fp<WebSocketTransportOptions>(
  async (app: FastifyInstance, options) => {
    const { config, path, admission, accept } = options;
    // An app that registered @fastify/websocket itself keeps its own: a second registration would fail.
    const own = !app.hasPlugin('@fastify/websocket');
    if (own) await registerWebSocket(app, config);
    const address = (request: FastifyRequest) =>
      admission.clientAddress(request.socket.remoteAddress ?? '', request.headers);
    /** The upgrade's unsent HTTP response, to let go of once the WebSocket is open. */
    const responses = new WeakMap<FastifyRequest, ServerResponse>();
    // Runs before the upgrade: a refused page or address gets a plain HTTP answer and never a WebSocket.
    const preValidation = async (request: FastifyRequest, reply: FastifyReply) => {
      const refusal =
        admission.originRefusal(request.headers.origin, request.headers.host) ?? admission.full(address(request));
      if (refusal) return reply.code(refusal.status).type('text/plain').send(refusal.message);
      responses.set(request, reply.raw);
    };
    // One listener for every socket (`this` is the socket): a closure each would weigh on idle sessions.
    const onError = own
      ? function (this: WebSocket, error: Error) {
          onSocketError(error, this, app.log);
        }
      : ignoreError;
    app.get(path, { websocket: true, preValidation }, (socket, request) => {
      const remoteAddress = address(request);
      const tcp = request.raw.socket;
      // Our own registration's error handler is replaced by `onError`, which holds no request.
      if (own) releaseHttpExchange(socket, request, responses.get(request));
      accept(new WebSocketConnection(socket, tcp, remoteAddress, config.maxFrameBytes * 2, onError));
    });
  },
  { name: 'stomprtc-websocket' },
);

async function registerWebSocket(app: FastifyInstance, config: Config): Promise<void> {
  await app.register(websocket, {
    options: {
      // A transport message may pack several frames, but never more than this; the decoder enforces per-frame limits.
      maxPayload: config.maxFrameBytes * 2,
      // The session registry knows every socket already; ws's own Set would add a 'close' closure to each.
      clientTracking: false,
      handleProtocols: (offered: Set<string>) => STOMP_SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
      // Typed as ws's module object (statics included) by the copy of @types/ws that @fastify/websocket sees.
      WebSocket: OversizeAwareWebSocket as never,
    },
    // Sessions are closed by the server's own shutdown hook, which says why in an ERROR frame first.
    preClose: (done) => done(),
    errorHandler: (error, socket, request) => onSocketError(error, socket, request.log),
  });
}

/**
 * A peer's protocol error or reset is the peer's doing, not the server's: no stack trace at error
 * level. ws has already closed the socket (after our ERROR frame, for an oversized message); the
 * default handler's terminate() would drop that frame unsent.
 */
function onSocketError(error: Error, socket: WebSocket, log: FastifyBaseLogger): void {
  log.debug({ code: (error as { code?: string }).code }, `WebSocket error: ${error.message}`);
  if (socket.readyState === socket.OPEN) socket.terminate();
}

/** Errors are followed by 'close', which is where the session ends. */
function ignoreError(): void {}

/**
 * Once the socket is a WebSocket, nothing of its HTTP exchange is used again, yet @fastify/websocket
 * keeps all of it reachable for the socket's life: the upgrade's ServerResponse stays the TCP
 * socket's current message, and the WebSocket's 'error' listener closes over the request and reply
 * (headers, logger, hooks' state): about 2.5 kB of every idle session. Both links are cut here.
 */
function releaseHttpExchange(socket: WebSocket, request: FastifyRequest, response: ServerResponse | undefined): void {
  if (response?.socket === request.raw.socket && request.raw.socket) response.detachSocket(request.raw.socket);
  for (const listener of socket.listeners('error')) socket.off('error', listener as (error: Error) => void);
}

/** ws's own close code for a message over maxPayload (RFC 6455 §7.4.1: "too big to process"). */
const MESSAGE_TOO_BIG = 1009;

/** The connection a socket serves, for the listeners every socket shares (`this` is the socket). */
const CONNECTION: unique symbol = Symbol('stomprtc.connection');
type ServedWebSocket = WebSocket & { [CONNECTION]?: WebSocketConnection };

/**
 * ws refuses a message over `maxPayload` as soon as its length is read (nothing of it is buffered)
 * and closes with 1009 before it emits 'error', so by then nothing more can be sent. ws builds its
 * sockets from this class (the documented `WebSocket` server option), which lets the session put
 * its ERROR frame on the wire ahead of that close frame. (An app that registered @fastify/websocket
 * itself has plain ws sockets: there an oversized message gets the bare 1009.)
 */
class OversizeAwareWebSocket extends WebSocket {
  /** Declared here so our own sockets hold it in the object itself, not in a property added later. */
  [CONNECTION]: WebSocketConnection | undefined;

  override close(code?: number, data?: string | Buffer): void {
    if (code === MESSAGE_TOO_BIG && this.readyState === this.OPEN) this[CONNECTION]?.refused();
    super.close(code, data);
  }
}

/**
 * One STOMP session's WebSocket. What it sends within one iteration of the event loop goes out in
 * one write (WriteBatch), so a burst of MESSAGE frames to one subscriber costs one syscall, not
 * one each; a batch goes early past CORK_FLUSH_BYTES, so bufferedBytes stays a true measure of a
 * slow consumer.
 *
 * Idle sessions should weigh little, so nothing here is a closure per connection: the socket's
 * listeners are functions of the class, shared by every connection.
 */
class WebSocketConnection implements Connection {
  #closeCode = 1000;
  #handler: ConnectionHandler | undefined;

  readonly #socket: ServedWebSocket;
  readonly #batch: WriteBatch;
  readonly #maxMessageBytes: number;

  /** `onError`: the socket's 'error' listener (see releaseHttpExchange). */
  constructor(
    socket: WebSocket,
    tcp: Socket,
    readonly remoteAddress: string,
    maxMessageBytes: number,
    onError: (this: WebSocket, error: Error) => void,
  ) {
    this.#socket = socket;
    this.#batch = new WriteBatch(tcp);
    this.#maxMessageBytes = maxMessageBytes;
    this.#socket[CONNECTION] = this;
    socket.on('error', onError);
  }

  // Constants of the class, not fields of each connection.
  get transport(): 'websocket' {
    return 'websocket';
  }

  get binary(): boolean {
    return true;
  }

  attach(handler: ConnectionHandler): void {
    this.#handler = handler;
    this.#socket.on('message', WebSocketConnection.#onMessage);
    this.#socket.on('close', WebSocketConnection.#onClose);
  }

  // Registered by attach(), so the socket has its connection and the connection its handler.
  static #onMessage(this: ServedWebSocket, data: RawData): void {
    this[CONNECTION]!.#handler!.onData(toBytes(data));
  }

  static #onClose(this: ServedWebSocket): void {
    this[CONNECTION]!.#handler!.onClose();
  }

  /** ws refused a message over its maxPayload (see OversizeAwareWebSocket). */
  refused(): void {
    // The session's ERROR closes the socket with this code, which comes back here: refused once.
    if (this.#closeCode === MESSAGE_TOO_BIG) return;
    this.#closeCode = MESSAGE_TOO_BIG;
    this.#handler?.onFatal(
      new StompRtcError(
        'FRAME_TOO_LARGE',
        `a WebSocket message over ${this.#maxMessageBytes} bytes (twice MAX_FRAME_BYTES) was refused unread`,
      ),
    );
  }

  get bufferedBytes(): number {
    return this.#socket.bufferedAmount;
  }

  send(data: Uint8Array, text: boolean): void {
    if (this.#socket.readyState !== this.#socket.OPEN) return;
    this.#batch.open();
    this.#socket.send(data, { binary: !text });
    this.#batch.wrote(data.length);
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  close(terminate = false): void {
    // A throttled socket is paused, and the close handshake needs the peer's close frame read.
    this.#socket.resume();
    // What this turn sent (an ERROR frame) goes out before the socket does.
    this.#batch.flush();
    if (terminate) this.#socket.terminate();
    else this.#socket.close(this.#closeCode);
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}
