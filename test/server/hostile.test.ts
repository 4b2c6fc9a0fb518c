/**
 * The hostile suite: literal wire strings an attacker (or a broken client) may send, each with its
 * documented answer (docs/errors.md). After every case: `/healthz` answers 200, a bystander session
 * on the same server still receives, the server logged nothing at warn level or above (a peer's bad
 * input is not the server's failure, and never a stack trace), and the heap after a forced GC is
 * back within a bound of where the suite started. Cases are table rows; `{room}`, `{member}` and `{full}` in a wire string stand
 * for a room that has one other member, that member's peer id, and a room at MAX_ROOM_MEMBERS.
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, type ErrorCode } from '../../shared/src/errors.js';
import { FrameDecoder } from '../../shared/src/stomp/frame-decoder.js';
import type { StompFrame } from '../../shared/src/stomp/frame.js';
import {
  Inbox,
  rawStomp,
  startServer,
  stompClient,
  text,
  until,
  wire,
  type Subscription,
  type TestClient,
  type TestServer,
} from '../helpers/server.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap growth allowed after a case, over the suite's start, once garbage is collected. Generous: vitest and the server's caches grow too. */
const HEAP_BOUND_BYTES = 64 * 1024 * 1024;
const SECRET = 'hostile-suite-secret-of-sufficient-length';

const LIMITS = {
  MAX_FRAME_BYTES: '4096',
  MAX_CONNECT_FRAME_BYTES: '512',
  MAX_HEADERS: '8',
  MAX_HEADER_LINE_BYTES: '1024',
  RELAY_MAX_BYTES: '1024',
  SIGNAL_MAX_BYTES: '1024',
  MAX_SUBSCRIPTIONS: '6',
  MAX_QUEUE_DEPTH: '3',
  MAX_QUEUED_BYTES_PER_SESSION: '4096',
  MAX_TRANSACTIONS: '2',
  MAX_TRANSACTION_FRAMES: '3',
  MAX_ROOM_MEMBERS: '2',
  MAX_ROOMS_PER_SESSION: '2',
  CONNECT_TIMEOUT_MS: '300',
  SEND_RATE_PER_S: '1000',
  SEND_BURST: '1000',
};

/** The documented answer to a case. */
type Answer =
  /** ERROR frame with this code, then the connection closes. */
  | { readonly fatal: ErrorCode }
  /** A MESSAGE on /user/queue/errors with this code; the session goes on (a probe RECEIPT comes back). */
  | { readonly refused: ErrorCode }
  /** Taken without complaint: the probe RECEIPT comes back and no error before it. */
  | { readonly accepted: true }
  /** SockJS refuses the HTTP request itself with this status. */
  | { readonly http: number };

type Category =
  'codec' | 'pre-CONNECT' | 'session misuse' | 'destinations' | 'rooms' | 'SockJS' | 'auth' | 'resource exhaustion';

interface Case {
  readonly category: Category;
  readonly name: string;
  /** Before CONNECT (a bare transport), or connected and subscribed to /user/queue/errors. */
  readonly start: 'transport' | 'connected';
  /** Transport messages, sent in order. */
  readonly send: readonly string[];
  readonly answer: Answer;
}

const fatal = (code: ErrorCode): Answer => ({ fatal: code });
const refused = (code: ErrorCode): Answer => ({ refused: code });
const accepted: Answer = { accepted: true };
const CONNECT = wire('CONNECT', { 'accept-version': '1.2', host: 'stomprtc' });
const repeat = (count: number, make: (i: number) => string) =>
  Array.from({ length: count }, (_, i) => make(i)).join('');
/** `count` frames in transport messages of `perMessage` frames each (a message may not pass twice MAX_FRAME_BYTES). */
const messages = (count: number, perMessage: number, make: (i: number) => string) =>
  Array.from({ length: Math.ceil(count / perMessage) }, (_, m) =>
    repeat(Math.min(perMessage, count - m * perMessage), (i) => make(m * perMessage + i)),
  );
const sendOf = (destination: string, body = 'x', headers = '') =>
  `SEND\ndestination:${destination}\n${headers}\n${body}\0`;
const signal = (to: string, room = '{room}', body = '{"type":"offer"}') =>
  `SEND\ndestination:/app/signal\nroom:${room}\nto:${to}\ncontent-type:application/json\n\n${body}\0`;
const join = (room = '{room}', id = 'room', extra = '') =>
  `SUBSCRIBE\nid:${id}\ndestination:/topic/room/${room}\n${extra}\n\0`;

