import { createHeaders, type StompFrame, type StompHeaders } from '../../../shared/src/stomp/frame.js';
import { encodeFrame } from '../../../shared/src/stomp/frame-encoder.js';
import { FrameDecoder } from '../../../shared/src/stomp/frame-decoder.js';
import type { DecoderLimits } from '../../../shared/src/stomp/limits.js';
import { pooledBytes } from '../body-memory.js';
import { sessionOfUserDestination } from './destinations.js';
import type { BrokerMessage } from './types.js';

/**
 * Per-session messages between relay nodes, batched. A signal or relay message has one addressee,
 * so RabbitMQ spends a whole message's routing and queueing on each; under load that, not the
 * nodes, was the limit. A node's session ids start with the node's id (`<node>.<random>`), so a
 * node can address the addressee's node itself: what one event-loop iteration has for a node goes
 * to RabbitMQ as one message on that node's mailbox (`amq.direct`, routing key `~node~<node>`),
 * whose body is the messages as STOMP MESSAGE frames, one after another. The node's own exclusive
 * queue holds its mailbox, so what is sent to a node that is gone is dropped, as it was for a
 * per-session queue; order from one node to another is kept, since one connection sends all of it
 * to one queue.
 */

/** Separates a node's id from the rest of a session id; base64url never holds it. */
const NODE_SEPARATOR = '.';
/** No client destination holds '~', so no `/user` routing key (`<queue>~user~<session>`) is a mailbox's. */
const MAILBOX_KEY_PREFIX = '~node~';
/** Headers an entry's frame adds to the message's own, taken off again when it is opened. */
const ENTRY_HEADERS: ReadonlySet<string> = new Set(['destination', 'content-length']);

export function sessionIdPrefix(nodeId: string): string {
  return nodeId + NODE_SEPARATOR;
}

/** The node that gave out the session a per-session destination names, if its id says so. */
export function nodeOfUserDestination(destination: string): string | undefined {
  const sessionId = sessionOfUserDestination(destination);
  const end = sessionId.indexOf(NODE_SEPARATOR);
  return end > 0 ? sessionId.slice(0, end) : undefined;
}

/** Where a node's mailbox is on RabbitMQ's STOMP adapter. */
export function mailboxDestination(nodeId: string): string {
  return `/exchange/amq.direct/${MAILBOX_KEY_PREFIX}${nodeId}`;
}

interface Batch {
  frames: Uint8Array[];
  bytes: number;
}

/** The sending side: collects each node's messages and hands `send` one body per node and batch. */
export class NodeMailboxes {
  readonly #pending = new Map<string, Batch>();
  #scheduled: NodeJS.Immediate | undefined;
  readonly #send: (nodeId: string, body: Uint8Array, count: number) => void;
  readonly #maxBatchBytes: number;

  /**
   * @param maxBatchBytes a batch goes once it holds this many bytes, so a batch stays within what
   *   the receiving node decodes from RabbitMQ (one message may be as large on its own).
   */
  constructor(send: (nodeId: string, body: Uint8Array, count: number) => void, maxBatchBytes: number) {
    this.#send = send;
    this.#maxBatchBytes = maxBatchBytes;
  }

  post(nodeId: string, message: BrokerMessage): void {
    const encoded = encodeEntry(message);
    let batch = this.#pending.get(nodeId);
    if (batch && batch.bytes + encoded.length > this.#maxBatchBytes) {
      this.#sendBatch(nodeId, batch);
      batch = undefined;
    }
    if (!batch) this.#pending.set(nodeId, (batch = { frames: [], bytes: 0 }));
    batch.frames.push(encoded);
    batch.bytes += encoded.length;
    // After every I/O callback of this iteration: the messages that came in on many sockets go together.
    this.#scheduled ??= setImmediate(() => this.flush());
  }

  /** Sends every batch now (the iteration is over, or the relay is closing). */
  flush(): void {
    clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    for (const [nodeId, batch] of this.#pending) this.#sendBatch(nodeId, batch);
  }

  /** Forgets what is pending: the connection that would carry it is gone (at most once). */
  discard(): number {
    clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    let count = 0;
    for (const batch of this.#pending.values()) count += batch.frames.length;
    this.#pending.clear();
    return count;
  }

  #sendBatch(nodeId: string, batch: Batch): void {
    this.#pending.delete(nodeId);
    this.#send(nodeId, Buffer.concat(batch.frames, batch.bytes), batch.frames.length);
  }
}

/** The receiving side: each message of a mailbox body, in the order it was posted. */
export function openMailbox(
  body: Uint8Array,
  limits: DecoderLimits,
  onMessage: (message: BrokerMessage) => void,
): void {
  const decoder = new FrameDecoder({ limits, version: '1.2', allocate: pooledBytes }, (entry: StompFrame) => {
    const destination = entry.headers.destination;
    if (destination === undefined) return;
    const headers: StompHeaders = createHeaders();
    for (const name in entry.headers) if (!ENTRY_HEADERS.has(name)) headers[name] = entry.headers[name]!;
    onMessage({ destination, headers, body: entry.body });
  });
  decoder.push(body);
}

function encodeEntry(message: BrokerMessage): Uint8Array {
  const headers = createHeaders([['destination', message.destination]]);
  for (const name in message.headers) if (!ENTRY_HEADERS.has(name)) headers[name] = message.headers[name]!;
  return encodeFrame({ command: 'MESSAGE', headers, body: message.body }, '1.2', pooledBytes);
}
