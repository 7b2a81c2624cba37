/** Reads the declarations of `src/protocol.ts` with the TypeScript compiler API. */
import * as ts from 'typescript';

export interface TsProp {
  name: string;
  optional: boolean;
  type: string; // normalized: no whitespace, no trailing semicolon
  nullable: boolean;
  typeWithoutNull: string;
}

export interface TsProtocol {
  interfaces: Map<string, { props: Map<string, TsProp>; heritage: string[] }>;
  aliases: Map<string, string>;
  requests: Map<string, { method: string; params: string; result: string }>;
  notifications: Map<string, { method: string; params: string }>;
  objects: Map<string, Map<string, number>>;
  consts: Map<string, string>;
}

function norm(s: string): string {
  return s.replace(/\s+/g, '').replace(/;$/, '');
}

/** Splits a normalized union at its top level. */
export function unionParts(type: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of type) {
    if ('<({['.includes(ch)) depth++;
    if ('>)}]'.includes(ch)) depth--;
    if (ch === '|' && depth === 0) {
      if (cur) parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) parts.push(cur);
  return parts;
}

export function parseProtocolTs(source: string): TsProtocol {
  const sf = ts.createSourceFile('protocol.ts', source, ts.ScriptTarget.ES2022, true);
  const out: TsProtocol = {
    interfaces: new Map(),
    aliases: new Map(),
    requests: new Map(),
    notifications: new Map(),
    objects: new Map(),
    consts: new Map(),
  };
  const propOf = (m: ts.PropertySignature): TsProp => {
    const type = norm(m.type ? m.type.getText(sf) : 'any');
    const parts = unionParts(type);
    return {
      name: (m.name as ts.Identifier).text ?? m.name.getText(sf),
      optional: !!m.questionToken,
      type,
      nullable: parts.includes('null'),
      typeWithoutNull: parts.filter((p) => p !== 'null').join('|'),
    };
  };
  for (const st of sf.statements) {
    if (ts.isInterfaceDeclaration(st)) {
      const props = new Map<string, TsProp>();
      for (const m of st.members) if (ts.isPropertySignature(m)) props.set(propOf(m).name, propOf(m));
      const heritage = (st.heritageClauses ?? []).flatMap((h) => h.types.map((t) => t.getText(sf)));
      out.interfaces.set(st.name.text, { props, heritage });
    } else if (ts.isTypeAliasDeclaration(st)) {
      out.aliases.set(st.name.text, norm(st.type.getText(sf)));
    } else if (ts.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) {
        const name = (d.name as ts.Identifier).text;
        let init = d.initializer;
        if (init && ts.isAsExpression(init)) init = init.expression;
        if (!init) continue;
        if (ts.isNewExpression(init) && ts.isIdentifier(init.expression)) {
          const cls = init.expression.text;
          const targs = (init.typeArguments ?? []).map((t) => norm(t.getText(sf)));
          const arg = init.arguments?.[0];
          const method = arg && ts.isStringLiteral(arg) ? arg.text : '';
          if (cls === 'RequestType') out.requests.set(name, { method, params: targs[0], result: targs[1] });
          if (cls === 'NotificationType') out.notifications.set(name, { method, params: targs[0] });
        } else if (ts.isObjectLiteralExpression(init)) {
          const o = new Map<string, number>();
          for (const p of init.properties) {
            if (ts.isPropertyAssignment(p)) {
              const v = p.initializer;
              const num =
                ts.isNumericLiteral(v)
                  ? Number(v.text)
                  : ts.isPrefixUnaryExpression(v) && v.operator === ts.SyntaxKind.MinusToken && ts.isNumericLiteral(v.operand)
                    ? -Number(v.operand.text)
                    : NaN;
              o.set(p.name.getText(sf), num);
            }
          }
          out.objects.set(name, o);
        } else {
          out.consts.set(name, init.getText(sf));
        }
      }
    }
  }
  return out;
}
