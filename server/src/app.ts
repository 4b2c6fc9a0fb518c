import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from './config.js';
import { Metrics } from './metrics.js';
import { CENSOR, frameForLog, REDACTED_PATHS } from './log-redaction.js';
import type { Broker } from './broker/types.js';
import { PresenceStream } from './broker/presence-stream.js';
import { parseRelayUrl } from './broker/rabbitmq-wire.js';
import { RelayBroker } from './broker/relay-broker.js';
import { SimpleBroker } from './broker/simple-broker.js';
import { AppHandlers } from './messaging/app-handlers.js';
import { InboundRouter } from './messaging/router.js';
import { registerSignaling } from './signaling/index.js';
import { LocalPresenceLog, type PresenceLog } from './signaling/presence-log.js';
import { SharedPresence } from './signaling/shared-presence.js';
import { StompRtcError } from '../../shared/src/errors.js';
import { AccessGate } from './messaging/access-gate.js';
import type { AuthorizeHook } from './signaling/authorization.js';
import { readGrant } from './signaling/authorization.js';
import { IceServerSource, type IceServersHook } from './signaling/turn-credentials.js';
import { jwtAuthenticator, tokenVerifier, type TokenVerifier } from './stomp/authenticator.js';
import { SessionRegistry } from './stomp/session-registry.js';
import { StompSession, type SessionHost } from './stomp/stomp-session.js';
import type { Connection } from './transport/connection.js';
import { Admission } from './transport/admission.js';
import { websocketTransport } from './transport/websocket.js';
import { sockjsTransport } from './transport/sockjs.js';
import { healthRoutes } from './routes/health.js';
import { demoRoutes } from './routes/demo.js';
import { PACKAGE } from './package-info.js';

/** Code the app plugs in beside the settings; plugin options of the same names (plugin.ts). */
export interface ServerHooks {
  /** Decides room joins, signals, relays, publishes and subscribes instead of the token's grant (authorization.ts). */
  readonly authorize?: AuthorizeHook;
  /** A TURN provider's REST API: each joiner's iceServers, instead of STUN_URLS/TURN_URLS (turn-credentials.ts). */
  readonly iceServers?: IceServersHook;
}

/** The standalone server's hooks: the plugin's, and where its own log goes. */
export interface AppHooks extends ServerHooks {
  /** Where the log goes (pino's destination); stdout when absent. */
  readonly logStream?: { write(line: string): void };
}

/**
 * The standalone server (`stomprtc`, `npm start`, the tests): a Fastify app of its own with the
 * stomprtc plugin registered in it.
 */
export async function buildApp(config: Config, hooks: AppHooks = {}): Promise<FastifyInstance> {
  const { logStream, ...serverHooks } = hooks;
  // Per-request logs would drown the log in SockJS polls; sessions log what matters.
  const app = Fastify({
    logger: {
      level: config.logLevel,
      // Tokens, TURN secrets and signal bodies never reach the log (log-redaction.ts).
      redact: { paths: [...REDACTED_PATHS], censor: CENSOR },
      serializers: { frame: frameForLog },
      ...(logStream ? { stream: logStream } : {}),
    },
    logController: new LogController({ disableRequestLogging: true }),
  });
  await app.register(stomprtcServer, { config, hooks: serverHooks });
  return app;
}

export interface StompRtcServerOptions {
  readonly config: Config;
  readonly hooks?: ServerHooks;
}

/**
 * The whole server as a Fastify plugin, in the order a frame flows: transports → STOMP sessions →
 * access gate → inbound router → `/app` handlers (signaling) or the broker → sessions → transports.
 * It adds routes and close hooks to the app it is registered in and decorates nothing.
 */
