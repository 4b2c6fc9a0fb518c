import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import type { WebSocket, RawData } from 'ws';
import type { Connection } from './connection.js';
import type { Config } from '../config.js';

/** Subprotocols in the server's order of preference (STOMP over WebSocket convention). */
export const STOMP_SUBPROTOCOLS = ['v12.stomp', 'v11.stomp', 'v10.stomp'] as const;

export interface WebSocketTransportOptions {
  readonly config: Config;
  readonly path: string;
  readonly accept: (connection: Connection) => void;
}

/**
 * `GET /ws`: STOMP over WebSocket. A client that offers subprotocols gets the best STOMP one it
 * offered; one that offers none is served too (many STOMP clients send none).
 */
export const websocketTransport = fp<WebSocketTransportOptions>(async (app: FastifyInstance, { config, path, accept }) => {
  await app.register(websocket, {
    options: {
      // A transport message may pack several frames, but never more than this; the decoder enforces per-frame limits.
      maxPayload: config.maxFrameBytes * 2,
      handleProtocols: (offered: Set<string>) => STOMP_SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
    },
    // Sessions are closed by the server's own shutdown hook, which says why in an ERROR frame first.
    preClose: (done) => done(),
  });
  app.get(path, { websocket: true }, (socket, request) => {
    accept(new WebSocketConnection(socket, request.socket.remoteAddress ?? ''));
  });
}, { name: 'stomprtc-websocket' });

class WebSocketConnection implements Connection {
  readonly transport = 'websocket' as const;
  readonly binary = true;

  constructor(private readonly socket: WebSocket, readonly remoteAddress: string) {
    // Errors are followed by 'close', which is where the session ends.
    socket.on('error', () => {});
  }

  get bufferedBytes(): number {
    return this.socket.bufferedAmount;
  }

  send(data: Uint8Array, text: boolean): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(data, { binary: !text });
  }

  close(terminate = false): void {
    if (terminate) this.socket.terminate();
    else this.socket.close(1000);
  }

  onData(listener: (chunk: Uint8Array) => void): void {
    this.socket.on('message', (data: RawData) => listener(toBytes(data)));
  }

  onClose(listener: () => void): void {
    this.socket.on('close', listener);
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}
