import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.js';
import type { SessionRegistry } from '../stomp/session-registry.js';

export interface HealthOptions {
  readonly isDraining: () => boolean;
  readonly sessions: SessionRegistry;
  readonly metrics: Metrics;
}

/** `GET /healthz` (503 while draining, so a load balancer stops sending) and `GET /metrics`. */
export const healthRoutes = fp<HealthOptions>(async (app: FastifyInstance, { isDraining, sessions, metrics }) => {
  app.get('/healthz', async (_request, reply) => {
    const draining = isDraining();
    return reply.code(draining ? 503 : 200).send({ status: draining ? 'draining' : 'ok', sessions: sessions.size });
  });
  app.get('/metrics', async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}, { name: 'stomprtc-health' });
