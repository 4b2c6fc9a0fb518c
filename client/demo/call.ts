/**
 * Video calls: camera and microphone on or off, a tile per remote member that sends media, mute
 * toggles. Media travels on the room's peer connections (TURN where needed) through the
 * library's media API (room.setLocalStream, the 'stream' event); on a relay-only page the call
 * button says why it cannot start.
 */
import { h, icon } from './dom.js';
import type { Room } from '../src/index.js';

export interface MediaFlags {
  readonly video: boolean;
  readonly audio: boolean;
  readonly active: boolean;
}

interface Tile {
  readonly element: HTMLElement;
  readonly video: HTMLVideoElement;
  readonly label: HTMLElement;
  readonly indicators: HTMLElement;
  readonly muteButton: HTMLButtonElement;
  stream: MediaStream | null;
  /** What the member last announced; undefined until it does. */
  announced: MediaFlags | undefined;
}

export interface CallHost {
  /** The current display name of a member. */
  nameOf(peerId: string): string;
  /** Tell the room what our camera and microphone do now. */
  announce(flags: MediaFlags): void;
  notify(text: string): void;
}

export class CallView {
  /** The call controls (sidebar). */
  readonly controls: HTMLElement;
  /** The video stage (hidden while nobody sends video). */
  readonly stage: HTMLElement;
  readonly #callButton: HTMLButtonElement;
  readonly #micButton: HTMLButtonElement;
  readonly #camButton: HTMLButtonElement;
  readonly #grid: HTMLElement;
  readonly #tiles = new Map<string, Tile>();
  #local: { stream: MediaStream; tile: HTMLElement } | undefined;
  #starting = false;

  readonly #room: Room;
  readonly #host: CallHost;

