/**
 * Real network failure for end-to-end tests: two Linux network namespaces, A and B, each joined to
 * the root namespace (where the server and coturn run) by a veth pair, optionally joined to each
 * other by a third veth (the "direct path"). With IPv4 forwarding off in the root namespace — its
 * default, which we never change — A and B reach the root's addresses but not each other, so the
 * only way between them is the server relay, a TURN server in the root, or the direct veth.
 *
 *   root ns: 10.77.<s+1>.1 ─ veth ─ A: 10.77.<s+1>.2        A: 10.77.<s+3>.1 ─ veth ─ B: 10.77.<s+3>.2
 *            10.77.<s+2>.1 ─ veth ─ B: 10.77.<s+2>.2        (the direct path, cut with `link set down`)
 *
 * `s` is a free slot (a multiple of 3), so runs on one machine do not collide. Every name carries
 * the owning process id: the stale-sweep removes only what a dead process left behind.
 */
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Everything we create starts with this; interface names are limited to 15 bytes by the kernel. */
const PREFIX = 'srtc';
/** 10.77.0.0/16 is ours; coturn is told to allow exactly that range as peers. */
const SUBNET_PREFIX = '10.77';
export const SUBNET_CIDR = '10.77.0.0/16';

export async function ip(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('ip', args, { timeout: 10_000 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`, { cause: err });
  }
}

/**
 * Whether this machine can build the topology: Linux, root (CAP_NET_ADMIN), `ip netns` and veth.
 * Resolves to a reason when it cannot, so a CI run fails with it instead of skipping.
 */
export async function netnsUnavailableReason(): Promise<string | undefined> {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'network namespace tests must run as root (they create namespaces and veth pairs)';
  }
  const probe = `${PREFIX}-probe-${process.pid}`;
  try {
    await ip('netns', 'add', probe);
  } catch (err) {
    return `cannot create a network namespace (iproute2 missing or no CAP_SYS_ADMIN/CAP_NET_ADMIN): ${(err as Error).message}`;
  }
  try {
    await ip(
      'link',
      'add',
      `${PREFIX}p${process.pid % 100000}`,
      'type',
      'veth',
      'peer',
      'name',
      'probe0',
      'netns',
      probe,
    );
  } catch (err) {
    return `cannot create a veth pair (kernel without veth?): ${(err as Error).message}`;
  } finally {
    await ip('link', 'del', `${PREFIX}p${process.pid % 100000}`).catch(() => undefined);
    await ip('netns', 'del', probe).catch(() => undefined);
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes namespaces and root-side links left by test processes that are gone (names carry the
 * owner's pid). A live owner's topology is left alone, so concurrent runs do not break each other.
 */
export async function sweepStale(): Promise<string[]> {
  const removed: string[] = [];
  const namespaces = (await ip('netns', 'list').catch(() => ''))
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(`${PREFIX}-`));
  for (const ns of namespaces) {
    const pid = Number(/-(\d+)-[0-9a-z]+$/.exec(ns)?.[1] ?? /-probe-(\d+)$/.exec(ns)?.[1]);
    if (Number.isInteger(pid) && (pid === process.pid || alive(pid))) continue;
    await ip('netns', 'del', ns).catch(() => undefined);
    removed.push(ns);
  }
  // Root ends of veth pairs whose namespace end vanished disappear with it; any left are ours to drop.
  const links = await ip('-o', 'link', 'show').catch(() => '');
  for (const m of links.matchAll(/^\d+: (srtc[^@:\s]*)[@:]/gm)) {
    const name = m[1]!;
    const owner = await ownerOfLink(name);
    if (owner !== undefined && alive(owner)) continue;
    await ip('link', 'del', name).catch(() => undefined);
    removed.push(name);
  }
  return removed;
}

/** Root-side links carry their owner's pid in the `alias` we set on creation. */
async function ownerOfLink(name: string): Promise<number | undefined> {
  const out = await ip('-o', 'link', 'show', 'dev', name).catch(() => '');
  const m = /alias srtc-owner-(\d+)/.exec(out);
  return m ? Number(m[1]) : undefined;
}

async function usedSubnets(): Promise<Set<number>> {
  const used = new Set<number>();
  const out = await ip('-o', '-4', 'addr', 'show').catch(() => '');
  for (const m of out.matchAll(/inet 10\.77\.(\d+)\./g)) used.add(Number(m[1]));
  return used;
}

export interface Side {
  /** Namespace name, for `ip netns exec`. */
  readonly ns: string;
  /** Address of this namespace on its link to the root. */
  readonly address: string;
  /** The root namespace's address on that link (the default gateway; reachable server/coturn IP). */
  readonly rootAddress: string;
  /** This namespace's address on the direct path (when there is one). */
  readonly directAddress: string | undefined;
}

export interface Topology {
  readonly a: Side;
  readonly b: Side;
  readonly hasDirect: boolean;
  /** Whether the direct veth is up right now. */
  readonly directUp: boolean;
  /** Takes the direct veth down at both ends: packets between A and B then have no route. */
  cutDirect(): Promise<void>;
  restoreDirect(): Promise<void>;
  /** Runs a command inside a namespace and returns its stdout. */
  exec(ns: string, command: string, args: readonly string[]): Promise<string>;
  /** Starts a long-running process inside a namespace. */
  spawnIn(ns: string, command: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Removes both namespaces and every link; safe to call twice. */
  destroy(): Promise<void>;
}

export interface TopologyOptions {
  /** Add the direct A↔B veth. @default false */
  readonly direct?: boolean;
}

let created = 0;

export async function createTopology(options: TopologyOptions = {}): Promise<Topology> {
  const tag = `${process.pid}-${(created++).toString(36)}${Math.random().toString(36).slice(2, 5)}`;
  const nsA = `${PREFIX}-a-${tag}`;
  const nsB = `${PREFIX}-b-${tag}`;
  // 15-byte interface names: srtc + role letter + short unique id.
  const short =
    `${(process.pid % 46656).toString(36)}${created.toString(36)}${Math.random().toString(36).slice(2, 4)}`.slice(0, 9);
  const rootA = `${PREFIX}${short}a`;
  const rootB = `${PREFIX}${short}b`;
  const nsLinkA = 'eth-root';
  const nsLinkB = 'eth-root';
  const direct = 'eth-direct';
  const tmpDirect = `${PREFIX}${short}d`;

  const used = await usedSubnets();
  let slot = 1;
  while (used.has(slot) || used.has(slot + 1) || used.has(slot + 2)) slot += 3;
  if (slot + 2 > 254) throw new Error('no free 10.77.x.0/24 slot for a test topology');
  const net = (k: number, host: number) => `${SUBNET_PREFIX}.${slot + k}.${host}`;

  const a: Side = {
    ns: nsA,
    address: net(0, 2),
    rootAddress: net(0, 1),
    directAddress: options.direct ? net(2, 1) : undefined,
  };
  const b: Side = {
    ns: nsB,
    address: net(1, 2),
    rootAddress: net(1, 1),
    directAddress: options.direct ? net(2, 2) : undefined,
  };
  let directUp = Boolean(options.direct);
  let destroyed = false;

  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    // Deleting a namespace destroys the veth ends inside it, and with them their root-side peers.
    await ip('netns', 'del', nsA).catch(() => undefined);
    await ip('netns', 'del', nsB).catch(() => undefined);
    for (const link of [rootA, rootB, tmpDirect]) await ip('link', 'del', link).catch(() => undefined);
  };

  try {
    for (const [side, rootLink, nsLink] of [
      [a, rootA, nsLinkA],
      [b, rootB, nsLinkB],
    ] as const) {
      await ip('netns', 'add', side.ns);
      await ip('-n', side.ns, 'link', 'set', 'lo', 'up');
      await ip('link', 'add', rootLink, 'type', 'veth', 'peer', 'name', nsLink, 'netns', side.ns);
      await ip('link', 'set', 'dev', rootLink, 'alias', `srtc-owner-${process.pid}`);
      await ip('addr', 'add', `${side.rootAddress}/24`, 'dev', rootLink);
      await ip('link', 'set', 'dev', rootLink, 'up');
      await ip('-n', side.ns, 'addr', 'add', `${side.address}/24`, 'dev', nsLink);
      await ip('-n', side.ns, 'link', 'set', 'dev', nsLink, 'up');
      await ip('-n', side.ns, 'route', 'add', 'default', 'via', side.rootAddress);
    }
    if (options.direct) {
      // Created in the root namespace under a unique name, then moved: the names inside the
      // namespaces can be fixed because each namespace has its own interface table.
      await ip('link', 'add', tmpDirect, 'type', 'veth', 'peer', 'name', `${tmpDirect}x`);
      await ip('link', 'set', 'dev', tmpDirect, 'netns', nsA, 'name', direct);
      await ip('link', 'set', 'dev', `${tmpDirect}x`, 'netns', nsB, 'name', direct);
      await ip('-n', nsA, 'addr', 'add', `${a.directAddress}/24`, 'dev', direct);
      await ip('-n', nsB, 'addr', 'add', `${b.directAddress}/24`, 'dev', direct);
      await ip('-n', nsA, 'link', 'set', 'dev', direct, 'up');
      await ip('-n', nsB, 'link', 'set', 'dev', direct, 'up');
    }
  } catch (err) {
    await destroy();
    throw err;
  }

  const setDirect = async (state: 'up' | 'down'): Promise<void> => {
    if (!options.direct) throw new Error('this topology has no direct path');
    await ip('-n', nsA, 'link', 'set', 'dev', direct, state);
    await ip('-n', nsB, 'link', 'set', 'dev', direct, state);
    directUp = state === 'up';
  };

  return {
    a,
    b,
    hasDirect: Boolean(options.direct),
    get directUp() {
      return directUp;
    },
    cutDirect: () => setDirect('down'),
    restoreDirect: () => setDirect('up'),
    async exec(ns, command, args) {
      const { stdout } = await run('ip', ['netns', 'exec', ns, command, ...args], { timeout: 30_000 });
      return stdout;
    },
    spawnIn(ns, command, args, spawnOptions = {}) {
      return spawn('ip', ['netns', 'exec', ns, command, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...spawnOptions });
    },
    destroy,
  };
}

/**
 * Whether `from` (a namespace) can open a TCP connection to host:port within timeoutMs. Uses the
 * node binary itself, so the test needs nothing but iproute2 on the machine.
 */
export async function canConnect(
  topology: Topology,
  ns: string,
  host: string,
  port: number,
  timeoutMs = 1500,
): Promise<boolean> {
  const script =
    `const s=require('net').connect(${port},${JSON.stringify(host)});` +
    `const t=setTimeout(()=>{console.log('timeout');process.exit(0)},${timeoutMs});` +
    `s.on('connect',()=>{console.log('ok');process.exit(0)});` +
    `s.on('error',e=>{console.log(e.code);process.exit(0)});`;
  const out = await topology.exec(ns, process.execPath, ['-e', script]);
  return out.trim() === 'ok';
}
