import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PackageInfo {
  /** The directory holding stomprtc's package.json: the repository, or node_modules/stomprtc. */
  readonly root: string;
  readonly version: string;
}

/**
 * This package's root and version. The module runs from server/src (sources, under vitest or tsx)
 * and from dist/server/src (the build), at different depths, so it looks upward for the package.json.
 */
function findPackage(): PackageInfo {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'stomprtc') return { root: dir, version: manifest.version ?? '0.0.0' };
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(`stomprtc: no package.json of stomprtc above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

export const PACKAGE: PackageInfo = findPackage();

/** Where `npm run build` (and so the published package) puts the built demo app. */
export const PACKAGED_DEMO_DIR = join(PACKAGE.root, 'dist', 'demo');
