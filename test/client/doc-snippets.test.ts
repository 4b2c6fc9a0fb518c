/**
 * Every ts/js code block of the README's client section and of docs/protocol.md runs here, as
 * written, against a real server: only the package name becomes the source path and the
 * documented localhost URLs become the test server's. The harness puts a second member ("Bob")
 * in the room the snippet joins, and checks that Bob receives what the snippet's room.send()
 * calls send, so a snippet that silently does nothing fails too.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import wrtc from '@roamhq/wrtc';
import { connect } from '../../client/src/index.js';
import { startServer } from '../helpers/server.js';
import { record, waitFor } from './helpers/wait.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const clientEntry = pathToFileURL(join(root, 'client/src/index.ts')).href;

interface Snippet {
  readonly where: string;
  readonly code: string;
}

/** Fenced blocks tagged ts, typescript, js, javascript or mjs (wire frames and shell are not code). */
function codeBlocks(markdown: string, file: string, firstLine = 1): Snippet[] {
  const blocks: Snippet[] = [];
  const fence = /^```(ts|typescript|js|javascript|mjs)\n([\s\S]*?)^```$/gm;
  for (const m of markdown.matchAll(fence)) {
    const line = firstLine + markdown.slice(0, m.index).split('\n').length - 1;
    blocks.push({ where: `${file}:${line}`, code: m[2]! });
  }
  return blocks;
}

/** The text of a `## ` section and the line it starts on. */
function section(markdown: string, heading: string): [string, number] {
  const start = markdown.indexOf(`\n${heading}\n`) + 1;
  if (start === 0) throw new Error(`no section "${heading}"`);
  const next = markdown.indexOf('\n## ', start + heading.length);
  return [markdown.slice(start, next < 0 ? undefined : next), markdown.slice(0, start).split('\n').length];
}

const readme = readFileSync(join(root, 'README.md'), 'utf8');
const protocol = readFileSync(join(root, 'docs/protocol.md'), 'utf8');
const clientSection = section(readme, '## The client library');
const snippets = [
  ...codeBlocks(clientSection[0], 'README.md', clientSection[1]),
  ...codeBlocks(protocol, 'docs/protocol.md'),
];

const dir = mkdtempSync(join(tmpdir(), `stomprtc-snippets-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('documentation snippets', () => {
  it('finds the client snippets of the README and docs/protocol.md', () => {
    expect(snippets.map((s) => s.where.split(':')[0])).toEqual(
      expect.arrayContaining(['README.md', 'docs/protocol.md']),
    );
  });

  it.each(snippets.map((s) => [s.where, s] as const))('runs the snippet at %s', async (_where, snippet) => {
    const server = await startServer();
    const bob = await connect(server.wsUrl, { wrtc });
    const logs = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const roomId = /\.join\('([^']+)'/.exec(snippet.code)?.[1];
      const bobRoom = roomId ? await bob.join(roomId, { name: 'Bob' }) : undefined;
      const got = bobRoom ? record(bobRoom) : [];
      const code = snippet.code
        .replaceAll("'stomprtc/client'", `'${clientEntry}'`)
        .replaceAll('ws://localhost:8080/ws', server.wsUrl)
        .replaceAll('http://localhost:8080', server.httpUrl);
      const file = join(dir, `snippet-${snippets.indexOf(snippet)}.ts`);
      writeFileSync(file, code);
      await import(pathToFileURL(file).href);
      const sends = snippet.code.match(/\broom\.send\(/g)?.length ?? 0;
      if (bobRoom) await waitFor(() => got.length >= sends, 10_000, `Bob to get the snippet's ${sends} messages`);
      expect(logs).toHaveBeenCalled();
    } finally {
      logs.mockRestore();
      await bob.close();
      await server.close();
    }
  });
});
