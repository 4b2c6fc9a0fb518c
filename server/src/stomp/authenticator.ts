import { jwtVerify } from 'jose';
import { StompRtcError } from '../../../shared/src/errors.js';
import type { StompHeaders } from '../../../shared/src/stomp/frame.js';

export interface Principal {
  /** The JWT `sub`; the user behind a session (several sessions may share one). */
  readonly user: string;
}

export type Authenticator = (headers: StompHeaders) => Promise<Principal>;

/**
 * HS256 JWTs from CONNECT: `Authorization: Bearer <jwt>`, or `passcode` for clients that only
 * expose login/passcode. A token without `sub` or past `exp` is refused.
 */
export function jwtAuthenticator(secret: string): Authenticator {
  const key = new TextEncoder().encode(secret);
  return async (headers) => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(headers.Authorization ?? headers.authorization ?? '');
    const token = bearer?.[1] ?? headers.passcode;
    if (!token) throw new StompRtcError('AUTH_FAILED', 'CONNECT needs a JWT in header "Authorization: Bearer <jwt>" or in "passcode"');
    try {
      const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string' || payload.sub === '') throw new Error('the token has no "sub" claim');
      return { user: payload.sub };
    } catch (err) {
      throw new StompRtcError('AUTH_FAILED', `token rejected: ${(err as Error).message}`);
    }
  };
}
