/**
 * A page that reloads comes back as a new member and the room's presence stays right: the other
 * page shows exactly one peer again, under the new peer id, and the old id is gone (no ghost).
 */
import { expect, it } from 'vitest';
import { chromiumMissing } from '../helpers/chromium.js';
import { describeWith } from '../helpers/requirements.js';
import { roomId, useDemoWorld } from '../helpers/demo-page.js';

describeWith(chromiumMissing, 'demo app in Chromium: reload', () => {
  // Every page of every test is checked for console errors and uncaught exceptions.
  const world = useDemoWorld();

  it('a reloaded page rejoins; the other page shows one peer with the new id and no ghost', async () => {
    const room = roomId('reload');
    const ann = await world().open('ann', `room=${room}&name=Ann`);
    const bob = await world().open('bob', `room=${room}&name=Bob`);
    const [before] = await ann.waitForPeers(1, 'p2p');
    await bob.waitForPeers(1, 'p2p');

    await bob.page.reload();
    await bob.waitForStatus('connected');
    const [bobSees] = await bob.waitForPeers(1, 'p2p');
    expect(bobSees!.name).toBe('Ann');

    // The old Bob leaves (he says bye on pagehide) and the new one arrives: one row, new id.
    await ann.page.waitForFunction(
      (oldId) => {
        const rows = [...document.querySelectorAll('[data-testid=peer]')];
        return (
          rows.length === 1 &&
          rows[0]!.getAttribute('data-peer-id') !== oldId &&
          rows[0]!.getAttribute('data-link') === 'p2p'
        );
      },
      before!.id,
      { timeout: 20_000, polling: 100 },
    );
    const [after] = await ann.peers();
    expect(after!.name).toBe('Bob');
    expect(after!.id).not.toBe(before!.id);

    await bob.send('back again');
    await ann.waitForMessage(['Bob', 'back again']);
    await ann.send('welcome back');
    await bob.waitForMessage(['Ann', 'welcome back']);

    // And it stays that way: no late peer-joined or timeout brings a ghost back.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await ann.peers()).map((p) => p.id)).toEqual([after!.id]);
  });
});