const CODEC: Case[] = [
  {
    name: 'refuses CR-only line ends',
    send: ['SEND\rdestination:/topic/x\r\rbody\0'],
    answer: fatal('MALFORMED_FRAME'),
  },
  {
    name: 'refuses a lone CR inside a 1.2 header line',
    send: ['SEND\ndestination:/topic/x\rx:y\n\n\0'],
    answer: fatal('MALFORMED_FRAME'),
  },
  { name: 'refuses a NUL in the command line', send: ['SEND\0'], answer: fatal('MALFORMED_FRAME') },
  {
    name: 'refuses a header line without a colon',
    send: ['SEND\ndestination /topic/x\n\n\0'],
    answer: fatal('MALFORMED_FRAME'),
  },
  {
    name: 'refuses a content-length that is not a number',
    send: ['SEND\ndestination:/topic/x\ncontent-length:12a\n\nbody\0'],
    answer: fatal('MALFORMED_FRAME'),
  },
  {
    name: 'refuses a negative content-length',
    send: ['SEND\ndestination:/topic/x\ncontent-length:-1\n\n\0'],
    answer: fatal('MALFORMED_FRAME'),
  },
  {
    name: 'refuses a hexadecimal content-length',
    send: ['SEND\ndestination:/topic/x\ncontent-length:0x10\n\n\0'],
    answer: fatal('MALFORMED_FRAME'),
  },
  {
    name: 'refuses an empty content-length',
    send: ['SEND\ndestination:/topic/x\ncontent-length:\n\n\0'],
    answer: fatal('MALFORMED_FRAME'),
  },
  {
    name: 'refuses a sized body not followed by NUL',
    send: ['SEND\ndestination:/topic/x\ncontent-length:2\n\nbody\0'],
    answer: fatal('MALFORMED_FRAME'),
  },
  {
    name: 'refuses a content-length over MAX_FRAME_BYTES before its body',
    send: ['SEND\ndestination:/topic/x\ncontent-length:999999\n\n'],
    answer: fatal('FRAME_TOO_LARGE'),
  },
  {
    name: 'refuses a content-length too large to be an integer',
    send: ['SEND\ndestination:/topic/x\ncontent-length:99999999999999999999999\n\n'],
    answer: fatal('FRAME_TOO_LARGE'),
  },
  {
    name: 'refuses an unterminated body over MAX_FRAME_BYTES',
    send: [`SEND\ndestination:/topic/x\n\n${'b'.repeat(5000)}`],
    answer: fatal('FRAME_TOO_LARGE'),
  },
  {
    name: 'refuses a 1 MiB header line in one WebSocket message',
    send: [`SEND\ndestination:/topic/x\nx-huge:${'v'.repeat(1 << 20)}\n\n\0`],
    answer: fatal('FRAME_TOO_LARGE'),
  },
  {
    name: 'refuses a header line over MAX_HEADER_LINE_BYTES',
    send: [`SEND\ndestination:/topic/x\nx-long:${'v'.repeat(1100)}\n\n\0`],
    answer: fatal('HEADER_TOO_LONG'),
  },
  {
    name: 'refuses an endless header line without waiting for its end',
    send: [`SEND\ndestination:/topic/x\nx-endless:${'v'.repeat(1100)}`],
    answer: fatal('HEADER_TOO_LONG'),
  },
  { name: 'refuses an endless command line', send: ['S'.repeat(1100)], answer: fatal('HEADER_TOO_LONG') },
  {
    name: 'refuses more than MAX_HEADERS headers',
    send: [`SEND\ndestination:/topic/x\n${repeat(8, (i) => `x-${i}:${i}\n`)}\n\0`],
    answer: fatal('TOO_MANY_HEADERS'),
  },
  {
    name: 'counts repeated headers against MAX_HEADERS',
    send: [`SEND\ndestination:/topic/x\n${repeat(8, () => 'x-same:1\n')}\n\0`],
    answer: fatal('TOO_MANY_HEADERS'),
  },
  {
    name: 'refuses an undefined escape \\t',
    send: ['SEND\ndestination:/topic/x\nx-bad:tab\\there\n\n\0'],
    answer: fatal('INVALID_ESCAPE'),
  },
  {
    name: 'refuses a trailing backslash in a header',
    send: ['SEND\ndestination:/topic/x\nx-bad:end\\\n\n\0'],
    answer: fatal('INVALID_ESCAPE'),
  },
  {
    name: 'refuses an unknown command',
    send: ['PUBLISH\ndestination:/topic/x\n\n\0'],
    answer: fatal('UNKNOWN_COMMAND'),
  },
  {
    name: 'refuses a lower-case command',
    send: ['send\ndestination:/topic/x\n\n\0'],
    answer: fatal('UNKNOWN_COMMAND'),
  },
  {
    name: 'refuses a server command (MESSAGE) from a client',
    send: [wire('MESSAGE', { destination: '/topic/x', 'message-id': '1', subscription: 's' })],
    answer: fatal('UNKNOWN_COMMAND'),
  },
  {
    name: 'refuses a server command (CONNECTED) from a client',
    send: [wire('CONNECTED', { version: '1.2' })],
    answer: fatal('UNKNOWN_COMMAND'),
  },
  {
    name: 'refuses a command with a leading space',
    send: [' SEND\ndestination:/topic/x\n\n\0'],
    answer: fatal('UNKNOWN_COMMAND'),
  },
  { name: 'refuses a command of binary garbage', send: ['\u0001\u0002\u0003\n\n\0'], answer: fatal('UNKNOWN_COMMAND') },
  {
    name: 'refuses a body on SUBSCRIBE',
    send: [wire('SUBSCRIBE', { id: 's', destination: '/topic/x' }, 'body')],
    answer: fatal('BODY_NOT_ALLOWED'),
  },
  { name: 'refuses a body on ACK', send: [wire('ACK', { id: 'a' }, 'body')], answer: fatal('BODY_NOT_ALLOWED') },
  { name: 'accepts a flood of heart-beat EOLs', send: ['\n'.repeat(2000), '\r\n'.repeat(1000)], answer: accepted },
  {
    name: 'accepts frames split at every octet',
    send: Array.from(sendOf('/topic/split', 'split'), (c) => c),
    answer: accepted,
  },
  {
    name: 'accepts a body holding NUL octets with content-length',
    send: ['SEND\ndestination:/topic/nul\ncontent-length:3\n\na\0b\0'],
    answer: accepted,
  },
  {
    name: 'accepts a header value with every escape',
    send: [sendOf('/topic/esc', 'x', 'x-all:a\\\\b\\nc\\rd\\ce\n')],
    answer: accepted,
  },
  {
    name: 'accepts a header named __proto__',
    send: [sendOf('/topic/proto', 'x', '__proto__:polluted\nconstructor:x\n')],
    answer: accepted,
  },
].map((c) => ({ ...c, category: 'codec' as const, start: 'connected' as const }));

