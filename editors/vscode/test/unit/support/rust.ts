/**
 * A parser for the parts of `sidecar/src/protocol.rs` the mirror test compares: the
 * request!/notification! declarations, structs (fields, serde attributes), enums (variants,
 * serde representation) and the error codes. Deliberately small: protocol.rs is plain serde.
 */

export interface RustField {
  rustName: string;
  wireName: string;
  type: string;
  attrs: string[];
  optional: boolean; // Option<T>
  defaulted: boolean; // #[serde(default)] on the field or the struct
  flatten: boolean;
}

export interface RustStruct {
  name: string;
  attrs: string[];
  fields: RustField[];
}

export interface RustVariant {
  name: string;
  wireName: string;
  kind: 'unit' | 'tuple' | 'struct';
  tupleTypes: string[];
  fields: RustField[];
}

export interface RustEnum {
  name: string;
  attrs: string[];
  tag: string | undefined;
  untagged: boolean;
  variants: RustVariant[];
}

export interface RustProtocol {
  requests: { name: string; method: string; params: string; result: string }[];
  notifications: { name: string; method: string; params: string }[];
  structs: Map<string, RustStruct>;
  enums: Map<string, RustEnum>;
  errorCodes: Map<string, number>;
  errorNames: Map<string, string>;
  protocolVersion: number;
}

export function camelCase(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** serde's `rename_all` applied to a PascalCase variant or snake_case field. */
export function applyRename(name: string, rule: string | undefined, isVariant: boolean): string {
  if (!rule) return name;
  if (isVariant) {
    switch (rule) {
      case 'lowercase':
        return name.toLowerCase();
      case 'camelCase':
        return name[0].toLowerCase() + name.slice(1);
      case 'snake_case':
        return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
      default:
        throw new Error(`unsupported rename_all ${rule}`);
    }
  }
  switch (rule) {
    case 'camelCase':
      return camelCase(name);
    case 'lowercase':
      return name.toLowerCase();
    case 'snake_case':
      return name;
    default:
      throw new Error(`unsupported rename_all ${rule}`);
  }
}

function serdeArg(attrs: string[], key: string): string | undefined {
  for (const a of attrs) {
    if (!a.startsWith('#[serde(')) continue;
    const m = new RegExp(`\\b${key}\\s*=\\s*"([^"]+)"`).exec(a);
    if (m) return m[1];
  }
  return undefined;
}

function serdeFlag(attrs: string[], key: string): boolean {
  return attrs.some((a) => a.startsWith('#[serde(') && new RegExp(`[(,\\s]${key}\\s*[,)]`).test(a));
}

/** Strips `//` comments (protocol.rs has no strings containing `//` outside attributes). */
function stripComments(src: string): string {
  return src
    .split('\n')
    .map((l) => {
      const i = l.indexOf('//');
      return i >= 0 && !/"[^"]*\/\/[^"]*"/.test(l) ? l.slice(0, i) : l;
    })
    .join('\n');
}

/** The text of a brace-balanced block starting at `open` (the index of `{`). */
function block(src: string, open: number): { body: string; end: number } {
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    if (src[i] === '{') depth++;
    else if (src[i] === '}') {
      depth--;
      if (depth === 0) return { body: src.slice(open + 1, i), end: i };
    }
  }
  throw new Error('unbalanced braces');
}

/** Attributes written right before position `at` (back to the previous item). */
function attrsBefore(src: string, at: number): string[] {
  const before = src.slice(0, at);
  const lines = before.split('\n');
  const attrs: string[] = [];
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i].trim();
    if (l === '' && i === lines.length - 1) continue;
    if (l.startsWith('#[')) attrs.unshift(l);
    else if (l === '') continue;
    else break;
  }
  return attrs;
}

function parseFields(body: string, containerRename: string | undefined, containerDefault: boolean): RustField[] {
  const fields: RustField[] = [];
  let attrs: string[] = [];
  for (const raw of body.split('\n')) {
    const l = raw.trim();
    if (!l) continue;
    if (l.startsWith('#[')) {
      attrs.push(l);
      continue;
    }
    const m = /^(?:pub\s+)?(\w+)\s*:\s*(.+?),?$/.exec(l);
    if (!m) continue;
    const [, rustName, type] = m;
    const rename = serdeArg(attrs, 'rename');
    fields.push({
      rustName,
      wireName: rename ?? applyRename(rustName, containerRename, false),
      type: type.trim(),
      attrs,
      optional: /^Option</.test(type.trim()),
      defaulted: containerDefault || serdeFlag(attrs, 'default'),
      flatten: serdeFlag(attrs, 'flatten'),
    });
    attrs = [];
  }
  return fields;
}

