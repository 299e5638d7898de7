/**
 * The folders of src/ form layers: asn1/ below signer/, the services (ocsp/, crl/, risk/)
 * below authority/, and so on (docs/architecture.md). A folder that imports a folder that
 * imports it back is a cycle: neither can be read, tested or moved alone. This test reads every
 * relative import (type-only ones too) and fails naming the files of each cycle.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');

/** A file's layer: its top folder under src/, or the file itself for src/*.ts (errors.ts, clock.ts …). */
function unitOf(file: string): string {
  const parts = relative(SRC, file).split('/');
  return parts.length === 1 ? parts[0]! : `${parts[0]}/`;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const IMPORT = /\b(?:import|export)\s[^'"`;]*?\bfrom\s+'(\.{1,2}\/[^']+)'|\bimport\(\s*'(\.{1,2}\/[^']+)'\s*\)/g;

/** unit -> unit it imports -> the import statements that make the edge ("file -> specifier"). */
function importGraph(files: readonly string[]): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>();
  for (const file of files) {
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2])!;
      const from = unitOf(file);
      const to = unitOf(resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
      if (from === to) continue;
      const edges = graph.get(from) ?? new Map<string, string[]>();
      graph.set(from, edges);
      edges.set(to, [...(edges.get(to) ?? []), `${relative(SRC, file)} -> ${spec}`]);
    }
  }
  return graph;
}

/** Strongly connected components with more than one unit (Tarjan). */
function cycles(graph: Map<string, Map<string, string[]>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe('folder layering of src/', () => {
  it('finds a cycle when there is one (the checker itself)', () => {
    const g = new Map([
      ['asn1/', new Map([['signer/', ['asn1/x.ts -> ../signer/y.js']]])],
      ['signer/', new Map([['asn1/', ['signer/y.ts -> ../asn1/x.js']]])],
      ['ocsp/', new Map([['asn1/', ['ocsp/z.ts -> ../asn1/x.js']]])],
    ]);
    expect(cycles(g)).toEqual([['asn1/', 'signer/']]);
  });

  it('has no import cycle between folders', () => {
    const graph = importGraph(sourceFiles(SRC));
    expect(graph.get('authority/')?.has('asn1/')).toBe(true); // the scan sees imports at all
    const found = cycles(graph).map((scc) =>
      [
        scc.join(' <-> '),
        ...scc.flatMap((a) =>
          [...(graph.get(a) ?? [])].filter(([b]) => scc.includes(b)).flatMap(([, why]) => why.map((w) => `  ${w}`)),
        ),
      ].join('\n'),
    );
    expect(found, found.join('\n')).toEqual([]);
  });
});