export const stomprtcServer = fp<StompRtcServerOptions>(
  async (app: FastifyInstance, { config, hooks = {} }) => {
    // Inside someone else's app the logger is theirs: redaction is set on our child of it (log-redaction.ts).
    const log = app.log.child(
      {},
      { redact: { paths: [...REDACTED_PATHS], censor: CENSOR }, serializers: { frame: frameForLog } },
    );
    const metrics = new Metrics();

    const broker = await createBroker(config, log);
    const presence = new SharedPresence(createPresenceLog(config, log), config);
    const handlers = new AppHandlers();
    const router = new InboundRouter(broker, handlers, config);
    const iceServers = new IceServerSource(config, hooks.iceServers, log);
    registerSignaling(handlers, router, config, metrics, presence, iceServers);
    await presence.start();
    /** What /healthz reports and CONNECT needs: RabbitMQ for destinations, and the shared rooms. */
    const serving = () => broker.available && presence.available;
    const verify = grantChecking(tokenVerifier(config));
    const gate = new AccessGate(router, { verify, authorize: hooks.authorize, iceServers, log });

    const sessions = new SessionRegistry();
    const admission = new Admission(config);
    let draining = false;
    const host: SessionHost = {
      config,
      router: gate,
      log,
      serverName: `stomprtc/${PACKAGE.version}`,
      sessionIdPrefix: broker.sessionIdPrefix,
      authenticate: verify ? jwtAuthenticator(verify) : undefined,
      requireServing() {
        // A session here could do nothing that needs RabbitMQ; another node (or a retry) can.
        if (!serving()) {
          throw new StompRtcError(
            'BROKER_UNAVAILABLE',
            'this node cannot reach RabbitMQ at the moment (/healthz is 503); connect to another node or retry later',
          );
        }
      },
      opened(session) {
        sessions.add(session);
        metrics.sessions.inc({ transport: session.transport });
        metrics.sessionsTotal.inc({ transport: session.transport });
      },
      admit(session) {
        sessions.admit(session, config.maxSessionsPerUser);
        const { sessionId, principal, transport } = session;
        log.info({ session: sessionId, user: principal, transport }, 'session authenticated');
      },
      closed(session) {
        sessions.remove(session);
        metrics.sessions.dec({ transport: session.transport });
      },
      connectionClosed(connection) {
        admission.release(connection);
      },
      refused(code) {
        metrics.errors.inc({ code });
      },
    };
    const accept = (connection: Connection) => {
      if (draining) return connection.close();
      if (!admission.admit(connection)) return metrics.errors.inc({ code: 'TOO_MANY_CONNECTIONS' });
      new StompSession(connection, host);
    };

    await app.register(healthRoutes, {
      healthPath: config.healthPath,
      metricsPath: config.metricsPath,
      isDraining: () => draining,
      isBrokerAvailable: serving,
      sessions,
      metrics,
    });
    await app.register(websocketTransport, { config, path: config.wsPath, admission, accept });
    await app.register(sockjsTransport, { config, prefix: config.sockjsPath, admission, accept });
    if (config.demo) await app.register(demoRoutes, { config });

    app.addHook('preClose', async () => {
      draining = true;
      await sessions.shutdown(config.shutdownGraceMs);
    });
    app.addHook('onClose', async () => {
      await presence.close();
      await broker.close();
    });
  },
  { name: 'stomprtc-server', fastify: '5.x' },
);

/** A token whose `stomprtc` grant is malformed is refused as a whole, at CONNECT and on refresh alike. */
function grantChecking(verify: TokenVerifier | undefined): TokenVerifier | undefined {
  if (!verify) return undefined;
  return async (token) => {
    const principal = await verify(token);
    readGrant(principal.claims);
    return principal;
  };
}

/** With the relay, rooms are shared through a RabbitMQ stream; alone, a node's presence log is a loop-back. */
function createPresenceLog(config: Config, log: FastifyBaseLogger): PresenceLog {
  if (!config.brokerRelayUrl) return new LocalPresenceLog();
  return new PresenceStream({
    connection: {
      ...parseRelayUrl(config.brokerRelayUrl, config.brokerRelayVhost),
      heartbeatMs: 10_000,
      timeoutMs: 5_000,
      limits: { maxFrameBytes: 16 << 20, maxHeaders: 64, maxHeaderLineBytes: 8 * 1024 },
    },
    queue: `${config.clusterName}.presence`,
    log: log.child({ component: 'presence-stream' }),
  });
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