const PRE_CONNECT: Case[] = [
  { name: 'refuses SEND before CONNECT', send: [sendOf('/topic/x')], answer: fatal('NOT_CONNECTED') },
  {
    name: 'refuses SUBSCRIBE before CONNECT',
    send: [wire('SUBSCRIBE', { id: 's', destination: '/topic/x' })],
    answer: fatal('NOT_CONNECTED'),
  },
  {
    name: 'refuses DISCONNECT before CONNECT',
    send: [wire('DISCONNECT', { receipt: 'bye' })],
    answer: fatal('NOT_CONNECTED'),
  },
  {
    name: 'refuses a CONNECT over MAX_CONNECT_FRAME_BYTES',
    send: [`CONNECT\naccept-version:1.2\nx-pad:${'p'.repeat(600)}\n\n\0`],
    answer: fatal('FRAME_TOO_LARGE'),
  },
  {
    name: 'refuses a CONNECT whose content-length is over MAX_CONNECT_FRAME_BYTES',
    send: ['CONNECT\naccept-version:1.2\ncontent-length:600\n\n'],
    answer: fatal('FRAME_TOO_LARGE'),
  },
  {
    name: 'refuses a CONNECT with a body',
    send: [wire('CONNECT', { 'accept-version': '1.2' }, 'body')],
    answer: fatal('BODY_NOT_ALLOWED'),
  },
  {
    name: 'refuses a CONNECT offering only unknown versions',
    send: [wire('CONNECT', { 'accept-version': '2.0,3.1' })],
    answer: fatal('UNSUPPORTED_VERSION'),
  },
  {
    name: 'refuses a CONNECT offering an empty version list',
    send: [wire('CONNECT', { 'accept-version': '' })],
    answer: fatal('UNSUPPORTED_VERSION'),
  },
  {
    name: 'refuses a heart-beat that is not two numbers',
    send: [wire('CONNECT', { 'accept-version': '1.2', 'heart-beat': 'often' })],
    answer: fatal('MALFORMED_FRAME'),
  },
  {
    name: 'refuses a negative heart-beat',
    send: [wire('CONNECT', { 'accept-version': '1.2', 'heart-beat': '-1,0' })],
    answer: fatal('MALFORMED_FRAME'),
  },
  {
    name: 'refuses heart-beat:0,2147483648',
    send: [wire('CONNECT', { 'accept-version': '1.2', 'heart-beat': '0,2147483648' })],
    answer: fatal('MALFORMED_FRAME'),
  },
  {
    name: 'refuses heart-beat:99999999999999999999,0',
    send: [wire('CONNECT', { 'accept-version': '1.2', 'heart-beat': '99999999999999999999,0' })],
    answer: fatal('MALFORMED_FRAME'),
  },
  {
    name: 'refuses a CONNECT with more than MAX_HEADERS headers',
    send: [`CONNECT\naccept-version:1.2\n${repeat(8, (i) => `x-${i}:${i}\n`)}\n\0`],
    answer: fatal('TOO_MANY_HEADERS'),
  },
  {
    name: 'refuses a CONNECT split into CR-only lines',
    send: ['CONNECT\raccept-version:1.2\r\r\0'],
    answer: fatal('MALFORMED_FRAME'),
  },
  { name: 'closes a transport that never sends CONNECT', send: [], answer: fatal('CONNECT_TIMEOUT') },
  {
    name: 'closes a transport that sends only heart-beats',
    send: ['\n', '\n', '\n'],
    answer: fatal('CONNECT_TIMEOUT'),
  },
  {
    name: 'closes a transport that never finishes its CONNECT',
    send: ['CONNECT\naccept-version:1.2\n'],
    answer: fatal('CONNECT_TIMEOUT'),
  },
  {
    name: 'refuses frames sent in the same message after a refused CONNECT',
    send: [wire('CONNECT', { 'accept-version': '9.9' }) + sendOf('/topic/x')],
    answer: fatal('UNSUPPORTED_VERSION'),
  },
].map((c) => ({ ...c, category: 'pre-CONNECT' as const, start: 'transport' as const }));

