/** The broker contract against the RabbitMQ relay (RabbitMQ's STOMP adapter on port 61613). */
import { randomBytes } from 'node:crypto';
import { startServer, type TestServer } from '../helpers/server.js';
import { brokerContract } from './broker-contract.js';
import { deletePresenceStream, describeWithRabbitMq, relayBroker, RELAY_URL } from './rabbitmq.js';

describeWithRabbitMq('RelayBroker', () => {
  brokerContract(
    'RelayBroker (RabbitMQ)',
    async () => {
      const broker = relayBroker();
      await broker.start();
      if (!broker.available) throw new Error('the relay did not connect to RabbitMQ');
      return { broker, close: () => broker.close() };
    },
    async (count, env) => {
      // `count` nodes of a cluster of their own, each taking sessions once it has read the others' rooms.
      const cluster = {
        BROKER_RELAY_URL: RELAY_URL,
        CLUSTER_NAME: `stomprtc-test-${randomBytes(5).toString('hex')}`,
        CLUSTER_HEARTBEAT_MS: '200',
      };
      const servers: TestServer[] = [];
      for (let i = 0; i < count; i++) servers.push(await startServer({ ...env, ...cluster }));
      for (const server of servers) {
        while ((await fetch(`${server.httpUrl}/healthz`)).status !== 200) await new Promise((r) => setTimeout(r, 50));
      }
      return {
        servers,
        close: async () => {
          await Promise.all(servers.map((s) => s.close()));
          await deletePresenceStream(cluster.CLUSTER_NAME);
        },
      };
    },
  );
});
