/**
 * How the broker tells its destinations apart. `/user/queue/x` of session S is the broker
 * destination `/queue/x~user~<S>` (Spring's DefaultUserDestinationResolver does the same with
 * `-user`), so any broker, in memory or RabbitMQ, serves it as an ordinary queue; messaging/
 * resolves client-named `/user/...` destinations to these names.
 */
const USER_SUFFIX = '~user~';

export function isQueue(destination: string): boolean {
  return destination.startsWith('/queue/');
}

/** `/queue/signal` of session `s1` → `/queue/signal~user~s1` (`/topic/...` the same way). */
export function perSessionDestination(destination: string, sessionId: string): string {
  return `${destination}${USER_SUFFIX}${sessionId}`;
}

export function isUserQueue(destination: string): boolean {
  return destination.includes(USER_SUFFIX);
}

/** `/queue/signal~user~s1` → `s1`. */
export function sessionOfUserDestination(destination: string): string {
  return destination.slice(destination.lastIndexOf(USER_SUFFIX) + USER_SUFFIX.length);
}
