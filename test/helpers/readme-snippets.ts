/**
 * Code blocks of the README, so tests run what the README shows rather than a copy of it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const README = join(fileURLToPath(new URL('../..', import.meta.url)), 'README.md');

/** The text of the `## <title>` section, up to the next `## ` heading; fails when there is none. */
export function readmeSection(title: string, readme = readFileSync(README, 'utf8')): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README.md has no "## ${title}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

export interface CodeBlock {
  /** The fence's info string (`ts`, `sh`, `nginx`), empty when there is none. */
  readonly lang: string;
  readonly code: string;
}

/** Fenced code blocks (```lang … ```) of a piece of Markdown, in order. */
export function codeBlocks(markdown: string): CodeBlock[] {
  return [...markdown.matchAll(/^```([\w-]*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, code: m[2]! }));
}

/** The one block of `lang` in a README section; fails when there is not exactly one. */
export function readmeBlock(title: string, lang: string): string {
  const blocks = codeBlocks(readmeSection(title)).filter((b) => b.lang === lang);
  if (blocks.length !== 1) throw new Error(`README.md "## ${title}" has ${blocks.length} ${lang} blocks, expected one`);
  return blocks[0]!.code;
}
