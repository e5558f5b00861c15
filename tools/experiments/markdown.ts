// Small markdown builders shared by the sections.

export function table(head: string[], rows: string[][]): string[] {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [`| ${head.map(esc).join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)];
}

/** The paper's direction of effect and, one bullet each, what the miniature shows. */
export function direction(paper: string, here: string[]): string[] {
  return ['', `**The paper's direction:** ${paper}`, '', '**Here:**', ...here.map((h) => `- ${h}`), ''];
}

export const pct = (x: number, d = 0): string => (Number.isFinite(x) ? `${(100 * x).toFixed(d)}%` : '—');
