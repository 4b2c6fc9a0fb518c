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
 *
 * A node has one batch at a time on its way to each other node: the next waits for RabbitMQ's
 * receipt of the last. A quiet node's message goes at the end of the event-loop turn, as before;
 * under load, what comes in while RabbitMQ works on a batch goes in the next, so batches grow with
 * RabbitMQ's own delay (Nagle's algorithm, with RabbitMQ's receipt for the peer's ACK) and RabbitMQ's
 * work per message falls as load rises. RabbitMQ is shared by every node: that work is the cluster's.
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

/** What one node has for another: the batch being gathered, and how many are on their way. */
interface Mailbox {
  frames: Uint8Array[];
  bytes: number;
  inFlight: number;
}

/**
 * Hands RabbitMQ one batch; settles once RabbitMQ has it, or once it never will (the connection
 * is gone, or the receipt is late): either way the next batch may go. It never rejects.
 */
export type SendBatch = (nodeId: string, body: Uint8Array, count: number) => Promise<void>;

/** The sending side: collects each node's messages and hands `send` one body per node and batch. */
export class NodeMailboxes {
  readonly #mailboxes = new Map<string, Mailbox>();
  #scheduled: NodeJS.Immediate | undefined;
  readonly #send: SendBatch;
  readonly #maxBatchBytes: number;

  /**
   * @param maxBatchBytes a batch goes once it holds this many bytes, even while another is on its
   *   way, so a batch stays within what the receiving node decodes from RabbitMQ (one message may be
   *   as large on its own) and a slow RabbitMQ does not make the node hold more than that per node.
   */
  constructor(send: SendBatch, maxBatchBytes: number) {
    this.#send = send;
    this.#maxBatchBytes = maxBatchBytes;
  }

  post(nodeId: string, message: BrokerMessage): void {
    const encoded = encodeEntry(message);
    let mailbox = this.#mailboxes.get(nodeId);
    if (!mailbox) this.#mailboxes.set(nodeId, (mailbox = { frames: [], bytes: 0, inFlight: 0 }));
    if (mailbox.frames.length > 0 && mailbox.bytes + encoded.length > this.#maxBatchBytes)
      this.#sendBatch(nodeId, mailbox);
    mailbox.frames.push(encoded);
    mailbox.bytes += encoded.length;
    // With a batch on its way, this one goes when that lands (#landed).
    if (mailbox.inFlight === 0) this.#scheduleSend();
  }

  /** Sends every batch now, on its way or not (the relay is closing). */
  flush(): void {
    clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    for (const [nodeId, mailbox] of this.#mailboxes) if (mailbox.frames.length > 0) this.#sendBatch(nodeId, mailbox);
  }

  /** Forgets what is pending: the connection that would carry it is gone (at most once). */
  discard(): number {
    clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    let count = 0;
    for (const mailbox of this.#mailboxes.values()) count += mailbox.frames.length;
    // What is on its way settles on its own, and finds no mailbox to wake.
    this.#mailboxes.clear();
    return count;
  }

  /** The end of the turn: every node with nothing on its way gets what gathered for it. */
  #sendReady(): void {
    this.#scheduled = undefined;
    for (const [nodeId, mailbox] of this.#mailboxes) {
      if (mailbox.inFlight === 0 && mailbox.frames.length > 0) this.#sendBatch(nodeId, mailbox);
    }
  }

  #sendBatch(nodeId: string, mailbox: Mailbox): void {
    const { frames, bytes } = mailbox;
    mailbox.frames = [];
    mailbox.bytes = 0;
    mailbox.inFlight++;
    void this.#send(nodeId, Buffer.concat(frames, bytes), frames.length).then(() => this.#landed(nodeId, mailbox));
  }

  #landed(nodeId: string, mailbox: Mailbox): void {
    mailbox.inFlight--;
    if (mailbox.inFlight > 0 || this.#mailboxes.get(nodeId) !== mailbox) return;
    // Nothing waits: a quiet pair of nodes holds no entry.
    if (mailbox.frames.length === 0) this.#mailboxes.delete(nodeId);
    else this.#scheduleSend();
  }

  /** After every I/O callback of this iteration: the messages that came in on many sockets go together. */
  #scheduleSend(): void {
    this.#scheduled ??= setImmediate(() => this.#sendReady());
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
