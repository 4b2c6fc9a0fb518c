import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import { StompRtcError } from '../../../shared/src/errors.js';
import type { StompHeaders } from '../../../shared/src/stomp/frame.js';
import type { Config } from '../config.js';

export interface Principal {
  /** The JWT `sub`; the user behind a session (several sessions may share one). */
  readonly user: string;
  /** Every claim of the token, for authorization (`stomprtc.rooms`, `stomprtc.roles`) and the app's hooks. */
  readonly claims: Readonly<JWTPayload>;
  /** When the token stops being valid (its `exp`, in ms since the epoch), if it says. */
  readonly expiresAt: number | undefined;
}

/** Checks one JWT and reads its principal; refuses it with AUTH_FAILED. */
export type TokenVerifier = (token: string) => Promise<Principal>;

export type Authenticator = (headers: StompHeaders) => Promise<Principal>;

/** The algorithms each key type may verify: never chosen by the token itself (RFC 8725 §2.1). */
const ALGORITHMS_BY_KEY_TYPE: Readonly<Record<string, readonly string[]>> = {
  rsa: ['RS256'],
  ec: ['ES256'],
  ed25519: ['EdDSA'],
};
const JWKS_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'];

/**
 * The token checker for the configured key source: an HS256 secret, a PEM public key, or a JWKS
 * URL whose keys jose caches and refetches when a token names an unknown `kid` (at most once per
 * AUTH_JWKS_COOLDOWN_MS), so an IdP can rotate keys without a restart. Undefined when auth is off.
 */
export function tokenVerifier(config: Config): TokenVerifier | undefined {
  const key = verificationKey(config);
  if (!key) return undefined;
  const options: JWTVerifyOptions = {
    algorithms: [...key.algorithms],
    clockTolerance: config.authClockToleranceSeconds,
    ...(config.authJwtIssuer ? { issuer: config.authJwtIssuer } : {}),
    ...(config.authJwtAudience.length > 0 ? { audience: [...config.authJwtAudience] } : {}),
  };
  const toleranceMs = config.authClockToleranceSeconds * 1000;
  return async (token) => {
    let payload: JWTPayload;
    try {
      // Two overloads of jwtVerify: a fixed key, or a key resolver (JWKS).
      payload =
        typeof key.key === 'function'
          ? (await jwtVerify(token, key.key, options)).payload
          : (await jwtVerify(token, key.key, options)).payload;
    } catch (err) {
      throw new StompRtcError('AUTH_FAILED', `token rejected: ${(err as Error).message}`);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '')
      throw new StompRtcError('AUTH_FAILED', 'token rejected: the token has no "sub" claim');
    const expiresAt = payload.exp === undefined ? undefined : payload.exp * 1000 + toleranceMs;
    return { user: payload.sub, claims: payload, expiresAt };
  };
}

/**
 * JWTs from CONNECT: `Authorization: Bearer <jwt>`, or `passcode` for clients that only expose
 * login/passcode. A token without `sub` or past `exp` is refused.
 */
export function jwtAuthenticator(verify: TokenVerifier): Authenticator {
  return (headers) => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(headers.Authorization ?? headers.authorization ?? '');
    const token = bearer?.[1] ?? headers.passcode;
    if (!token) {
      return Promise.reject(
        new StompRtcError(
          'AUTH_FAILED',
          'CONNECT needs a JWT in header "Authorization: Bearer <jwt>" or in "passcode"',
        ),
      );
    }
    return verify(token);
  };
}

interface VerificationKey {
  readonly key: Uint8Array | KeyObject | JWTVerifyGetKey;
  readonly algorithms: readonly string[];
}

function verificationKey(config: Config): VerificationKey | undefined {
  if (config.authJwtSecret) return { key: new TextEncoder().encode(config.authJwtSecret), algorithms: ['HS256'] };
  if (config.authJwtPublicKey) {
    const key = createPublicKey(config.authJwtPublicKey);
    const algorithms = ALGORITHMS_BY_KEY_TYPE[key.asymmetricKeyType ?? ''];
    // loadConfig refuses other key types; a Config built elsewhere is checked here.
    if (!algorithms) throw new Error(`AUTH_JWT_PUBLIC_KEY: a ${key.asymmetricKeyType} key; use RSA, P-256 or Ed25519`);
    return { key, algorithms };
  }
  if (config.authJwksUrl) {
    const jwks = createRemoteJWKSet(new URL(config.authJwksUrl), {
      cooldownDuration: config.authJwksCooldownMs,
      cacheMaxAge: config.authJwksMaxAgeMs,
    });
    return { key: jwks, algorithms: JWKS_ALGORITHMS };
  }
  return undefined;
}
