import type { StompFrame } from '../../shared/src/stomp/frame.js';

/** Shown in place of a secret in the log. */
export const CENSOR = '[redacted]';

/**
 * Header names that carry credentials, in CONNECT (`passcode`, `Authorization`), in HTTP requests
 * (SockJS, the WebSocket handshake) and in our own frames.
 */
const SECRET_HEADERS = ['authorization', 'Authorization', 'passcode', 'cookie', 'token'];

/**
 * pino's `redact` paths: credentials wherever a log call puts headers (`headers`, `req.headers`,
 * `frame.headers`) and the settings that are secrets, should anyone log the config.
 */
export const REDACTED_PATHS: readonly string[] = [
  ...SECRET_HEADERS.flatMap((name) => [`headers.${name}`, `req.headers.${name}`, `*.headers.${name}`]),
  ...['authJwtSecret', 'turnSecret', 'turnCredential', 'brokerRelayUrl'].flatMap((key) => [key, `config.${key}`]),
];

export interface LoggedFrame {
  readonly command: string;
  readonly headers: Record<string, string>;
  readonly bodyBytes: number;
}

/**
 * How a STOMP frame appears in the log: its command, its headers with credentials censored, and
 * the size of its body, never the body (signals carry SDP and ICE candidates with addresses,
 * /app/token carries a JWT, relayed data is the users' own).
 */
export function frameForLog(frame: StompFrame): LoggedFrame {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(frame.headers)) {
    headers[name] = SECRET_HEADERS.includes(name) ? CENSOR : value;
  }
  return { command: frame.command, headers, bodyBytes: frame.body.length };
}
