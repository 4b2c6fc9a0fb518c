/**
 * A real nginx (Debian's package) for the deployment test: started in the foreground as a child
 * process on a generated configuration, with a self-signed certificate made by openssl.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Program } from './packed.js';

/** `NGINX_PATH` and `OPENSSL_PATH` override the Debian packages' binaries. */
const NGINX_PATH = process.env.NGINX_PATH || '/usr/sbin/nginx';
const OPENSSL_PATH = process.env.OPENSSL_PATH || '/usr/bin/openssl';

/** Why the nginx suite cannot run here, or undefined when it can (see requirements.ts). */
export const nginxMissing = [NGINX_PATH, OPENSSL_PATH].every((path) => existsSync(path))
  ? undefined
  : `nginx or openssl not found at ${NGINX_PATH}, ${OPENSSL_PATH}: the deployment test needs both. ` +
    'Install them (apt-get install nginx openssl, or scripts/install-test-deps.sh) or set NGINX_PATH and OPENSSL_PATH.';

/** A self-signed certificate for 127.0.0.1 and localhost, valid for a day; returns the PEM paths. */
export function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    OPENSSL_PATH,
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'pipe' },
  );
  return { cert, key };
}

/**
 * Runs nginx in the foreground, as one process (no daemon, no workers to change user), with `http`
 * holding the contents of the `http { }` block; everything it writes stays in `dir`.
 */
export async function startNginx(dir: string, http: string): Promise<Program> {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const config = join(dir, 'nginx.conf');
  writeFileSync(
    config,
    `daemon off;
master_process off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs/error.log')} warn;
events {}
http {
    access_log off;
    client_body_temp_path ${join(dir, 'client_body')};
    proxy_temp_path ${join(dir, 'proxy')};
    fastcgi_temp_path ${join(dir, 'fastcgi')};
    uwsgi_temp_path ${join(dir, 'uwsgi')};
    scgi_temp_path ${join(dir, 'scgi')};
${http}
}
`,
  );
  // -t first: a configuration error is reported as such, not as a server that never answers.
  execFileSync(NGINX_PATH, ['-t', '-p', dir, '-c', config, '-e', join(dir, 'logs/error.log')], { stdio: 'pipe' });
  return Program.start('nginx', NGINX_PATH, ['-p', dir, '-c', config, '-e', join(dir, 'logs/error.log')], { cwd: dir });
}
