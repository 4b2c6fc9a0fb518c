/**
 * The stomprtc demo: join a room, see who is there and how each link is carried, chat, and call
 * with video. Uses only the public client API (client/src/index.ts).
 */
import { connect, type Room, type Session, type SessionState } from '../src/index.js';
import { CallView } from './call.js';
import { ChatView } from './chat.js';
import { h, icon } from './dom.js';
import { joinForm } from './join-form.js';
import { readOptions, serverUrl, toSearch, validRoomId, type PageOptions } from './options.js';
import { PeerList } from './peer-list.js';
import { decode, encode } from './wire.js';

const app = document.getElementById('app')!;
const toasts = document.getElementById('toasts')!;

const STATE_HINT: Record<SessionState, string> = {
  connecting: 'Connecting to the server…',
  connected: 'Connected to the signaling server',
  reconnecting: 'Connection lost, reconnecting…',
  closed: 'Disconnected',
};

function boot(): void {
  const options = readOptions(location.search);
  if (options.name && validRoomId(options.room)) void enterRoom(options);
  else showJoinForm(options);
}

function showJoinForm(options: PageOptions): void {
  document.title = 'stomprtc demo';
  // The card carries the brand; no top bar on this screen.
  app.replaceChildren(
    joinForm(options, (chosen) => {
      // The URL holds the choice, so a reload (or a shared link without the name) rejoins.
      history.replaceState(null, '', toSearch(chosen) || location.pathname);
      void enterRoom(chosen);
    }),
  );
}

function topbar(...extra: Array<Node | null>): HTMLElement {
  return h(
    'header',
    { class: 'topbar' },
    h(
      'a',
      { class: 'brand', href: location.pathname, 'aria-label': 'stomprtc demo home' },
      h('span', { class: 'logo', 'aria-hidden': 'true' }),
      h('span', {}, 'stomprtc'),
    ),
    ...extra,
  );
}

