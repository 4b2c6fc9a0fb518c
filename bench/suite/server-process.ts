/**
 * One server under test, in a process of its own (forked by targets.ts with `--expose-gc`), so its
 * memory and CPU are its own and not the load generator's. Argument: the target kind. It answers
 * `ready` with its port over IPC, `memory` with process.memoryUsage() after a full collection, and
 * exits on `stop` or when its parent goes away.
 *
 * The plain `ws` and Socket.IO servers do the same work the benchmark asks of stomprtc, the way a
 * user would write it: subscribe a socket to a topic, broadcast a published payload to every
 * subscriber of the topic, forward a direct message to one socket by id with the sender's id.
 * `stomp-floor` forwards direct messages as STOMP frames, with nothing else a STOMP server does.
 */
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { Server as SocketIoServer } from 'socket.io';
import { compiledServer } from '../compiled.js';

type Kind = 'stomprtc' | 'ws' | 'socket.io' | 'stomp-floor';

/** Throughput runs lift the per-session rate limit: the benchmark measures the broker, not the throttle. */
const UNTHROTTLED = { SEND_RATE_PER_S: '100000000', SEND_BURST: '100000000' };

async function stomprtc(): Promise<number> {
  const env: Record<string, string> = { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'error', ...UNTHROTTLED };
  for (const [name, value] of Object.entries(process.env))
    if (name.startsWith('BENCH_SERVER_')) env[name.slice(13)] = value!;
  const { buildApp, loadConfig } = await compiledServer();
  const app = await buildApp(loadConfig(env));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  // A relaying node takes sessions once it reaches RabbitMQ: /healthz says when.
  for (let waited = 0; env.BROKER_RELAY_URL; waited += 100) {
    if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    if (waited > 30_000) throw new Error('the relaying node did not reach RabbitMQ within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return port;
}

/**
 * Text messages: `S<topic>` subscribes; `P<topic>\n\n<body>` is sent as is to the topic's
 * subscribers; `D<id>\n\n<body>` goes to socket `<id>` as `<sender id>\n\n<body>`. Each socket is
 * greeted with `I\n\n<its id>`.
 */
async function plainWs(): Promise<number> {
  const server = createServer();
  const wss = new WebSocketServer({ server });
  const topics = new Map<string, Set<WebSocket>>();
  const byId = new Map<string, WebSocket>();
  let next = 0;
  wss.on('connection', (ws) => {
    const id = String(++next);
    const subscribed: string[] = [];
    byId.set(id, ws);
    ws.send(`I\n\n${id}`);
    ws.on('message', (data: Buffer) => {
      const kind = data[0];
      if (kind === 0x50 /* P */) {
        const topic = data.toString('latin1', 1, data.indexOf('\n'));
        for (const subscriber of topics.get(topic) ?? []) subscriber.send(data, { binary: false });
      } else if (kind === 0x44 /* D */) {
        const split = data.indexOf('\n\n');
        const to = byId.get(data.toString('latin1', 1, split));
        to?.send(Buffer.concat([Buffer.from(id), data.subarray(split)]), { binary: false });
      } else if (kind === 0x53 /* S */) {
        const topic = data.toString('latin1', 1);
        let set = topics.get(topic);
        if (!set) topics.set(topic, (set = new Set()));
        set.add(ws);
        subscribed.push(topic);
      }
    });
    ws.on('close', () => {
      byId.delete(id);
      for (const topic of subscribed) topics.get(topic)?.delete(ws);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/**
 * The least a STOMP server can do for a round trip: it puts on the wire the very frames stomprtc
 * sends (the same headers, ids of the same length) and reads the frames the load generator sends,
 * but checks nothing, keeps no rooms and parses only what routing needs. What separates it from
 * plain `ws` is STOMP's bytes on the wire; what separates stomprtc from it is stomprtc's own work.
 */
async function stompFloor(): Promise<number> {
  const server = createServer();
  const wss = new WebSocketServer({ server, handleProtocols: () => 'v12.stomp' });
  const byId = new Map<string, { ws: WebSocket; direct: string }>();
  let next = 0;
  let messages = 0;
  const header = (frame: string, name: string) => {
    const at = frame.indexOf(`\n${name}:`);
    return at === -1 ? undefined : frame.slice(at + name.length + 2, frame.indexOf('\n', at + 1));
  };
  wss.on('connection', (ws) => {
    const id = (++next).toString(36).padStart(16, '0');
    const self = { ws, direct: '' };
    byId.set(id, self);
    ws.on('message', (data: Buffer) => {
      const headEnd = data.indexOf('\n\n');
      const frame = data.toString('latin1', 0, headEnd + 1);
      if (frame.startsWith('SEND\n')) {
        const to = byId.get(header(frame, 'to')!);
        if (!to) return;
        const body = data.subarray(headEnd + 2, data.length - 1);
        const destination = header(frame, 'destination') === '/app/signal' ? 'signal' : 'relay';
        const head =
          `MESSAGE\ndestination:/user/queue/${destination}\nsubscription:${to.direct}\n` +
          `message-id:fc8e4f0e-${(messages++).toString(36)}\nfrom:${id}\nroom:${header(frame, 'room')}\n` +
          `content-type:application/json\ncontent-length:${body.length}\n\n`;
        to.ws.send(Buffer.concat([Buffer.from(head, 'latin1'), data.subarray(headEnd + 2)]), { binary: false });
      } else if (frame.startsWith('SUBSCRIBE\n')) {
        const destination = header(frame, 'destination')!;
        if (destination.startsWith('/user/queue/')) self.direct = header(frame, 'id')!;
        const receipt = header(frame, 'receipt');
        if (receipt) ws.send(`RECEIPT\nreceipt-id:${receipt}\n\n\0`);
        if (destination.startsWith('/topic/room/'))
          ws.send(`MESSAGE\ndestination:${destination}\nsubscription:r\nmessage-id:room-1\ncontent-length:2\n\n{}\0`);
      } else if (frame.startsWith('CONNECT\n')) {
        ws.send(`CONNECTED\nversion:1.2\nheart-beat:0,0\nsession:${id}\nuser-name:${id}\n\n\0`);
      }
    });
    ws.on('close', () => byId.delete(id));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Rooms are Socket.IO rooms; a direct message goes to the addressee's own room, its socket id. */
async function socketIo(): Promise<number> {
  const server = createServer();
  const io = new SocketIoServer(server, { transports: ['websocket'], serveClient: false });
  io.on('connection', (socket) => {
    socket.on('sub', (topic: string) => void socket.join(topic));
    socket.on('pub', (topic: string, body: string) => void io.to(topic).emit('m', body));
    socket.on('direct', (to: string, body: string) => void io.to(to).emit('d', socket.id, body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const starters: Record<Kind, () => Promise<number>> = {
  stomprtc,
  ws: plainWs,
  'socket.io': socketIo,
  'stomp-floor': stompFloor,
};
const kind = process.argv[2] as Kind;
const port = await starters[kind]();

const gc = (globalThis as { gc?: () => void }).gc;
process.on('message', (message: string) => {
  if (message === 'memory') {
    gc?.();
    gc?.();
    process.send!({ memory: process.memoryUsage() });
  } else if (message === 'stop') process.exit(0);
});
process.on('disconnect', () => process.exit(0));
process.send!({ ready: port });
