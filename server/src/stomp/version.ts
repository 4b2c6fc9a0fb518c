import { StompRtcError } from '../../../shared/src/errors.js';
import { SUPPORTED_VERSIONS, type StompVersion } from '../../../shared/src/stomp/frame.js';

/**
 * "the server will respond with the highest version of the protocol that it has in common with
 * the client"; a CONNECT without accept-version is a STOMP 1.0 client (§Protocol Negotiation).
 */
export function negotiateVersion(acceptVersion: string | undefined): StompVersion {
  if (acceptVersion === undefined) return '1.0';
  const offered = new Set(acceptVersion.split(',').map((v) => v.trim()));
  const version = SUPPORTED_VERSIONS.find((v) => offered.has(v));
  if (!version) {
    throw new StompRtcError(
      'UNSUPPORTED_VERSION',
      `accept-version "${acceptVersion}" has none of the supported versions ${SUPPORTED_VERSIONS.join(',')}`,
    );
  }
  return version;
}
