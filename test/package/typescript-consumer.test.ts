/**
 * A strict TypeScript consumer of the installed package, with skipLibCheck and no @types/*
 * package installed by the user: code using the client and the plugin compiles, and the types are
 * real — a message handler with a wrong parameter type does not.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { installedPackages, PACK_TIMEOUT_MS, run, userProject, type UserProject } from '../helpers/packed.js';

const TSCONFIG = {
  compilerOptions: {
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
  },
};

const GOOD = `import Fastify from 'fastify';
import stomprtc from 'stomprtc/server';
import { connect, type RoomMessage, type Peer } from 'stomprtc/client';

const app = Fastify();
await app.register(stomprtc);
await app.listen({ port: 0 });

const session = await connect('ws://localhost:8080/ws', { relayOnly: true });
const room = await session.join('team', { name: 'Ann' });
room.on('peer-joined', (peer: Peer) => console.log(peer.name.toUpperCase(), peer.link));
room.on('message', ({ from, data }: RoomMessage) =>
  console.log(from.length, data instanceof Uint8Array ? data.byteLength : data));
room.send('hello, everyone');
await room.leave();
await session.close();
await app.close();
`;

const WRONG_HANDLER = `import { connect } from 'stomprtc/client';

const session = await connect('ws://localhost:8080/ws');
const room = await session.join('team', { name: 'Ann' });
room.on('message', (message: number) => console.log(message.toFixed(2)));
`;

describe('a strict TypeScript consumer', () => {
  let project: UserProject;
  beforeAll(async () => {
    project = await userProject('tooling');
  }, 2 * PACK_TIMEOUT_MS);

  async function tsc(name: string, source: string) {
    const dir = join(project.dir, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    writeFileSync(join(dir, 'main.ts'), source);
    return run('npx', ['--no-install', 'tsc', '-p', name], { cwd: project.dir, timeoutMs: 120_000 });
  }

  it('compiles code that uses the client and the plugin', async () => {
    // The user installed no @types/* package; any that are there came with a dependency.
    console.log(
      `[typescript] @types in the project: ${
        installedPackages(project.dir)
          .filter((p) => p.startsWith('@types/'))
          .join(', ') || 'none'
      }`,
    );
    const result = await tsc('typed-good', GOOD);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('rejects a message handler with a wrong parameter type', async () => {
    const result = await tsc('typed-wrong', WRONG_HANDLER);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toMatch(
      /main\.ts\(5,\d+\): error TS2345: [^]*'RoomMessage' is not assignable to type 'number'/,
    );
    // That is the only error: the rest of the file type-checks against real types.
    expect(result.stdout.match(/error TS/g)).toHaveLength(1);
  });
});
