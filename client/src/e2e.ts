/**
 * End-to-end encryption of relayed envelopes (docs/protocol.md §12). A Room owns one Keyring: an
 * ephemeral ECDH key pair per curve (X25519 where the runtime has it, P-256 always), made when the
 * room is created and forgotten when it is left. Hellos carry the public keys; each pair of
 * members derives per-direction AES-GCM keys with HKDF-SHA-256 over the ECDH secret, bound to both
 * client ids, both public keys and, when set, the room passphrase.
 *
 * Sealed relay frame: "SRTC1 " + {"k":"e","c":<sender client id>,"q":<frame counter>} + "\n" +
 * base64(AES-GCM(inner envelope as its relay text)). The header text is the AAD; the nonce is the
 * direction byte and the counter, which never repeats for the life of the key (one per Room).
 */
import { E2E_PBKDF2_ITERATIONS, E2E_REPLAY_WINDOW } from './limits.js';

export type Curve = 'X25519' | 'P-256';

/** Public keys a hello offers (wire `kx`, `kp`: raw keys in base64). */
export interface OfferedKeys {
  readonly x?: string;
  readonly p?: string;
}

/** Why a sealed frame was not opened. */
export type OpenFailure = 'E2E_TAMPERED' | 'E2E_REPLAY';

const SEALED_PREFIX = 'SRTC1 {"k":"e",';
const LABEL = 'stomprtc-e2e-v1';
const CONFIRM_TEXT = new TextEncoder().encode(`${LABEL} key confirmation`);
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Keys of one pair of members, for one pair of public keys. */
export class PairKeys {
  readonly curve: Curve;
  /** Short number both members see alike (from both public keys), to compare out of band. */
  readonly safetyNumber: string;
  /** The member's hello confirmed the same keys (its confirmation tag verified). */
  confirmed = false;
  /** The confirmation failed: the passphrases differ or someone swapped the keys. */
  mismatched = false;
  readonly #send: CryptoKey;
  readonly #receive: CryptoKey;
  readonly #confirmOut: Uint8Array;
  readonly #confirmIn: Uint8Array;
  readonly #direction: number;
  #highest = 0;
  readonly #seen = new Set<number>();

  constructor(
    curve: Curve,
    safetyNumber: string,
    keys: { send: CryptoKey; receive: CryptoKey },
    confirm: { out: Uint8Array; in: Uint8Array },
    direction: number,
  ) {
    this.curve = curve;
    this.safetyNumber = safetyNumber;
    this.#send = keys.send;
    this.#receive = keys.receive;
    this.#confirmOut = confirm.out;
    this.#confirmIn = confirm.in;
    this.#direction = direction;
  }