/** A notification that goes away by itself (errors stay until dismissed). */
function notify(text: string, kind: 'info' | 'error' = 'info'): void {
  const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss' }, '×');
  const toast = h(
    'div',
    { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('span', {}, text),
    close,
  );
  close.addEventListener('click', () => toast.remove());
  toasts.appendChild(toast);
  if (kind === 'info') setTimeout(() => toast.remove(), 5000);
}

async function enterRoom(options: PageOptions): Promise<void> {
  document.title = `${options.room} · stomprtc`;
  const status = h(
    'span',
    {
      class: 'status',
      'data-testid': 'status',
      'data-state': 'connecting',
      role: 'status',
      'aria-live': 'polite',
      title: STATE_HINT.connecting,
    },
    'connecting',
  );
  const setStatus = (state: SessionState) => {
    status.textContent = state;
    status.dataset.state = state;
    status.title = STATE_HINT[state];
    banner.hidden = failed || (state !== 'reconnecting' && state !== 'closed');
    bannerText.textContent =
      state === 'reconnecting'
        ? 'Lost the connection to the server. Reconnecting… Peer-to-peer links stay up meanwhile.'
        : 'Disconnected from the server.';
    reconnect.hidden = state !== 'closed';
  };
  const bannerText = h('span', {});
  const reconnect = h(
    'button',
    { type: 'button', class: 'btn btn-small', onclick: () => location.reload() },
    'Reconnect',
  );
  const banner = h('div', { class: 'banner', role: 'alert', hidden: true }, bannerText, reconnect);
  const badges = h(
    'span',
    { class: 'badges' },
    options.transport === 'sockjs' ? h('span', { class: 'badge', title: 'Signaling over SockJS' }, 'SockJS') : null,
    options.relayOnly
      ? h('span', { class: 'badge warn', title: 'Every message goes through the server relay' }, 'relay only')
      : null,
  );
  const leave = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-ghost btn-icon',
      'aria-label': 'Leave room',
      title: 'Leave room',
      onclick: () => {
        location.search = toSearch({ ...options, room: '' });
      },
    },
    icon('log-out'),
  );
  const shareUrl = `${location.origin}${location.pathname}${toSearch(options, { withName: false })}`;

  const peers = new PeerList(shareUrl);
  let room: Room | undefined;
  const chat = new ChatView((text) => {
    if (!room) return 'not in the room yet';
    try {
      room.send(encode({ type: 'chat', text, name: options.name }));
    } catch (err) {
      const message = `Message not sent: ${err instanceof Error ? err.message : String(err)}`;
      notify(message, 'error');
      return message;
    }
    chat.add({ senderId: 'self', name: options.name, text, own: true, at: new Date() });
    return undefined;
  });

  app.replaceChildren(
    topbar(
      h(
        'h1',
        { class: 'room-title' },
        h('span', { class: 'hash', 'aria-hidden': 'true' }, '#'),
        h('span', { class: 'sr-only' }, 'Room '),
        options.room,
      ),
      badges,
      status,
      leave,
    ),
    banner,
    h(
      'main',
      { class: 'layout' },
      h('div', { class: 'loading' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Joining…'),
    ),
  );
  const main = app.querySelector('main')!;
  let failed = false;
  const fail = (title: string, err: unknown) => {
    // The failure card says it all; the "disconnected" banner would only repeat it.
    failed = true;
    banner.hidden = true;
    main.replaceChildren(failure(title, err));
  };

  let session: Session;
  try {
    session = await connect(serverUrl(options.transport, location), {
      transport: options.transport,
      relayOnly: options.relayOnly,
      ...(options.debug ? { debug: (msg: string) => console.debug(`[stomprtc] ${msg}`) } : {}),
    });
  } catch (err) {
    setStatus('closed');
    fail('Could not reach the server', err);
    return;
  }
  setStatus(session.state);
  session.on('state', (state) => setStatus(state));

  try {
    room = await session.join(options.room, { name: options.name, relayOnly: options.relayOnly });
  } catch (err) {
    fail(`Could not join room “${options.room}”`, err);
    await session.close().catch(() => undefined);
    return;
  }
  const joined = room;
  // Leaving says goodbye to the others (over the data channel or the relay), so a reload shows up
  // at once as "left" and not as a member that might come back.
  addEventListener('pagehide', () => {
    void joined.leave().catch(() => undefined);
    void session.close().catch(() => undefined);
  });

  const nameOf = (peerId: string) => peers.name(peerId) ?? `Guest ${peerId.slice(0, 4)}`;
  const call = new CallView(
    joined,
    {
      nameOf,
      announce: (flags) => {
        try {
          joined.send(encode({ type: 'media', ...flags }));
        } catch {
          /* the next announce repeats it */
        }
      },
      notify: (text) => notify(text, 'error'),
    },
    options.relayOnly ? 'Video calls need peer-to-peer links; this page is relay-only.' : undefined,
  );

  peers.setSelf(options.name, options.relayOnly);
  for (const peer of joined.peers) peers.upsert(peer);

  joined.on('peer-joined', (peer) => {
    peers.upsert(peer);
    chat.notice(`${nameOf(peer.id)} joined`);
    if (call.active) {
      try {
        joined.sendTo(peer.id, encode({ type: 'media', ...call.flags }));
      } catch {
        /* it left again */
      }
    }
  });
  joined.on('peer-left', (peer, reason) => {
    const name = nameOf(peer.id);
    peers.remove(peer.id);
    call.removePeer(peer.id);
    chat.notice(reason === 'timeout' ? `${name} lost the connection` : `${name} left`);
  });
  joined.on('peer-reconnected', (peer, previousId) => {
    peers.rekey(previousId, peer);
    call.rekey(previousId, peer.id);
  });
  // A link change or agreed keys change whether the link is end-to-end encrypted: show the member anew.
  const refresh = (peerId: string) => {
    const peer = joined.peers.find((p) => p.id === peerId);
    if (peer) peers.upsert(peer);
  };
  joined.on('link-state', ({ peerId, state }) => {
    peers.setLink(peerId, state);
    refresh(peerId);
  });
  joined.on('peer-secured', (peer) => peers.upsert(peer));
  joined.on('message', ({ from, data }) => {
    // The demo sends its own framed strings and bytes; a JSON value from another app reads as its text.
    const message = decode(typeof data === 'string' || data instanceof Uint8Array ? data : JSON.stringify(data));
    switch (message.type) {
      case 'chat':
        chat.add({
          senderId: from,
          name: peers.name(from) ?? (message.name || nameOf(from)),
          text: message.text,
          own: false,
          at: new Date(),
        });
        break;
      case 'media':
        peers.setMedia(from, message);
        call.remoteFlags(from, message);
        break;
      case 'raw':
        chat.add({ senderId: from, name: nameOf(from), text: message.text, own: false, at: new Date() });
        break;
    }
  });
  joined.on('error', (err) => notify(`${err.code}: ${err.message}`, 'error'));

  main.replaceChildren(
    h('aside', { class: 'sidebar' }, peers.element, call.controls),
    h('div', { class: 'content' }, call.stage, chat.element),
  );
  chat.setEnabled(true);
  chat.focus();
}

function failure(title: string, err: unknown): HTMLElement {
  const code = (err as { code?: string } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return h(
    'div',
    { class: 'failure', role: 'alert' },
    h('h2', {}, title),
    h('p', {}, code ? `${code}: ${message}` : message),
    h('button', { type: 'button', class: 'btn btn-primary', onclick: () => location.reload() }, 'Try again'),
  );
}

boot();