const SESSION: Case[] = [
  { name: 'refuses a second CONNECT', send: [CONNECT], answer: fatal('ALREADY_CONNECTED') },
  {
    name: 'refuses a STOMP frame after CONNECT',
    send: [wire('STOMP', { 'accept-version': '1.2' })],
    answer: fatal('ALREADY_CONNECTED'),
  },
  {
    name: 'refuses SUBSCRIBE without id',
    send: [wire('SUBSCRIBE', { destination: '/topic/x' })],
    answer: fatal('MISSING_HEADER'),
  },
  {
    name: 'refuses SUBSCRIBE without destination',
    send: [wire('SUBSCRIBE', { id: 's' })],
    answer: fatal('MISSING_HEADER'),
  },
  { name: 'refuses SEND without destination', send: [wire('SEND', {}, 'nowhere')], answer: fatal('MISSING_HEADER') },
  { name: 'refuses UNSUBSCRIBE without id', send: [wire('UNSUBSCRIBE', {})], answer: fatal('MISSING_HEADER') },
  { name: 'refuses ACK without id', send: [wire('ACK', {})], answer: fatal('MISSING_HEADER') },
  { name: 'refuses BEGIN without transaction', send: [wire('BEGIN', {})], answer: fatal('MISSING_HEADER') },
  {
    name: 'refuses a subscription id already live',
    send: [
      wire('SUBSCRIBE', { id: 'twice', destination: '/topic/a' }) +
        wire('SUBSCRIBE', { id: 'twice', destination: '/topic/b' }),
    ],
    answer: fatal('DUPLICATE_SUBSCRIPTION'),
  },
  {
    name: 'refuses an ack mode that does not exist',
    send: [wire('SUBSCRIBE', { id: 's', destination: '/topic/x', ack: 'sometimes' })],
    answer: fatal('MALFORMED_FRAME'),
  },
  {
    name: 'refuses UNSUBSCRIBE of an unknown id',
    send: [wire('UNSUBSCRIBE', { id: 'never' })],
    answer: refused('UNKNOWN_SUBSCRIPTION'),
  },
  {
    name: 'refuses COMMIT of a transaction never begun',
    send: [wire('COMMIT', { transaction: 'never' })],
    answer: refused('UNKNOWN_TRANSACTION'),
  },
  {
    name: 'refuses ABORT of a transaction never begun',
    send: [wire('ABORT', { transaction: 'never' })],
    answer: refused('UNKNOWN_TRANSACTION'),
  },
  {
    name: 'refuses a SEND in a transaction never begun',
    send: [sendOf('/topic/x', 'x', 'transaction:never\n')],
    answer: refused('UNKNOWN_TRANSACTION'),
  },
  {
    name: 'refuses COMMIT of a transaction already committed',
    send: [
      wire('BEGIN', { transaction: 't' }) + wire('COMMIT', { transaction: 't' }) + wire('COMMIT', { transaction: 't' }),
    ],
    answer: refused('UNKNOWN_TRANSACTION'),
  },
  {
    name: 'refuses BEGIN of an open transaction',
    send: [wire('BEGIN', { transaction: 't' }) + wire('BEGIN', { transaction: 't' })],
    answer: refused('DUPLICATE_TRANSACTION'),
  },
  {
    name: 'refuses more than MAX_TRANSACTIONS open transactions',
    send: [repeat(3, (i) => wire('BEGIN', { transaction: `t${i}` }))],
    answer: refused('TOO_MANY_TRANSACTIONS'),
  },
  {
    name: 'refuses more than MAX_TRANSACTION_FRAMES frames in one transaction',
    send: [wire('BEGIN', { transaction: 't' }) + repeat(4, () => sendOf('/topic/x', 'x', 'transaction:t\n'))],
    answer: refused('TOO_MANY_TRANSACTIONS'),
  },
  {
    name: 'refuses ACK of an id never delivered',
    send: [wire('ACK', { id: 'never-delivered' })],
    answer: refused('UNKNOWN_ACK_ID'),
  },
  {
    name: 'refuses NACK of an id never delivered',
    send: [wire('NACK', { id: 'never-delivered' })],
    answer: refused('UNKNOWN_ACK_ID'),
  },
  {
    name: 'refuses an ACK inside a transaction never begun',
    send: [wire('ACK', { id: 'x', transaction: 'never' })],
    answer: refused('UNKNOWN_TRANSACTION'),
  },
  {
    name: 'refuses more than MAX_SUBSCRIPTIONS subscriptions',
    send: [repeat(6, (i) => wire('SUBSCRIBE', { id: `s${i}`, destination: `/topic/many-${i}` }))],
    answer: refused('TOO_MANY_SUBSCRIPTIONS'),
  },
  {
    name: 'accepts DISCONNECT with a receipt and answers it before closing',
    send: [wire('DISCONNECT', { receipt: 'probe' })],
    answer: accepted,
  },
  {
    name: 'refuses a 1.0-style ACK (message-id, no id) on a 1.2 session',
    send: [wire('ACK', { 'message-id': 'x' })],
    answer: fatal('MISSING_HEADER'),
  },
].map((c) => ({ ...c, category: 'session misuse' as const, start: 'connected' as const }));

const DESTINATIONS: Case[] = [
  ...[
    '/elsewhere/x',
    '/topic/',
    '/queue/',
    '/topic/a//b',
    '/topic/a/',
    'topic/x',
    '/queue/x~user~someone',
    '/topic/a b',
    '/topic/a%2Fb',
    '/topic/a\\cb',
    '/TOPIC/x',
    '/topic/ü',
  ].map((destination) => ({
    name: `refuses SEND to ${JSON.stringify(destination)}`,
    send: [sendOf(destination)],
    answer: refused('INVALID_DESTINATION'),
  })),
  ...['/app/signal', '/user/signal', '/elsewhere', '/topic/*', '/topic/#', '/queue/a.*'].map((destination) => ({
    name: `refuses SUBSCRIBE to ${JSON.stringify(destination)}`,
    send: [wire('SUBSCRIBE', { id: 'x', destination })],
    answer: refused('INVALID_DESTINATION'),
  })),
  ...['/topic/room/lobby', '/user/queue/signal', '/user/queue/errors', '/user/queue/relay'].map((destination) => ({
    name: `refuses SEND to the read-only ${destination}`,
    send: [sendOf(destination, '{}')],
    answer: refused('READ_ONLY_DESTINATION'),
  })),
  {
    name: 'refuses SEND to an /app destination nobody serves',
    send: [sendOf('/app/nothing-here', '{}')],
    answer: refused('UNKNOWN_APP_DESTINATION'),
  },
  {
    name: 'refuses a SEND past MAX_QUEUE_DEPTH',
    send: [repeat(4, () => sendOf('/queue/depth-{case}'))],
    answer: refused('QUEUE_FULL'),
  },
  {
    name: 'strips a forged message-id, subscription and ack from a SEND',
    send: [sendOf('/topic/forged', 'x', 'message-id:forged\nsubscription:forged\nack:forged\n')],
    answer: accepted,
  },
].map((c) => ({ ...c, category: 'destinations' as const, start: 'connected' as const }));

