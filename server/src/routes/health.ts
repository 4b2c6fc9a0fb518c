import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.js';
import type { SessionRegistry } from '../stomp/session-registry.js';

export interface HealthOptions {
  readonly healthPath: string;
  readonly metricsPath: string;
  readonly isDraining: () => boolean;
  /** False while the broker relay has lost RabbitMQ: this node cannot serve subscriptions. */
  readonly isBrokerAvailable: () => boolean;
  readonly sessions: SessionRegistry;
  readonly metrics: Metrics;
}

/**
 * `GET /healthz` (HEALTH_PATH; 503 while draining or while the broker relay has no RabbitMQ, so a load
 * balancer stops sending) and `GET /metrics` (METRICS_PATH).
 */
export const healthRoutes = fp<HealthOptions>(
  async (app: FastifyInstance, { healthPath, metricsPath, isDraining, isBrokerAvailable, sessions, metrics }) => {
    app.get(healthPath, async (_request, reply) => {
      const status = isDraining() ? 'draining' : isBrokerAvailable() ? 'ok' : 'broker-unavailable';
      return reply.code(status === 'ok' ? 200 : 503).send({ status, sessions: sessions.size });
    });
    app.get(metricsPath, async (_request, reply) => {
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  },
  { name: 'stomprtc-health' },
);
