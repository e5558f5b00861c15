// A small, strict option parser for the tools: `--name value`, `--flag`, positionals. Unknown options
// and bad values exit with a one-line reason (no stack trace).

export interface OptionSpec {
  name: string;
  type: 'string' | 'number' | 'int' | 'flag';
  help: string;
  default?: string | number | boolean;
  choices?: string[];
}

export class UsageError extends Error {}

export function parseArgs(argv: string[], specs: OptionSpec[]): { opts: Record<string, string | number | boolean>; positional: string[] } {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const opts: Record<string, string | number | boolean> = {};
  for (const s of specs) if (s.default !== undefined) opts[s.name] = s.default;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const [rawName, inline] = a.slice(2).split('=', 2);
    const spec = byName.get(rawName);
    if (!spec) throw new UsageError(`unknown option --${rawName} (see --help)`);
    if (spec.type === 'flag') {
      opts[spec.name] = inline === undefined ? true : inline !== 'false';
      continue;
    }
    const v = inline ?? argv[++i];
    if (v === undefined) throw new UsageError(`--${spec.name} needs a value`);
    if (spec.type === 'string') {
      if (spec.choices && !spec.choices.includes(v)) throw new UsageError(`--${spec.name} must be one of ${spec.choices.join(', ')} (got "${v}")`);
      opts[spec.name] = v;
    } else {
      const n = Number(v);
      if (!Number.isFinite(n) || (spec.type === 'int' && !Number.isInteger(n))) {
        throw new UsageError(`--${spec.name} must be ${spec.type === 'int' ? 'an integer' : 'a number'} (got "${v}")`);
      }
      opts[spec.name] = n;
    }
  }
  return { opts, positional };
}

export function helpText(usage: string, specs: OptionSpec[]): string {
  const lines = [usage, '', 'Options:'];
  for (const s of specs) {
    const val = s.type === 'flag' ? '' : s.choices ? ` <${s.choices.join('|')}>` : ` <${s.type}>`;
    const def = s.default !== undefined && s.type !== 'flag' ? ` (default ${s.default})` : '';
    lines.push(`  --${s.name}${val}`.padEnd(34) + s.help + def);
  }
  return lines.join('\n');
}

/** Run a tool's main; UsageError and other errors print one line and exit non-zero. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (e: Error) => {
      console.error(`error: ${e.message}`);
      if (process.env.DEBUG) console.error(e.stack);
      process.exit(e instanceof UsageError ? 2 : 1);
    },
  );
}
