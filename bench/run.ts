/**
 * `npm run bench`: every benchmark in its own process (one's sockets and timers cannot skew the
 * next), each printing JSON with its own baseline measured in the same run. Pass names to run a
 * subset: `npm run bench -- topic-fanout`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const ALL = ['topic-fanout', 'join-to-channel', 'fallback'];
const chosen = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ALL;
let failed = 0;
for (const name of chosen) {
  const file = `bench/${name}.ts`;
  if (!existsSync(file)) {
    console.error(`no benchmark ${file}`);
    failed++;
    continue;
  }
  console.log(`\n## ${name}`);
  const { status } = spawnSync(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit' });
  if (status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
