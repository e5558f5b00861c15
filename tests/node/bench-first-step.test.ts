// The first-step section of docs/PERFORMANCE.md (tools/bench/report.ts): e2e/first-step.spec.ts
// writes it with RECORD_FIRST_STEP=1 by splicing it into the existing file, and `npm run bench`
// renders it from bench/first-step.json. Splicing replaces only that section, keeps every other line,
// puts a missing section before "## Memory", and is idempotent.
import { describe, expect, it } from 'vitest';
import { renderFirstStep, spliceSection, type FirstStepResults } from '../../tools/bench/report';

const RESULT: FirstStepResults = {
  date: '2026-01-01T00:00:00.000Z',
  firstStepMs: 12_345,
  denseRowMs: 20_000,
  magnitudeRowMs: null,
  stepsAtRows: 4,
  engine: 'gpu',
  adapter: 'google / swiftshader',
  config: { model: 'tiny-gpt', method: 'maskllm', prior: 'sparsegpt', batch: 8, steps: 300 },
  browser: 'Chromium 1',
  cores: 2,
  loadavg1: { before: 0.5, after: 1 },
};

describe('first-step section', () => {
  it('renders the figures', () => {
    const text = renderFirstStep(RESULT).join('\n');
    expect(text).toContain('| **the first learning step on screen** | **12.3 s** |');
    expect(text).toContain('| the dense row of the table | 20.0 s |');
    expect(text).toContain('| the magnitude row of the table | — (4 learning steps taken by then) |');
    expect(text).toContain('within 15 s on this machine');
    expect(text).toContain('met in this measurement');
    expect(text).toContain('The machine was quiet.');
  });

  it('is inserted before "## Memory", then replaced in place; other lines are kept', () => {
    const doc = ['# Performance', '', '## Matmul', 'a', '', '## Memory', '', '| x |', ''].join('\n');
    const once = spliceSection(doc, renderFirstStep(RESULT));
    const lines = once.split('\n');
    const at = lines.indexOf('## Time to the first step on the page');
    expect(at).toBeGreaterThan(lines.indexOf('## Matmul'));
    expect(at).toBeLessThan(lines.indexOf('## Memory'));
    expect(spliceSection(once, renderFirstStep(RESULT))).toBe(once);
    const slower = spliceSection(once, renderFirstStep({ ...RESULT, firstStepMs: 30_000 }));
    expect(slower).toContain('**30.0 s**');
    expect(slower).not.toContain('**12.3 s**');
    expect(slower.replace(/## Time to the first step[\s\S]*?(?=## Memory)/, '')).toBe(doc);
    // no "## Memory": at the end
    expect(spliceSection('# P', renderFirstStep(RESULT)).startsWith('# P\n## Time to the first step')).toBe(true);
  });
});
