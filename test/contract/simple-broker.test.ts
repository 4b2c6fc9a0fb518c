/** The broker contract against the embedded in-memory broker. */
import { SimpleBroker } from '../../server/src/broker/simple-broker.js';
import { brokerContract } from './broker-contract.js';

brokerContract('SimpleBroker (in memory)', async () => {
  const broker = new SimpleBroker({ maxUnackedPerSubscription: 1000, maxQueueDepth: 10_000 });
  return { broker, close: () => broker.close() };
});
