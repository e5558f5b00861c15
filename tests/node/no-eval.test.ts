// No eval, no new Function, no string timers anywhere in src/ (the CSP's script-src 'self' without
// 'unsafe-eval' would block them at run time; this catches them at test time, including in code
// paths the e2e test does not reach).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

const PATTERNS: [string, RegExp][] = [
  ['eval(', /(?<![.\w$])eval\s*\(/],
  ['new Function(', /\bnew\s+Function\s*\(/],
  ['Function(...) call', /(?<![.\w$])(?<!new\s+)Function\s*\(\s*['"`]/],
  ['string setTimeout/setInterval', /\bset(Timeout|Interval)\s*\(\s*['"`]/],
  ['indirect eval', /\(\s*0\s*,\s*eval\s*\)/],
];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : /\.(ts|tsx|js|mjs)$/.test(n) ? [p] : [];
  });
}

export function findEval(source: string): string[] {
  const hits: string[] = [];
  source.split('\n').forEach((line, i) => {
    for (const [what, re] of PATTERNS) if (re.test(line)) hits.push(`${what} at line ${i + 1}: ${line.trim()}`);
  });
  return hits;
}

describe('no eval / new Function', () => {
  it('the scanner finds each forbidden form (so the real check can fail)', () => {
    expect(findEval('const f = eval("1+1");')).toHaveLength(1);
    expect(findEval('const g = new Function("a", "return a");')).toHaveLength(1);
    expect(findEval("Function('return this')();")).toHaveLength(1);
    expect(findEval("setTimeout('alert(1)', 10);")).toHaveLength(1);
    expect(findEval('(0, eval)(code);')).toHaveLength(1);
    // and not ordinary names
    expect(findEval('await evaluateText(m, b); model.eval(); const evalEvery = 3; setTimeout(() => f(), 0);')).toEqual([]);
  });

  it('no source file under src/ uses them', () => {
    const all = files(join(ROOT, 'src'));
    expect(all.length).toBeGreaterThan(20);
    const hits = all.flatMap((f) => findEval(readFileSync(f, 'utf8')).map((h) => `${relative(ROOT, f)}: ${h}`));
    expect(hits).toEqual([]);
  });
});
