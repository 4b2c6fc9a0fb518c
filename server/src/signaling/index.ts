import { DESTINATIONS } from '../../../shared/src/signaling/destinations.js';
import type { AppHandlers } from '../messaging/app-handlers.js';
import type { InboundRouter } from '../messaging/router.js';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import { relayHandler } from './relay.js';
import { LinkReports } from './reports.js';
import { roomHooks } from './rooms.js';
import type { SharedPresence } from './shared-presence.js';
import { signalHandler } from './signals.js';
import type { IceServerSource } from './turn-credentials.js';

/** The signaling application on top of the broker: rooms, signals, relay and link reports. */
export function registerSignaling(
  app: AppHandlers,
  router: InboundRouter,
  config: Config,
  metrics: Metrics,
  presence: SharedPresence,
  iceServers: IceServerSource,
): void {
  const reports = new LinkReports(metrics);
  const rooms = roomHooks(config, presence, metrics, iceServers);
  // A link is forgotten when either end leaves, on whichever node that end is.
  presence.listen({ left: (room, member) => reports.forget(member.id, room) });
  app.onSubscription({
    ...rooms,
    unsubscribed(session, subscriptionId, destination, why) {
      rooms.unsubscribed!(session, subscriptionId, destination, why);
      reports.forget(session.sessionId, destination.slice(DESTINATIONS.roomPrefix.length));
    },
  });
  app.onSend(DESTINATIONS.signal, signalHandler(config, presence.view, router, metrics));
  app.onSend(DESTINATIONS.relay, relayHandler(config, presence.view, router, metrics));
  app.onSend(DESTINATIONS.report, reports.bind(presence.view));
}
