/** The form shown when the URL does not name both a room and a display name. */
import { h, icon } from './dom.js';
import { MAX_NAME_LENGTH, randomRoomId, validRoomId, type PageOptions } from './options.js';

const NAME_KEY = 'stomprtc-demo-name';

export function joinForm(initial: PageOptions, submit: (options: PageOptions) => void): HTMLElement {
  const name = h('input', {
    id: 'join-name',
    name: 'name',
    required: true,
    maxlength: MAX_NAME_LENGTH,
    autocomplete: 'nickname',
    placeholder: 'Ada Lovelace',
    value: initial.name || rememberedName(),
  });
  const room = h('input', {
    id: 'join-room',
    name: 'room',
    required: true,
    maxlength: 64,
    autocapitalize: 'off',
    spellcheck: false,
    placeholder: 'team-standup',
    value: initial.room,
    'aria-describedby': 'join-room-help',
  });
  const sockjs = h('input', { type: 'checkbox', id: 'join-sockjs', checked: initial.transport === 'sockjs' });
  const relay = h('input', { type: 'checkbox', id: 'join-relay', checked: initial.relayOnly });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });

  const form = h(
    'form',
    {
      class: 'join-card',
      'aria-labelledby': 'join-title',
      novalidate: true,
      onsubmit: (e: Event) => {
        e.preventDefault();
        const options: PageOptions = {
          name: name.value.trim(),
          room: room.value.trim(),
          transport: sockjs.checked ? 'sockjs' : 'websocket',
          relayOnly: relay.checked,
          debug: initial.debug,
        };
        const problem = !options.name
          ? 'Enter your name.'
          : !validRoomId(options.room)
            ? 'A room name uses letters, digits, ".", "_" or "-" (up to 64), starting with a letter or digit.'
            : undefined;
        error.hidden = !problem;
        error.textContent = problem ?? '';
        if (problem) {
          (options.name ? room : name).focus();
          return;
        }
        try {
          localStorage.setItem(NAME_KEY, options.name);
        } catch {
          /* storage disabled */
        }
        submit(options);
      },
    },
    h('div', { class: 'brand-large' }, h('span', { class: 'logo', 'aria-hidden': 'true' }), h('span', {}, 'stomprtc')),
    h('h1', { id: 'join-title' }, 'Join a room'),
    h(
      'p',
      { class: 'lead' },
      'Chat and video with everyone in the room, peer-to-peer over WebRTC, with the server relay as fallback.',
    ),
    h('div', { class: 'field' }, h('label', { for: 'join-name' }, 'Your name'), name),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'join-room' }, 'Room'),
      h(
        'div',
        { class: 'input-row' },
        room,
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-ghost',
            onclick: () => {
              room.value = randomRoomId();
              room.focus();
            },
          },
          'Random',
        ),
      ),
      h('p', { id: 'join-room-help', class: 'help' }, 'Everyone who opens the same room name meets there.'),
    ),
    h(
      'details',
      { class: 'advanced' },
      h('summary', {}, 'Connection options'),
      h(
        'label',
        { class: 'check', for: 'join-sockjs' },
        sockjs,
        h('span', {}, 'Use SockJS (for networks that block WebSocket)'),
      ),
      h('label', { class: 'check', for: 'join-relay' }, relay, h('span', {}, 'Relay only (no peer-to-peer links)')),
    ),
    error,
    h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, icon('log-in'), h('span', {}, 'Join room')),
  );
  queueMicrotask(() => (name.value ? room : name).focus());
  return h('main', { class: 'join' }, form);
}

function rememberedName(): string {
  try {
    return localStorage.getItem(NAME_KEY) ?? '';
  } catch {
    return '';
  }
}
