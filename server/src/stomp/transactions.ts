import { StompRtcError } from '../../../shared/src/errors.js';
import type { StompFrame } from '../../../shared/src/stomp/frame.js';
import { retained } from '../body-memory.js';

/**
 * Open transactions of one session. "Any sends or acknowledgements within a transaction are
 * handled atomically" (§BEGIN): SEND, ACK and NACK naming a transaction wait here until COMMIT
 * replays them in order, or ABORT (or the session's end) drops them.
 */
export class Transactions {
  readonly #open = new Map<string, StompFrame[]>();

  readonly #maxOpen: number;
  readonly #maxFrames: number;

  constructor(maxOpen: number, maxFrames: number) {
    this.#maxOpen = maxOpen;
    this.#maxFrames = maxFrames;
  }

  begin(id: string): void {
    if (this.#open.has(id)) throw new StompRtcError('DUPLICATE_TRANSACTION', `transaction "${id}" is already open`);
    if (this.#open.size >= this.#maxOpen) {
      throw new StompRtcError(
        'TOO_MANY_TRANSACTIONS',
        `a session may hold ${this.#maxOpen} open transactions (MAX_TRANSACTIONS)`,
      );
    }
    this.#open.set(id, []);
  }

  add(id: string, frame: StompFrame): void {
    const frames = this.#frames(id);
    if (frames.length >= this.#maxFrames) {
      throw new StompRtcError(
        'TOO_MANY_TRANSACTIONS',
        `transaction "${id}" holds ${this.#maxFrames} frames (MAX_TRANSACTION_FRAMES)`,
      );
    }
    // Held until COMMIT or ABORT: in memory of its own (body-memory.ts).
    frames.push(retained(frame));
  }

  /** Closes the transaction and returns its frames, in the order they arrived. */
  commit(id: string): StompFrame[] {
    const frames = this.#frames(id);
    this.#open.delete(id);
    return frames;
  }

  abort(id: string): void {
    this.#frames(id);
    this.#open.delete(id);
  }

  clear(): void {
    this.#open.clear();
  }

  #frames(id: string): StompFrame[] {
    const frames = this.#open.get(id);
    if (!frames) throw new StompRtcError('UNKNOWN_TRANSACTION', `transaction "${id}" is not open on this session`);
    return frames;
  }
}
