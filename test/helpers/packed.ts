/**
 * The package as users get it: `npm pack` of this repository (its `prepack` builds everything),
 * installed into temporary "user projects" with runtime dependencies only, and programs run there
 * in their own processes — never importing from this repository's sources.
 *
 * One pack and one install of each project per test run (the folder comes from pack-run.ts); a
 * failure is remembered too, so the next file fails at once with the same reason.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { freePort } from './free-port.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Programs the tests run inside the user projects (copied in at install time). */
const USER_FIXTURES = join(REPO_ROOT, 'test/fixtures/user-project');

/** Liveness bounds: a pack builds the library, the demo and the browser bundle; an install may fetch. */
export const PACK_TIMEOUT_MS = 300_000;
export const INSTALL_TIMEOUT_MS = 240_000;

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The environment of a program a user runs: ours without what npm and vitest set for the process
 * that runs the tests (npm_package_*, npm_lifecycle_*, the repository as npm's local prefix,
 * NODE_ENV=test), which would otherwise make npm and the package see this repository.
 */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig', 'npm_config_cafile']);
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('npm_') && !keep.has(key)) continue;
    if (key.startsWith('VITEST') || ['NODE', 'NODE_ENV', 'NODE_OPTIONS', 'INIT_CWD', 'TEST'].includes(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

export interface RunOptions {
  readonly cwd: string;
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
}

/** Runs a command to its end and collects its output; a run past `timeoutMs` is killed. */
export function run(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: userEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Like run(), and fails with everything the command printed unless it exits 0. */
export async function runOk(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} (in ${options.cwd}) ended with ${result.code ?? result.signal}\n` +
        `stdout:\n${result.stdout.slice(-4000)}\nstderr:\n${result.stderr.slice(-4000)}`,
    );
  }
  return result;
}

/** Runs a Node program that prints one JSON document on stdout, and returns that document. */
export async function runJson<T = any>(
  cwd: string,
  script: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<T> {
  const result = await runOk('node', [script, ...args], { cwd, env, timeoutMs: 60_000 });
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`${script} printed no JSON:\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The tarball

export interface Tarball {
  /** Absolute path of the .tgz. */
  readonly path: string;
  readonly bytes: number;
  /** Paths inside the package (without the leading `package/`). */
  readonly files: string[];
  /** How long `npm pack` took, prepack build included. */
  readonly packMs: number;
}

function runDir(): string {
  return inject('packRunDir');
}

/** A result kept on disk in the run's folder: made once, shared by every file; a failure is kept too. */
async function once<T>(name: string, make: () => Promise<T>): Promise<T> {
  const done = join(runDir(), `${name}.json`);
  const failed = join(runDir(), `${name}.failed.txt`);
  if (existsSync(done)) return JSON.parse(readFileSync(done, 'utf8')) as T;
  if (existsSync(failed)) throw new Error(`(earlier in this run) ${readFileSync(failed, 'utf8')}`);
  try {
    const value = await make();
    writeFileSync(done, JSON.stringify(value));
    return value;
  } catch (err) {
    writeFileSync(failed, err instanceof Error ? err.message : String(err));
    throw err;
  }
}

/** `npm pack` of this repository into the run's folder, once per run. */
export function packTarball(): Promise<Tarball> {
  return once('tarball', async () => {
    const destination = join(runDir(), 'tarball');
    mkdirSync(destination, { recursive: true });
    const started = Date.now();
    const result = await runOk('npm', ['pack', '--json', '--pack-destination', destination], {
      cwd: REPO_ROOT,
      timeoutMs: PACK_TIMEOUT_MS,
    });
    const packMs = Date.now() - started;
    console.log(`[pack-run] npm pack (prepack build included) took ${packMs} ms`);
    // prepack's own output comes before npm's JSON report on stdout.
    const report = JSON.parse(result.stdout.slice(result.stdout.indexOf('[\n'))) as Array<{
      filename: string;
      size: number;
      files: Array<{ path: string }>;
    }>;
    const packed = report[0]!;
    return {
      path: join(destination, packed.filename),
      bytes: packed.size,
      files: packed.files.map((f) => f.path).sort(),
      packMs,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// User projects

/** Versions of what a user adds next to stomprtc: the repository's own, so the npm cache has them. */
export function repoVersionOf(name: string): string {
  return (
    JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }
  ).version;
}

/**
 * The user projects the suites share:
 * - `runtime`: stomprtc and the user's own fastify, nothing else — proves the package runs with
 *   its runtime dependencies only (no tsx, vite or TypeScript anywhere);
 * - `tooling`: stomprtc with what users add for the other ways of using it: @roamhq/wrtc (P2P in
 *   Node), vite, esbuild and webpack (browser bundles), typescript (a typed consumer). No @types/* package is installed.
 */
export type ProjectKind = 'runtime' | 'tooling';

function projectPackages(kind: ProjectKind): string[] {
  const fastify = `fastify@^${repoVersionOf('fastify').split('.')[0]}`;
  if (kind === 'runtime') return [fastify];
  return [
    fastify,
    `@roamhq/wrtc@${repoVersionOf('@roamhq/wrtc')}`,
    `vite@${repoVersionOf('vite')}`,
    `esbuild@${repoVersionOf('esbuild')}`,
    // Not used by this repository: the major versions current when this test was written.
    'webpack@^5',
    'webpack-cli@^7',
    `typescript@${repoVersionOf('typescript')}`,
  ];
}

export interface UserProject {
  readonly dir: string;
  readonly tarball: Tarball;
  /** How long its `npm install` took. */
  readonly installMs: number;
}

export interface InstallOptions {
  /** A `node` package version (`22`): npm runs on that Node (through `npx -p node@<v>`). */
  readonly node?: string;
}

/** Creates a user project (package.json, the programs from test/fixtures/user-project) and installs into it. */
export async function installUserProject(
  dir: string,
  packages: string[],
  options: InstallOptions = {},
): Promise<number> {
  mkdirSync(dir, { recursive: true });
  cpSync(USER_FIXTURES, dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'user-app', private: true, type: 'module' }, null, 2)}\n`,
  );
  const npm = ['install', '--omit=dev', '--no-audit', '--no-fund', ...packages];
  const started = Date.now();
  if (options.node) {
    await runOk('npx', ['-y', '-p', `node@${options.node}`, '--', 'npm', ...npm], {
      cwd: dir,
      timeoutMs: INSTALL_TIMEOUT_MS,
    });
  } else {
    await runOk('npm', npm, { cwd: dir, timeoutMs: INSTALL_TIMEOUT_MS });
  }
  return Date.now() - started;
}

/** The shared user project of this kind, installed once per run. */
export async function userProject(kind: ProjectKind): Promise<UserProject> {
  const tarball = await packTarball();
  return once(`project-${kind}`, async () => {
    const dir = join(runDir(), kind);
    const installMs = await installUserProject(dir, [tarball.path, ...projectPackages(kind)]);
    console.log(`[pack-run] installed the ${kind} user project in ${installMs} ms`);
    return { dir, tarball, installMs };
  });
}

/** Top-level packages installed in a project's node_modules (scoped ones as `@scope/name`). */
export function installedPackages(dir: string): string[] {
  const modules = join(dir, 'node_modules');
  return readdirSync(modules)
    .filter((n) => !n.startsWith('.'))
    .flatMap((n) => (n.startsWith('@') ? readdirSync(join(modules, n)).map((m) => `${n}/${m}`) : [n]))
    .sort();
}

// ---------------------------------------------------------------------------------------------
// Long-running programs (servers)

export class Program {
  #output = '';
  readonly #exited: Promise<RunResult>;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      this.#output += chunk.toString();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      this.#output += chunk.toString();
    });
    this.#exited = new Promise((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
    );
  }

  /** Starts `command` in its own process group (so npx and what it starts end together). */
  static start(name: string, command: string, args: string[], options: RunOptions): Program {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: userEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    return new Program(name, child);
  }

  /** Everything it printed so far, stdout and stderr interleaved. */
  get output(): string {
    return this.#output;
  }

  get exited(): Promise<RunResult> {
    return this.#exited;
  }

  /** Waits until it prints a match of `pattern`; fails with its output if it exits or `timeoutMs` passes first. */
  async waitForOutput(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    let ended = false;
    void this.#exited.then(() => (ended = true));
    for (;;) {
      const match = this.#output.match(pattern);
      if (match) return match;
      if (ended || Date.now() > deadline) {
        throw new Error(
          `${this.name} ${ended ? 'exited' : `printed nothing matching ${pattern} within ${timeoutMs} ms`}; output:\n${this.#output.slice(-4000)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** SIGTERM to its process group, SIGKILL if it has not ended after `graceMs`. */
  async stop(graceMs = 5_000): Promise<RunResult> {
    const pid = this.child.pid;
    if (pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, graceMs);
      const result = await this.#exited;
      clearTimeout(timer);
      return result;
    }
    return this.#exited;
  }
}

/** Polls `url` until it answers (any HTTP status, a redirect too); fails after `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs = 30_000, program?: Program): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(2_000) });
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(
          `${url} did not answer within ${timeoutMs} ms${program ? `; ${program.name} printed:\n${program.output.slice(-4000)}` : ''}`,
          { cause: err },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Starts `npx stomprtc` in a user project on a free port and waits until /healthz answers. */
export async function startStomprtcCommand(
  project: UserProject,
  env: Record<string, string> = {},
): Promise<{ program: Program; port: number; url: string }> {
  const port = await freePort();
  const program = Program.start('npx stomprtc', 'npx', ['--no-install', 'stomprtc'], {
    cwd: project.dir,
    env: { PORT: String(port), HOST: '127.0.0.1', ...env },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/healthz`, 30_000, program);
  } catch (err) {
    await program.stop();
    throw err;
  }
  return { program, port, url };
}