  constructor(room: Room, host: CallHost, unavailable?: string) {
    this.#room = room;
    this.#host = host;
    const reason = unavailable;
    this.#callButton = h(
      'button',
      {
        type: 'button',
        class: 'btn btn-primary btn-call',
        'data-testid': 'call',
        'aria-pressed': 'false',
        disabled: reason !== undefined,
        title: reason ?? 'Start your camera and microphone',
        onclick: () => void (this.#local ? this.stop() : this.start()),
      },
      icon('video'),
      h('span', {}, 'Start video'),
    );
    this.#micButton = h(
      'button',
      {
        type: 'button',
        class: 'btn btn-round',
        'aria-label': 'Mute microphone',
        'aria-pressed': 'false',
        hidden: true,
        onclick: () => this.#toggle('audio'),
      },
      icon('mic'),
    );
    this.#camButton = h(
      'button',
      {
        type: 'button',
        class: 'btn btn-round',
        'aria-label': 'Turn camera off',
        'aria-pressed': 'false',
        hidden: true,
        onclick: () => this.#toggle('video'),
      },
      icon('video'),
    );
    this.controls = h(
      'section',
      { class: 'panel call-controls', 'aria-label': 'Call' },
      this.#callButton,
      h('div', { class: 'toggles' }, this.#micButton, this.#camButton),
      reason ? h('p', { class: 'hint' }, reason) : null,
    );
    this.#grid = h('div', { class: 'video-grid' });
    this.stage = h('section', { class: 'stage', 'aria-label': 'Video', hidden: true }, this.#grid);
    room.on('stream', ({ peerId, stream }) => this.#remoteStream(peerId, stream));
  }

  get active(): boolean {
    return this.#local !== undefined;
  }

  get flags(): MediaFlags {
    const stream = this.#local?.stream;
    return {
      active: stream !== undefined,
      video: stream?.getVideoTracks().some((t) => t.enabled) ?? false,
      audio: stream?.getAudioTracks().some((t) => t.enabled) ?? false,
    };
  }

  async start(): Promise<void> {
    if (this.#local || this.#starting) return;
    this.#starting = true;
    this.#callButton.disabled = true;
    try {
      const stream = await getMedia();
      const video = h('video', {
        class: 'tile-video mirror',
        autoplay: true,
        playsinline: true,
        'aria-label': 'Your camera',
      });
      video.muted = true;
      video.srcObject = stream;
      playQuietly(video);
      const tile = h('figure', { class: 'tile local' }, video, h('figcaption', {}, h('span', {}, 'You')));
      this.#local = { stream, tile };
      this.#grid.prepend(tile);
      this.#room.setLocalStream(stream);
      this.#sync();
      this.#host.announce(this.flags);
    } catch (err) {
      this.#host.notify(mediaErrorText(err));
    } finally {
      this.#starting = false;
      this.#callButton.disabled = false;
    }
  }

  stop(): void {
    const local = this.#local;
    if (!local) return;
    this.#local = undefined;
    this.#room.setLocalStream(null);
    for (const track of local.stream.getTracks()) track.stop();
    local.tile.remove();
    this.#sync();
    this.#host.announce(this.flags);
  }

  /** A member announced its media state (wire.ts MediaState). */
  remoteFlags(peerId: string, flags: MediaFlags): void {
    if (!flags.active) {
      this.removePeer(peerId);
      return;
    }
    // A member that stops and starts again may never have paused its stream (the last frame
    // stays until new ones come), so its tile comes back on its word, with the stream it has.
    const stream = this.#tiles.has(peerId) ? undefined : this.#room.remoteStream(peerId);
    if (stream) this.#remoteStream(peerId, stream);
    const tile = this.#tiles.get(peerId);
    if (!tile) return;
    tile.announced = flags;
    this.#renderFlags(tile);
  }

  rekey(previousId: string, peerId: string): void {
    const tile = this.#tiles.get(previousId);
    if (!tile) return;
    this.#tiles.delete(previousId);
    this.#tiles.set(peerId, tile);
    tile.element.dataset.peerId = peerId;
  }

  rename(peerId: string): void {
    const tile = this.#tiles.get(peerId);
    if (tile) this.#renderFlags(tile);
  }

  removePeer(peerId: string): void {
    const tile = this.#tiles.get(peerId);
    if (!tile) return;
    tile.video.srcObject = null;
    tile.element.remove();
    this.#tiles.delete(peerId);
    this.#sync();
  }

  #remoteStream(peerId: string, stream: MediaStream | null): void {
    if (!stream) {
      this.removePeer(peerId);
      return;
    }
    let tile = this.#tiles.get(peerId);
    if (!tile) {
      tile = this.#createTile(peerId);
      this.#tiles.set(peerId, tile);
      this.#grid.appendChild(tile.element);
    }
    if (tile.stream !== stream) {
      tile.stream = stream;
      tile.video.srcObject = stream;
      playWithFallback(tile.video, () => this.#renderFlags(tile));
    }
    this.#renderFlags(tile);
    this.#sync();
  }

  #createTile(peerId: string): Tile {
    const video = h('video', { class: 'tile-video', 'data-testid': 'remote-video', autoplay: true, playsinline: true });
    const label = h('span', {});
    const indicators = h('span', { class: 'tile-flags' });
    const muteButton = h('button', {
      type: 'button',
      class: 'btn btn-round btn-overlay',
      'aria-pressed': 'false',
      onclick: () => {
        video.muted = !video.muted;
        if (!video.muted) playQuietly(video);
        this.#renderFlags(tile);
      },
    });
    const element = h(
      'figure',
      { class: 'tile', 'data-peer-id': peerId },
      video,
      h('figcaption', {}, label, indicators),
      muteButton,
    );
    const tile: Tile = { element, video, label, indicators, muteButton, stream: null, announced: undefined };
    return tile;
  }

  #renderFlags(tile: Tile): void {
    const peerId = tile.element.dataset.peerId!;
    const name = this.#host.nameOf(peerId);
    tile.label.textContent = name;
    tile.video.setAttribute('aria-label', `Video from ${name}`);
    tile.element.classList.toggle('camera-off', tile.announced?.video === false);
    tile.indicators.replaceChildren(...(tile.announced?.audio === false ? [icon('mic-off')] : []));
    tile.muteButton.replaceChildren(icon(tile.video.muted ? 'volume-x' : 'volume'));
    tile.muteButton.setAttribute('aria-label', tile.video.muted ? `Unmute ${name}` : `Mute ${name}`);
    tile.muteButton.setAttribute('aria-pressed', String(tile.video.muted));
  }

  #toggle(kind: 'audio' | 'video'): void {
    const stream = this.#local?.stream;
    if (!stream) return;
    const tracks = kind === 'audio' ? stream.getAudioTracks() : stream.getVideoTracks();
    const enable = !tracks.some((t) => t.enabled);
    for (const track of tracks) track.enabled = enable;
    this.#local!.tile.classList.toggle('camera-off', !this.flags.video);
    this.#sync();
    this.#host.announce(this.flags);
  }

  /** Buttons and stage follow the state. */
  #sync(): void {
    const flags = this.flags;
    this.#callButton.setAttribute('aria-pressed', String(flags.active));
    this.#callButton.classList.toggle('btn-danger', flags.active);
    this.#callButton.classList.toggle('btn-primary', !flags.active);
    this.#callButton.replaceChildren(
      icon(flags.active ? 'video-off' : 'video'),
      h('span', {}, flags.active ? 'Stop video' : 'Start video'),
    );
    this.#callButton.title = flags.active ? 'Stop your camera and microphone' : 'Start your camera and microphone';
    const hasAudio = (this.#local?.stream.getAudioTracks().length ?? 0) > 0;
    const hasVideo = (this.#local?.stream.getVideoTracks().length ?? 0) > 0;
    this.#micButton.hidden = !hasAudio;
    this.#camButton.hidden = !hasVideo;
    this.#micButton.setAttribute('aria-pressed', String(!flags.audio));
    this.#micButton.setAttribute('aria-label', flags.audio ? 'Mute microphone' : 'Unmute microphone');
    this.#micButton.replaceChildren(icon(flags.audio ? 'mic' : 'mic-off'));
    this.#micButton.classList.toggle('off', !flags.audio);
    this.#camButton.setAttribute('aria-pressed', String(!flags.video));
    this.#camButton.setAttribute('aria-label', flags.video ? 'Turn camera off' : 'Turn camera on');
    this.#camButton.replaceChildren(icon(flags.video ? 'video' : 'video-off'));
    this.#camButton.classList.toggle('off', !flags.video);
    const tiles = this.#tiles.size + (this.#local ? 1 : 0);
    this.stage.hidden = tiles === 0;
    this.#grid.dataset.count = String(tiles);
  }
}

