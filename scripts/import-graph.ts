// The import graph of linkmon's source rooms (docs/architecture.md): which room imports which,
// and any import that breaks the rules or closes a cycle. `npx tsx scripts/import-graph.ts` prints
// it; test/architecture.test.ts fails on a violation.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), '..'));

/** Each room and the rooms it may import from (docs/architecture.md). */
export const ALLOWED_IMPORTS: Record<string, readonly string[]> = {
  lib: [],
  web: ['lib'],
  agent: ['lib', 'web'],
  responder: ['lib', 'web'],
  alerts: ['lib'],
  dashboards: ['lib', 'alerts'],
  report: ['lib', 'alerts'],
  cli: ['lib', 'web', 'agent', 'responder', 'report'],
};

export interface ImportGraph {
  /** room → rooms it imports, with the number of import statements. */
  rooms: Map<string, Map<string, number>>;
  /** Imports across rooms that ALLOWED_IMPORTS does not permit: `from → to`. */
  violations: string[];
  /** Files that import each other, directly or through others (each cycle once). */
  fileCycles: string[][];
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (entry === 'node_modules' || entry === 'generated' || entry === 'build') return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

const roomOf = (file: string) => relative(ROOT, file).split('/')[0]!;

export function importGraph(): ImportGraph {
  const files = Object.keys(ALLOWED_IMPORTS).flatMap((room) => {
    try {
      return sourceFiles(join(ROOT, room));
    } catch {
      return []; // a room not created yet
    }
  });
  const edges = new Map<string, string[]>();
  const rooms = new Map<string, Map<string, number>>();
  const violations: string[] = [];
  for (const file of files) {
    const targets: string[] = [];
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = normalize(join(dirname(file), (match[1] ?? match[2])!)).replace(/\.js$/, '.ts');
      targets.push(target);
      const [from, to] = [roomOf(file), roomOf(target)];
      if (from === to) continue;
      const counts = rooms.get(from) ?? new Map<string, number>();
      counts.set(to, (counts.get(to) ?? 0) + 1);
      rooms.set(from, counts);
      if (!ALLOWED_IMPORTS[from]?.includes(to)) violations.push(`${relative(ROOT, file)} → ${relative(ROOT, target)}`);
    }
    edges.set(file, targets);
  }
  return { rooms, violations, fileCycles: cycles(edges).map((cycle) => cycle.map((f) => relative(ROOT, f))) };
}

/** Strongly connected components of more than one file (Tarjan), or a file importing itself. */
function cycles(edges: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (node: string) => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const target of edges.get(node) ?? []) {
      if (!edges.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (edges.get(node) ?? []).includes(node)) found.push(component.sort());
    }
  };
  for (const node of edges.keys()) if (!index.has(node)) visit(node);
  return found;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { rooms, violations, fileCycles } = importGraph();
  for (const room of Object.keys(ALLOWED_IMPORTS)) {
    const targets = [...(rooms.get(room) ?? new Map<string, number>())].map(([to, n]) => `${to} (${n})`);
    process.stdout.write(`${room.padEnd(11)} → ${targets.join(', ') || '-'}\n`);
  }
  process.stdout.write(`violations: ${violations.length ? `\n  ${violations.join('\n  ')}` : 'none'}\n`);
  process.stdout.write(`file cycles: ${fileCycles.length ? `\n  ${fileCycles.map((c) => c.join(' ↔ ')).join('\n  ')}` : 'none'}\n`);
  process.exit(violations.length + fileCycles.length > 0 ? 1 : 0);
}
