import { createHeaders, type StompFrame } from '../../../shared/src/stomp/frame.js';
import type { BrokerMessage } from './broker.js';
import type { Subscription } from './subscription-registry.js';

/**
 * The MESSAGE one subscription receives. "The MESSAGE frame SHOULD include a content-type header
 * if the SEND had one" and user-defined headers of the SEND are carried over (§MESSAGE).
 */
export function messageFrame(subscription: Subscription, message: BrokerMessage, messageId: string, redelivered: boolean): StompFrame {
  const headers = createHeaders(Object.entries(message.headers));
  headers.destination = subscription.clientDestination;
  headers['message-id'] = messageId;
  headers.subscription = subscription.id;
  if (subscription.ack !== 'auto') headers.ack = messageId;
  if (redelivered) headers.redelivered = 'true';
  return { command: 'MESSAGE', headers, body: message.body };
}
