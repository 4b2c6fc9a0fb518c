/** Small DOM helpers: the demo has no framework, so element creation reads like markup. */

type Child = Node | string | null | undefined | false;
/** Attribute values (false/null/undefined leave the attribute out) and `on*` listeners. */
type Attrs = Record<string, string | number | boolean | null | undefined | ((event: never) => void)>;

/**
 * `h('button', { class: 'btn', 'aria-label': 'Send', onclick }, 'Send')`. Attributes whose value
 * is false, null or undefined are left out; `on*` functions become listeners.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value as EventListener);
    } else if (value !== false && value !== null && value !== undefined) {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, ...children);
  return el;
}

function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

/** An inline SVG icon from the sprite in index.html. */
export function icon(name: string): SVGSVGElement {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'icon');
  svg.setAttribute('aria-hidden', 'true');
  const use = document.createElementNS('http://www.w3.org/2000/svg', 'use');
  use.setAttribute('href', `#i-${name}`);
  svg.appendChild(use);
  return svg;
}

/** Up to two initials for an avatar. */
function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0]![0], words[words.length - 1]![0]] : [...(words[0] ?? '?')].slice(0, 2);
  return letters.join('').toUpperCase();
}

/** A stable hue per name, so a person keeps their colour across reloads and pages. */
function hue(name: string): number {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)!) >>> 0;
  return hash % 360;
}

export function avatar(name: string, extraClass = ''): HTMLElement {
  const el = h('span', { class: `avatar ${extraClass}`.trim(), 'aria-hidden': 'true' }, initials(name));
  el.style.setProperty('--hue', String(hue(name)));
  return el;
}

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

export function timeElement(at: Date): HTMLTimeElement {
  return h('time', { datetime: at.toISOString(), title: at.toLocaleString() }, clock.format(at));
}
