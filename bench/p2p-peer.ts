/**
 * One peer of bench/join-to-channel.ts in a process of its own, as each member of a real room runs
 * on its own machine: its wrtc peer connections and its event loop are its own. Driven over the
 * IPC channel of fork(); times are taken here, in the peer's own clock.
 *
 *   → { cmd: 'join', url, room, name, links }   connects, joins, and waits for `links` links on p2p
 *   ← { ev: 'joined', linkMs: number[] }         each link's join() call → p2p, in ms
 *   → { cmd: 'leave' }                           closes the session
 *   ← { ev: 'left' }
 */
// Before anything makes a peer connection: @roamhq/wrtc can crash a process that closed some (see there).
import '../test/helpers/wrtc-finalizers.js';
import wrtc from '@roamhq/wrtc';
import type { Session } from '../client/src/index.js';
import { compiledClient } from './compiled.js';

const { connect } = await compiledClient();

export type PeerCommand = { cmd: 'join'; url: string; room: string; name: string; links: number } | { cmd: 'leave' };
export type PeerReply = { ev: 'joined'; linkMs: number[] } | { ev: 'left' };

let session: Session | undefined;

function reply(message: PeerReply): void {
  process.send!(message);
}

async function join(command: Extract<PeerCommand, { cmd: 'join' }>): Promise<void> {
  session = await connect(command.url, { wrtc });
  const joinedAt = performance.now();
  const room = await session.join(command.room, { name: command.name });
  const linkMs: number[] = [];
  if (command.links > 0) {
    await new Promise<void>((resolve) => {
      room.on('link-state', ({ state }) => {
        if (state !== 'p2p') return;
        linkMs.push(performance.now() - joinedAt);
        if (linkMs.length === command.links) resolve();
      });
    });
  }
  reply({ ev: 'joined', linkMs });
}

process.on('message', (command: PeerCommand) => {
  const done =
    command.cmd === 'join'
      ? join(command)
      : (session?.close() ?? Promise.resolve()).then(() => {
          session = undefined;
          reply({ ev: 'left' });
        });
  done.catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
});
// The parent going away ends the peer.
process.on('disconnect', () => process.exit(0));
