// Splicing one generated section into docs/PERFORMANCE.md, for the commands that write a single
// section (e2e/first-step.spec.ts with RECORD_FIRST_STEP=1, `npm run bench:device`).

/**
 * `doc` with the section whose title is section[0] replaced by `section`, or put in before
 * "## Memory" (the end when there is none). Only that section changes.
 */
export function spliceSection(doc: string, section: string[]): string {
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => l === section[0]);
  if (start >= 0) {
    let end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
    if (end < 0) end = lines.length;
    return [...lines.slice(0, start), ...section, ...lines.slice(end)].join('\n');
  }
  const memory = lines.findIndex((l) => l === '## Memory');
  const at = memory >= 0 ? memory : lines.length;
  return [...lines.slice(0, at), ...section, ...lines.slice(at)].join('\n');
}
