/**
 * Small readers of Helm template text, for checking the chart without a helm binary. None of
 * this is a Go template engine: each function does one narrow thing and says what it does not.
 */

/** One `{{ ... }}` action: its body (delimiters and trim markers removed) and where it sits. */
export interface Action {
  body: string;
  start: number;
  end: number;
  trimLeft: boolean;
  trimRight: boolean;
}

/** Every action of a template, comments included (`{{/* ... *\/}}` has a body starting with `/*`). */
export function actionsOf(text: string): Action[] {
  const out: Action[] = [];
  const re = /\{\{(-\s)?([\s\S]*?)(\s-)?\}\}/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out.push({ body: m[2]!.trim(), start: m.index, end: m.index + m[0].length, trimLeft: m[1] !== undefined, trimRight: m[3] !== undefined });
  }
  return out;
}

const OPENERS = new Set(['if', 'range', 'with', 'define', 'block']);

/**
 * Checks that block actions nest: every `if`/`range`/`with`/`define`/`block` has its `end`,
 * every `else` sits inside an `if`, `with` or `range`, and nothing is left open. Returns the
 * problems found (empty when balanced).
 */
export function blockProblems(text: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  for (const a of actionsOf(text)) {
    if (a.body.startsWith('/*')) continue;
    const word = /^([a-z]+)\b/.exec(a.body)?.[1];
    if (word === undefined) continue;
    if (OPENERS.has(word)) stack.push(word);
    else if (word === 'else') {
      const top = stack[stack.length - 1];
      if (top !== 'if' && top !== 'with' && top !== 'range') problems.push(`else at offset ${a.start} is not inside if, with or range`);
    } else if (word === 'end') {
      if (stack.pop() === undefined) problems.push(`end at offset ${a.start} closes nothing`);
    }
  }
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(', ')}`);
  return problems;
}

/** Every `.Values.a.b.c` path named in a template (also `$.Values...`), as ["a", "b", "c"]. */
export function valuesPaths(text: string): string[][] {
  const out: string[][] = [];
  for (const a of actionsOf(text)) {
    for (const m of a.body.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) out.push(m[1]!.slice(1).split('.'));
  }
  return out;
}

/** Names given to `include "x"` or `template "x"`. */
export function includedNames(text: string): string[] {
  const out: string[] = [];
  for (const a of actionsOf(text)) {
    for (const m of a.body.matchAll(/\b(?:include|template)\s+"([^"]+)"/g)) out.push(m[1]!);
  }
  return out;
}

/** Names defined with `define "x"`. */
export function definedNames(text: string): string[] {
  return actionsOf(text).flatMap((a) => {
    const m = /^define\s+"([^"]+)"/.exec(a.body);
    return m === null ? [] : [m[1]!];
  });
}

/**
 * The template with every action removed and the lines that held only actions dropped: the
 * YAML skeleton every rendering shares. Both branches of every `if` stay, so this shows the
 * structure (indentation, keys, literal values), not any one rendering; a key whose value is
 * an action is left with an empty (null) value.
 */
export function skeleton(text: string): string {
  const MARK = '\u0000';
  // An action may span lines (comments do): it collapses to one mark on its first line.
  return text
    .replace(/\{\{[\s\S]*?\}\}/g, MARK)
    .split('\n')
    .flatMap((line) => {
      const stripped = line.replaceAll(MARK, '').replace(/\s+$/, '');
      return stripped.trim() === '' && line.includes(MARK) ? [] : [stripped];
    })
    .join('\n');
}

/** How Go's fmt prints a float64 with %v (Helm reads every number in values as float64). */
export function goFloat(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`cannot print ${n}`);
  if (n === 0) return '0';
  const [mantissa, expText] = n.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  const digits = mantissa.replace('-', '').replace('.', '').length;
  const dp = exp + 1;
  // strconv.FormatFloat(f, 'g', -1, 64): %e when exp < -4 || exp >= eprec, eprec 6 unless
  // the shortest digits already cover the integer part.
  let eprec = 6;
  if (eprec > digits && digits >= dp) eprec = digits;
  if (exp < -4 || exp >= eprec) {
    const e = Math.abs(exp).toString().padStart(2, '0');
    return `${mantissa}e${exp < 0 ? '-' : '+'}${e}`;
  }
  return String(n);
}

export interface RenderInput {
  values: unknown;
  /** What each `include "name" .` yields, stated by the caller. */
  includes: Record<string, string>;
  /** Turns a value into YAML text (the test passes the yaml package's stringify). */
  toYaml: (value: unknown) => string;
}

function lookupPath(root: unknown, path: string[], what: string): unknown {
  let cur = root;
  for (const part of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, part)) throw new Error(`${what}: no value at .Values.${path.join('.')}`);
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function printScalar(v: unknown, what: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return goFloat(v);
  throw new Error(`${what}: prints a ${v === null ? 'null' : typeof v}, which this renderer does not print`);
}

/**
 * Renders template text that uses only these actions, and throws on any other:
 *   {{ .Values.a.b }}, {{ .Values.a.b | quote }}, {{ toYaml .Values.a.b | nindent N }},
 *   {{ include "name" . }} and {{ include "name" . | quote }} (with the caller's stand-ins).
 * Trim markers (`{{-`, `-}}`) are honoured. Meant for the chart's config payloads, which are
 * written in exactly this subset so they can be checked against the real config schemas.
 */
export function renderSubset(text: string, input: RenderInput): string {
  let out = '';
  let pos = 0;
  let trimNext = false;
  for (const a of actionsOf(text)) {
    let literal = text.slice(pos, a.start);
    if (trimNext) literal = literal.replace(/^\s+/, '');
    out += literal;
    if (a.trimLeft) out = out.replace(/\s+$/, '');
    out += evalAction(a.body, input);
    pos = a.end;
    trimNext = a.trimRight;
  }
  let rest = text.slice(pos);
  if (trimNext) rest = rest.replace(/^\s+/, '');
  return out + rest;
}

function evalAction(body: string, input: RenderInput): string {
  let m = /^\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)(\s*\|\s*quote)?$/.exec(body);
  if (m !== null) {
    const printed = printScalar(lookupPath(input.values, m[1]!.slice(1).split('.'), body), body);
    return m[2] === undefined ? printed : JSON.stringify(printed);
  }
  m = /^toYaml\s+\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*\|\s*nindent\s+(\d+)$/.exec(body);
  if (m !== null) {
    const yaml = input.toYaml(lookupPath(input.values, m[1]!.slice(1).split('.'), body)).replace(/\n+$/, '');
    const pad = ' '.repeat(Number(m[2]));
    return '\n' + yaml.split('\n').map((l) => pad + l).join('\n');
  }
  m = /^include\s+"([^"]+)"\s+\.(\s*\|\s*quote)?$/.exec(body);
  if (m !== null) {
    const v = input.includes[m[1]!];
    if (v === undefined) throw new Error(`${body}: no stand-in given for include "${m[1]}"`);
    return m[2] === undefined ? v : JSON.stringify(v);
  }
  throw new Error(`{{ ${body} }} is outside the subset this renderer handles`);
}