/** Camera and microphone; the camera alone, or the microphone alone, when only one exists. */
async function getMedia(): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) throw new Error('insecure');
  const video = { width: { ideal: 1280 }, height: { ideal: 720 } };
  try {
    return await navigator.mediaDevices.getUserMedia({ video, audio: true });
  } catch (err) {
    if (!(err instanceof DOMException) || err.name !== 'NotFoundError') throw err;
  }
  try {
    return await navigator.mediaDevices.getUserMedia({ video });
  } catch {
    return navigator.mediaDevices.getUserMedia({ audio: true });
  }
}

function mediaErrorText(err: unknown): string {
  const name = err instanceof DOMException ? err.name : '';
  if (name === 'NotAllowedError')
    return 'Camera and microphone access was denied. Allow it in the browser to start video.';
  if (name === 'NotFoundError') return 'No camera or microphone was found.';
  if (name === 'NotReadableError') return 'The camera or microphone is in use by another application.';
  if (err instanceof Error && err.message === 'insecure')
    return 'Video needs a secure page: open the demo over https or on localhost.';
  return `Could not start video: ${err instanceof Error ? err.message : String(err)}`;
}

/** play() rejects when a newer srcObject interrupts it; that is not an error worth showing. */
function playQuietly(video: HTMLVideoElement): void {
  video.play().catch(() => undefined);
}

/** Browsers refuse unmuted autoplay without a user gesture: fall back to muted, offer unmute. */
function playWithFallback(video: HTMLVideoElement, changed: () => void): void {
  video.play().catch((err: unknown) => {
    if (err instanceof DOMException && err.name === 'NotAllowedError') {
      video.muted = true;
      changed();
      playQuietly(video);
    }
  });
}
