import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config.js';
import { PACKAGED_DEMO_DIR } from '../package-info.js';

/** `GET /`: the demo app, from DEMO_DIR or the one built into the package (npm start and npm pack build it). */
export const demoRoutes = fp<{ config: Config }>(
  async (app: FastifyInstance, { config }) => {
    const root = resolve(config.demoDir || PACKAGED_DEMO_DIR);
    if (!existsSync(root)) {
      app.get('/', async (_request, reply) =>
        reply.code(404).type('text/plain').send(`demo not built: run "npm start" (looked in ${root})\n`),
      );
      return;
    }
    await app.register(fastifyStatic, { root, prefix: '/' });
  },
  { name: 'stomprtc-demo' },
);
