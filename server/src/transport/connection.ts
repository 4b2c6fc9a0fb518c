import type { StompRtcError } from '../../../shared/src/errors.js';

/**
 * What a STOMP session needs from a transport, and nothing more: WebSocket and SockJS both
 * implement it, so the session above never knows which one it runs on.
 */
export interface Connection {
  readonly transport: 'websocket' | 'sockjs';
  readonly remoteAddress: string;
  /** Whether binary messages survive the transport (SockJS carries text only). */
  readonly binary: boolean;
  /** Bytes accepted by send() but not yet written to the network. */
  readonly bufferedBytes: number;
  /** Sends one transport message; `text` says the bytes are valid UTF-8 and may go as a text message. */
  send(data: Uint8Array, text: boolean): void;
  /** Stops reading from the peer (its sends back up into its own socket) until resume(); for throttling. */
  pause(): void;
  resume(): void;
  /** Closes gracefully after what was sent; `terminate` drops the socket at once. */
  close(terminate?: boolean): void;
  /** Sets the one handler of what the peer sends and of the connection's end; called once, by the session. */
  attach(handler: ConnectionHandler): void;
}

/**
 * What a connection tells its session. One object for all three events, not a listener each: a
 * server holds many idle sessions, and a closure per event and session weighs on every one.
 */
export interface ConnectionHandler {
  /** A chunk of the peer's bytes, from a text or a binary message alike: frames may span both. */
  onData(chunk: Uint8Array): void;
  /** The transport refused the peer's input (e.g. a message over its size cap); the session answers with ERROR. */
  onFatal(error: StompRtcError): void;
  /** The connection is closed, by either side; this comes once. */
  onClose(): void;
}
