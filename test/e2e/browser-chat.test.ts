/**
 * The demo app in headless Chromium against the real server: pages in one room chat over P2P data
 * channels, over the relay when a page is relay-only, and over SockJS signaling.
 */
import { expect, it } from 'vitest';
import { chromiumMissing } from '../helpers/chromium.js';
import { describeWith } from '../helpers/requirements.js';
import { roomId, useDemoWorld } from '../helpers/demo-page.js';

describeWith(chromiumMissing, 'demo app in Chromium: chat', () => {
  // Every page of every test is checked for console errors and uncaught exceptions.
  const world = useDemoWorld();

  it('two pages chat peer-to-peer and both show p2p', async () => {
    const room = roomId('two');
    const ann = await world().open('ann', `room=${room}&name=Ann`);
    await ann.waitForStatus('connected');
    const bob = await world().open('bob', `room=${room}&name=Bob`);

    const [annSees] = await ann.waitForPeers(1, 'p2p');
    const [bobSees] = await bob.waitForPeers(1, 'p2p');
    expect(annSees!.name).toBe('Bob');
    expect(bobSees!.name).toBe('Ann');
    expect(annSees!.id).not.toBe(bobSees!.id);

    await ann.send('hello from Ann');
    await bob.waitForMessage(['Ann', 'hello from Ann']);
    await bob.send('hi Ann, Bob here');
    await ann.waitForMessage(['Bob', 'hi Ann, Bob here']);

    expect(await ann.messages()).toEqual([
      { own: true, text: expect.stringContaining('hello from Ann') },
      { own: false, text: expect.stringContaining('hi Ann, Bob here') },
    ]);
    expect(await bob.messages()).toEqual([
      { own: false, text: expect.stringContaining('hello from Ann') },
      { own: true, text: expect.stringContaining('hi Ann, Bob here') },
    ]);
    expect(await ann.status()).toBe('connected');
  });

  it('without room and name in the URL, the form joins and puts them in the URL', async () => {
    const room = roomId('form');
    const page = await world().open('form', '');
    await page.page.getByLabel('Your name', { exact: true }).fill('Fay');
    await page.page.getByLabel('Room', { exact: true }).fill(room);
    await page.page.getByRole('button', { name: 'Join room' }).click();
    await page.waitForStatus('connected');
    expect(new URL(page.page.url()).searchParams.get('room')).toBe(room);
    expect(new URL(page.page.url()).searchParams.get('name')).toBe('Fay');
    // A room id the server would refuse is caught by the form.
    const bad = await world().open('bad-room', 'name=Gus');
    await bad.page.getByLabel('Room', { exact: true }).fill('no spaces allowed');
    await bad.page.getByRole('button', { name: 'Join room' }).click();
    expect(await bad.page.getByRole('alert').textContent()).toContain('A room name uses');
  });

  it('works on a phone-sized screen: nothing overflows sideways, the peer and the composer are in view', async () => {
    const room = roomId('phone');
    const phone = await world().open('phone', `room=${room}&name=Pia`, { viewport: { width: 375, height: 667 } });
    const desk = await world().open('desk', `room=${room}&name=Dan`);
    await phone.waitForPeers(1, 'p2p');
    await desk.send('a long message that has to wrap on a narrow screen instead of pushing the layout sideways');
    await phone.waitForMessage(['Dan', 'a long message']);
    const layout = await phone.page.evaluate(() => {
      const inView = (el: Element | null) => {
        const r = el!.getBoundingClientRect();
        return r.width > 0 && r.left >= 0 && r.right <= innerWidth && r.top >= 0 && r.bottom <= innerHeight;
      };
      return {
        overflow: document.documentElement.scrollWidth - innerWidth,
        peer: inView(document.querySelector('[data-testid=peer]')),
        input: inView(document.querySelector('[data-testid=chat-input]')),
        send: inView(document.querySelector('[data-testid=chat-send]')),
        call: inView(document.querySelector('[data-testid=call]')),
      };
    });
    expect(layout).toEqual({ overflow: 0, peer: true, input: true, send: true, call: true });
    await phone.send('fine here');
    await desk.waitForMessage(['Pia', 'fine here']);
  });

  it('three pages form a full mesh: every page sees two p2p peers and every message', async () => {
    const room = roomId('three');
    const pages = [];
    for (const name of ['Ann', 'Bob', 'Cy'])
      pages.push(await world().open(name.toLowerCase(), `room=${room}&name=${name}`));
    for (const page of pages) await page.waitForPeers(2, 'p2p');

    for (const [i, page] of pages.entries()) await page.send(`message ${i} from ${page.name}`);
    for (const page of pages) {
      for (const [i, sender] of pages.entries()) await page.waitForMessage([`message ${i} from ${sender.name}`]);
      expect(await page.messages()).toHaveLength(3);
    }
    const names = (await pages[0]!.peers()).map((p) => p.name).sort();
    expect(names).toEqual(['Bob', 'Cy']);
  });

  it('a ?mode=relay page chats with a P2P page through the relay and both show relay', async () => {
    const room = roomId('relay');
    const p2p = await world().open('p2p', `room=${room}&name=Pat`);
    const relay = await world().open('relay', `room=${room}&name=Ray&mode=relay`);

    await relay.waitForPeers(1, 'relay');
    await p2p.waitForPeers(1, 'relay');

    await relay.send('through the server');
    await p2p.waitForMessage(['Ray', 'through the server']);
    await p2p.send('and back');
    await relay.waitForMessage(['Pat', 'and back']);
    // Still relay: the P2P side never got an answer to its offer, and stays on the relay.
    expect((await p2p.peers())[0]!.link).toBe('relay');
  });

  it('a ?transport=sockjs page joins, links p2p and chats', async () => {
    const room = roomId('sockjs');
    const sock = await world().open('sockjs', `room=${room}&name=Sam&transport=sockjs`);
    await sock.waitForStatus('connected');
    const ws = await world().open('websocket', `room=${room}&name=Wes`);

    await sock.waitForPeers(1, 'p2p');
    await ws.waitForPeers(1, 'p2p');
    await sock.send('over sockjs signaling');
    await ws.waitForMessage(['Sam', 'over sockjs signaling']);
    await ws.send('reply');
    await sock.waitForMessage(['Wes', 'reply']);
    // The page really used SockJS: no WebSocket to /ws was opened.
    const endpoints = await sock.page.evaluate(() =>
      performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname),
    );
    expect(endpoints.some((p) => p.startsWith('/sockjs/'))).toBe(true);
  });
});
