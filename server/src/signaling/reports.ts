import { StompRtcError } from '../../../shared/src/errors.js';
import { LINK_FAILURES, LINK_TIERS, type LinkFailure, type LinkTier } from '../../../shared/src/signaling/messages.js';
import type { SendHandler } from '../messaging/app-handlers.js';
import type { Metrics } from '../metrics.js';
import type { Presence } from './presence.js';
import { parseJsonObject, requireMember, requireRoomHeader } from './guards.js';

/**
 * SEND /app/report: clients tell the server the tier of each of their links, so /metrics can
 * count links by tier. A link is one pair of peers in one room; the later report of either end
 * wins, and the link is forgotten when either end leaves.
 */
export class LinkReports {
  readonly #tiers = new Map<string, LinkTier>();
  readonly #keysOfPeer = new Map<string, Set<string>>();

  readonly #metrics: Metrics;

  constructor(metrics: Metrics) {
    this.#metrics = metrics;
  }

  bind(presence: Presence): SendHandler {
    return (session, frame) => {
      const room = requireRoomHeader(frame);
      const report = parseJsonObject(frame, 'INVALID_REPORT');
      requireMember(presence, room, session.sessionId);
      const { peer, tier, failure } = report;
      if (
        report.type !== 'link' ||
        typeof peer !== 'string' ||
        !LINK_TIERS.includes(tier as LinkTier) ||
        (failure != null && !LINK_FAILURES.includes(failure as LinkFailure))
      ) {
        throw new StompRtcError(
          'INVALID_REPORT',
          'a report is {"type":"link","peer":"<id>","tier":"connecting|p2p|turn|relay","connectMs":n|null,"failure":null|"<reason>"}',
        );
      }
      if (!presence.member(room, peer))
        throw new StompRtcError('UNKNOWN_PEER', `peer "${peer}" is not in room "${room}"`);
      this.#set(room, session.sessionId, peer, tier as LinkTier);
      if (failure) this.#metrics.linkFailures.inc({ reason: failure as string });
    };
  }

  /** Either end of its links left the room or the server. */
  forget(peerId: string, room?: string): void {
    for (const key of [...(this.#keysOfPeer.get(peerId) ?? [])]) {
      if (room !== undefined && !key.startsWith(`${room}|`)) continue;
      const tier = this.#tiers.get(key);
      if (tier) this.#metrics.links.dec({ tier });
      this.#tiers.delete(key);
      for (const end of key.split('|').slice(1)) this.#keysOfPeer.get(end)?.delete(key);
    }
  }

  #set(room: string, a: string, b: string, tier: LinkTier): void {
    const key = [room, ...[a, b].sort()].join('|');
    const previous = this.#tiers.get(key);
    if (previous) this.#metrics.links.dec({ tier: previous });
    this.#tiers.set(key, tier);
    this.#metrics.links.inc({ tier });
    for (const end of [a, b]) {
      let keys = this.#keysOfPeer.get(end);
      if (!keys) this.#keysOfPeer.set(end, (keys = new Set()));
      keys.add(key);
    }
  }
}
