/**
 * The real-failure harness itself: namespaces that reach the root but not each other, a direct
 * path that really cuts, and a coturn that grants allocations for TURN REST credentials only.
 * The fallback tests trust these facts, so they are checked here first.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../helpers/requirements.js';
import { canConnect, createTopology, netnsUnavailableReason, sweepStale, type Topology } from '../helpers/netns.js';
import {
  coturnUnavailableReason,
  gatherRelayCandidates,
  restCredentials,
  startCoturn,
  type Coturn,
} from '../helpers/coturn.js';

const unavailable = (await netnsUnavailableReason()) ?? (await coturnUnavailableReason());

describeWith(unavailable, 'netns + coturn harness', () => {
  let topo: Topology | undefined;
  let turn: Coturn | undefined;
  let rootServer: Server | undefined;
  let rootPort = 0;
  const listeners: Array<{ kill(): void }> = [];

  beforeAll(async () => {
    await sweepStale();
    topo = await createTopology({ direct: true });
    rootServer = createServer((s) => s.end());
    await new Promise<void>((r) => rootServer!.listen(0, '0.0.0.0', r));
    rootPort = (rootServer.address() as { port: number }).port;
  });

  afterAll(async () => {
    for (const l of listeners) l.kill();
    await turn?.stop();
    await topo?.destroy();
    await new Promise((r) => rootServer?.close(r) ?? r(undefined));
  });

  /** A TCP listener on 0.0.0.0:port inside a namespace, resolved once it listens. */
  async function listenIn(ns: string, port: number): Promise<void> {
    const child = topo!.spawnIn(ns, process.execPath, [
      '-e',
      `require('net').createServer(s=>s.end()).listen(${port},'0.0.0.0',()=>console.log('listening'))`,
    ]);
    listeners.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`listener in ${ns} exited ${code}`)));
    });
  }

  it('lets each namespace reach the root on both links, and not the other namespace', async () => {
    const t = topo!;
    expect(await canConnect(t, t.a.ns, t.a.rootAddress, rootPort)).toBe(true);
    expect(await canConnect(t, t.a.ns, t.b.rootAddress, rootPort)).toBe(true);
    expect(await canConnect(t, t.b.ns, t.b.rootAddress, rootPort)).toBe(true);
    expect(await canConnect(t, t.b.ns, t.a.rootAddress, rootPort)).toBe(true);
    await listenIn(t.a.ns, 7001);
    await listenIn(t.b.ns, 7001);
    expect(await canConnect(t, t.a.ns, t.b.address, 7001, 800)).toBe(false);
    expect(await canConnect(t, t.b.ns, t.a.address, 7001, 800)).toBe(false);
  });

  it('joins the namespaces over the direct veth, and cuts and restores it', async () => {
    const t = topo!;
    expect(await canConnect(t, t.a.ns, t.b.directAddress!, 7001)).toBe(true);
    expect(await canConnect(t, t.b.ns, t.a.directAddress!, 7001)).toBe(true);
    await t.cutDirect();
    expect(await canConnect(t, t.a.ns, t.b.directAddress!, 7001, 800)).toBe(false);
    expect(await canConnect(t, t.b.ns, t.a.directAddress!, 7001, 800)).toBe(false);
    await t.restoreDirect();
    expect(await canConnect(t, t.a.ns, t.b.directAddress!, 7001)).toBe(true);
  });

  it('starts coturn and grants a relay allocation for TURN REST credentials, and none for a wrong password', async () => {
    const t = topo!;
    turn = await startCoturn({ listeningIps: [t.a.rootAddress, t.b.rootAddress] });
    const good = restCredentials(turn.secret, 'probe');
    const relays = await gatherRelayCandidates({ urls: turn.urls[0]!, ...good });
    expect(relays.length).toBeGreaterThan(0);
    expect(relays[0]!.startsWith(`${t.a.rootAddress}:`)).toBe(true);
    const bad = await gatherRelayCandidates(
      { urls: turn.urls[0]!, username: good.username, credential: 'wrong' },
      3000,
    );
    expect(bad).toEqual([]);
  });

  it('removes its namespaces and links on destroy', async () => {
    const { ip } = await import('../helpers/netns.js');
    const other = await createTopology({ direct: true });
    await other.destroy();
    const list = await ip('netns', 'list');
    expect(list).not.toContain(other.a.ns);
    expect(list).not.toContain(other.b.ns);
  });
});
