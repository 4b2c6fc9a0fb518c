/**
 * Who is in the room: yourself first, then one `data-testid="peer"` row per remote member with
 * its name, the live tier of the link to it (`data-link`) and whether that link is end-to-end
 * encrypted (`data-e2e` yes/no, a lock, and the pair's safety number to compare out of band).
 */
import { avatar, h, icon } from './dom.js';
import type { LinkTier } from '../src/index.js';

export interface PeerView {
  readonly id: string;
  readonly name: string;
  readonly link: LinkTier;
  /** The link is end-to-end encrypted (p2p, turn, or the relay with agreed keys). */
  readonly encrypted: boolean;
  readonly safetyNumber?: string;
}

const TIERS: Record<LinkTier, { label: string; title: string }> = {
  connecting: { label: 'connecting', title: 'Setting up a direct connection; messages use the server relay meanwhile' },
  p2p: { label: 'p2p', title: 'Direct peer-to-peer connection' },
  turn: { label: 'turn', title: 'Peer-to-peer through a TURN server' },
  relay: { label: 'relay', title: 'Through the stomprtc server relay' },
};

interface Row {
  readonly element: HTMLLIElement;
  avatar: HTMLElement;
  readonly name: HTMLElement;
  readonly tier: HTMLElement;
  readonly media: HTMLElement;
  readonly lock: HTMLElement;
  peer: PeerView;
}

export class PeerList {
  readonly element: HTMLElement;
  readonly #list: HTMLUListElement;
  readonly #count: HTMLElement;
  readonly #empty: HTMLElement;
  readonly #rows = new Map<string, Row>();
  #self: HTMLLIElement | undefined;

  constructor(shareUrl: string) {
    this.#count = h('span', { class: 'count', 'aria-label': 'members' }, '1');
    this.#list = h('ul', { class: 'peer-list', 'aria-label': 'Members' });
    // Settles by itself (a denied clipboard falls back to selecting the link), so clicks need not await it.
    const copyLink = async (): Promise<void> => {
      try {
        await navigator.clipboard.writeText(shareUrl);
        copy.lastChild!.textContent = 'Copied';
      } catch {
        // Clipboard denied (insecure origin, no focus): select the link so it can be copied by hand.
        const range = document.createRange();
        range.selectNodeContents(link);
        getSelection()?.removeAllRanges();
        getSelection()?.addRange(range);
        copy.lastChild!.textContent = 'Select & copy';
      }
      setTimeout(() => {
        copy.lastChild!.textContent = 'Copy link';
      }, 2000);
    };
    const copy = h(
      'button',
      {
        type: 'button',
        class: 'btn btn-ghost btn-small',
        'aria-label': 'Copy invite link',
        onclick: () => void copyLink(),
      },
      icon('link'),
      h('span', {}, 'Copy link'),
    );
    const link = h('code', { class: 'share-url' }, shareUrl);
    this.#empty = h(
      'div',
      { class: 'peers-empty' },
      h('p', {}, 'Nobody else is here yet. Open this room in another tab or send the link:'),
      link,
      copy,
    );
    this.element = h(
      'section',
      { class: 'panel peers', 'aria-labelledby': 'peers-title' },
      h('h2', { id: 'peers-title', class: 'panel-title' }, icon('users'), h('span', {}, 'In this room'), this.#count),
      this.#list,
      this.#empty,
    );
  }

  get size(): number {
    return this.#rows.size;
  }

  setSelf(name: string, relayOnly: boolean): void {
    this.#self?.remove();
    this.#self = h(
      'li',
      { class: 'peer self', 'aria-label': `${name} (you)` },
      avatar(name),
      h('span', { class: 'peer-name' }, name),
      h(
        'span',
        {
          class: 'tier',
          'data-tier': relayOnly ? 'relay' : 'self',
          title: relayOnly ? 'This page sends everything through the server relay' : 'This tab',
        },
        relayOnly ? 'relay only' : 'you',
      ),
    );
    this.#list.prepend(this.#self);
  }

  upsert(peer: PeerView): void {
    const row = this.#rows.get(peer.id);
    if (row) {
      this.#update(row, peer);
      return;
    }
    const name = h('span', { class: 'peer-name' });
    const tier = h('span', { class: 'tier' });
    const media = h('span', { class: 'peer-media' });
    const lock = h('span', { class: 'peer-lock', 'data-testid': 'peer-lock' });
    const face = avatar(peer.name || `Guest ${peer.id.slice(0, 4)}`);
    const element = h('li', { class: 'peer', 'data-testid': 'peer' }, face, name, media, lock, tier);
    const created: Row = { element, avatar: face, name, tier, media, lock, peer };
    this.#rows.set(peer.id, created);
    this.#list.appendChild(element);
    this.#update(created, peer);
    this.#refresh();
  }

  setLink(peerId: string, link: LinkTier): void {
    const row = this.#rows.get(peerId);
    if (row) this.#update(row, { ...row.peer, link });
  }

  /** The same member came back under a new peer id (its signaling reconnected). */
  rekey(previousId: string, peer: PeerView): void {
    const row = this.#rows.get(previousId);
    if (!row) {
      this.upsert(peer);
      return;
    }
    this.#rows.delete(previousId);
    this.#rows.set(peer.id, row);
    this.#update(row, peer);
  }

  setMedia(peerId: string, media: { video: boolean; audio: boolean; active: boolean } | undefined): void {
    const row = this.#rows.get(peerId);
    if (!row) return;
    row.media.replaceChildren();
    if (!media?.active) return;
    row.media.append(
      withLabel(icon(media.video ? 'video' : 'video-off'), media.video ? 'camera on' : 'camera off'),
      withLabel(icon(media.audio ? 'mic' : 'mic-off'), media.audio ? 'microphone on' : 'microphone muted'),
    );
  }

  remove(peerId: string): void {
    this.#rows.get(peerId)?.element.remove();
    this.#rows.delete(peerId);
    this.#refresh();
  }

  name(peerId: string): string | undefined {
    return this.#rows.get(peerId)?.peer.name || undefined;
  }

  #update(row: Row, peer: PeerView): void {
    const name = peer.name || `Guest ${peer.id.slice(0, 4)}`;
    if (peer.name !== row.peer.name) {
      const face = avatar(name);
      row.avatar.replaceWith(face);
      row.avatar = face;
    }
    row.peer = peer;
    const tier = TIERS[peer.link] ?? TIERS.connecting;
    row.element.dataset.peerId = peer.id;
    row.element.dataset.link = peer.link;
    row.element.setAttribute('aria-label', `${name}, ${tier.title.toLowerCase()}`);
    row.name.textContent = name;
    row.tier.textContent = tier.label;
    row.tier.dataset.tier = peer.link;
    row.tier.title = tier.title;
    row.element.dataset.e2e = peer.encrypted ? 'yes' : 'no';
    row.lock.textContent = peer.encrypted ? `🔒 ${peer.safetyNumber ?? ''}`.trim() : 'not encrypted';
    row.lock.dataset.safetyNumber = peer.safetyNumber ?? '';
    row.lock.title = peer.encrypted
      ? `End-to-end encrypted${peer.safetyNumber ? `; compare this safety number with ${name} out of band` : ''}`
      : 'Not end-to-end encrypted: the server can read what goes over this link';
  }

  #refresh(): void {
    this.#count.textContent = String(this.#rows.size + 1);
    this.#empty.hidden = this.#rows.size > 0;
  }
}

function withLabel(svg: SVGSVGElement, label: string): HTMLElement {
  return h('span', { class: 'media-flag', title: label }, svg, h('span', { class: 'sr-only' }, label));
}
