import { StompRtcError } from '../errors.js';
import { isStompCommand, requiredHeaders, STOMP_COMMANDS } from './commands.js';
import type { StompFrame, StompVersion } from './frame.js';

/**
 * Checks a decoded frame from a client against the rules table: the command is one clients send,
 * every required header is present, and a body only comes where the command allows one.
 * `version` picks 1.0/1.1 header rules where they differ from 1.2 (see LEGACY_REQUIRED_HEADERS).
 */
export function validateClientFrame(frame: StompFrame, version: StompVersion = '1.2'): void {
  const { command, headers, body } = frame;
  if (!isStompCommand(command)) {
    throw new StompRtcError('UNKNOWN_COMMAND', `unknown command ${JSON.stringify(command)}`);
  }
  const rule = STOMP_COMMANDS[command];
  if (!rule.fromClient) {
    throw new StompRtcError('UNKNOWN_COMMAND', `${command} is sent by servers, not clients (see ${rule.spec})`);
  }
  for (const name of requiredHeaders(command, version)) {
    if (!Object.prototype.hasOwnProperty.call(headers, name)) {
      throw new StompRtcError('MISSING_HEADER', `${command} requires header '${name}' (see ${rule.spec})`);
    }
  }
  // "Only the SEND, MESSAGE, and ERROR frames MAY have a body. All other frames MUST NOT have a body" (§Frame Body).
  if (!rule.bodyAllowed && body.length > 0) {
    throw new StompRtcError('BODY_NOT_ALLOWED', `${command} must not have a body (see ${rule.spec})`);
  }
}
