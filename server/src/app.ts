import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createRequire } from 'node:module';
import type { Config } from './config.js';
import { Metrics } from './metrics.js';
import type { Broker } from './broker/broker.js';
import { RelayBroker, parseRelayUrl } from './broker/relay-broker.js';
import { SimpleBroker } from './broker/simple-broker.js';
import { AppHandlers } from './messaging/app-handlers.js';
import { InboundRouter } from './messaging/router.js';
import { registerSignaling } from './signaling/index.js';
import { jwtAuthenticator } from './stomp/authenticator.js';
import { SessionRegistry } from './stomp/session-registry.js';
import { StompSession, type SessionHost } from './stomp/stomp-session.js';
import type { Connection } from './transport/connection.js';
import { websocketTransport } from './transport/websocket.js';
import { sockjsTransport } from './transport/sockjs.js';
import { healthRoutes } from './routes/health.js';
import { demoRoutes } from './routes/demo.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/**
 * The whole server, in the order a frame flows: transports → STOMP sessions → inbound router →
 * `/app` handlers (signaling) or the broker → sessions → transports.
 */
export async function buildApp(config: Config): Promise<FastifyInstance> {
  // Per-request logs would drown the log in SockJS polls; sessions log what matters.
  const app = Fastify({ logger: { level: config.logLevel }, logController: new LogController({ disableRequestLogging: true }) });
  const metrics = new Metrics();

  const broker = await createBroker(config, app.log);
  const handlers = new AppHandlers();
  const router = new InboundRouter(broker, handlers, config);
  registerSignaling(handlers, router, config, metrics);

  const sessions = new SessionRegistry();
  let draining = false;
  const host: SessionHost = {
    config,
    router,
    log: app.log,
    serverName: `stomprtc/${version}`,
    authenticate: config.authJwtSecret ? jwtAuthenticator(config.authJwtSecret) : undefined,
    opened(session) {
      sessions.add(session);
      metrics.sessions.inc({ transport: session.transport });
      metrics.sessionsTotal.inc({ transport: session.transport });
    },
    closed(session) {
      sessions.remove(session);
      metrics.sessions.dec({ transport: session.transport });
    },
    refused(code) {
      metrics.errors.inc({ code });
    },
  };
  const accept = (connection: Connection) => {
    if (draining) return connection.close();
    new StompSession(connection, host);
  };

  await app.register(healthRoutes, { isDraining: () => draining, isBrokerAvailable: () => broker.available, sessions, metrics });
  await app.register(websocketTransport, { config, path: '/ws', accept });
  await app.register(sockjsTransport, { config, prefix: '/sockjs', accept });
  await app.register(demoRoutes, { config });

  app.addHook('preClose', async () => {
    draining = true;
    await sessions.shutdown(config.shutdownGraceMs);
  });
  app.addHook('onClose', async () => {
    await broker.close();
  });
  return app;
}

/**
 * The broker channel: the embedded in-memory broker, or with BROKER_RELAY_URL a relay to
 * RabbitMQ's STOMP adapter shared by every node. A relay that cannot reach RabbitMQ yet still
 * starts (/healthz 503) and keeps trying.
 */
async function createBroker(config: Config, log: FastifyBaseLogger): Promise<Broker> {
  if (!config.brokerRelayUrl) return new SimpleBroker(config);
  const relay = new RelayBroker({
    endpoint: parseRelayUrl(config.brokerRelayUrl, config.brokerRelayVhost),
    limits: config,
    // RabbitMQ adds its own headers and ours travel once more as one JSON header (relay-broker.ts).
    decoderLimits: {
      maxFrameBytes: 2 * config.maxFrameBytes + 64 * 1024,
      maxHeaders: config.maxHeaders + 32,
      maxHeaderLineBytes: config.maxHeaders * config.maxHeaderLineBytes,
    },
    log: log.child({ component: 'broker-relay' }),
  });
  await relay.start();
  return relay;
}
