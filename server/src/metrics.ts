import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** The server's Prometheus metrics, on a registry of its own so that several apps in one process (tests) do not collide. */
export class Metrics {
  readonly registry = new Registry();
  readonly sessions = new Gauge({
    name: 'stomprtc_sessions',
    help: 'Open STOMP sessions',
    labelNames: ['transport'],
    registers: [this.registry],
  });
  readonly sessionsTotal = new Counter({
    name: 'stomprtc_sessions_total',
    help: 'STOMP sessions opened',
    labelNames: ['transport'],
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'stomprtc_errors_total',
    help: 'Refused frames and failed sessions, by error code',
    labelNames: ['code'],
    registers: [this.registry],
  });
  readonly rooms = new Gauge({
    name: 'stomprtc_rooms',
    help: 'Rooms with at least one member',
    registers: [this.registry],
  });
  readonly roomMembers = new Gauge({
    name: 'stomprtc_room_members',
    help: 'Memberships across all rooms',
    registers: [this.registry],
  });
  readonly signals = new Counter({
    name: 'stomprtc_signals_total',
    help: 'Signals delivered',
    registers: [this.registry],
  });
  readonly relayed = new Counter({
    name: 'stomprtc_relay_messages_total',
    help: 'Relay messages delivered, per addressee',
    registers: [this.registry],
  });
  readonly links = new Gauge({
    name: 'stomprtc_links',
    help: 'Peer links by tier, as reported by clients',
    labelNames: ['tier'],
    registers: [this.registry],
  });
  readonly linkFailures = new Counter({
    name: 'stomprtc_link_failures_total',
    help: 'P2P failures reported by clients, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'stomprtc_process_' });
  }
}