const ROOMS: Case[] = [
  ...['.hidden', '-dash', '_under', 'a'.repeat(65)].map((id) => ({
    name: `refuses joining room ${JSON.stringify(id.length > 20 ? `${id.slice(0, 8)}…(${id.length})` : id)}`,
    send: [join(id)],
    answer: refused('INVALID_ROOM_ID'),
  })),
  { name: 'refuses a room destination with a space', send: [join('a b')], answer: refused('INVALID_DESTINATION') },
  {
    name: 'refuses a display-name of 65 characters',
    send: [join('{room}', 'room', `display-name:${'n'.repeat(65)}\n`)],
    answer: refused('INVALID_DISPLAY_NAME'),
  },
  {
    name: 'refuses a second join of the same room',
    send: [join() + join('{room}', 'again')],
    answer: refused('ALREADY_IN_ROOM'),
  },
  { name: 'refuses joining a room at MAX_ROOM_MEMBERS', send: [join('{full}')], answer: refused('ROOM_FULL') },
  {
    name: 'refuses joining more than MAX_ROOMS_PER_SESSION rooms',
    send: [join('r1-{case}', 'a') + join('r2-{case}', 'b') + join('r3-{case}', 'c')],
    answer: refused('TOO_MANY_ROOMS'),
  },
  { name: 'refuses a signal from outside the room', send: [signal('{member}')], answer: refused('NOT_A_MEMBER') },
  {
    name: 'refuses a signal naming a room that does not exist',
    send: [signal('{member}', 'no-such-room')],
    answer: refused('NOT_A_MEMBER'),
  },
  {
    name: 'refuses a signal to a peer outside the room',
    send: [join() + signal('no-such-peer')],
    answer: refused('UNKNOWN_PEER'),
  },
  {
    name: 'refuses a signal without a room',
    send: ['SEND\ndestination:/app/signal\nto:{member}\n\n{}\0'],
    answer: refused('MISSING_ROOM'),
  },
  {
    name: 'refuses a signal without to',
    send: [join() + 'SEND\ndestination:/app/signal\nroom:{room}\n\n{}\0'],
    answer: refused('MISSING_ROOM'),
  },
  {
    name: 'refuses a signal body that is not JSON',
    send: [join() + signal('{member}', '{room}', 'not json')],
    answer: refused('INVALID_SIGNAL'),
  },
  {
    name: 'refuses a signal body that is a JSON array',
    send: [join() + signal('{member}', '{room}', '[1,2]')],
    answer: refused('INVALID_SIGNAL'),
  },
  {
    name: 'refuses a signal over SIGNAL_MAX_BYTES',
    send: [join() + signal('{member}', '{room}', `{"pad":"${'p'.repeat(1100)}"}`)],
    answer: refused('BODY_TOO_LARGE'),
  },
  {
    name: 'refuses a relay over RELAY_MAX_BYTES',
    send: [join() + `SEND\ndestination:/app/relay\nroom:{room}\n\n${'r'.repeat(1025)}\0`],
    answer: refused('BODY_TOO_LARGE'),
  },
  {
    name: 'refuses a relay from outside the room',
    send: ['SEND\ndestination:/app/relay\nroom:{room}\n\nr\0'],
    answer: refused('NOT_A_MEMBER'),
  },
  {
    name: 'refuses a relay to a list naming a non-member',
    send: [join() + 'SEND\ndestination:/app/relay\nroom:{room}\nto:{member},ghost\n\nr\0'],
    answer: refused('UNKNOWN_PEER'),
  },
  {
    name: 'refuses a link report without a room',
    send: ['SEND\ndestination:/app/report\ncontent-type:application/json\n\n{"type":"link"}\0'],
    answer: refused('MISSING_ROOM'),
  },
  {
    name: 'refuses a link report that is not of the documented form',
    send: [
      join() + 'SEND\ndestination:/app/report\nroom:{room}\ncontent-type:application/json\n\n{"type":"nonsense"}\0',
    ],
    answer: refused('INVALID_REPORT'),
  },
].map((c) => ({ ...c, category: 'rooms' as const, start: 'connected' as const }));

const EXHAUSTION: Case[] = [
  {
    name: 'refuses parking more than MAX_QUEUED_BYTES_PER_SESSION across many queues',
    send: [repeat(48, (i) => sendOf(`/queue/many-{case}-${i}`, 'q'.repeat(100)))],
    answer: refused('QUEUE_BYTES_EXCEEDED'),
  },
  {
    name: 'refuses parking more than MAX_QUEUED_BYTES_PER_SESSION in one queue of big messages',
    send: [repeat(2, () => sendOf('/queue/big-{case}', 'q'.repeat(3000)))],
    answer: refused('QUEUE_BYTES_EXCEEDED'),
  },
  {
    name: 'accepts MAX_SUBSCRIPTIONS - 1 subscriptions beside the errors one',
    send: [repeat(5, (i) => wire('SUBSCRIBE', { id: `s${i}`, destination: `/topic/fill-${i}` }))],
    answer: accepted,
  },
  {
    name: 'accepts 500 subscribe/unsubscribe cycles without growing',
    send: messages(
      500,
      50,
      (i) =>
        wire('SUBSCRIBE', { id: `c${i}`, destination: `/topic/cycle-${i}` }) + wire('UNSUBSCRIBE', { id: `c${i}` }),
    ),
    answer: accepted,
  },
  {
    name: 'accepts 500 BEGIN/ABORT cycles without growing',
    send: messages(500, 50, (i) => wire('BEGIN', { transaction: `t${i}` }) + wire('ABORT', { transaction: `t${i}` })),
    answer: accepted,
  },
  {
    name: 'accepts 200 frames packed in one message',
    send: [repeat(200, () => sendOf('/topic/packed'))],
    answer: accepted,
  },
  {
    name: 'accepts 1200 SENDs in 24 messages: past the burst of 1000 they are throttled, none dropped',
    send: messages(1200, 50, () => sendOf('/topic/burst')),
    answer: accepted,
  },
  {
    name: 'accepts 200 SENDs to 200 topics nobody reads',
    send: [repeat(200, (i) => sendOf(`/topic/nobody-${i}`))],
    answer: accepted,
  },
  {
    name: 'refuses a content-length of MAX_FRAME_BYTES + 1 before buffering it',
    send: ['SEND\ndestination:/topic/x\ncontent-length:4097\n\n'],
    answer: fatal('FRAME_TOO_LARGE'),
  },
  {
    name: 'refuses a WebSocket message of 2 MiB of heart-beats',
    send: ['\n'.repeat(2 << 20)],
    answer: fatal('FRAME_TOO_LARGE'),
  },
].map((c) => ({ ...c, category: 'resource exhaustion' as const, start: 'connected' as const }));