  /** Our confirmation tag for the member's hello (wire `m`). */
  get confirmation(): string {
    return bytesToBase64(this.#confirmOut);
  }

  /** True when the member's tag proves it derived the same keys. */
  verify(tag: string): boolean {
    let theirs: Uint8Array;
    try {
      theirs = base64ToBytes(tag);
    } catch {
      return false;
    }
    if (theirs.length !== this.#confirmIn.length) return false;
    let diff = 0;
    for (let i = 0; i < theirs.length; i++) diff |= theirs[i]! ^ this.#confirmIn[i]!;
    return diff === 0;
  }

  async seal(from: string, counter: number, inner: string): Promise<string> {
    const head = `${SEALED_PREFIX}"c":${JSON.stringify(from)},"q":${counter}}`;
    const sealed = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv: nonce(this.#direction, counter), additionalData: encoder.encode(head) },
      this.#send,
      encoder.encode(inner),
    );
    return `${head}\n${bytesToBase64(new Uint8Array(sealed))}`;
  }

  /** The inner envelope's text, or why the frame was dropped. Records the counter (replay). */
  async open(frame: SealedFrame): Promise<{ inner: string } | { failure: OpenFailure }> {
    if (this.#seen.has(frame.counter) || frame.counter <= this.#highest - E2E_REPLAY_WINDOW)
      return { failure: 'E2E_REPLAY' };
    let plain: ArrayBuffer;
    try {
      plain = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: nonce(1 - this.#direction, frame.counter), additionalData: encoder.encode(frame.head) },
        this.#receive,
        base64ToBytes(frame.body),
      );
      // A replay racing the first copy through decrypt: the later one loses.
      if (this.#seen.has(frame.counter)) return { failure: 'E2E_REPLAY' };
      this.#remember(frame.counter);
      return { inner: decoder.decode(plain) };
    } catch {
      return { failure: 'E2E_TAMPERED' };
    }
  }

  #remember(counter: number): void {
    this.#seen.add(counter);
    if (counter > this.#highest) this.#highest = counter;
    if (this.#seen.size > E2E_REPLAY_WINDOW) {
      for (const seen of this.#seen) if (seen <= this.#highest - E2E_REPLAY_WINDOW) this.#seen.delete(seen);
    }
  }
}

/** The clear parts of a sealed relay frame. */
export interface SealedFrame {
  readonly head: string;
  readonly from: string;
  readonly counter: number;
  readonly body: string;
}

/** A sealed frame's parts, or undefined when the text is not one. */
export function readSealed(frame: string | Uint8Array): SealedFrame | undefined {
  if (typeof frame !== 'string' || !frame.startsWith(SEALED_PREFIX)) return undefined;
  const nl = frame.indexOf('\n');
  if (nl < 0) return undefined;
  const head = frame.slice(0, nl);
  try {
    const h = JSON.parse(head.slice('SRTC1 '.length)) as { c?: unknown; q?: unknown };
    if (typeof h.c !== 'string' || !Number.isSafeInteger(h.q) || (h.q as number) < 1) return undefined;
    return { head, from: h.c, counter: h.q as number, body: frame.slice(nl + 1) };
  } catch {
    return undefined;
  }
}

interface LocalKey {
  readonly pair: CryptoKeyPair;
  readonly raw: string;
}

/** One Room's ephemeral keys, the pair keys derived from them, and the sealed-frame counter. */
export class Keyring {
  readonly ready: Promise<void>;
  readonly passphraseSet: boolean;
  #offered: OfferedKeys = {};
  readonly #keys = new Map<Curve, LocalKey>();
  readonly #pairs = new Map<string, Promise<PairKeys>>();
  readonly #cid: string;
  readonly #passphraseKey: Promise<Uint8Array<ArrayBuffer>>;
  /** One counter for every frame this room seals: a nonce is never used twice under one key. */
  #counter = 0;

  #settled = false;

  /** enabled = false: no keys are offered, so every link's relay stays in clear (benchmarks). */
  constructor(cid: string, roomId: string, passphrase: string | undefined, enabled = true) {
    this.#cid = cid;
    this.passphraseSet = passphrase !== undefined && passphrase !== '';
    this.#passphraseKey = stretch(this.passphraseSet ? passphrase! : undefined, roomId);
    this.ready = (enabled ? this.#generate() : Promise.resolve()).then(() => {
      this.#settled = true;
    });
    this.ready.catch(() => undefined);
  }

  /** Our public keys, for our hellos (empty until ready, and when disabled). */
  get offered(): OfferedKeys {
    return this.#offered;
  }

  /** The keys are made (or none will be): hellos can go out. */
  get settled(): boolean {
    return this.#settled;
  }

  nextCounter(): number {
    return ++this.#counter;
  }

  /** The pair keys toward a member with these offered keys; undefined when we share no curve. */
  pair(peerCid: string, theirs: OfferedKeys): Promise<PairKeys> | undefined {
    const curve: Curve | undefined = theirs.x && this.#keys.has('X25519') ? 'X25519' : theirs.p ? 'P-256' : undefined;
    if (!curve) return undefined;
    const peerRaw = curve === 'X25519' ? theirs.x! : theirs.p!;
    const id = `${peerCid} ${curve} ${peerRaw}`;
    let pair = this.#pairs.get(id);
    if (!pair) {
      pair = this.#derive(peerCid, curve, peerRaw);
      this.#pairs.set(id, pair);
    }
    return pair;
  }

  async #generate(): Promise<void> {
    const offered: { x?: string; p?: string } = {};
    try {
      const x = (await crypto.subtle.generateKey({ name: 'X25519' }, true, ['deriveBits'])) as CryptoKeyPair;
      const raw = bytesToBase64(new Uint8Array(await crypto.subtle.exportKey('raw', x.publicKey)));
      this.#keys.set('X25519', { pair: x, raw });
      offered.x = raw;
    } catch {
      // No X25519 in this runtime: P-256 alone.
    }
    const p = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
    const raw = bytesToBase64(new Uint8Array(await crypto.subtle.exportKey('raw', p.publicKey)));
    this.#keys.set('P-256', { pair: p, raw });
    offered.p = raw;
    this.#offered = offered;
  }

  async #derive(peerCid: string, curve: Curve, peerRaw: string): Promise<PairKeys> {
    await this.ready;
    const local = this.#keys.get(curve)!;
    const algorithm = curve === 'X25519' ? { name: 'X25519' } : { name: 'ECDH', namedCurve: 'P-256' };
    const peerKey = await crypto.subtle.importKey('raw', base64ToBytes(peerRaw), algorithm, false, []);
    const shared = await crypto.subtle.deriveBits(
      { name: curve === 'X25519' ? 'X25519' : 'ECDH', public: peerKey },
      local.pair.privateKey,
      256,
    );
    // The member with the lower client id is "low": both sides order the transcript alike.
    const weAreLow = this.#cid < peerCid;
    const [lowCid, highCid] = weAreLow ? [this.#cid, peerCid] : [peerCid, this.#cid];
    const [lowKey, highKey] = weAreLow ? [local.raw, peerRaw] : [peerRaw, local.raw];
    const transcript = `${LABEL}|${curve}|${lowCid}|${highCid}|${lowKey}|${highKey}`;
    const ikm = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveBits']);
    const bits = new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: 'HKDF', hash: 'SHA-256', salt: await this.#passphraseKey, info: encoder.encode(transcript) },
        ikm,
        4 * 256,
      ),
    );
    const part = (i: number) => bits.slice(i * 32, (i + 1) * 32);
    // The rest depends on the HKDF output alone: one round of the crypto thread pool, not three.
    const [lowToHigh, highToLow, confirmLow, confirmHigh, safety] = await Promise.all([
      aesKey(part(0)),
      aesKey(part(1)),
      confirmation(part(2)),
      confirmation(part(3)),
      safetyNumber(lowKey, highKey),
    ]);
    const keys = weAreLow ? { send: lowToHigh, receive: highToLow } : { send: highToLow, receive: lowToHigh };
    const confirm = weAreLow ? { out: confirmLow, in: confirmHigh } : { out: confirmHigh, in: confirmLow };
    return new PairKeys(curve, safety, keys, confirm, weAreLow ? 0 : 1);
  }
}

function aesKey(raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
}

/** A member's key confirmation: HMAC-SHA-256 of CONFIRM_TEXT under its confirmation key, 16 bytes. */
async function confirmation(raw: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, CONFIRM_TEXT)).slice(0, 16);
}

