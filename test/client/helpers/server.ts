import { buildApp } from '../../../server/src/app.js';
import { loadConfig } from '../../../server/src/config.js';

export interface TestServer { readonly url: string; readonly sockjsUrl: string; close(): Promise<void> }

export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  const app = await buildApp(loadConfig({ PORT: '0', ...env }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    sockjsUrl: `http://127.0.0.1:${port}/sockjs`,
    close: () => app.close(),
  };
}
