/** The broker contract against the embedded in-memory broker. */
import { SimpleBroker } from '../../server/src/broker/simple-broker.js';
import { startServer } from '../helpers/server.js';
import { brokerContract } from './broker-contract.js';

brokerContract(
  'SimpleBroker (in memory)',
  async () => {
    const broker = new SimpleBroker({
      maxUnackedPerSubscription: 1000,
      maxQueueDepth: 10_000,
      maxQueuedBytes: 1 << 30,
      maxQueuedBytesPerSession: 1 << 30,
    });
    return { broker, close: () => broker.close() };
  },
  async (count, env) => {
    // One node: every peer of the contract connects to it.
    const server = await startServer(env);
    return { servers: Array.from({ length: count }, () => server), close: () => server.close() };
  },
);