/** The passphrase stretched (PBKDF2, salted with the room id) into the HKDF salt; zeros without one. */
async function stretch(passphrase: string | undefined, roomId: string): Promise<Uint8Array<ArrayBuffer>> {
  if (passphrase === undefined) return new Uint8Array(32);
  const base = await crypto.subtle.importKey('raw', encoder.encode(passphrase.normalize('NFC')), 'PBKDF2', false, [
    'deriveBits',
  ]);
  return new Uint8Array(
    await crypto.subtle.deriveBits(
      {
        name: 'PBKDF2',
        hash: 'SHA-256',
        salt: encoder.encode(`${LABEL} passphrase|${roomId}`),
        iterations: E2E_PBKDF2_ITERATIONS,
      },
      base,
      256,
    ),
  );
}

let warmedUp: Promise<void> | undefined;

/**
 * Runs a key agreement, a seal and an open once on throwaway keys, once per process. The first use
 * of each WebCrypto operation costs milliseconds (the runtime sets it up lazily: measured in Node,
 * a first derivation 4.5–5.7 ms against 0.9–1.7 ms after); connect() calls this so that the cost
 * lands while the connection opens, not on the first message of the first link.
 */
export function warmUpCrypto(): Promise<void> {
  warmedUp ??= (async () => {
    const ring = new Keyring('warm-up-a', 'warm-up', undefined);
    await ring.ready;
    // Our own public key stands in for a member's: the derivation runs the same steps.
    const pair = await ring.pair('warm-up-b', ring.offered);
    const frame = readSealed(await pair!.seal('warm-up-a', ring.nextCounter(), 'warm-up'));
    // Opened with the other direction's key, it fails authentication: the decryption still runs.
    if (frame) await pair!.open(frame);
  })().catch(() => undefined);
  return warmedUp;
}

/** Four groups of five digits from SHA-256 over both public keys (in a fixed order). */
async function safetyNumber(lowKey: string, highKey: string): Promise<string> {
  const hash = new Uint8Array(
    await crypto.subtle.digest('SHA-256', encoder.encode(`${LABEL} safety|${lowKey}|${highKey}`)),
  );
  const groups: string[] = [];
  for (let i = 0; i < 4; i++) {
    const n = ((hash[i * 3]! << 16) | (hash[i * 3 + 1]! << 8) | hash[i * 3 + 2]!) % 100_000;
    groups.push(String(n).padStart(5, '0'));
  }
  return groups.join(' ');
}

/** 12 bytes: the direction (0: low to high client id, 1: back), three zeros, the counter (64-bit big endian). */
function nonce(direction: number, counter: number): Uint8Array<ArrayBuffer> {
  const iv = new Uint8Array(12);
  iv[0] = direction;
  new DataView(iv.buffer).setBigUint64(4, BigInt(counter));
  return iv;
}

function bytesToBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

function base64ToBytes(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
