/**
 * Client-side limits and timings, in one place with units and reasons.
 * Server-announced limits (welcome `limits`) override the relay and signal sizes.
 */

/** connect() gives up when no signaling connection succeeded within this long (it retries under
 * the reconnect policy meanwhile); it is also the bound on one attempt's STOMP handshake.
 * @default 10000 */
export const CONNECT_TIMEOUT_MS = 10_000;

/** Largest data channel message we send. 16 KiB is the size every browser pair accepts without
 * SCTP interleaving trouble (see RFC 8831 §6.6 and the long-standing Chrome/Firefox interop
 * advice). @default 16384 */
export const DATA_CHANNEL_MESSAGE_BYTES = 16 * 1024;

/** Room left in a frame for the envelope header (sender, id, seq, chunk, ack). @default 512 */
export const ENVELOPE_HEADER_RESERVE_BYTES = 512;

/** Relay body limit when the welcome does not announce one (PROTOCOL default). @default 49152 */
export const DEFAULT_RELAY_MAX_BYTES = 48 * 1024;

/** Signal body limit when the welcome does not announce one. @default 16384 */
export const DEFAULT_SIGNAL_MAX_BYTES = 16 * 1024;

/** Largest message send() accepts (UTF-8 bytes of a string or of a JSON value's text; bytes as
 * they are). The outbox byte bound below, so one message always fits an empty outbox. Set per
 * room with join's maxMessageBytes. @default 16 MiB */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Outbox bound per remote peer, in envelopes (chunks count one each). At the bound send()
 * throws OUTBOX_FULL and nothing of that message is queued. @default 4096 */
export const OUTBOX_MAX_ENVELOPES = 4096;

/** Outbox bound per remote peer, in payload bytes. 16 MiB holds a few large files while a
 * receiver is unreachable, without letting a stalled peer eat the tab's memory. @default 16 MiB */
export const OUTBOX_MAX_BYTES = 16 * 1024 * 1024;

/** Out-of-order envelopes a receiver holds per sender waiting for a gap to fill. Matches the
 * sender's outbox bound, so an honest sender never overflows it. @default 4096 @alias */
export const REORDER_MAX_HELD = OUTBOX_MAX_ENVELOPES;

/** Stop writing to a data channel while this much is buffered; resume below it.
 * simple-peer uses 64 KiB for its stream interface; a larger window keeps loopback fast.
 * @default 1 MiB */
export const DATA_CHANNEL_HIGH_WATER_BYTES = 1024 * 1024;

/** Relay first: the initiator of a link starts its WebRTC negotiation once the relay path to that
 * member is ready (hellos exchanged, keys confirmed), or this long after the member appeared,
 * whichever comes first. Creating a peer connection, its offer and ICE gathering hold the event
 * loop for several milliseconds, and the first messages wait on that loop for their key
 * agreement (measured on loopback: join → first message 24 ms when both start at once, 6 ms
 * this way; the channel opens about 5 ms later). @default 25 */
export const LINK_START_DELAY_MS = 25;

/** How often a blocked writer re-checks bufferedAmount (wrtc has no reliable
 * bufferedamountlow event). @default 5 */
export const BACKPRESSURE_POLL_MS = 5;

/** A receiver batches cumulative acks for this long (or piggybacks them on data). @default 25 */
export const ACK_DELAY_MS = 25;

/** Unacked envelopes sent on the relay are sent again after this long (the relay loses frames
 * on a signaling reconnect or a RATE_LIMITED refusal; a data channel is reliable, so envelopes
 * written to an open channel are resent only when the path changes). @default 2000 */
export const RELAY_RETRANSMIT_MS = 2000;

/** Our own relay send rate, kept under the server's per-session default of 200 frames/s with a
 * burst of 400 so we rarely meet RATE_LIMITED. @default 150 */
export const RELAY_FRAMES_PER_SECOND = 150;
/** @default 300 */
export const RELAY_BURST_FRAMES = 300;
/** Pause of the relay writer after a RATE_LIMITED error. @default 500 */
export const RATE_LIMITED_PAUSE_MS = 500;

/** A link with no open data channel this long after it started is an ICE failure. @default 15000 */
export const ICE_TIMEOUT_MS = 15_000;

/** How long an open channel may stay stalled (ICE `disconnected`, or no ack progress) waiting for
 * ICE to come back on the same peer connection before we destroy it and start a new generation.
 * libwebrtc recovers a `disconnected` transport by itself after short outages, but after a long
 * one it may neither recover nor report `failed` (measured with @roamhq/wrtc: a 45 s cut leaves
 * ICE `disconnected` and the channel `open` forever); the relay carries everything meanwhile,
 * so waiting longer only delays the return to P2P. @default 5000 */
export const ICE_RECOVERY_MS = 5000;

/** Liveness of an open channel: when envelopes written to it have seen no ack progress for this
 * long (while the relay is up), the channel is treated as stalled and the link moves to the relay.
 * ICE needs ~5-6 s to report `disconnected`, and a channel's bufferedAmount stays 0 while SCTP
 * retransmits into a dead path, so acks are the first sign. A receiver acks within ACK_DELAY_MS;
 * 2 s leaves room for a congested path without a false alarm. @default 2000 */
export const CHANNEL_ACK_TIMEOUT_MS = 2000;

/** Background P2P retry after a failure: first delay, doubling, capped. @default 1000 / 30000 */
export const P2P_RETRY_BASE_MS = 1000;
export const P2P_RETRY_MAX_MS = 30_000;

/** Hello (client instance id exchange) is repeated this often until the remote answers. @default 1000 */
export const HELLO_RETRY_MS = 1000;

/** A remote that neither signals with our marker nor says hello within this long (counted while
 * our signaling is up) is treated as a plain (envelope-less) peer and gets raw data. Not applied
 * while a stomprtc member is in its rejoin grace: a newcomer may be that member back under a new
 * peer id, whose hello is only late, and raw copies of what its conversation also carries would be
 * delivered twice. @default 3000 */
export const PLAIN_PEER_DETECT_MS = 3000;

/** Members that left whose conversation a room remembers (a few numbers and what was held
 * out of order each), so that one returning after its rejoin grace continues its stream to us
 * instead of having it taken for a new one. Oldest forgotten first. @default 256 */
export const CONVERSATION_MEMORY_PEERS = 256;

/** leave() waits this long at most until what was sent is written on some path (a member that
 * just joined says hello first, one relay round trip) before it says bye; what is unacknowledged
 * then is reported undelivered. Short enough not to hold up a closing page. @default 2500 */
export const LEAVE_DRAIN_MS = 2500;

/** How long a peer whose signaling session ended (without saying bye) stays a member, so its
 * signaling reconnect under a new peer id continues the same conversation. @default 15000 */
export const REJOIN_GRACE_MS = 15_000;

/** PBKDF2-SHA-256 rounds that stretch a room passphrase before it salts the key derivation: an
 * active server that swapped keys can test passphrase guesses offline, each costing this many
 * rounds. Both members must use the same count. @default 100000 */
export const E2E_PBKDF2_ITERATIONS = 100_000;

/** Sealed relay frames this far below the highest counter seen from a member are replays (the
 * relay reorders little; each retransmission is sealed under a new counter). @default 4096 */
export const E2E_REPLAY_WINDOW = 4096;
