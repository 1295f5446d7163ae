import { Composer, LineCounter, Parser, type CST, type Document } from 'yaml';
import type { z } from 'zod';
import { FileReadError, readRegularFile } from './regular-file.js';

/**
 * Far above any real config (1,000 targets at ~150 bytes each is 150 kB); stops a wrong path
 * (/dev/zero, a log file) from being read into memory.
 */
export const MAX_CONFIG_FILE_BYTES = 4 * 1024 * 1024;
/** Secrets (tokens, passwords, PEM files) are small. */
export const MAX_SECRET_FILE_BYTES = 1024 * 1024;
/** A linkmon config nests 6 levels; yaml's composer recurses per level and must never get near the stack limit. */
export const MAX_YAML_NESTING = 64;
/**
 * Alias expansions (yaml's count: uses of an anchor times the aliases inside it). The yaml
 * default, 100, refuses a legitimate file whose 101 targets share one anchored labels map;
 * this still stops exponential "billion laughs" documents at once.
 */
export const MAX_YAML_ALIAS_COUNT = 10_000;

/** Thrown when a config file cannot be read, parsed or validated; the message is meant for people. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`invalid config ${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads a config file as text: a regular file of at most MAX_CONFIG_FILE_BYTES, else a ConfigError. */
export async function readConfigText(file: string): Promise<string> {
  try {
    return (await readRegularFile(file, MAX_CONFIG_FILE_BYTES)).toString('utf8');
  } catch (err) {
    throw new ConfigError(file, [err instanceof FileReadError ? err.message : `cannot read file (${String(err)})`]);
  }
}

/**
 * Reads a secret or certificate named by config `field`: a regular file of at most
 * MAX_SECRET_FILE_BYTES. Returns the problem (naming the field, never the content) instead of throwing.
 */
export async function readSecretFile(path: string, field: string): Promise<Buffer | { problem: string }> {
  try {
    return await readRegularFile(path, MAX_SECRET_FILE_BYTES);
  } catch (err) {
    return { problem: `${field}: cannot read ${path} (${err instanceof FileReadError ? err.message : String(err)})` };
  }
}

/**
 * Parses YAML whose top level must be a mapping; every problem (syntax with line and column, unknown
 * tags, several documents, nesting or aliases past the limits) becomes a ConfigError. Merge keys
 * (`<<: *defaults`) are honoured.
 */
export function parseYamlMapping(text: string, file: string): Record<string, unknown> {
  const lines = new LineCounter();
  const tokens = [...new Parser(lines.addNewLine).parse(text)];
  const tooDeep = firstTooDeep(tokens);
  if (tooDeep !== undefined) {
    const { line, col } = lines.linePos(tooDeep);
    throw new ConfigError(file, [`YAML nesting deeper than ${MAX_YAML_NESTING} levels at line ${line}, column ${col}`]);
  }
  const documents: Document.Parsed[] = [...new Composer({ uniqueKeys: true, merge: true, logLevel: 'error' }).compose(tokens, true, text.length)];
  if (documents.length > 1) throw new ConfigError(file, [`expected one YAML document, found ${documents.length} (separated by "---")`]);
  const document = documents[0];
  if (!document) throw new ConfigError(file, ['expected a YAML mapping at the top level']);
  const problems = [...document.errors, ...document.warnings];
  if (problems.length > 0) {
    throw new ConfigError(
      file,
      problems.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        return `YAML syntax at line ${line}, column ${col}: ${e.message.split('\n')[0]!}`;
      }),
    );
  }
  let raw: unknown;
  try {
    raw = document.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT });
  } catch (err) {
    // yaml throws ReferenceError past the alias limit (and for an alias it cannot resolve).
    const why = err instanceof ReferenceError && /alias count/i.test(err.message) ? `more than ${MAX_YAML_ALIAS_COUNT} alias expansions (*name)` : String(err);
    throw new ConfigError(file, [`YAML aliases: ${why}`]);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(file, ['expected a YAML mapping at the top level']);
  }
  return raw as Record<string, unknown>;
}

/** The offset of the first collection nested deeper than MAX_YAML_NESTING, walking the CST without recursion. */
function firstTooDeep(tokens: readonly CST.Token[]): number | undefined {
  const pending: { token: CST.Token | undefined; depth: number }[] = tokens.map((token) => ({ token, depth: 0 }));
  while (pending.length > 0) {
    const { token, depth } = pending.pop()!;
    if (!token) continue;
    if (token.type === 'document') {
      pending.push({ token: token.value, depth });
      continue;
    }
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection') continue;
    if (depth >= MAX_YAML_NESTING) return token.offset;
    for (const item of token.items) {
      if ('key' in item) pending.push({ token: item.key ?? undefined, depth: depth + 1 });
      pending.push({ token: item.value, depth: depth + 1 });
    }
  }
  return undefined;
}

/** `targets[1].host: expected a host name or IP address` — one line per issue, stable for tests. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = formatPath(issue.path);
    return path ? `${path}: ${describeIssue(issue)}` : describeIssue(issue);
  });
}

/** `targets[1].labels.site`; a key that is not a plain name is quoted: `modules[""]`, `targets[0].labels["a b"]`. */
function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) => {
      if (typeof part === 'number') return `[${part}]`;
      const key = String(part);
      if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) return `[${JSON.stringify(key)}]`;
      return i === 0 ? key : `.${key}`;
    })
    .join('');
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_key') return `invalid key: ${issue.issues.map((inner) => describeIssue(inner)).join('; ')}`;
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) return `required (expected ${issue.expected})`;
  return issue.message.replace(/^Invalid input: /, '');
}
