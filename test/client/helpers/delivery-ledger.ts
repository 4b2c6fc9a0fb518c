/**
 * Checks the delivery promise (docs/protocol.md §10) from the outside: every message sent through
 * the ledger is numbered per sender and remembered with the members the sender had when it sent;
 * every receipt and every 'undelivered' report is logged. check() then holds each receiver's log
 * against the senders' logs: nothing twice, nothing out of per-sender order, and nothing a member
 * was addressed with missing unless its sender was told.
 */
import type { Room } from '../../../client/src/room.js';

/** How long after an 'undelivered' report an envelope written before it may still arrive (a
 * channel's or the relay's transit under load); a delivery later than this breaks the promise. */
const IN_FLIGHT_MS = 1000;

interface Sent {
  readonly sender: string;
  readonly n: number;
  readonly at: number;
  readonly addressed: ReadonlySet<string>;
}

export interface LedgerReport {
  /** Messages sent (each to every member at the time). */
  readonly sent: number;
  /** Receiver-message pairs that the promise covers (the receiver was a member when it was sent). */
  readonly expected: number;
  readonly delivered: number;
  /** Expected, neither delivered nor reported: silent loss. */
  readonly lost: number;
  readonly duplicated: number;
  readonly outOfOrder: number;
  /** Receiver-message pairs named in 'undelivered' events. */
  readonly reported: number;
  /** Reported undelivered, yet delivered before the report (its ack was still on the way). */
  readonly reportedButDelivered: number;
  /** Reported undelivered, and delivered within IN_FLIGHT_MS after the report: the envelope was
   * already on its way (written to the channel or the relay) when the sender gave up. */
  readonly inFlightAtReport: number;
  /** Reported undelivered, and delivered later than that: a broken promise. */
  readonly deliveredAfterReport: number;
  /** Delivery delays in ms, sorted. */
  readonly delaysMs: readonly number[];
  /** Human-readable lines for each loss, duplicate and disorder, for a failure message. */
  readonly problems: readonly string[];
}

export class DeliveryLedger {
  readonly #labels = new Map<Room, string>();
  /** Every peer id a room has had, so a report naming an old id finds its room. */
  readonly #idOwner = new Map<string, string>();
  readonly #sent = new Map<string, Sent>();
  readonly #counters = new Map<string, number>();
  readonly #received = new Map<string, Array<{ id: string; at: number }>>();
  /** `${id}>${receiver}` → when the report came. */
  readonly #reported = new Map<string, number>();
  readonly #watch: ReturnType<typeof setInterval>;

  constructor(rooms: Record<string, Room>) {
    for (const [label, room] of Object.entries(rooms)) this.add(label, room);
    this.#watch = setInterval(() => this.#learnIds(), 5);
  }

  /** Adds a room (also a later one that replaces a member's room). */
  add(label: string, room: Room): void {
    this.#labels.set(room, label);
    if (!this.#received.has(label)) this.#received.set(label, []);
    room.on('message', (m) => {
      if (m.id) this.#received.get(label)!.push({ id: m.id, at: Date.now() });
    });
    room.on('undelivered', (e) => {
      this.#learnIds();
      const to = this.#idOwner.get(e.peerId) ?? `?${e.peerId}`;
      for (const id of e.ids) this.#reported.set(`${id}>${to}`, Date.now());
    });
    this.#learnIds();
  }

  /** Sends the sender's next numbered message to every member; returns its number. */
  send(sender: Room): number {
    this.#learnIds();
    const label = this.#labels.get(sender)!;
    const n = (this.#counters.get(label) ?? 0) + 1;
    this.#counters.set(label, n);
    const addressed = new Set(
      sender.peers.map((p) => this.#idOwner.get(p.id)).filter((l): l is string => l !== undefined),
    );
    const id = sender.send(`${label}:${n}`);
    this.#sent.set(id, { sender: label, n, at: Date.now(), addressed });
    return n;
  }

  /** Every addressed receiver has the message or its sender has a report for it. */
  settled(): boolean {
    this.#learnIds();
    for (const [id, s] of this.#sent) {
      for (const to of s.addressed) {
        if (!this.#reported.has(`${id}>${to}`) && !this.#received.get(to)!.some((r) => r.id === id)) return false;
      }
    }
    return true;
  }

  check(): LedgerReport {
    clearInterval(this.#watch);
    const problems: string[] = [];
    let expected = 0,
      delivered = 0,
      lost = 0,
      duplicated = 0,
      outOfOrder = 0;
    let reportedButDelivered = 0,
      inFlightAtReport = 0,
      deliveredAfterReport = 0;
    const delays: number[] = [];
    for (const [to, log] of this.#received) {
      const seen = new Set<string>();
      const last = new Map<string, number>();
      for (const { id, at } of log) {
        const s = this.#sent.get(id);
        if (!s) {
          problems.push(`${to} got ${id}, which nobody sent through the ledger`);
          continue;
        }
        if (seen.has(id)) {
          duplicated++;
          problems.push(`${to} got ${s.sender}:${s.n} twice`);
          continue;
        }
        seen.add(id);
        delivered++;
        delays.push(at - s.at);
        if ((last.get(s.sender) ?? 0) > s.n) {
          outOfOrder++;
          problems.push(`${to} got ${s.sender}:${s.n} after ${s.sender}:${last.get(s.sender)}`);
        }
        last.set(s.sender, Math.max(last.get(s.sender) ?? 0, s.n));
        const reportedAt = this.#reported.get(`${id}>${to}`);
        if (reportedAt !== undefined && at < reportedAt) reportedButDelivered++;
        if (reportedAt !== undefined && at >= reportedAt && at - reportedAt <= IN_FLIGHT_MS) inFlightAtReport++;
        if (reportedAt !== undefined && at - reportedAt > IN_FLIGHT_MS) {
          deliveredAfterReport++;
          problems.push(`${to} got ${s.sender}:${s.n} ${at - reportedAt} ms after ${s.sender} reported it undelivered`);
        }
      }
      for (const [id, s] of this.#sent) {
        if (!s.addressed.has(to)) continue;
        expected++;
        if (!seen.has(id) && !this.#reported.has(`${id}>${to}`)) {
          lost++;
          problems.push(`${to} never got ${s.sender}:${s.n} and ${s.sender} was not told`);
        }
      }
    }
    return {
      sent: this.#sent.size,
      expected,
      delivered,
      lost,
      duplicated,
      outOfOrder,
      reported: this.#reported.size,
      reportedButDelivered,
      inFlightAtReport,
      deliveredAfterReport,
      delaysMs: delays.sort((a, b) => a - b),
      problems,
    };
  }

  #learnIds(): void {
    for (const [room, label] of this.#labels) if (room.self.id) this.#idOwner.set(room.self.id, label);
  }
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
