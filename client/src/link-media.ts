/**
 * Audio and video on one peer connection of a link. Every connection reserves one audio and one
 * video transceiver in its first negotiation, so media starts and stops with replaceTrack() and
 * never renegotiates (no offer glare when both ends start at once).
 */
type MediaKind = 'audio' | 'video';
const MEDIA_KINDS: readonly MediaKind[] = ['audio', 'video'];

export class LinkMedia {
  #localStream: MediaStream | null;
  readonly #changed: (stream: MediaStream | null) => void;
  readonly #debug: (msg: string) => void;
  /** Non-null while the remote's media flows. */
  #remoteStream: MediaStream | null = null;
  /** The audio and video transceivers of the current connection, once known. */
  #transceivers: Partial<Record<MediaKind, RTCRtpTransceiver>> = {};

  /** changed: the remote's media started (a stream) or stopped (null). */
  constructor(
    localStream: MediaStream | null,
    changed: (stream: MediaStream | null) => void,
    debug: (msg: string) => void,
  ) {
    this.#localStream = localStream;
    this.#changed = changed;
    this.#debug = debug;
  }

  get remoteStream(): MediaStream | null {
    return this.#remoteStream;
  }

  /** Sends this stream's first audio and first video track (null: sends none). */
  setLocalStream(stream: MediaStream | null): void {
    this.#localStream = stream;
    this.#applyLocal();
  }

  /**
   * The initiator adds a sendrecv audio and video transceiver before its first offer (simple-peer
   * creates the offer in a microtask); the answerer adopts the matching transceivers as their
   * track events arrive, before simple-peer creates the answer, and answers sendrecv.
   * current: false once the connection was replaced or the link destroyed.
   */
  reserve(pc: RTCPeerConnection, initiator: boolean, current: () => boolean): void {
    if (typeof MediaStream !== 'function' || typeof pc.addTransceiver !== 'function') return;
    try {
      if (initiator) {
        for (const kind of MEDIA_KINDS) this.#adopt(kind, pc.addTransceiver(kind, { direction: 'sendrecv' }), current);
        return;
      }
      pc.addEventListener('track', (e: RTCTrackEvent) => {
        const kind = e.track.kind as MediaKind;
        if (!current() || !MEDIA_KINDS.includes(kind) || this.#transceivers[kind]) return;
        e.transceiver.direction = 'sendrecv';
        this.#adopt(kind, e.transceiver, current);
      });
    } catch (err) {
      this.#debug(`no media on this connection: ${String(err)}`);
    }
  }

  /** The connection is gone: its transceivers with it. */
  reset(): void {
    this.#transceivers = {};
    this.#remoteChanged();
  }

  #adopt(kind: MediaKind, transceiver: RTCRtpTransceiver, current: () => boolean): void {
    this.#transceivers[kind] = transceiver;
    // A received track is muted until packets arrive, and muted again when they stop.
    const changed = () => {
      if (current()) this.#remoteChanged();
    };
    transceiver.receiver.track.addEventListener('unmute', changed);
    transceiver.receiver.track.addEventListener('mute', changed);
    this.#applyLocal();
    this.#remoteChanged();
  }

  #applyLocal(): void {
    for (const kind of MEDIA_KINDS) {
      const sender = this.#transceivers[kind]?.sender;
      const track = this.#localStream?.getTracks().find((t) => t.kind === kind) ?? null;
      if (!sender || sender.track === track) continue;
      sender.replaceTrack(track).catch((err: unknown) => this.#debug(`${kind} track not replaced: ${String(err)}`));
    }
  }

  #remoteChanged(): void {
    const tracks = MEDIA_KINDS.flatMap((kind) => this.#transceivers[kind]?.receiver.track ?? []);
    const flowing = tracks.some((t) => !t.muted && t.readyState === 'live');
    if (flowing === (this.#remoteStream !== null)) return;
    this.#remoteStream = flowing ? new MediaStream(tracks) : null;
    this.#changed(this.#remoteStream);
  }
}
