/** Types of demo-build.mjs. */
export declare const REPO_ROOT: string;

export interface BuildOptions {
  /** Vite's own progress output. @default false */
  readonly verbose?: boolean;
}

/** True when `outDir` has no index.html or one older than a source. */
export declare function demoIsStale(outDir: string): boolean;
/** Runs `vite build` through Vite's JS API into `outDir` (relative to the repository root). */
export declare function buildDemo(outDir: string, options?: BuildOptions): Promise<void>;
/** Builds unless the output is up to date; says which it did. */
export declare function ensureDemo(outDir: string, options?: BuildOptions): Promise<'built' | 'fresh'>;
