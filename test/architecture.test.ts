// The borders of docs/architecture.md: which room may import which, and no import cycles.
import { describe, expect, it } from 'vitest';
import { importGraph } from '../scripts/import-graph.js';

describe('import graph', () => {
  const graph = importGraph();

  it('has only the room-to-room imports docs/architecture.md allows', () => {
    expect(graph.violations).toEqual([]);
  });

  it('has no cycle between files', () => {
    expect(graph.fileCycles).toEqual([]);
  });
});