/** SockJS cases run over a raw xhr-streaming reader and xhr_send posts. */
interface SockJsCase {
  readonly name: string;
  readonly start: 'transport' | 'connected';
  /** Bodies of xhr_send requests, sent as they are (not JSON-encoded by the harness). */
  readonly posts: readonly string[];
  readonly answer: Answer;
}
const json = (...frames: string[]) => JSON.stringify(frames);
const SOCKJS: SockJsCase[] = [
  {
    name: 'answers a malformed frame over SockJS with MALFORMED_FRAME',
    start: 'connected',
    posts: [json('SEND\ndestination /topic/x\n\n\0')],
    answer: fatal('MALFORMED_FRAME'),
  },
  {
    name: 'answers CR-only line ends over SockJS with MALFORMED_FRAME',
    start: 'connected',
    posts: [json('SEND\rdestination:/topic/x\r\r\0')],
    answer: fatal('MALFORMED_FRAME'),
  },
  {
    name: 'answers SEND before CONNECT over SockJS with NOT_CONNECTED',
    start: 'transport',
    posts: [json(sendOf('/topic/x'))],
    answer: fatal('NOT_CONNECTED'),
  },
  {
    name: 'answers an over-long header over SockJS with HEADER_TOO_LONG',
    start: 'connected',
    posts: [json(`SEND\ndestination:/topic/x\nx:${'v'.repeat(1100)}\n\n\0`)],
    answer: fatal('HEADER_TOO_LONG'),
  },
  {
    name: 'answers an invalid destination over SockJS on /user/queue/errors',
    start: 'connected',
    posts: [json(sendOf('/elsewhere'))],
    answer: refused('INVALID_DESTINATION'),
  },
  {
    name: 'answers a second CONNECT over SockJS with ALREADY_CONNECTED',
    start: 'connected',
    posts: [json(CONNECT)],
    answer: fatal('ALREADY_CONNECTED'),
  },
  {
    name: 'refuses an xhr_send body that is not JSON with HTTP 500',
    start: 'connected',
    posts: ['not json'],
    answer: { http: 500 },
  },
  {
    name: 'refuses an xhr_send body that is a JSON object with HTTP 500',
    start: 'connected',
    posts: ['{"a":1}'],
    answer: { http: 500 },
  },
  { name: 'refuses an empty xhr_send body with HTTP 500', start: 'connected', posts: [''], answer: { http: 500 } },
  {
    name: 'refuses an xhr_send over SOCKJS_MAX_REQUEST_BYTES with HTTP 413',
    start: 'connected',
    posts: [json('x'.repeat(140 * 1024))],
    answer: { http: 413 },
  },
  // 3000 frames (about 110 KiB as JSON) per request: the first outruns the burst of 1000, the next
  // five are sent at once; at most one is held back, and the frames read pass 10 s of backlog.
  {
    name: 'closes a session whose parallel xhr_send requests pass the throttle backlog bound',
    start: 'connected',
    posts: [
      json(repeat(3000, () => sendOf('/topic/t'))),
      '{parallel}',
      ...Array.from({ length: 5 }, () => json(repeat(3000, () => sendOf('/topic/t')))),
    ],
    answer: fatal('THROTTLE_BACKLOG_EXCEEDED'),
  },
  {
    name: 'accepts frames split across xhr_send requests',
    start: 'connected',
    posts: [json('SEND\ndestination:/topic/sj'), json('s\n\nsplit\0')],
    answer: accepted,
  },
  {
    name: 'accepts a frame whose body holds JSON-escaped control characters',
    start: 'connected',
    posts: [json(sendOf('/topic/sj', '\u0001\u001f\u2028'))],
    answer: accepted,
  },
];

// ---------------------------------------------------------------------------------------------
// Harness

interface World {
  server: TestServer;
  /** Server log lines at warn level and above. */
  logged: string[];
  bystander: { sender: TestClient; receiver: TestClient; inbox: Subscription };
  heapAtStart: number;
  maxHeapGrowth: number;
  connectHeaders: Record<string, string>;
}

let seq = 0;

async function startWorld(env: Record<string, string>, connectHeaders: Record<string, string> = {}): Promise<World> {
  const logged: string[] = [];
  const server = await startServer(env, { logStream: { write: (line) => void logged.push(line) } });
  const sender = await stompClient(server, { connectHeaders });
  const receiver = await stompClient(server, { connectHeaders });
  const inbox = receiver.subscribe('/topic/bystander');
  await receiver.sync();
  gc();
  return {
    server,
    logged,
    bystander: { sender, receiver, inbox },
    heapAtStart: process.memoryUsage().heapUsed,
    maxHeapGrowth: 0,
    connectHeaders,
  };
}

/** After every case: the server answers /healthz, the bystander still receives, the heap is back within bounds. */
async function checkWorld(world: World): Promise<void> {
  expect((await fetch(`${world.server.httpUrl}/healthz`)).status).toBe(200);
  expect(world.logged.splice(0)).toEqual([]);
  const body = `still-flowing-${++seq}`;
  world.bystander.sender.send('/topic/bystander', body);
  expect((await world.bystander.inbox.next()).body).toBe(body);
  for (const client of [world.bystander.sender, world.bystander.receiver]) {
    expect(client.isClosed()).toBe(false);
    expect(client.errors.all).toEqual([]);
    expect(client.errorFrames.all).toEqual([]);
  }
  gc();
  const growth = process.memoryUsage().heapUsed - world.heapAtStart;
  world.maxHeapGrowth = Math.max(world.maxHeapGrowth, growth);
  expect(growth).toBeLessThan(HEAP_BOUND_BYTES);
}

async function stopWorld(world: World): Promise<void> {
  await world.bystander.sender.close();
  await world.bystander.receiver.close();
  await world.server.close();
}

/** Fills in `{room}`, `{member}`, `{full}` and `{case}`, creating the room members they name. */
async function fixtures(world: World, wires: readonly string[], cleanUp: TestClient[]): Promise<(s: string) => string> {
  const joined = wires.join('');
  const caseId = `c${++seq}`;
  const values: Record<string, string> = { case: caseId, room: `room-${caseId}`, full: `full-${caseId}`, member: '' };
  const member = async (room: string) => {
    const client = await stompClient(world.server, { connectHeaders: world.connectHeaders });
    cleanUp.push(client);
    const messages = client.subscribe(`/topic/room/${room}`).messages;
    await messages.next();
    return client;
  };
  if (joined.includes('{member}') || joined.includes('{room}')) values.member = (await member(values.room!)).peerId;
  if (joined.includes('{full}')) {
    await member(values.full!);
    await member(values.full!);
  }
  return (s) => s.replace(/\{(case|room|member|full)\}/g, (_, key: string) => values[key]!);
}

