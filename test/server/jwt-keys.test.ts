/**
 * JWT key sources against a real server: RS256 from inline PEM, ES256 from a PEM file, EdDSA from a
 * JWKS the test serves over HTTP with a key rotated mid-test (jose's cache, cooldown and max age),
 * `iss`/`aud` checks and clock tolerance. Each token goes in a real CONNECT.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { rawStomp, startServer, type RawStomp, type TestServer } from '../helpers/server.js';

let raws: RawStomp[] = [];
afterEach(() => {
  for (const r of raws) r.close();
  raws = [];
});

interface Signing {
  readonly alg: string;
  readonly key: CryptoKey | Uint8Array;
  readonly kid?: string;
}

function sign({ alg, key, kid }: Signing, claims: JWTPayload = {}, expiresIn: string | number = '1h'): Promise<string> {
  return new SignJWT({ sub: 'ada', ...claims })
    .setProtectedHeader({ alg, ...(kid ? { kid } : {}) })
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(key);
}

/** The answer to a CONNECT carrying `token`: 'CONNECTED', or 'ERROR <code>: <message>'. */
async function connectWith(server: TestServer, token: string): Promise<string> {
  const r = await rawStomp(server);
  raws.push(r);
  const reply = await r.connect({ 'accept-version': '1.2', host: 'stomprtc', passcode: token });
  return reply.command === 'CONNECTED'
    ? 'CONNECTED'
    : `${reply.command} ${reply.headers.code}: ${reply.headers.message}`;
}

describe('AUTH_JWT_PUBLIC_KEY', () => {
  it('verifies RS256 with an inline PEM and refuses the same claims signed by another key or as HS256 with the PEM as secret', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const pem = await exportSPKI(publicKey);
    const server = await startServer({ AUTH_JWT_PUBLIC_KEY: pem });
    try {
      expect(await connectWith(server, await sign({ alg: 'RS256', key: privateKey }))).toBe('CONNECTED');
      const other = await generateKeyPair('RS256');
      expect(await connectWith(server, await sign({ alg: 'RS256', key: other.privateKey }))).toMatch(
        /^ERROR AUTH_FAILED: token rejected: signature verification failed/,
      );
      // The classic algorithm confusion: the public key used as an HMAC secret.
      const confused = await sign({ alg: 'HS256', key: new TextEncoder().encode(pem) });
      expect(await connectWith(server, confused)).toMatch(
        /^ERROR AUTH_FAILED: token rejected: "alg" \(Algorithm\) Header Parameter value not allowed/,
      );
    } finally {
      await server.close();
    }
  });

  it('verifies ES256 with a PEM read from a file', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const file = join(mkdtempSync(join(tmpdir(), 'stomprtc-key-')), 'es256.pem');
    writeFileSync(file, await exportSPKI(publicKey));
    const server = await startServer({ AUTH_JWT_PUBLIC_KEY: file });
    try {
      expect(await connectWith(server, await sign({ alg: 'ES256', key: privateKey }))).toBe('CONNECTED');
      const rsa = await generateKeyPair('RS256');
      expect(await connectWith(server, await sign({ alg: 'RS256', key: rsa.privateKey }))).toMatch(
        /^ERROR AUTH_FAILED: .*"alg" \(Algorithm\) Header Parameter value not allowed/,
      );
    } finally {
      await server.close();
    }
  });
});

describe('AUTH_JWT_ISSUER, AUTH_JWT_AUDIENCE, AUTH_CLOCK_TOLERANCE_S', () => {
  const secret = 'claims-secret-of-sufficient-length';
  const key = { alg: 'HS256', key: new TextEncoder().encode(secret) };
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({
      AUTH_JWT_SECRET: secret,
      AUTH_JWT_ISSUER: 'https://idp.test/',
      AUTH_JWT_AUDIENCE: 'stomprtc,stomprtc-staging',
      AUTH_CLOCK_TOLERANCE_S: '30',
    });
  });
  afterAll(async () => {
    await server.close();
  });
  const now = () => Math.floor(Date.now() / 1000);

  it.each([
    ['the issuer and one of the audiences', { iss: 'https://idp.test/', aud: 'stomprtc-staging' }, '1h', 'CONNECTED'],
    [
      'an audience list naming one of ours',
      { iss: 'https://idp.test/', aud: ['other', 'stomprtc'] },
      '1h',
      'CONNECTED',
    ],
    [
      'another issuer',
      { iss: 'https://evil.test/', aud: 'stomprtc' },
      '1h',
      /^ERROR AUTH_FAILED: token rejected: unexpected "iss" claim value/,
    ],
    ['no issuer', { aud: 'stomprtc' }, '1h', /^ERROR AUTH_FAILED: token rejected: missing required "iss" claim/],
    [
      'another audience',
      { iss: 'https://idp.test/', aud: 'billing' },
      '1h',
      /^ERROR AUTH_FAILED: token rejected: unexpected "aud" claim value/,
    ],
    ['an exp 10 s ago, inside the 30 s tolerance', { iss: 'https://idp.test/', aud: 'stomprtc' }, -10, 'CONNECTED'],
    [
      'an exp 60 s ago, past the tolerance',
      { iss: 'https://idp.test/', aud: 'stomprtc' },
      -60,
      /^ERROR AUTH_FAILED: token rejected: "exp" claim timestamp check failed/,
    ],
    [
      'an nbf 10 s ahead, inside the tolerance',
      { iss: 'https://idp.test/', aud: 'stomprtc', nbf: 10 },
      '1h',
      'CONNECTED',
    ],
    [
      'an nbf 60 s ahead, past the tolerance',
      { iss: 'https://idp.test/', aud: 'stomprtc', nbf: 60 },
      '1h',
      /^ERROR AUTH_FAILED: token rejected: "nbf" claim timestamp check failed/,
    ],
  ])('answers a token with %s', async (_label, claims, expiresIn, expected) => {
    const { nbf, ...rest } = claims as JWTPayload;
    const exp = typeof expiresIn === 'number' ? now() + expiresIn : expiresIn;
    const answer = await connectWith(server, await sign(key, { ...rest, ...(nbf ? { nbf: now() + nbf } : {}) }, exp));
    if (typeof expected === 'string') expect(answer).toBe(expected);
    else expect(answer).toMatch(expected);
  });
});

