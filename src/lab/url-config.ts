// The whole experiment in the URL query, as in TensorFlow Playground: `?v=1&model=tiny-gpt&lr=0.002`.
// Only fields that differ from DEFAULT_CONFIG are written (plus the version and the model), so links
// stay short. Trap: a link then means "the defaults of its version, plus these changes"; changing a
// default must bump CONFIG_VERSION (v=) so that old links are recognised. A `preset=` in a link sets
// the preset's hyper-parameters first and the link's other fields win on top (sanitizeConfig), as
// everywhere else.
// Reading is strict: every value is parsed from its string by the field's kind, and anything that
// does not parse, is out of bounds or is unknown becomes a specific warning and falls back.
import { CONFIG_VERSION, DEFAULT_CONFIG, FIELDS, sanitizeConfig, type ExperimentConfig, type FieldSpec } from './config';

/** Query parameters that are not experiment fields. */
export const RESERVED_PARAMS = ['v', 'embed', 'hide', 'autorun', 'origins', 'tour'] as const;

/**
 * Panels that `hide=` may name besides the FIELDS keys. The page decides what each one covers; names
 * not in this list or in FIELDS give a warning.
 */
export const HIDEABLE_PANELS = ['selftest', 'adapter', 'config', 'charts', 'evaluation', 'table', 'mask', 'group', 'export', 'share', 'files'] as const;

/** Bounds on what a URL may carry (the page must not be slowed down by a crafted link). */
export const MAX_SEARCH_LENGTH = 8192;
export const MAX_ORIGINS = 16;

export interface UrlExtras {
  embed?: boolean;
  autorun?: boolean;
  hide?: readonly string[];
  origins?: readonly string[];
  tour?: boolean;
}

export interface DecodedSearch {
  config: ExperimentConfig;
  warnings: string[];
  embed: boolean;
  hide: string[];
  autorun: boolean;
  allowedOrigins: string[];
  /** tour=1: open the guided tour at start even when this browser has seen it (for lessons) */
  tour: boolean;
}

// A decimal number as people and String(number) write it: "3", "-0.5", ".5", "1e-3", "2.5E+4".
// Number() alone would also take "", " ", "0x10", "Infinity" and "1_0"-like junk in some forms.
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function formatNumber(v: number): string {
  // String(-0) is "0": keep the sign so that the value comes back identical.
  return Object.is(v, -0) ? '-0' : String(v);
}

function formatValue(spec: FieldSpec, v: unknown): string {
  if (spec.kind === 'bool') return v ? '1' : '0';
  if (spec.kind === 'int' || spec.kind === 'number') return formatNumber(v as number);
  return String(v);
}

/** Parse one field's URL string into the JS type its kind needs, or explain why it cannot. */
function parseValue(spec: FieldSpec, raw: string): { value: unknown } | { problem: string } {
  switch (spec.kind) {
    case 'int':
    case 'number': {
      if (!DECIMAL.test(raw)) return { problem: `is not a number` };
      const v = Number(raw);
      if (!Number.isFinite(v)) return { problem: `is not a finite number` };
      return { value: v };
    }
    case 'bool':
      if (raw === '1' || raw === 'true') return { value: true };
      if (raw === '0' || raw === 'false') return { value: false };
      return { problem: `is not a boolean (use 1 or 0)` };
    case 'choice':
    case 'string':
      return { value: raw };
  }
}

function parseFlag(name: string, raw: string, warnings: string[]): boolean {
  if (raw === '1' || raw === 'true') return true;
  if (raw === '0' || raw === 'false') return false;
  warnings.push(`URL parameter ${name}=${JSON.stringify(raw)} must be 1 or 0; using 0`);
  return false;
}

/**
 * Parse an http(s) origin written as "https://host[:port]" (a trailing slash is tolerated); returns
 * the canonical origin or null. Paths, queries, credentials and other schemes are refused: an origin
 * names exactly who may script the lab.
 */
