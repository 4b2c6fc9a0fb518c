/**
 * A private RabbitMQ node with the STOMP adapter, for tests and benchmarks that stop, restart or
 * load RabbitMQ: the machine's node (5672/61613) is shared by every suite running at the same
 * time, so it is never the one a test breaks. Own node name, ports (AMQP, distribution, STOMP),
 * mnesia and log folders and enabled_plugins file; the machine's epmd and Erlang cookie are
 * shared, which is how rabbitmqctl reaches it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';

const run = promisify(execFile);

export interface PrivateRabbitMq {
  /** `stomp://guest:guest@127.0.0.1:<port>` for BROKER_RELAY_URL. */
  readonly stompUrl: string;
  readonly nodeName: string;
  /** `ws://127.0.0.1:<port>/ws`, RabbitMQ's Web-STOMP, when the node was started with `webStomp`. */
  readonly webStompUrl?: string;
  /** `rabbitmqctl stop_app`: the node stays up, every connection drops and the listeners close. */
  stopApp(): Promise<void>;
  /** `rabbitmqctl start_app`; resolves once STOMP accepts connections again. */
  startApp(): Promise<void>;
  /** Stops the node and removes its folders. */
  stop(): Promise<void>;
}

/** Why a private node cannot be started here (for describeWith), or undefined when it can. */
export function privateRabbitMqMissing(): string | undefined {
  const onPath = (process.env.PATH ?? '').split(':').some((dir) => {
    try {
      accessSync(join(dir, 'rabbitmq-server'), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!onPath) return 'rabbitmq-server is not installed (scripts/install-test-deps.sh installs it)';
  if (process.getuid?.() !== 0)
    return 'starting a private RabbitMQ node needs root (rabbitmq-server runs as the rabbitmq user)';
  return undefined;
}

/** Starting a node takes 3-10 s; the bound is generous because the machine is shared. */
const START_TIMEOUT_MS = 60_000;

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function waitForPort(port: number, node: ChildProcess | undefined, what: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await accepts(port)) return;
    if (node && node.exitCode !== null) throw new Error(`${what}: rabbitmq-server exited with ${node.exitCode}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: STOMP did not accept connections on port ${port} within ${START_TIMEOUT_MS} ms`);
}

/** Starts the node; rabbitmq-server runs as the rabbitmq user, so its folder belongs to that user. */
export async function startPrivateRabbitMq(options: { webStomp?: boolean } = {}): Promise<PrivateRabbitMq> {
  const [amqpPort, distPort, stompPort] = [await freePort(), await freePort(), await freePort()];
  const webStompPort = options.webStomp ? await freePort() : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'stomprtc-rabbitmq-'));
  const nodeName = `stomprtc-test-${process.pid}-${stompPort}@localhost`;
  writeFileSync(
    join(dir, 'enabled_plugins'),
    options.webStomp ? '[rabbitmq_stomp,rabbitmq_web_stomp].\n' : '[rabbitmq_stomp].\n',
  );
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    [
      `listeners.tcp.default = 127.0.0.1:${amqpPort}`,
      `stomp.listeners.tcp.1 = 127.0.0.1:${stompPort}`,
      ...(webStompPort ? ['web_stomp.tcp.ip = 127.0.0.1', `web_stomp.tcp.port = ${webStompPort}`] : []),
      // The node exists for one test run: no disk alarm from a nearly full /tmp.
      'disk_free_limit.absolute = 1MB',
      '',
    ].join('\n'),
  );
  const env = {
    ...process.env,
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_PID_FILE: join(dir, 'pid'),
  };
  // As root, rabbitmq-server drops to the rabbitmq user, which must own the node's folders.
  if (process.getuid?.() === 0) await run('chown', ['-R', 'rabbitmq:rabbitmq', dir]);
  const node = spawn('rabbitmq-server', [], { env, stdio: 'ignore' });
  const ctl = async (...args: string[]) => {
    await run('rabbitmqctl', ['-q', '-n', nodeName, ...args], { env, timeout: START_TIMEOUT_MS });
  };
  try {
    await waitForPort(stompPort, node, nodeName);
    if (webStompPort) await waitForPort(webStompPort, node, nodeName);
  } catch (err) {
    node.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    stompUrl: `stomp://guest:guest@127.0.0.1:${stompPort}`,
    nodeName,
    ...(webStompPort ? { webStompUrl: `ws://127.0.0.1:${webStompPort}/ws` } : {}),
    stopApp: () => ctl('stop_app'),
    startApp: async () => {
      await ctl('start_app');
      await waitForPort(stompPort, undefined, nodeName);
    },
    stop: async () => {
      await ctl('stop').catch(() => {
        // `node` is su's wrapper: killing it would leave the Erlang VM running, orphaned. Kill the VM.
        killPid(join(dir, 'pid'));
        node.kill('SIGKILL');
      });
      if (node.exitCode === null) await new Promise((r) => node.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** SIGKILL to the process a pid file names, if the file and the process are there. */
function killPid(pidFile: string): void {
  try {
    process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
  } catch {
    // No pid file yet, or the process is already gone.
  }
}