/** A frame as the suite compares it. */
function describeFrame(frame: StompFrame): string {
  if (frame.command === 'ERROR') return `ERROR ${frame.headers.code}`;
  if (frame.command === 'RECEIPT') return `RECEIPT ${frame.headers['receipt-id']}`;
  if (frame.command === 'MESSAGE' && frame.headers.destination === '/user/queue/errors')
    return `error ${JSON.parse(text(frame)).code}`;
  return frame.command;
}

/** Waits for the frame that settles `answer` and checks it; returns once the case is answered. */
async function expectAnswer(
  frames: Inbox<StompFrame>,
  answer: Answer,
  probe: () => void,
  closed: () => Promise<unknown>,
): Promise<string> {
  const seen: string[] = [];
  const next = async () => {
    const described = describeFrame(await frames.next());
    seen.push(described);
    return described;
  };
  if ('fatal' in answer) {
    expect(ERROR_CATALOGUE[answer.fatal].fatal).toBe(true);
    let got = await next();
    while (!got.startsWith('ERROR')) got = await next();
    expect(got, seen.join(', ')).toBe(`ERROR ${answer.fatal}`);
    await closed();
    return got;
  }
  if ('refused' in answer) {
    expect(ERROR_CATALOGUE[answer.refused].fatal).toBe(false);
    let got = await next();
    while (got !== `error ${answer.refused}`) {
      expect(
        got.startsWith('ERROR') || got.startsWith('error'),
        `unexpected ${got} before error ${answer.refused}`,
      ).toBe(false);
      got = await next();
    }
    probe();
    while ((await next()) !== 'RECEIPT probe');
    return got;
  }
  probe();
  let got = await next();
  while (got !== 'RECEIPT probe') {
    expect(got.startsWith('ERROR') || got.startsWith('error'), `unexpected ${got}`).toBe(false);
    got = await next();
  }
  return 'RECEIPT probe';
}

function registerCases(
  title: string,
  cases: readonly Case[],
  env: Record<string, string>,
  auth?: { token: () => Promise<string> },
): void {
  describe(title, () => {
    let world: World;
    const cleanUp: TestClient[] = [];
    beforeAll(async () => {
      world = await startWorld(env, auth ? { passcode: await auth.token() } : {});
    });
    afterEach(async () => {
      for (const client of cleanUp.splice(0)) await client.close();
      await checkWorld(world);
    });
    afterAll(async () => {
      console.log(
        `${title}: ${cases.length} cases, heap at most ${(world.maxHeapGrowth / 1048576).toFixed(1)} MiB over the start after GC`,
      );
      await stopWorld(world);
    });

    it.each(cases.map((c) => [`${c.category}: ${c.name}`, c] as const))('%s', async (_label, hostile) => {
      const fill = await fixtures(world, hostile.send, cleanUp);
      const r = await rawStomp(world.server);
      try {
        if (hostile.start === 'connected') {
          const connectHeaders = {
            'accept-version': '1.2',
            host: 'stomprtc',
            ...(auth ? { passcode: world.connectHeaders.passcode! } : {}),
          };
          expect((await r.connect(connectHeaders)).command).toBe('CONNECTED');
          r.send(wire('SUBSCRIBE', { id: 'errors', destination: '/user/queue/errors', receipt: 'errors-ready' }));
          expect(describeFrame(await r.nextFrame())).toBe('RECEIPT errors-ready');
        }
        for (const message of hostile.send) r.send(fill(message));
        await expectAnswer(
          r.frames,
          hostile.answer,
          () => r.send(wire('SEND', { destination: '/topic/probe', receipt: 'probe' })),
          () => r.waitForClose(),
        );
      } finally {
        r.close();
      }
    });
  });
}

registerCases(
  'hostile input over WebSocket',
  [...CODEC, ...PRE_CONNECT, ...SESSION, ...DESTINATIONS, ...ROOMS, ...EXHAUSTION],
  LIMITS,
);

// ---------------------------------------------------------------------------------------------
// Auth: AUTH_JWT_SECRET set (HS256).

const key = new TextEncoder().encode(SECRET);
const token = (claims: Record<string, unknown>, expiresIn: string | number = '1h', secret = key, alg = 'HS256') =>
  new SignJWT(claims).setProtectedHeader({ alg }).setExpirationTime(expiresIn).sign(secret);
const connectWith = (headers: Record<string, string>) =>
  wire('CONNECT', { 'accept-version': '1.2', host: 'stomprtc', ...headers });

