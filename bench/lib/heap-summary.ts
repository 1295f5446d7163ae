// Summarises a V8 .heapsnapshot (node --heapsnapshot-signal, v8.writeHeapSnapshot): self-size totals
// by node type and constructor, and the largest retained sizes (dominator tree, weak edges ignored),
// each with its shortest retainer path from the GC roots. Used for bench/results/memory-analysis.md.
// Usage: npx tsx bench/lib/heap-summary.ts FILE.heapsnapshot [--top 40]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] }; node_count: number };
  nodes: number[];
  edges: number[];
  strings: string[];
}

const { positionals, values } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '40' } } });
const top = Number(values.top);
const snap = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as Snapshot;
const { meta } = snap.snapshot;
const NF = meta.node_fields.length;
const EF = meta.edge_fields.length;
const nodeTypes = meta.node_types[0];
const edgeTypes = meta.edge_types[0];
const [T, N, SELF, EC] = ['type', 'name', 'self_size', 'edge_count'].map((f) => meta.node_fields.indexOf(f)) as [number, number, number, number];
const [ET, TO] = ['type', 'to_node'].map((f) => meta.edge_fields.indexOf(f)) as [number, number];
const count = snap.nodes.length / NF;
const firstEdge = new Uint32Array(count + 1);
for (let i = 0; i < count; i++) firstEdge[i + 1] = firstEdge[i]! + snap.nodes[i * NF + EC]!;
const WEAK = edgeTypes.indexOf('weak');
const SHORTCUT = edgeTypes.indexOf('shortcut');
const typeOf = (n: number) => nodeTypes[snap.nodes[n * NF + T]!]!;
const nameOf = (n: number) => snap.strings[snap.nodes[n * NF + N]!]!;
const selfOf = (n: number) => snap.nodes[n * NF + SELF]!;
const strong = (e: number) => snap.edges[e * EF + ET] !== WEAK && snap.edges[e * EF + ET] !== SHORTCUT;
const target = (e: number) => snap.edges[e * EF + TO]! / NF;
const label = (n: number) => {
  const type = typeOf(n);
  const name = nameOf(n);
  if (type === 'object' || type === 'native' || type === 'closure' || type === 'synthetic') return `${type}:${name.slice(0, 60)}`;
  if (type === 'string' || type === 'concatenated string' || type === 'sliced string') return 'string';
  return `${type}${type === 'code' || type === 'hidden' || type === 'array' ? `:${name.slice(0, 40)}` : ''}`;
};

// 1. Self sizes by label.
const bySelf = new Map<string, { size: number; count: number }>();
let total = 0;
for (let n = 0; n < count; n++) {
  const key = label(n);
  const entry = bySelf.get(key) ?? { size: 0, count: 0 };
  entry.size += selfOf(n);
  entry.count += 1;
  bySelf.set(key, entry);
  total += selfOf(n);
}

// 2. Dominators (Cooper, Harvey, Kennedy) over strong edges from node 0 (the synthetic root).
const order: number[] = [];
const postIndex = new Int32Array(count).fill(-1);
const parentOf = new Int32Array(count).fill(-1);
{
  const visited = new Uint8Array(count);
  const stack: number[] = [0];
  const edgeAt = new Uint32Array(count);
  visited[0] = 1;
  edgeAt[0] = firstEdge[0]!;
  while (stack.length) {
    const n = stack.at(-1)!;
    if (edgeAt[n]! < firstEdge[n + 1]!) {
      const e = edgeAt[n]!++;
      if (!strong(e)) continue;
      const t = target(e);
      if (visited[t]) continue;
      visited[t] = 1;
      parentOf[t] = n;
      edgeAt[t] = firstEdge[t]!;
      stack.push(t);
    } else {
      stack.pop();
      postIndex[n] = order.length;
      order.push(n);
    }
  }
}
const predecessors: number[][] = Array.from({ length: count }, () => []);
for (let n = 0; n < count; n++) {
  if (postIndex[n] === -1) continue;
  for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e++) if (strong(e) && postIndex[target(e)] !== -1) predecessors[target(e)]!.push(n);
}
const idom = new Int32Array(count).fill(-1);
idom[0] = 0;
const intersect = (a: number, b: number) => {
  while (a !== b) {
    while (postIndex[a]! < postIndex[b]!) a = idom[a]!;
    while (postIndex[b]! < postIndex[a]!) b = idom[b]!;
  }
  return a;
};
for (let changed = true; changed; ) {
  changed = false;
  for (let i = order.length - 2; i >= 0; i--) {
    const n = order[i]!;
    let next = -1;
    for (const p of predecessors[n]!) if (idom[p] !== -1) next = next === -1 ? p : intersect(p, next);
    if (next !== -1 && idom[n] !== next) {
      idom[n] = next;
      changed = true;
    }
  }
}
const retained = new Float64Array(count);
for (const n of order) {
  retained[n]! += selfOf(n);
  if (n !== 0 && idom[n]! >= 0) retained[idom[n]!]! += retained[n]!;
}
const pathOf = (n: number) => {
  const names: string[] = [];
  for (let at = n; at > 0 && names.length < 8; at = parentOf[at]!) names.push(label(at));
  return names.join(' <- ').slice(0, 300);
};

