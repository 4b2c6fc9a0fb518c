import { createHeaders, type StompFrame, type StompVersion } from '../../../shared/src/stomp/frame.js';

/**
 * Brings a STOMP 1.0/1.1 frame to its 1.2 shape so the rest of the server knows one dialect:
 * 1.0 SUBSCRIBE may omit `id` (the destination identifies it), 1.0 UNSUBSCRIBE may name the
 * destination instead, and 1.0/1.1 ACK/NACK name the `message-id` where 1.2 uses `id`.
 */
export function normalizeLegacyFrame(frame: StompFrame, version: StompVersion): StompFrame {
  if (version === '1.2') return frame;
  const { command, headers } = frame;
  let id: string | undefined;
  if ((command === 'ACK' || command === 'NACK') && headers.id === undefined) id = headers['message-id'];
  else if (version === '1.0' && (command === 'SUBSCRIBE' || command === 'UNSUBSCRIBE') && headers.id === undefined)
    id = headers.destination;
  if (id === undefined) return frame;
  const normalized = createHeaders(Object.entries(headers));
  normalized.id = id;
  return { command, headers: normalized, body: frame.body };
}