describe('hostile CONNECT credentials (AUTH_JWT_SECRET set)', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ ...LIMITS, AUTH_JWT_SECRET: SECRET }, { passcode: await token({ sub: 'bystander' }) });
  });
  afterEach(async () => {
    await checkWorld(world);
  });
  afterAll(async () => {
    console.log(
      `hostile CONNECT credentials: heap at most ${(world.maxHeapGrowth / 1048576).toFixed(1)} MiB over the start after GC`,
    );
    await stopWorld(world);
  });

  const cases: [string, () => Promise<string>][] = [
    ['refuses a CONNECT without a token', async () => connectWith({})],
    [
      'refuses a token signed with another secret',
      async () =>
        connectWith({ passcode: await token({ sub: 'x' }, '1h', new TextEncoder().encode('another-secret-entirely')) }),
    ],
    ['refuses a token without sub', async () => connectWith({ passcode: await token({}) })],
    [
      'refuses an expired token',
      async () => connectWith({ passcode: await token({ sub: 'x' }, Math.floor(Date.now() / 1000) - 60) }),
    ],
    ['refuses a token that is not a JWT', async () => connectWith({ passcode: 'not.a.jwt' })],
    [
      'refuses an unsigned token (alg none)',
      async () =>
        connectWith({
          passcode: `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.`,
        }),
    ],
    [
      'refuses a token with its signature cut off',
      async () => connectWith({ passcode: (await token({ sub: 'x' })).split('.').slice(0, 2).join('.') + '.' }),
    ],
    [
      'refuses an Authorization header that is not Bearer',
      async () => connectWith({ Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }),
    ],
    ['refuses a Bearer header with an empty token', async () => connectWith({ Authorization: 'Bearer ' })],
    [
      'refuses a token whose payload is tampered with',
      async () => {
        const [header, , signature] = (await token({ sub: 'mallory' })).split('.');
        return connectWith({
          passcode: `${header}.${Buffer.from('{"sub":"admin"}').toString('base64url')}.${signature}`,
        });
      },
    ],
  ];
  it.each(cases)('auth: %s with AUTH_FAILED', async (_label, make) => {
    const r = await rawStomp(world.server);
    try {
      r.send(await make());
      await expectAnswer(
        r.frames,
        fatal('AUTH_FAILED'),
        () => {},
        () => r.waitForClose(),
      );
    } finally {
      r.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// SockJS: a raw xhr-streaming reader and xhr_send posts.

describe('hostile input over SockJS', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld(LIMITS);
  });
  afterEach(async () => {
    await checkWorld(world);
  });
  afterAll(async () => {
    console.log(
      `hostile input over SockJS: ${SOCKJS.length} cases, heap at most ${(world.maxHeapGrowth / 1048576).toFixed(1)} MiB over the start after GC`,
    );
    await stopWorld(world);
  });

  /** An xhr-streaming session read on a raw socket; its STOMP frames go through a FrameDecoder into `frames`. */
  async function sockjsSession(): Promise<{
    path: string;
    frames: Inbox<StompFrame>;
    closed: Promise<void>;
    post(body: string): Promise<number>;
    socket: Socket;
  }> {
    const path = `/sockjs/000/hostile${process.pid}x${++seq}`;
    const frames = new Inbox<StompFrame>('SockJS frame');
    const decoder = new FrameDecoder(
      { limits: { maxFrameBytes: 1 << 20, maxHeaders: 100, maxHeaderLineBytes: 1 << 16 } },
      (f) => frames.push(f),
    );
    const socket = connect(world.server.port, '127.0.0.1');
    let buffered = '';
    let onClosed!: () => void;
    const closed = new Promise<void>((resolve) => (onClosed = resolve));
    let opened = false;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let eol: number;
      while ((eol = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, eol);
        buffered = buffered.slice(eol + 1);
        if (line === 'o') opened = true;
        else if (line.startsWith('a['))
          for (const message of JSON.parse(line.slice(1)) as string[]) decoder.push(Buffer.from(message));
        else if (line.startsWith('c[')) onClosed();
      }
    });
    socket.on('close', () => onClosed());
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`POST ${path}/xhr_streaming HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n`);
    await until(() => opened, 'the SockJS session opened');
    // One connection per request (no keep-alive pool), so none outlives the case.
    const post = (body: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${world.server.httpUrl}${path}/xhr_send`, { method: 'POST', agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        req.on('error', reject);
        req.end(body);
      });
    return { path, frames, closed, post, socket };
  }

  it.each(SOCKJS.map((c) => [c.name, c] as const))('SockJS: %s', async (_label, hostile) => {
    const session = await sockjsSession();
    try {
      if (hostile.start === 'connected') {
        expect(await session.post(json(CONNECT))).toBe(204);
        expect((await session.frames.next()).command).toBe('CONNECTED');
        expect(
          await session.post(
            json(wire('SUBSCRIBE', { id: 'errors', destination: '/user/queue/errors', receipt: 'errors-ready' })),
          ),
        ).toBe(204);
        expect(describeFrame(await session.frames.next())).toBe('RECEIPT errors-ready');
      }
      const statuses: number[] = [];
      // Posts after '{parallel}' go out at once (a client that does not wait for each answer).
      const parallelFrom = hostile.posts.indexOf('{parallel}');
      for (const body of parallelFrom === -1 ? hostile.posts : hostile.posts.slice(0, parallelFrom)) {
        statuses.push(await session.post(body));
      }
      const parallel =
        parallelFrom === -1
          ? Promise.resolve([])
          : Promise.all(hostile.posts.slice(parallelFrom + 1).map((body) => session.post(body).catch(() => 0)));
      void parallel;
      if ('http' in hostile.answer) {
        expect(statuses.at(-1)).toBe(hostile.answer.http);
        // The session itself goes on.
        expect(await session.post(json(wire('SEND', { destination: '/topic/probe', receipt: 'probe' })))).toBe(204);
        expect(describeFrame(await session.frames.next())).toBe('RECEIPT probe');
        return;
      }
      await expectAnswer(
        session.frames,
        hostile.answer,
        () => void session.post(json(wire('SEND', { destination: '/topic/probe', receipt: 'probe' }))),
        () => session.closed,
      );
    } finally {
      session.socket.destroy();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Floods against a low rate limit: throttled, and closed only past the backlog bound.

registerCases(
  'hostile floods (SEND_RATE_PER_S=50, SEND_BURST=50, THROTTLE_MAX_BACKLOG_MS=1000)',
  [
    {
      category: 'resource exhaustion',
      start: 'connected',
      name: 'accepts 90 frames packed in one message: 49 at once, 41 throttled and all processed',
      send: [repeat(90, () => sendOf('/topic/slow'))],
      answer: accepted,
    },
    {
      category: 'resource exhaustion',
      start: 'connected',
      name: 'closes a session packing 2 s of frames past the burst with THROTTLE_BACKLOG_EXCEEDED',
      send: [repeat(160, () => sendOf('/topic/slow'))],
      answer: fatal('THROTTLE_BACKLOG_EXCEEDED'),
    },
    {
      category: 'resource exhaustion',
      start: 'connected',
      name: 'accepts 3 messages of 20 frames each, those past the burst throttled and processed',
      send: Array.from({ length: 3 }, () => repeat(20, () => sendOf('/topic/slow'))),
      answer: accepted,
    },
  ],
  { ...LIMITS, SEND_RATE_PER_S: '50', SEND_BURST: '50', THROTTLE_MAX_BACKLOG_MS: '1000' },
);
