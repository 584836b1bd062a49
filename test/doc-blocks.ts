// The fenced code blocks of the documentation and what the doc-block test does with each, by
// the convention every page follows: ```js is a complete ES module that runs on plain Node and
// exits by itself; ```js server is the long-running Quick start; ```ts is a complete TypeScript
// module that type-checks (strict, nodenext and bundler); `no-check` in the info string, and
// ```sh / ```text / ```console or any other language, are shown but not run.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** What the test does with a block. */
export type BlockKind = 'js' | 'server' | 'ts' | 'skipped';

/** One fenced code block of a markdown file. */
export interface CodeBlock {
  /** The markdown file, relative to the documentation root (`README.md`, `docs/pool.md`). */
  file: string;
  /** The line of the opening fence (1-based). */
  line: number;
  /** The info string after the fence (`js`, `ts no-check`, `sh`, or empty). */
  info: string;
  kind: BlockKind;
  /** The block's text, its fence's indentation removed. */
  code: string;
}

/** `file:line` of a block, and of a line inside it (1-based within the block). */
export function where(block: CodeBlock, lineInBlock?: number): string {
  return `${block.file}:${block.line + (lineInBlock ?? 0)}`;
}

function kindOf(info: string): BlockKind {
  const [lang = '', ...flags] = info
    .trim()
    .toLowerCase()
    .split(/[\s,{}]+/);
  if (flags.includes('no-check')) return 'skipped';
  if (lang === 'js' || lang === 'javascript' || lang === 'mjs') {
    return flags.includes('server') ? 'server' : 'js';
  }
  if (lang === 'ts' || lang === 'typescript' || lang === 'mts') return 'ts';
  return 'skipped';
}

/**
 * Every fenced block (``` or ~~~, three or more, indented up to the list item that holds it) of
 * `text`. A fence closes with the same character, at least as long, and nothing after it; an
 * unclosed fence runs to the end of the file, as CommonMark has it.
 */
export function extractBlocks(text: string, file: string): CodeBlock[] {
  const lines = text.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  let open: { indent: number; fence: string; line: number; info: string; body: string[] } | null =
    null;
  lines.forEach((raw, i) => {
    if (open === null) {
      const m = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(raw);
      if (m === null) return;
      const [, indent = '', fence = '', info = ''] = m;
      // A backtick fence's info string may not contain a backtick (that is inline code).
      if (fence.startsWith('`') && info.includes('`')) return;
      open = { indent: indent.length, fence, line: i + 1, info: info.trim(), body: [] };
      return;
    }
    const close = /^\s*(`{3,}|~{3,})\s*$/.exec(raw);
    const fence = close?.[1];
    if (fence !== undefined && fence[0] === open.fence[0] && fence.length >= open.fence.length) {
      blocks.push(finish(open, file));
      open = null;
      return;
    }
    // Strip the fence's indentation (never more than the line has).
    const strip = Math.min(open.indent, /^\s*/.exec(raw)?.[0].length ?? 0);
    open.body.push(raw.slice(strip));
  });
  if (open !== null) blocks.push(finish(open, file));
  return blocks;
}

function finish(open: { line: number; info: string; body: string[] }, file: string): CodeBlock {
  return {
    file,
    line: open.line,
    info: open.info,
    kind: kindOf(open.info),
    code: `${open.body.join('\n')}\n`,
  };
}

/**
 * The documentation's markdown files under `root`: README.md, docs/**\/*.md, and bench/RESULTS.md,
 * lab/README.md, soak/README.md where they exist, as paths relative to `root`.
 */
export function docFiles(root: string): string[] {
  const files = ['README.md', 'bench/RESULTS.md', 'lab/README.md', 'soak/README.md'].filter((f) =>
    existsSync(join(root, f)),
  );
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) files.push(relative(root, path));
    }
  };
  walk(join(root, 'docs'));
  return files;
}

/** Every block of every documentation file under `root`. */
export function docBlocks(root: string, files = docFiles(root)): CodeBlock[] {
  return files.flatMap((f) => extractBlocks(readFileSync(join(root, f), 'utf8'), f));
}

/** How many blocks of each kind, and of each language among the skipped ones. */
export function census(blocks: CodeBlock[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const b of blocks) {
    const key =
      b.kind === 'skipped' ? `skipped ${b.info === '' ? '(no language)' : b.info}` : b.kind;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
