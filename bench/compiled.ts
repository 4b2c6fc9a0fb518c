/**
 * stomprtc as users run it: the compiled build that `npm install stomprtc` ships (bench/run.ts runs
 * `npm run build` first), not the sources through tsx, whose transform wraps every closure it
 * creates. Every benchmark takes the server and the client from here; the types are the sources'.
 */
import type { buildApp } from '../server/src/app.js';
import type { loadConfig } from '../server/src/config.js';
import type * as Client from '../client/src/index.js';

const dist = new URL('../dist/', import.meta.url);

function compiled<Module>(path: string): Promise<Module> {
  return import(new URL(path, dist).href) as Promise<Module>;
}

export async function compiledServer(): Promise<{ buildApp: typeof buildApp; loadConfig: typeof loadConfig }> {
  const [app, config] = await Promise.all([
    compiled<{ buildApp: typeof buildApp }>('server/src/app.js'),
    compiled<{ loadConfig: typeof loadConfig }>('server/src/config.js'),
  ]);
  return { buildApp: app.buildApp, loadConfig: config.loadConfig };
}

export function compiledClient(): Promise<typeof Client> {
  return compiled<typeof Client>('client/src/index.js');
}
