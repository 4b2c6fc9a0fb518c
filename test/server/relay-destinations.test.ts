/** How the relay names our destinations on RabbitMQ's STOMP adapter (no RabbitMQ needed). */
import { describe, expect, it } from 'vitest';
import { parseRelayUrl, routingKey, upstreamDestination } from '../../server/src/broker/rabbitmq-wire.js';
import { StompRtcError } from '../../shared/src/errors.js';

function refusal(destination: string): string {
  try {
    upstreamDestination(destination);
  } catch (err) {
    expect(err).toBeInstanceOf(StompRtcError);
    expect((err as StompRtcError).code).toBe('INVALID_DESTINATION');
    return (err as Error).message;
  }
  throw new Error(`${destination} was accepted`);
}

describe('relay destinations', () => {
  it('maps /topic paths to amq.topic routing keys: "/" to ".", a "." in a segment to "%2E"', () => {
    expect(upstreamDestination('/topic/room/abc')).toBe('/topic/room.abc');
    expect(upstreamDestination('/topic/room/a.b')).toBe('/topic/room.a%2Eb');
    expect(upstreamDestination('/topic/news~user~s1')).toBe('/topic/news~user~s1');
  });

  it('maps routing keys back to the paths they came from, so no two topics share a key', () => {
    // Paths never hold '%' (destination segments are [A-Za-z0-9._-], plus '~user~'), so this undoes routingKey.
    const pathOf = (key: string) => key.replaceAll('.', '/').replaceAll('%2E', '.');
    for (const path of ['room/abc', 'room/a.b', 'a.b/c', 'a/b/c', 'x_y-z', 'room/a.b~user~Zx-9_']) {
      expect(pathOf(routingKey(path))).toBe(path);
    }
    expect(routingKey('a/b')).not.toBe(routingKey('a.b'));
  });

  it('maps /queue names to RabbitMQ queues, escaping "/" as %2F', () => {
    expect(upstreamDestination('/queue/work')).toBe('/queue/work');
    expect(upstreamDestination('/queue/jobs/video')).toBe('/queue/jobs%2Fvideo');
  });

  it('maps per-session queues to amq.direct, where a message nobody is bound for is dropped', () => {
    expect(upstreamDestination('/queue/signal~user~s1')).toBe('/exchange/amq.direct/signal~user~s1');
    expect(upstreamDestination('/queue/a/b~user~s1')).toBe('/exchange/amq.direct/a.b~user~s1');
  });

  it('refuses queue names RabbitMQ reserves and names over 255 bytes, before they reach RabbitMQ', () => {
    expect(refusal('/queue/amq.gen')).toMatch(/reserved by RabbitMQ/);
    expect(refusal(`/queue/${'q'.repeat(256)}`)).toMatch(/255 bytes/);
    expect(refusal(`/topic/${'t'.repeat(256)}`)).toMatch(/255 bytes/);
    expect(upstreamDestination(`/queue/${'q'.repeat(255)}`)).toBe(`/queue/${'q'.repeat(255)}`);
  });

  it('reads login, passcode, host and port from BROKER_RELAY_URL', () => {
    expect(parseRelayUrl('stomp://user%40x:p%3Ass@rabbit.test:61614', 'vh')).toEqual({
      host: 'rabbit.test',
      port: 61614,
      login: 'user@x',
      passcode: 'p:ss',
      vhost: 'vh',
    });
    expect(parseRelayUrl('stomp://rabbit.test', '/')).toEqual({
      host: 'rabbit.test',
      port: 61613,
      login: 'guest',
      passcode: 'guest',
      vhost: '/',
    });
  });
});
