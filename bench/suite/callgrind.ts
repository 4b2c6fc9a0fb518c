/**
 * Counting a server's instructions with Valgrind's callgrind. Throughput on a shared machine swings
 * by ±20 % within minutes; the instructions a server executes for the same work move much less
 * (stomp-floor's median held within 1.6 % over six runs on one machine), though they do move with
 * how many messages each wakeup finds (ws read 63,923 and 91,020 in two runs of the suite). The
 * server starts with instrumentation off, so start-up and the untimed warm-up are not counted, and a
 * scenario turns it on around the work it measures.
 * Callgrind counts user space only: the kernel's share (the socket calls, the same for every
 * server) is left out.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Valgrind's arguments before the program's. */
export function callgrindArgs(outFile: string): string[] {
  return [
    '--tool=callgrind',
    '--quiet',
    '--instr-atstart=no',
    // V8 writes machine code and patches it in place: Valgrind must look for changed code everywhere.
    '--smc-check=all-non-file',
    `--callgrind-out-file=${outFile}`,
  ];
}

export async function setInstrumentation(pid: number, on: boolean): Promise<void> {
  await run('callgrind_control', [`--instr=${on ? 'on' : 'off'}`, String(pid)]);
}

/**
 * Dumps what was counted since the last dump (or start-up) and returns its total (the `totals:`
 * line); callgrind zeroes its counters at each dump. `dump` is this dump's number, from 1.
 */
export async function countedInstructions(pid: number, outFile: string, dump: number): Promise<number> {
  await run('callgrind_control', ['--dump', String(pid)]);
  // A dump is written beside the out file, numbered: `<out>.1` for the first.
  const text = await readFile(`${outFile}.${dump}`, 'utf8');
  const totals = /^totals: (\d+)/m.exec(text);
  if (!totals) throw new Error(`no totals line in callgrind's dump ${dump} of pid ${pid}`);
  return Number(totals[1]);
}

/** Why counting cannot run here, or undefined when it can. */
export function callgrindMissing(): string | undefined {
  const probe = spawnSync('valgrind', ['--version'], { stdio: 'ignore' });
  return probe.status === 0 ? undefined : 'valgrind is not installed (Debian package valgrind)';
}
