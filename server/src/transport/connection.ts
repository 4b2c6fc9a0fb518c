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
  /** Closes gracefully after what was sent; `terminate` drops the socket at once. */
  close(terminate?: boolean): void;
  onData(listener: (chunk: Uint8Array) => void): void;
  onClose(listener: () => void): void;
}
