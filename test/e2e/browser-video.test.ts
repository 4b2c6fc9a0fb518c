/**
 * Video calls in the demo: two pages with Chromium's fake camera and microphone start video and
 * each plays the other's stream, carried by the peer connection (renegotiated over STOMP).
 */
import { expect, it } from 'vitest';
import { chromiumMissing } from '../helpers/chromium.js';
import { describeWith } from '../helpers/requirements.js';
import { roomId, useDemoWorld, UI_WAIT_MS, type DemoPage } from '../helpers/demo-page.js';

/** Waits until a remote video has frames and its clock moves: a stream that really plays. */
async function waitForPlayingRemoteVideo(page: DemoPage, count = 1): Promise<void> {
  const snapshot = () =>
    page.page.$$eval('video[data-testid=remote-video]', (videos) =>
      (videos as HTMLVideoElement[]).map((v) => ({
        width: v.videoWidth,
        height: v.videoHeight,
        time: v.currentTime,
        paused: v.paused,
      })),
    );
  try {
    await page.page.waitForFunction(
      (n) => {
        const videos = [...document.querySelectorAll<HTMLVideoElement>('video[data-testid=remote-video]')];
        return (
          videos.length === n &&
          videos.every((v) => v.videoWidth > 0 && v.videoHeight > 0 && v.currentTime > 0 && !v.paused)
        );
      },
      count,
      { timeout: UI_WAIT_MS, polling: 100 },
    );
  } catch (err) {
    throw new Error(
      `${page.name}: no playing remote video within ${UI_WAIT_MS} ms: ${JSON.stringify(await snapshot())}\n${page.watched.log.slice(-20).join('\n')}`,
      { cause: err },
    );
  }
  const before = await snapshot();
  await page.page.waitForFunction(
    (times) => {
      const videos = [...document.querySelectorAll<HTMLVideoElement>('video[data-testid=remote-video]')];
      return videos.every((v, i) => v.currentTime > times[i]! + 0.3);
    },
    before.map((v) => v.time),
    { timeout: 10_000, polling: 100 },
  );
  const after = await snapshot();
  expect(after.every((v, i) => v.time > before[i]!.time)).toBe(true);
}

describeWith(chromiumMissing, 'demo app in Chromium: video call', () => {
  // Every page of every test is checked for console errors and uncaught exceptions.
  const world = useDemoWorld();

  it("two pages with the fake camera each play the other's video; stopping removes the tile, starting again brings it back", async () => {
    const room = roomId('video');
    const ann = await world().open('ann', `room=${room}&name=Ann`);
    const bob = await world().open('bob', `room=${room}&name=Bob`);
    await ann.waitForPeers(1, 'p2p');
    await bob.waitForPeers(1, 'p2p');

    const call = ann.page.getByTestId('call');
    expect(await call.isEnabled(), `the call button is disabled: ${await call.getAttribute('title')}`).toBe(true);
    await call.click();
    await bob.page.getByTestId('call').click();
    // Pressed once the camera is on (getUserMedia resolved).
    await ann.page.waitForSelector('[data-testid=call][aria-pressed=true]', { timeout: UI_WAIT_MS });
    await bob.page.waitForSelector('[data-testid=call][aria-pressed=true]', { timeout: UI_WAIT_MS });

    await waitForPlayingRemoteVideo(ann);
    await waitForPlayingRemoteVideo(bob);
    expect(await bob.page.getByTestId('remote-video').getAttribute('aria-label')).toBe('Video from Ann');

    // Ann turns her camera off: Bob's tile says so (the demo tells the room over the data channel).
    await ann.page.getByRole('button', { name: 'Turn camera off' }).click();
    await bob.page.waitForSelector('.tile.camera-off [data-testid=remote-video]', {
      timeout: UI_WAIT_MS,
      state: 'attached',
    });
    await ann.page.getByRole('button', { name: 'Mute microphone' }).click();
    await bob.page.waitForSelector('.tile .tile-flags .icon', { timeout: UI_WAIT_MS, state: 'attached' });

    // Ann stops: her tile leaves Bob's page, and Bob's video keeps playing on Ann's.
    await call.click();
    await bob.page.waitForFunction(() => document.querySelectorAll('[data-testid=remote-video]').length === 0, null, {
      timeout: UI_WAIT_MS,
    });
    await waitForPlayingRemoteVideo(ann);

    // And starts again: a new stream on the same peer connection (renegotiated) reaches Bob.
    await call.click();
    await waitForPlayingRemoteVideo(bob);
  });
});