/**
 * Who owns each byte: the nearest dominator that is a script (attributed to its npm package or
 * repository folder) or an instance of a class named in OWNERS; the rest by the label of the
 * outermost dominator below the roots.
 */
const OWNERS = new Set(['FastRegistry', 'Histogram', 'Counter', 'Gauge', 'AgentMetrics', 'ProbeScheduler', 'EchoChannel', 'IcmpProber', 'Agent', 'Server', 'Pino', 'ModuleLoader', 'Socket', 'TCP', 'TLSSocket']);
const scriptOwner = (name: string) => {
  const path = name.replace(/^file:\/\//, '');
  const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(path)?.[1];
  if (pkg) return `package ${pkg}`;
  const ours = /\/work\/[^/]+\/[^/]+\/(?:dist\/)?([^/]+)\//.exec(path)?.[1];
  return ours ? `linkmon ${ours}/` : path.startsWith('node:') ? 'node built-ins' : `script ${path.slice(0, 60)}`;
};
const ownerOf = (n: number): string => {
  let outermost = n;
  for (let at = n; at > 0; at = idom[at]!) {
    const type = typeOf(at);
    const name = nameOf(at);
    if (type === 'code' && /^(file:\/\/|\/|node:)/.test(name)) return scriptOwner(name);
    if (type === 'object' && OWNERS.has(name)) return `instance ${name}`;
    if (idom[at] === 0 || idom[at] === at) break;
    outermost = at;
  }
  return `other: ${label(outermost)}`;
};

const mb = (b: number) => (b / 1048576).toFixed(2);
console.log(`# ${positionals[0]}: ${count} nodes, self sizes total ${mb(total)} MiB, reachable ${order.length}`);
console.log('\n## self size by type/constructor (MiB, count)');
for (const [key, v] of [...bySelf].sort((a, b) => b[1].size - a[1].size).slice(0, top)) console.log(`${mb(v.size).padStart(7)}  ${String(v.count).padStart(7)}  ${key}`);
console.log('\n## self sizes by owner (nearest dominating script or instance; MiB)');
const byOwner = new Map<string, number>();
for (const n of order) byOwner.set(ownerOf(n), (byOwner.get(ownerOf(n)) ?? 0) + selfOf(n));
for (const [owner, size] of [...byOwner].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${mb(size).padStart(7)}  ${owner}`);
console.log('\n## largest retained sizes (non-root objects whose dominator is a root or a system object)');
const candidates = order.filter((n) => n !== 0 && typeOf(n) !== 'synthetic' && retained[n]! > 64 * 1024);
// Keep only the outermost of nested candidates: skip a node dominated by another listed one.
const listed = new Set<number>();
for (const n of candidates.sort((a, b) => retained[b]! - retained[a]!)) {
  let dominated = false;
  for (let d = idom[n]!; d > 0 && d !== idom[d]; d = idom[d]!) if (listed.has(d)) dominated = true;
  if (dominated) continue;
  listed.add(n);
  if (listed.size > top) break;
  console.log(`${mb(retained[n]!).padStart(7)}  ${label(n)}  path: ${pathOf(n)}`);
}
