import { StompRtcError } from '../../../shared/src/errors.js';
import { perSessionDestination } from '../broker/destinations.js';

/** Where a destination goes: the prefix table of PROTOCOL.md § Destinations. */
export type DestinationKind = 'app' | 'topic' | 'queue' | 'user';

const PREFIXES: ReadonlyArray<readonly [string, DestinationKind]> = [
  ['/app/', 'app'],
  ['/topic/', 'topic'],
  ['/queue/', 'queue'],
  ['/user/', 'user'],
];

/**
 * Client-named segments leave out '~', which keeps resolved user destinations (`~user~<session>`,
 * broker/destinations.ts) out of their reach.
 */
const SEGMENT = /^[A-Za-z0-9._-]+$/;

export function classifyDestination(destination: string): DestinationKind {
  for (const [prefix, kind] of PREFIXES) {
    if (destination.startsWith(prefix) && destination.length > prefix.length) {
      checkSegments(destination, prefix);
      return kind;
    }
  }
  throw new StompRtcError(
    'INVALID_DESTINATION',
    `destination "${destination}" must start with /topic/, /queue/, /app/ or /user/`,
  );
}

function checkSegments(destination: string, prefix: string): void {
  for (const segment of destination.slice(prefix.length).split('/')) {
    if (!SEGMENT.test(segment)) {
      throw new StompRtcError(
        'INVALID_DESTINATION',
        `destination "${destination}" has an empty or invalid segment (allowed: A-Z a-z 0-9 . _ -)`,
      );
    }
  }
}

/** `/user/queue/signal` for session `s1` → `/queue/signal~user~s1`. */
export function resolveUserDestination(userDestination: string, sessionId: string): string {
  const rest = userDestination.slice('/user'.length);
  if (!rest.startsWith('/queue/') && !rest.startsWith('/topic/')) {
    throw new StompRtcError(
      'INVALID_DESTINATION',
      `"${userDestination}": a user destination is /user/queue/<name> or /user/topic/<name>`,
    );
  }
  return perSessionDestination(rest, sessionId);
}