export function parseProtocolRs(source: string): RustProtocol {
  const src = stripComments(source);
  const requests = [...src.matchAll(/request!\(\s*(\w+)\s*,\s*"([^"]+)"\s*,\s*(\w+)\s*,\s*(\w+)\s*,?\s*\)/g)].map((m) => ({
    name: m[1],
    method: m[2],
    params: m[3],
    result: m[4],
  }));
  const notifications = [...src.matchAll(/notification!\(\s*(\w+)\s*,\s*"([^"]+)"\s*,\s*(\w+)\s*,?\s*\)/g)].map((m) => ({
    name: m[1],
    method: m[2],
    params: m[3],
  }));

  const structs = new Map<string, RustStruct>();
  for (const m of src.matchAll(/pub struct (\w+)\s*(\{|;)/g)) {
    const attrs = attrsBefore(src, m.index!);
    const rename = serdeArg(attrs, 'rename_all');
    const isDefault = serdeFlag(attrs, 'default');
    const fields = m[2] === '{' ? parseFields(block(src, m.index! + m[0].length - 1).body, rename, isDefault) : [];
    structs.set(m[1], { name: m[1], attrs, fields });
  }

  const enums = new Map<string, RustEnum>();
  for (const m of src.matchAll(/pub enum (\w+)\s*\{/g)) {
    const attrs = attrsBefore(src, m.index!);
    // The macro-generated `pub enum $name {}` marker types are not wire types.
    const { body } = block(src, m.index! + m[0].length - 1);
    if (!body.trim()) continue;
    const rename = serdeArg(attrs, 'rename_all');
    const variants: RustVariant[] = [];
    let vattrs: string[] = [];
    let i = 0;
    while (i < body.length) {
      const rest = body.slice(i);
      const ws = /^\s+/.exec(rest);
      if (ws) {
        i += ws[0].length;
        continue;
      }
      if (rest.startsWith('#[')) {
        const end = rest.indexOf(']\n') >= 0 ? rest.indexOf(']\n') + 1 : rest.indexOf(']') + 1;
        vattrs.push(rest.slice(0, end).trim());
        i += end;
        continue;
      }
      const vm = /^(\w+)\s*(\{|\(|,|$)/.exec(rest);
      if (!vm) {
        i++;
        continue;
      }
      const vname = vm[1];
      const vrename = serdeArg(vattrs, 'rename');
      const wireName = vrename ?? applyRename(vname, rename, true);
      if (vm[2] === '{') {
        const b = block(body, i + vm[0].length - 1);
        variants.push({
          name: vname,
          wireName,
          kind: 'struct',
          tupleTypes: [],
          fields: parseFields(b.body.replace(/,/g, ',\n'), serdeArg(vattrs, 'rename_all'), serdeFlag(vattrs, 'default')),
        });
        i = b.end + 1;
      } else if (vm[2] === '(') {
        const close = body.indexOf(')', i);
        variants.push({
          name: vname,
          wireName,
          kind: 'tuple',
          tupleTypes: body.slice(i + vm[0].length, close).split(',').map((t) => t.trim()).filter(Boolean),
          fields: [],
        });
        i = close + 1;
      } else {
        variants.push({ name: vname, wireName, kind: 'unit', tupleTypes: [], fields: [] });
        i += vm[0].length;
      }
      vattrs = [];
      const comma = /^\s*,/.exec(body.slice(i));
      if (comma) i += comma[0].length;
    }
    enums.set(m[1], { name: m[1], attrs, tag: serdeArg(attrs, 'tag'), untagged: serdeFlag(attrs, 'untagged'), variants });
  }

  const errorCodes = new Map<string, number>();
  const codeFn = /pub fn code\(self\)[^{]*\{([\s\S]*?)\n {4}\}/.exec(src);
  for (const m of (codeFn?.[1] ?? '').matchAll(/ErrorCode::(\w+)\s*=>\s*(-?\d+)/g)) errorCodes.set(m[1], Number(m[2]));
  const errorNames = new Map<string, string>();
  const nameFn = /pub fn name\(self\)[^{]*\{([\s\S]*?)\n {4}\}/.exec(src);
  for (const m of (nameFn?.[1] ?? '').matchAll(/ErrorCode::(\w+)\s*=>\s*"(\w+)"/g)) errorNames.set(m[1], m[2]);
  const pv = /pub const PROTOCOL_VERSION: u32 = (\d+);/.exec(src);

  return { requests, notifications, structs, enums, errorCodes, errorNames, protocolVersion: pv ? Number(pv[1]) : NaN };
}

/** The TypeScript type a Rust field type maps to (the mirror's convention), without `| null`. */
export function tsTypeOf(rustType: string): string {
  const t = rustType.replace(/\s+/g, '');
  let m: RegExpExecArray | null;
  if ((m = /^Option<(.+)>$/.exec(t))) return tsTypeOf(m[1]);
  if ((m = /^Vec<(.+)>$/.exec(t))) return `${tsTypeOf(m[1])}[]`;
  if ((m = /^BTreeMap<(\w+),(.+)>$/.exec(t))) {
    return m[1] === 'String' ? `Record<string,${tsTypeOf(m[2])}>` : `Partial<Record<${m[1]},${tsTypeOf(m[2])}>>`;
  }
  if (t === 'String' || t === '&str' || t === "&'staticstr") return 'string';
  if (/^(u8|u16|u32|u64|usize|i32|i64|f32|f64)$/.test(t)) return 'number';
  if (t === 'bool') return 'boolean';
  if (t === 'serde_json::Value') return 'unknown';
  return t;
}