export function parseOrigin(s: string): string | null {
  const t = s.trim().replace(/\/$/, '');
  if (t.length === 0 || t.length > 255) return null;
  let u: URL;
  try {
    u = new URL(t);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  if (u.username || u.password || u.pathname !== '/' || u.search || u.hash) return null;
  // Compare case-insensitively: URL lower-cases the scheme and host.
  if (u.origin !== t.toLowerCase()) return null;
  return u.origin;
}

/** Parse a comma-separated origin list; each bad entry becomes a warning. */
export function parseOriginList(raw: string, warnings: string[], source = 'origins'): string[] {
  const out: string[] = [];
  for (const part of raw.split(',')) {
    if (part.trim() === '') continue;
    const o = parseOrigin(part);
    if (o === null) warnings.push(`${source}: ${JSON.stringify(part.slice(0, 100))} is not an http(s) origin like https://example.org; ignored`);
    else if (out.length >= MAX_ORIGINS) {
      warnings.push(`${source}: more than ${MAX_ORIGINS} origins; the rest are ignored`);
      break;
    } else if (!out.includes(o)) out.push(o);
  }
  return out;
}

/**
 * The query string (with its leading '?') for a configuration: the version, the model, every field
 * that differs from DEFAULT_CONFIG (with its preset applied), then the extras (embed, autorun, hide, origins, tour) when set.
 */
export function encodeConfigToSearch(config: ExperimentConfig, extras: UrlExtras = {}): string {
  const p = new URLSearchParams();
  p.set('v', String(CONFIG_VERSION));
  p.set('model', config.model);
  // Reading expands a preset before the explicit fields (sanitizeConfig), so with another preset than
  // the default's, a field is written when it differs from what the preset alone would give.
  const reference = config.preset === DEFAULT_CONFIG.preset ? DEFAULT_CONFIG : sanitizeConfig({ preset: config.preset }).config;
  for (const spec of FIELDS) {
    if (spec.key === 'model') continue;
    const v = config[spec.key];
    const against = spec.key === 'preset' ? DEFAULT_CONFIG : reference;
    if (!Object.is(v, against[spec.key])) p.set(spec.key, formatValue(spec, v));
  }
  if (extras.embed) p.set('embed', '1');
  if (extras.autorun) p.set('autorun', '1');
  if (extras.hide && extras.hide.length > 0) p.set('hide', extras.hide.join(','));
  if (extras.origins && extras.origins.length > 0) p.set('origins', extras.origins.join(','));
  if (extras.tour) p.set('tour', '1');
  return '?' + p.toString();
}

/**
 * Read a configuration and the page options from a query string (`location.search`, with or without
 * its '?'). Never throws: every problem is a warning and the affected value falls back to its default.
 */
export function decodeConfigFromSearch(search: string): DecodedSearch {
  const warnings: string[] = [];
  const out: DecodedSearch = { config: { ...DEFAULT_CONFIG }, warnings, embed: false, hide: [], autorun: false, allowedOrigins: [], tour: false };
  if (search.length > MAX_SEARCH_LENGTH) {
    warnings.push(`the URL query is ${search.length} characters long (at most ${MAX_SEARCH_LENGTH}); all settings ignored, using the defaults`);
    return out;
  }
  const params = new URLSearchParams(search.startsWith('?') ? search.slice(1) : search);
  const fields = new Map(FIELDS.map((f) => [f.key as string, f]));
  const seen = new Set<string>();
  const raw: Record<string, unknown> = {};
  // what a field that does not parse falls back to: the default, with the link's preset applied
  const preset = params.get('preset');
  const fallback =
    preset !== null && preset !== DEFAULT_CONFIG.preset && fields.get('preset')!.choices!.includes(preset) ? sanitizeConfig({ preset }).config : DEFAULT_CONFIG;
  for (const [name, value] of params) {
    if (seen.has(name)) {
      warnings.push(`URL parameter ${name} is given more than once; using the first value`);
      continue;
    }
    seen.add(name);
    switch (name) {
      case 'v':
        if (value !== String(CONFIG_VERSION))
          warnings.push(
            `unknown URL version v=${JSON.stringify(value.slice(0, 20))} (this lab reads version ${CONFIG_VERSION}); reading the settings as version ${CONFIG_VERSION}`,
          );
        continue;
      case 'embed':
        out.embed = parseFlag(name, value, warnings);
        continue;
      case 'autorun':
        out.autorun = parseFlag(name, value, warnings);
        continue;
      case 'tour':
        out.tour = parseFlag(name, value, warnings);
        continue;
      case 'hide':
        for (const h of value
          .split(',')
          .map((x) => x.trim())
          .filter((x) => x !== '')) {
          if (fields.has(h) || (HIDEABLE_PANELS as readonly string[]).includes(h)) {
            if (!out.hide.includes(h)) out.hide.push(h);
          } else warnings.push(`hide: unknown control or panel ${JSON.stringify(h.slice(0, 60))} ignored`);
        }
        continue;
      case 'origins':
        out.allowedOrigins = parseOriginList(value, warnings);
        continue;
      case 'selftest':
        // read by the page's store: run the GPU-vs-CPU self-test at start (with this seed if given)
        if (value.trim() !== '' && !/^\d{1,10}$/.test(value.trim()))
          warnings.push(`selftest=${JSON.stringify(value.slice(0, 20))} is not a seed (a non-negative integer); the self-test runs with a fresh seed`);
        continue;
    }
    const spec = fields.get(name);
    if (!spec) {
      warnings.push(`unknown URL parameter ${JSON.stringify(name.slice(0, 60))} ignored`);
      continue;
    }
    const parsed = parseValue(spec, value);
    if ('problem' in parsed) {
      warnings.push(`${name}=${JSON.stringify(value.slice(0, 60))} ${parsed.problem}; using the default ${JSON.stringify(fallback[spec.key])}`);
      continue;
    }
    raw[name] = parsed.value;
  }
  // Bounds, choices and cross-field rules: the same checks as every other entry point.
  const s = sanitizeConfig(raw);
  out.config = s.config;
  warnings.push(...s.warnings);
  return out;
}
