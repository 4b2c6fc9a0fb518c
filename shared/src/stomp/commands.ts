import type { StompCommand, StompVersion } from './frame.js';
import { ConstantStrings } from './constant-strings.js';

/**
 * The protocol's rules as data: which headers a frame must carry and whether it may have a body.
 * The decoder, the server session and ERROR texts read this table instead of testing command
 * names in scattered conditionals.
 */
export interface CommandRule {
  /** Sent by clients (true) or by servers (false). */
  readonly fromClient: boolean;
  /** Headers that MUST be present (STOMP 1.2). */
  readonly requiredHeaders: readonly string[];
  /** Whether a body is allowed; "Only the SEND, MESSAGE, and ERROR frames MAY have a body" (§2.4 Frame Body). */
  readonly bodyAllowed: boolean;
  /** Link to the frame's section of the STOMP 1.2 specification. */
  readonly spec: string;
}

const SPEC = 'https://stomp.github.io/stomp-specification-1.2.html';

export const STOMP_COMMANDS: Readonly<Record<StompCommand, CommandRule>> = Object.freeze({
  CONNECT: { fromClient: true, requiredHeaders: [], bodyAllowed: false, spec: `${SPEC}#CONNECT_or_STOMP_Frame` },
  STOMP: { fromClient: true, requiredHeaders: [], bodyAllowed: false, spec: `${SPEC}#CONNECT_or_STOMP_Frame` },
  SEND: { fromClient: true, requiredHeaders: ['destination'], bodyAllowed: true, spec: `${SPEC}#SEND` },
  SUBSCRIBE: {
    fromClient: true,
    requiredHeaders: ['destination', 'id'],
    bodyAllowed: false,
    spec: `${SPEC}#SUBSCRIBE`,
  },
  UNSUBSCRIBE: { fromClient: true, requiredHeaders: ['id'], bodyAllowed: false, spec: `${SPEC}#UNSUBSCRIBE` },
  ACK: { fromClient: true, requiredHeaders: ['id'], bodyAllowed: false, spec: `${SPEC}#ACK` },
  NACK: { fromClient: true, requiredHeaders: ['id'], bodyAllowed: false, spec: `${SPEC}#NACK` },
  BEGIN: { fromClient: true, requiredHeaders: ['transaction'], bodyAllowed: false, spec: `${SPEC}#BEGIN` },
  COMMIT: { fromClient: true, requiredHeaders: ['transaction'], bodyAllowed: false, spec: `${SPEC}#COMMIT` },
  ABORT: { fromClient: true, requiredHeaders: ['transaction'], bodyAllowed: false, spec: `${SPEC}#ABORT` },
  DISCONNECT: { fromClient: true, requiredHeaders: [], bodyAllowed: false, spec: `${SPEC}#DISCONNECT` },
  CONNECTED: { fromClient: false, requiredHeaders: ['version'], bodyAllowed: false, spec: `${SPEC}#CONNECTED_Frame` },
  MESSAGE: {
    fromClient: false,
    requiredHeaders: ['destination', 'message-id', 'subscription'],
    bodyAllowed: true,
    spec: `${SPEC}#MESSAGE`,
  },
  RECEIPT: { fromClient: false, requiredHeaders: ['receipt-id'], bodyAllowed: false, spec: `${SPEC}#RECEIPT` },
  ERROR: { fromClient: false, requiredHeaders: [], bodyAllowed: true, spec: `${SPEC}#ERROR` },
});

/** Each command's own string: a decoded one is replaced by it (see canonicalCommand). */
const COMMAND_NAMES = new ConstantStrings(Object.keys(STOMP_COMMANDS) as StompCommand[]);

export function isStompCommand(name: string): name is StompCommand {
  return COMMAND_NAMES.has(name);
}

/**
 * The command's constant string for a decoded one, undefined for no command. A string fresh from
 * the wire would be looked up in V8's string table at each use as a property key; the constant is
 * already there.
 */
export function canonicalCommand(name: string): StompCommand | undefined {
  return COMMAND_NAMES.get(name);
}

/**
 * Frames whose headers are never escaped: "CONNECT and CONNECTED frames do not escape the
 * carriage return, line feed or colon octets in order to remain backward compatible with STOMP
 * 1.0" (§Value Encoding).
 */
export const UNESCAPED_COMMANDS: ReadonlySet<StompCommand> = new Set<StompCommand>(['CONNECT', 'STOMP', 'CONNECTED']);

/**
 * Where STOMP 1.0 and 1.1 require other headers than the 1.2 rules above. 1.0 SUBSCRIBE has an
 * optional `id`, and 1.0 UNSUBSCRIBE needs `id` or `destination` (checked by the session, not
 * here); 1.0 and 1.1 acknowledge by `message-id` (1.1 also `subscription`) instead of 1.2's `id`.
 */
export const LEGACY_REQUIRED_HEADERS: Readonly<
  Partial<Record<'1.0' | '1.1', Partial<Record<StompCommand, readonly string[]>>>>
> = Object.freeze({
  '1.0': { SUBSCRIBE: ['destination'], UNSUBSCRIBE: [], ACK: ['message-id'], NACK: ['message-id'] },
  '1.1': { ACK: ['message-id', 'subscription'], NACK: ['message-id', 'subscription'] },
});

/** The headers a `command` frame must carry in `version`. */
export function requiredHeaders(command: StompCommand, version: StompVersion = '1.2'): readonly string[] {
  const legacy = version === '1.2' ? undefined : LEGACY_REQUIRED_HEADERS[version]?.[command];
  return legacy ?? STOMP_COMMANDS[command].requiredHeaders;
}
