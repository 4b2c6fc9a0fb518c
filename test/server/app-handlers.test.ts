/** The table of /app handlers the router dispatches SENDs to (no server needed). */
import { describe, expect, it } from 'vitest';
import { AppHandlers } from '../../server/src/messaging/app-handlers.js';

describe('AppHandlers', () => {
  it('serves a handler for a valid /app destination, once', () => {
    const app = new AppHandlers();
    const handler = () => {};
    app.onSend('/app/echo', handler);
    expect(app.sendHandler('/app/echo')).toBe(handler);
    expect(app.sendHandler('/app/other')).toBeUndefined();
    expect(() => app.onSend('/app/echo', handler)).toThrow('/app/echo already has a handler');
  });

  it('refuses a handler for anything but a valid /app destination: the router trusts the ones it serves', () => {
    const app = new AppHandlers();
    expect(() => app.onSend('/topic/news', () => {})).toThrow('/topic/news is not an /app destination');
    expect(() => app.onSend('/app/a//b', () => {})).toThrow('invalid segment');
    expect(app.sendHandler('/topic/news')).toBeUndefined();
  });
});
