/**
 * Suites that need a real service (Chromium, network namespaces and coturn, RabbitMQ) run when it
 * is there. When it is not: under CI (CI=true) the suite fails with the reason, because a green run
 * must mean the real thing was tested; elsewhere it is skipped, visibly, with the reason.
 */
import { describe, it } from 'vitest';

/** `missing` is undefined when the service is there, else what is missing and how to get it. */
export function describeWith(missing: string | undefined, name: string, body: () => void): void {
  if (missing === undefined) {
    describe(name, body);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('has what it needs to run', () => {
        throw new Error(missing);
      });
    });
  } else {
    console.warn(`[skipped] ${name}: ${missing}`);
    describe.skip(`${name} (skipped: ${missing})`, body);
  }
}
