// The example notebook is not executed in CI; its JSON structure (nbformat 4.5) and the lab URLs in
// its IFrame calls are checked here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeConfigFromSearch } from '../../src/lab/url-config';

const path = new URL('../../examples/maskllm_lab.ipynb', import.meta.url);
const nb = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
type Cell = Record<string, unknown> & { cell_type: string; source: string[] };
const cells = nb.cells as Cell[];
const text = (c: Cell) => c.source.join('');

describe('examples/maskllm_lab.ipynb', () => {
  it('has the nbformat 4.5 top-level keys', () => {
    expect(Object.keys(nb).sort()).toEqual(['cells', 'metadata', 'nbformat', 'nbformat_minor']);
    expect(nb.nbformat).toBe(4);
    expect(nb.nbformat_minor).toBe(5);
    const meta = nb.metadata as { kernelspec?: { name?: string; display_name?: string; language?: string } };
    expect(meta.kernelspec).toMatchObject({ name: 'python3', language: 'python' });
  });

  it('every cell has a valid type, a unique id, a source of lines; code cells are not executed', () => {
    expect(cells.length).toBeGreaterThanOrEqual(4);
    const ids = new Set<string>();
    for (const [i, c] of cells.entries()) {
      expect(['markdown', 'code', 'raw'], `cell ${i} type`).toContain(c.cell_type);
      expect(typeof c.id, `cell ${i} id`).toBe('string');
      expect(c.id as string, `cell ${i} id`).toMatch(/^[a-zA-Z0-9-_]{1,64}$/);
      ids.add(c.id as string);
      expect(typeof c.metadata, `cell ${i} metadata`).toBe('object');
      expect(Array.isArray(c.source), `cell ${i} source`).toBe(true);
      // Lines keep their newline except the last one (what Jupyter writes).
      c.source.forEach((line, j) => {
        expect(typeof line).toBe('string');
        if (j < c.source.length - 1) expect(line.endsWith('\n'), `cell ${i} line ${j}`).toBe(true);
      });
      expect(text(c).trim().length, `cell ${i} is empty`).toBeGreaterThan(0);
      if (c.cell_type === 'code') {
        expect(Object.keys(c).sort()).toEqual(['cell_type', 'execution_count', 'id', 'metadata', 'outputs', 'source']);
        expect(c.execution_count).toBe(null);
        expect(c.outputs).toEqual([]);
      } else {
        expect(Object.keys(c).sort()).toEqual(['cell_type', 'id', 'metadata', 'source']);
      }
    }
    expect(ids.size).toBe(cells.length);
  });

  it('tells how to serve the built lab', () => {
    const md = cells
      .filter((c) => c.cell_type === 'markdown')
      .map(text)
      .join('\n');
    expect(md).toContain('npm run build && npm run preview');
    expect(md).toContain('http://127.0.0.1:4173/');
  });

  it('embeds the lab with IPython.display.IFrame and URLs that decode without warnings', () => {
    const code = cells
      .filter((c) => c.cell_type === 'code')
      .map(text)
      .join('\n');
    expect(code).toContain('from IPython.display import IFrame');
    const urls = [...code.matchAll(/IFrame\(\s*"([^"]+)"/g)].map((m) => m[1]);
    expect(urls.length).toBeGreaterThanOrEqual(2);
    const kappas = new Set<number>();
    for (const u of urls) {
      const url = new URL(u);
      expect(url.origin).toBe('http://127.0.0.1:4173');
      const d = decodeConfigFromSearch(url.search);
      expect(d.warnings, u).toEqual([]);
      expect(d.embed, u).toBe(true);
      expect(url.searchParams.get('v'), u).toBe('1');
      expect(url.searchParams.get('model'), u).toBe(d.config.model);
      kappas.add(d.config.kappaEnd);
    }
    // The point of the notebook: a too-small κ next to a suitable one.
    expect(kappas.has(1)).toBe(true);
    expect(kappas.size).toBeGreaterThan(1);
  });
});
