/** The chat panel: a log of messages (one `data-testid="message"` element each) and a composer. */
import { avatar, h, icon, timeElement } from './dom.js';
import { MAX_CHAT_LENGTH } from './wire.js';

export interface ChatEntry {
  readonly senderId: string;
  readonly name: string;
  readonly text: string;
  readonly own: boolean;
  readonly at: Date;
  /** Came over the relay or a data channel; shown only as a tooltip. */
  readonly via?: string;
}

/** Messages after which the oldest are dropped from the page. */
const MAX_ROWS = 500;
/** Consecutive messages of one sender within this window share one header. */
const GROUP_MS = 2 * 60_000;

export class ChatView {
  readonly element: HTMLElement;
  readonly #log: HTMLElement;
  readonly #empty: HTMLElement;
  readonly #input: HTMLTextAreaElement;
  readonly #sendButton: HTMLButtonElement;
  #last: { senderId: string; at: number } | undefined;

  readonly #send: (text: string) => string | undefined;

  /** `send` returns an error text when the message could not be queued. */
  constructor(send: (text: string) => string | undefined) {
    this.#send = send;
    this.#empty = h('p', { class: 'chat-empty' }, 'No messages yet. Say hello!');
    this.#log = h('ol', { class: 'chat-log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages' });
    this.#input = h('textarea', {
      id: 'chat-input',
      class: 'chat-input',
      'data-testid': 'chat-input',
      rows: 1,
      maxlength: MAX_CHAT_LENGTH,
      placeholder: 'Write a message…',
      autocomplete: 'off',
      enterkeyhint: 'send',
      'aria-label': 'Message',
      onkeydown: (e: KeyboardEvent) => {
        // Enter sends; Shift+Enter starts a new line; never while an IME is composing.
        if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          this.#submit();
        }
      },
      oninput: () => this.#autosize(),
    });
    this.#sendButton = h(
      'button',
      {
        type: 'submit',
        class: 'btn btn-primary btn-icon',
        'data-testid': 'chat-send',
        'aria-label': 'Send message',
        title: 'Send (Enter)',
      },
      icon('send'),
    );
    const form = h(
      'form',
      {
        class: 'composer',
        onsubmit: (e: Event) => {
          e.preventDefault();
          this.#submit();
        },
      },
      h('label', { for: 'chat-input', class: 'sr-only' }, 'Message'),
      this.#input,
      this.#sendButton,
    );
    this.element = h(
      'section',
      { class: 'panel chat', 'aria-label': 'Chat' },
      h('div', { class: 'chat-scroll' }, this.#empty, this.#log),
      form,
    );
    this.setEnabled(false);
  }

  setEnabled(enabled: boolean): void {
    this.#input.disabled = !enabled;
    this.#sendButton.disabled = !enabled;
  }

  focus(): void {
    this.#input.focus({ preventScroll: true });
  }

  add(entry: ChatEntry): void {
    const scroller = this.#log.parentElement!;
    const pinned = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 48;
    const continued = this.#last?.senderId === entry.senderId && entry.at.getTime() - this.#last.at < GROUP_MS;
    this.#last = { senderId: entry.senderId, at: entry.at.getTime() };
    const row = h(
      'li',
      {
        class: `msg${entry.own ? ' own' : ''}${continued ? ' continued' : ''}`,
        'data-testid': 'message',
        'data-own': entry.own ? 'true' : 'false',
        'data-sender-id': entry.senderId,
      },
      entry.own ? null : avatar(entry.name),
      h(
        'div',
        { class: 'bubble-wrap' },
        h(
          'div',
          { class: 'meta' },
          h('span', { class: 'sender' }, entry.name),
          entry.own ? h('span', { class: 'sr-only' }, ' (you)') : null,
          ' ',
          timeElement(entry.at),
        ),
        h('p', { class: 'bubble', title: entry.via ?? false }, entry.text),
      ),
    );
    this.#empty.hidden = true;
    this.#log.appendChild(row);
    while (this.#log.childElementCount > MAX_ROWS) this.#log.firstElementChild!.remove();
    if (pinned || entry.own) scroller.scrollTop = scroller.scrollHeight;
  }

  /** A line about the room itself (someone joined or left); not a message. */
  notice(text: string): void {
    this.#last = undefined;
    this.#empty.hidden = true;
    this.#log.appendChild(h('li', { class: 'notice' }, h('span', {}, text), ' ', timeElement(new Date())));
    const scroller = this.#log.parentElement!;
    scroller.scrollTop = scroller.scrollHeight;
  }

  #submit(): void {
    const text = this.#input.value.trim();
    if (!text || this.#input.disabled) return;
    const error = this.#send(text);
    if (error) return;
    this.#input.value = '';
    this.#autosize();
    this.focus();
  }

  #autosize(): void {
    this.#input.style.height = 'auto';
    this.#input.style.height = `${Math.min(this.#input.scrollHeight, 160)}px`;
  }
}
