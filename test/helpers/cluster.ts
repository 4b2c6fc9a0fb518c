/**
 * Real stomprtc nodes as child processes (`node --import tsx server/src/main.ts`), all relaying to
 * one RabbitMQ, so a test can SIGKILL one the way a crash does. Each cluster gets a name of its
 * own (CLUSTER_NAME), so nodes of other suites on the same RabbitMQ never share its rooms.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { deletePresenceStream } from '../contract/rabbitmq.js';
import { freePort } from './free-port.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Starting a node (tsx compiles on the fly) takes 1-3 s; generous because the machine is shared. */
const START_TIMEOUT_MS = 30_000;

export interface ClusterNode {
  readonly port: number;
  readonly wsUrl: string;
  readonly httpUrl: string;
  readonly process: ChildProcess;
  /** What the node wrote to stdout and stderr, for a failing test's message. */
  output(): string;
  health(): Promise<number>;
  /** SIGKILL: no goodbye to anyone, as in a crash. */
  kill(): Promise<void>;
  /** SIGTERM, then the node's own graceful shutdown. */
  stop(): Promise<void>;
}

export interface Cluster {
  readonly name: string;
  readonly nodes: ClusterNode[];
  /** Starts one more node and waits until it answers /healthz 200. */
  add(env?: Record<string, string>): Promise<ClusterNode>;
  stop(): Promise<void>;
}

async function status(httpUrl: string): Promise<number> {
  try {
    return (await fetch(`${httpUrl}/healthz`)).status;
  } catch {
    return 0;
  }
}

export async function waitForHealth(node: ClusterNode, wanted: number, timeoutMs = START_TIMEOUT_MS): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (node.process.exitCode !== null)
      throw new Error(`the node exited with ${node.process.exitCode}:\n${node.output()}`);
    if ((await node.health()) === wanted) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the node did not answer /healthz ${wanted} within ${timeoutMs} ms:\n${node.output()}`);
}

/**
 * `env` applies to every node: BROKER_RELAY_URL, and e.g. MAX_ROOM_MEMBERS or CLUSTER_HEARTBEAT_MS;
 * `rabbitNode` names a private RabbitMQ node, for removing the cluster's presence stream at the end.
 */
export function cluster(env: Record<string, string>, rabbitNode?: string): Cluster {
  const name = `stomprtc-test-${randomBytes(5).toString('hex')}`;
  const nodes: ClusterNode[] = [];
  return {
    name,
    nodes,
    async add(extra = {}) {
      const port = await freePort();
      const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
        cwd: ROOT,
        env: {
          ...process.env,
          LOG_LEVEL: 'warn',
          ...env,
          ...extra,
          PORT: String(port),
          HOST: '127.0.0.1',
          CLUSTER_NAME: name,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const httpUrl = `http://127.0.0.1:${port}`;
      const node: ClusterNode = {
        port,
        httpUrl,
        wsUrl: `ws://127.0.0.1:${port}/ws`,
        process: child,
        output: () => output,
        health: () => status(httpUrl),
        kill: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      };
      nodes.push(node);
      await waitForHealth(node, 200);
      return node;
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.kill()));
      await deletePresenceStream(name, rabbitNode);
    },
  };
}
