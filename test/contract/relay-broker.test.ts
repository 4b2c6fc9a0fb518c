/** The broker contract against the RabbitMQ relay (RabbitMQ's STOMP adapter on port 61613). */
import { brokerContract } from './broker-contract.js';
import { describeWithRabbitMq, relayBroker } from './rabbitmq.js';

describeWithRabbitMq('RelayBroker', () => {
  brokerContract('RelayBroker (RabbitMQ)', async () => {
    const broker = relayBroker();
    await broker.start();
    if (!broker.available) throw new Error('the relay did not connect to RabbitMQ');
    return { broker, close: () => broker.close() };
  });
});
