/**
 * The demo's own messages, carried by room.send() as JSON text. Anything else that arrives (a
 * plain string from another stomprtc client, bytes) is shown as it is.
 */

export interface ChatMessage {
  readonly type: 'chat';
  readonly text: string;
  /** Sender's name at send time: a message can overtake the presence event that names its sender. */
  readonly name: string;
}

/** Sent when a member's camera or microphone changes, and to each newcomer while in a call. */
export interface MediaState {
  readonly type: 'media';
  readonly video: boolean;
  readonly audio: boolean;
  /** In a call at all (false after "stop video"). */
  readonly active: boolean;
}

export type DemoMessage = ChatMessage | MediaState;

/** Longest chat message, in characters; far below the library's limits, just a sane UI bound. */
export const MAX_CHAT_LENGTH = 4000;

export function encode(message: DemoMessage): string {
  return JSON.stringify(message);
}

export type Decoded = DemoMessage | { readonly type: 'raw'; readonly text: string };

export function decode(data: string | Uint8Array): Decoded {
  if (typeof data !== 'string') return { type: 'raw', text: `[${data.byteLength} bytes of binary data]` };
  if (data.startsWith('{')) {
    try {
      const value = JSON.parse(data) as Partial<DemoMessage> | null;
      if (value?.type === 'chat' && typeof value.text === 'string') {
        return {
          type: 'chat',
          text: value.text.slice(0, MAX_CHAT_LENGTH),
          name: typeof value.name === 'string' ? value.name : '',
        };
      }
      if (value?.type === 'media') {
        return {
          type: 'media',
          video: value.video === true,
          audio: value.audio === true,
          active: value.active === true,
        };
      }
    } catch {
      // Not ours: shown as text below.
    }
  }
  return { type: 'raw', text: data };
}
