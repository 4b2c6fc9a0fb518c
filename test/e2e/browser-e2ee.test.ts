/**
 * The demo app in headless Chromium: each member is shown with a lock and the pair's safety number
 * when its link is end-to-end encrypted, on a data channel and on the encrypted relay alike.
 */
import { expect, it } from 'vitest';
import { chromiumMissing } from '../helpers/chromium.js';
import { describeWith } from '../helpers/requirements.js';
import { roomId, useDemoWorld, UI_WAIT_MS, type DemoPage } from '../helpers/demo-page.js';

/** The lock cell of the only member a page lists, once it shows a safety number. */
async function lockOf(page: DemoPage): Promise<{ e2e: string; safetyNumber: string; text: string }> {
  await page.page.waitForFunction(
    () => {
      const lock = document.querySelector('[data-testid=peer-lock]');
      return (lock?.getAttribute('data-safety-number') ?? '') !== '';
    },
    undefined,
    { timeout: UI_WAIT_MS },
  );
  return page.page.$eval('[data-testid=peer]', (row) => {
    const lock = row.querySelector('[data-testid=peer-lock]')!;
    return {
      e2e: row.getAttribute('data-e2e') ?? '',
      safetyNumber: lock.getAttribute('data-safety-number') ?? '',
      text: lock.textContent ?? '',
    };
  });
}

describeWith(chromiumMissing, 'demo app in Chromium: end-to-end encryption', () => {
  const world = useDemoWorld();

  for (const mode of ['relay', 'p2p'] as const) {
    it(`shows the lock and the same safety number on both pages (${mode})`, async () => {
      const room = roomId(`e2ee-${mode}`);
      const query = mode === 'relay' ? '&mode=relay' : '';
      const ann = await world().open('ann', `room=${room}&name=Ann${query}`);
      await ann.waitForStatus('connected');
      const bob = await world().open('bob', `room=${room}&name=Bob${query}`);
      await ann.waitForPeers(1, mode);
      await bob.waitForPeers(1, mode);
      const [annLock, bobLock] = await Promise.all([lockOf(ann), lockOf(bob)]);
      expect(annLock.e2e).toBe('yes');
      expect(bobLock.e2e).toBe('yes');
      expect(annLock.safetyNumber).toMatch(/^\d{5} \d{5} \d{5} \d{5}$/);
      expect(annLock.safetyNumber).toBe(bobLock.safetyNumber);
      expect(annLock.text).toBe(`🔒 ${annLock.safetyNumber}`);
      await ann.send(`sealed over ${mode}`);
      await bob.waitForMessage(['Ann', `sealed over ${mode}`]);
    });
  }
});