describe('AUTH_JWKS_URL with a key rotated mid-test', () => {
  const COOLDOWN_MS = 1000;
  const MAX_AGE_MS = 3000;
  let jwksServer: Server;
  let keys: JWK[] = [];
  let fetches = 0;
  let server: TestServer;

  beforeAll(async () => {
    jwksServer = createServer((request, response) => {
      fetches++;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const { port } = jwksServer.address() as AddressInfo;
    server = await startServer({
      AUTH_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
      AUTH_JWKS_COOLDOWN_MS: String(COOLDOWN_MS),
      AUTH_JWKS_MAX_AGE_MS: String(MAX_AGE_MS),
    });
  });
  afterAll(async () => {
    await server.close();
    await new Promise((resolve) => jwksServer.close(resolve));
  });

  async function keyPair(kid: string): Promise<{ signing: Signing; jwk: JWK }> {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA');
    return {
      signing: { alg: 'EdDSA', key: privateKey, kid },
      jwk: { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' },
    };
  }
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('takes the new key after rotation, refetches at most once per cooldown, and refuses the old key once it is gone', async () => {
    const old = await keyPair('2026-old');
    const next = await keyPair('2026-new');
    keys = [old.jwk];
    expect(await connectWith(server, await sign(old.signing))).toBe('CONNECTED');
    expect(fetches).toBe(1);
    // Cached: another token of the known kid needs no fetch.
    expect(await connectWith(server, await sign(old.signing))).toBe('CONNECTED');
    expect(fetches).toBe(1);

    // The IdP publishes the new key. Within the cooldown an unknown kid cannot make the server fetch again.
    keys = [old.jwk, next.jwk];
    const early = await connectWith(server, await sign(next.signing));
    expect(early).toMatch(/^ERROR AUTH_FAILED: token rejected: no applicable key found in the JSON Web Key Set/);
    expect(fetches).toBe(1);
    await sleep(COOLDOWN_MS + 100);
    expect(await connectWith(server, await sign(next.signing))).toBe('CONNECTED');
    expect(fetches).toBe(2);
    // Tokens with made-up kids, many at once: at most one fetch per cooldown.
    const forged = await keyPair('made-up');
    await sleep(COOLDOWN_MS + 100);
    const answers = await Promise.all(
      Array.from({ length: 5 }, async () => connectWith(server, await sign(forged.signing))),
    );
    expect(answers.every((a) => a.startsWith('ERROR AUTH_FAILED'))).toBe(true);
    expect(fetches).toBe(3);

    // The IdP drops the old key: once the cache is older than AUTH_JWKS_MAX_AGE_MS, its tokens are refused.
    keys = [next.jwk];
    await sleep(MAX_AGE_MS + 100);
    expect(await connectWith(server, await sign(old.signing))).toMatch(
      /^ERROR AUTH_FAILED: token rejected: no applicable key found/,
    );
    expect(await connectWith(server, await sign(next.signing))).toBe('CONNECTED');
  });
});

describe('a CONNECT waiting for its JWKS', () => {
  it('reads nothing more from the client until the token is verified, then takes every frame it held back', async () => {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'slow', alg: 'EdDSA', use: 'sig' };
    let fetched!: () => void;
    const fetching = new Promise<void>((resolve) => (fetched = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const jwksServer = createServer((_request, response) => {
      fetched();
      void released.then(() => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ keys: [jwk] }));
      });
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const { port } = jwksServer.address() as AddressInfo;
    const server = await startServer({
      AUTH_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
      SEND_RATE_PER_S: '1000000',
      SEND_BURST: '1000000',
    });
    try {
      const r = await rawStomp(server);
      raws.push(r);
      const token = await sign({ alg: 'EdDSA', key: privateKey, kid: 'slow' });
      r.send(`CONNECT\naccept-version:1.2\nhost:stomprtc\npasscode:${token}\n\n\0`);
      await fetching;
      // 48 MB of frames, each under MAX_CONNECT_FRAME_BYTES: far more than the sockets between us can hold.
      const frame = `SEND\ndestination:/topic/void\n\n${'x'.repeat(8000)}\0`;
      for (let i = 0; i < 6000; i++) r.send(frame);
      await new Promise((resolve) => setTimeout(resolve, 500));
      // The server stopped reading: what the kernel's buffers cannot take still waits on this side.
      expect(r.socket.bufferedAmount).toBeGreaterThan(16 << 20);
      release();
      expect((await r.nextFrame()).command).toBe('CONNECTED');
      r.send('SEND\ndestination:/topic/void\nreceipt:last\n\n\0');
      const receipt = await r.nextFrame();
      expect(receipt.command, receipt.headers.message).toBe('RECEIPT');
      expect(receipt.headers['receipt-id']).toBe('last');
    } finally {
      release();
      await server.close();
      await new Promise((resolve) => jwksServer.close(resolve));
    }
  });
});
