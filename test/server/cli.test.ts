/**
 * The `stomprtc` command (server/src/cli.ts, the package's `bin`), run from source through tsx:
 * `--help` lists every setting, `--version` the package's, and a bad variable or argument stops it
 * with a message that names it. (The packed tarball's `npx stomprtc` is tested with the tarball.)
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describeSettings } from '../../server/src/config.js';

const run = promisify(execFile);
const TSX = new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url).pathname;
const CLI = new URL('../../server/src/cli.ts', import.meta.url).pathname;
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function stomprtc(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, [TSX, CLI, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('stomprtc (the command)', () => {
  it('lists every variable with its default and meaning under --help', async () => {
    const { code, stdout } = await stomprtc(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain(`stomprtc ${version}`);
    for (const { env, doc, shown } of describeSettings()) {
      expect(stdout).toMatch(
        new RegExp(`^  ${env} +${doc.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(default: ${shown}\\)$`, 'm'),
      );
    }
  });

  it('prints its version under --version', async () => {
    expect(await stomprtc(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('refuses an argument it does not know, pointing at --help', async () => {
    const { code, stderr } = await stomprtc(['--port=9000']);
    expect(code).toBe(2);
    expect(stderr).toContain(
      'stomprtc: unknown argument "--port=9000" (settings are environment variables; see stomprtc --help)',
    );
  });

  it('stops on a bad variable with a message naming it', async () => {
    const { code, stderr } = await stomprtc([], { PORT: 'eighty' });
    expect(code).toBe(1);
    expect(stderr).toContain('stomprtc: bad configuration: PORT must be a whole number, got "eighty"');
  });
});
