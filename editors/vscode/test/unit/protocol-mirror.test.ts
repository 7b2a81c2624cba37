/**
 * Keeps src/protocol.ts honest: parses sidecar/src/protocol.rs and compares every request,
 * notification, struct field (camelCase on the wire), enum value and error code; then checks
 * what the real sidecar sends against the declared interfaces.
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as P from '../../src/protocol';
import { RustField, applyRename, parseProtocolRs, tsTypeOf } from './support/rust';
import { TsProtocol, parseProtocolTs, unionParts } from './support/ts';
import { FixtureHome, REPO, Server } from './support/sidecar';

const rs = parseProtocolRs(fs.readFileSync(path.join(REPO, 'sidecar/src/protocol.rs'), 'utf8'));
const tsSrc = parseProtocolTs(fs.readFileSync(path.join(REPO, 'editors/vscode/src/protocol.ts'), 'utf8'));

/** Where the mirror deliberately uses a narrower or wire-level TS type than the Rust one. */
const TYPE_EXCEPTIONS: Record<string, string> = {
  // LSP ProgressToken = integer | string (Rust keeps it as serde_json::Value).
  'CompressParams.workDoneToken': 'string|number',
};

/** A struct whose only field is `#[serde(flatten)]` may be mirrored as an alias of that type. */
function flattenedAlias(name: string): string | undefined {
  const st = rs.structs.get(name);
  if (st && st.fields.length === 1 && st.fields[0].flatten) return tsTypeOf(st.fields[0].type);
  return undefined;
}

function compareFields(where: string, fields: RustField[], props: Map<string, { optional: boolean; nullable: boolean; typeWithoutNull: string }>, ignore: string[] = []): void {
  const rustNames = fields.map((f) => f.wireName).sort();
  const tsNames = [...props.keys()].filter((k) => !ignore.includes(k)).sort();
  assert.deepEqual(tsNames, rustNames, `${where}: fields differ`);
  for (const f of fields) {
    const p = props.get(f.wireName)!;
    const key = `${where}.${f.wireName}`;
    if (f.optional) {
      assert.ok(p.nullable || p.optional, `${key}: Option<…> in Rust, so the TS type must allow null`);
    } else {
      assert.ok(!p.nullable, `${key}: not an Option in Rust, but nullable in TS`);
    }
    if (p.optional) {
      assert.ok(f.optional || f.defaulted, `${key}: optional (?) in TS, but required by serde`);
    }
    const expected = TYPE_EXCEPTIONS[key] ?? tsTypeOf(f.type);
    assert.equal(p.typeWithoutNull, expected, `${key}: TS type ${p.typeWithoutNull}, Rust ${f.type} maps to ${expected}`);
  }
}

describe('protocol.ts mirrors protocol.rs', () => {
  test('the parser found the protocol (sanity)', () => {
    assert.ok(rs.requests.length >= 17, `found ${rs.requests.length} requests`);
    assert.ok(rs.notifications.length >= 4);
    assert.ok(rs.structs.size >= 30);
    assert.ok(rs.errorCodes.size >= 19);
  });

  test('protocol version', () => {
    assert.equal(P.PROTOCOL_VERSION, rs.protocolVersion);
  });

  test('every request: same name, method, params and result types', () => {
    const rustNames = rs.requests.map((r) => r.name);
    assert.deepEqual([...tsSrc.requests.keys()], rustNames, 'request declarations (and their order) differ');
    for (const r of rs.requests) {
      const t = tsSrc.requests.get(r.name)!;
      assert.equal(t.method, r.method, `${r.name}: method`);
      assert.equal(t.params, r.params, `${r.name}: params type`);
      assert.equal(t.result, r.result, `${r.name}: result type`);
      // The runtime object carries the same method.
      assert.equal((P.REQUESTS as Record<string, { method: string }>)[r.name]?.method, r.method, `${r.name}: REQUESTS table`);
    }
    assert.deepEqual(Object.keys(P.REQUESTS), rustNames);
  });

  test('every notification: same name, method and params type', () => {
    const rustNames = rs.notifications.map((n) => n.name);
    assert.deepEqual([...tsSrc.notifications.keys()], rustNames);
    for (const n of rs.notifications) {
      const t = tsSrc.notifications.get(n.name)!;
      assert.equal(t.method, n.method, `${n.name}: method`);
      assert.equal(t.params, n.params, `${n.name}: params type`);
      assert.equal((P.NOTIFICATIONS as Record<string, { method: string }>)[n.name]?.method, n.method);
    }
  });

  test('every struct: an interface with the same camelCase fields, nullability and types', () => {
    for (const st of rs.structs.values()) {
      const alias = flattenedAlias(st.name);
      if (alias && tsSrc.aliases.get(st.name) === alias) continue;
      const iface = tsSrc.interfaces.get(st.name);
      assert.ok(iface, `protocol.ts has no interface ${st.name}`);
      compareFields(st.name, st.fields, iface.props);
    }
  });

  test('every unit enum: a string union with the serde names', () => {
    for (const en of rs.enums.values()) {
      if (en.name === 'ErrorCode' || en.tag || en.untagged) continue;
      const rename = /rename_all\s*=\s*"([^"]+)"/.exec(en.attrs.join(' '))?.[1];
      const expected = en.variants.map((v) => applyRename(v.name, rename, true)).sort();
      const alias = tsSrc.aliases.get(en.name);
      assert.ok(alias, `protocol.ts has no type ${en.name}`);
      const got = unionParts(alias)
        .map((p) => p.replace(/^'|'$/g, ''))
        .sort();
      assert.deepEqual(got, expected, `${en.name}: values differ`);
    }
  });

  test('internally tagged enums: one interface per variant with its tag and fields', () => {
    for (const en of rs.enums.values()) {
      if (!en.tag) continue;
      const alias = tsSrc.aliases.get(en.name);
      assert.ok(alias, `protocol.ts has no type ${en.name}`);
      const members = unionParts(alias).sort();
      assert.deepEqual(members, en.variants.map((v) => `${en.name}${v.name}`).sort(), `${en.name}: union members`);
      for (const v of en.variants) {
        const iface = tsSrc.interfaces.get(`${en.name}${v.name}`)!;
        const tag = iface.props.get(en.tag);
        assert.ok(tag, `${en.name}${v.name} has no ${en.tag}`);
        assert.equal(tag.type, `'${v.wireName}'`, `${en.name}${v.name}.${en.tag}`);
        compareFields(`${en.name}${v.name}`, v.fields, iface.props, [en.tag]);
      }
    }
  });

  test('untagged SessionRef: a string or {agent, id}', () => {
    const en = rs.enums.get('SessionRef')!;
    assert.ok(en.untagged);
    const parts = unionParts(tsSrc.aliases.get('SessionRef')!);
    for (const v of en.variants) {
      if (v.kind === 'tuple') {
        assert.ok(parts.includes(tsTypeOf(v.tupleTypes[0])), `SessionRef.${v.name}`);
      } else {
        const obj = parts.find((p) => p.startsWith('{'))!;
        const fields = [...obj.matchAll(/(\w+):/g)].map((m) => m[1]).sort();
        assert.deepEqual(fields, v.fields.map((f) => f.wireName).sort(), `SessionRef.${v.name}`);
      }
    }
  });

  test('error codes: same names and numbers; data.kind is the camelCase name', () => {
    const ts = tsSrc.objects.get('ErrorCodes')!;
    assert.deepEqual([...ts.keys()], [...rs.errorCodes.keys()], 'ErrorCodes keys (and order)');
    for (const [name, code] of rs.errorCodes) {
      assert.equal(ts.get(name), code, `ErrorCodes.${name}`);
      assert.equal((P.ErrorCodes as Record<string, number>)[name], code);
      assert.equal(rs.errorNames.get(name), applyRename(name, 'camelCase', true), `${name}.name()`);
    }
    const en = rs.enums.get('ErrorCode')!;
    assert.deepEqual(en.variants.map((v) => v.name), [...rs.errorCodes.keys()]);
  });
});

// ---------------------------------------------------------------------------------------------
// What the real sidecar sends matches the declarations.

/** Checks a value against a TS type of protocol.ts (interfaces, aliases, arrays, unions). */
function conforms(ts: TsProtocol, type: string, v: unknown, where: string): void {
  const parts = unionParts(type);
  if (parts.length > 1) {
    const errors: string[] = [];
    for (const p of parts) {
      try {
        conforms(ts, p, v, where);
        return;
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    throw new Error(`${where}: ${JSON.stringify(v)?.slice(0, 200)} is none of ${type}\n  ${errors.join('\n  ')}`);
  }
  if (type === 'null') return assert.equal(v, null, where);
  if (type === 'string') return assert.equal(typeof v, 'string', where);
  if (type === 'number') return assert.equal(typeof v, 'number', where);
  if (type === 'boolean') return assert.equal(typeof v, 'boolean', where);
  if (type === 'unknown') return;
  if (/^'.*'$/.test(type)) return assert.equal(v, type.slice(1, -1), where);
  if (type.endsWith('[]')) {
    assert.ok(Array.isArray(v), `${where}: not an array`);
    (v as unknown[]).forEach((x, i) => conforms(ts, type.slice(0, -2), x, `${where}[${i}]`));
    return;
  }
  const rec = /^(?:Partial<)?Record<(\w+),(\w+)>>?$/.exec(type);
  if (rec) {
    assert.equal(typeof v, 'object', where);
    for (const [k, x] of Object.entries(v as object)) conforms(ts, rec[2], x, `${where}.${k}`);
    return;
  }
  const alias = ts.aliases.get(type);
  if (alias) return conforms(ts, alias, v, where);
  const iface = ts.interfaces.get(type);
  assert.ok(iface, `${where}: unknown type ${type}`);
  assert.equal(typeof v, 'object', `${where}: not an object`);
  assert.ok(v !== null, `${where}: null`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) assert.ok(iface.props.has(k), `${where}: the server sent ${k}, which ${type} does not declare`);
  for (const [k, p] of iface.props) {
    if (!(k in o)) {
      assert.ok(p.optional, `${where}: ${type}.${k} missing`);
      continue;
    }
    conforms(ts, p.type, o[k], `${where}.${k}`);
  }
}

describe('the real sidecar answers in the declared shapes', () => {
  let home: FixtureHome;
  let server: Server;
  before(async () => {
    home = new FixtureHome();
    const agentPaths = { claude: '/bin/true', qwen: '/bin/true', codex: '/bin/true', gemini: '/bin/true' };
    server = await Server.start(home, { agentPaths });
  });
  after(async () => {
    await server.stop();
    home.dispose();
  });

  test('initialize advertises exactly the declared methods and notifications', () => {
    const caps = server.initializeResult!.capabilities.experimental!.sessionSidecar!;
    conforms(tsSrc, 'SidecarCapabilities', caps, 'capabilities.experimental.sessionSidecar');
    assert.deepEqual(caps.methods, rs.requests.map((r) => r.method));
    assert.deepEqual(caps.notifications, rs.notifications.map((n) => n.method));
    assert.equal(caps.protocolVersion, P.PROTOCOL_VERSION);
  });

  test('sessions/list and sessions/info results conform', async () => {
    const list = await server.request(P.ListSessions, { scope: 'all' });
    assert.ok(list.items.length >= 8, `only ${list.items.length} sessions`);
    conforms(tsSrc, 'ListResult', list, 'sessions/list');
    const info = await server.request(P.SessionInfo, { session: list.items[0].id });
    conforms(tsSrc, 'SessionSummary', info, 'sessions/info');
  });

  /** Calls a method; skips the test when this sidecar build does not implement it yet. */
  async function call<R>(t: { skip(m: string): void }, method: string, params: unknown): Promise<R | undefined> {
    try {
      return (await server.conn.sendRequest(method, params)) as R;
    } catch (e) {
      if ((e as { code?: number }).code === P.ErrorCodes.NotSupported) {
        t.skip(`${method} is not implemented in this sidecar build`);
        return undefined;
      }
      throw e;
    }
  }
  const MAIN = { agent: 'claude' as const, id: '59e7b833-aace-4821-88a8-f970caa6c194' };
  const AGENT_SESSION = { agent: 'claude' as const, id: '968b81b1-e0cf-465e-b146-2a3d2442ac19' };

  test('sessions/history, sessions/message, sessions/subagents conform', async (t) => {
    const page = await call<P.HistoryPage>(t, 'sessions/history', { session: MAIN, limit: 5 });
    if (!page) return;
    conforms(tsSrc, 'HistoryPage', page, 'sessions/history');
    assert.ok(page.items.length > 0 && page.hasOlder && page.olderCursor);
    const older = await server.request(P.History, { session: MAIN, limit: 100, before: page.olderCursor });
    conforms(tsSrc, 'HistoryPage', older, 'sessions/history before');
    const kinds = new Set([...page.items, ...older.items].flatMap((i) => i.content.map((b) => b.type)));
    for (const k of ['text', 'thinking', 'toolUse', 'toolResult']) assert.ok(kinds.has(k as P.ContentBlock['type']), `a ${k} block`);
    const msg = await server.request(P.Message, { session: MAIN, id: page.items[0].id });
    conforms(tsSrc, 'HistoryItem', msg, 'sessions/message');
    const subs = await call<P.SubagentsResult>(t, 'sessions/subagents', { session: AGENT_SESSION });
    if (subs) {
      conforms(tsSrc, 'SubagentsResult', subs, 'sessions/subagents');
      assert.ok(subs.items.length >= 1);
    }
  });

  test('sessions/subscribe → sessions/appended conforms; unsubscribe', async (t) => {
    const s = (await server.request(P.SessionInfo, { session: MAIN })) as P.SessionSummary;
    const sub = await call<P.SubscribeResult>(t, 'sessions/subscribe', { session: MAIN });
    if (!sub) return;
    conforms(tsSrc, 'SubscribeResult', sub, 'sessions/subscribe');
    const fs = await import('node:fs');
    fs.appendFileSync(
      s.path,
      `${JSON.stringify({ type: 'user', uuid: '22222222-3333-4444-8555-666666666666', parentUuid: null, sessionId: s.id, cwd: s.cwd, timestamp: new Date().toISOString(), message: { role: 'user', content: 'appended by the mirror test' } })}\n`,
    );
    const ap = await server.waitFor(P.Appended, (p) => p.subscription === sub.subscription);
    conforms(tsSrc, 'AppendedParams', ap, 'sessions/appended');
    const ch = await server.waitFor(P.SessionsChanged, (p) => p.updated.some((u) => u.id === s.id));
    conforms(tsSrc, 'ChangedParams', ch, 'sessions/changed');
    conforms(tsSrc, 'Empty', await server.request(P.Unsubscribe, { subscription: sub.subscription }), 'sessions/unsubscribe');
  });

  test('sessions/context and sessions/contextUsage conform', async (t) => {
    const c = await call<P.ContextStatus>(t, 'sessions/context', { session: MAIN });
    if (!c) return;
    conforms(tsSrc, 'ContextStatus', c, 'sessions/context');
    const pushed = server.notes.find((n) => n.method === P.ContextUsage.method);
    if (pushed) conforms(tsSrc, 'ContextUsageParams', pushed.params, 'sessions/contextUsage');
  });

  test('sessions/resume and sessions/continue conform (argv arrays)', async (t) => {
    const r = await call<P.LaunchCommand>(t, 'sessions/resume', { session: MAIN });
    if (!r) return;
    conforms(tsSrc, 'LaunchCommand', r, 'sessions/resume');
    assert.ok(r.argv.includes('--resume') && r.argv.includes(MAIN.id));
    const c = await call<P.ContinueResult>(t, 'sessions/continue', { agent: 'claude' });
    if (c) conforms(tsSrc, 'ContinueResult', c, 'sessions/continue');
  });

  test('fork, rename, tag, delete, trash, restore, compress conform', async (t) => {
    const f = await call<P.SessionResult>(t, 'sessions/fork', { session: MAIN, title: 'mirror fork' });
    if (!f) return;
    conforms(tsSrc, 'SessionResult', f, 'sessions/fork');
    const key = { agent: f.session.agent, id: f.session.id };
    conforms(tsSrc, 'SessionResult', await server.request(P.Rename, { session: key, title: 'mirror renamed' }), 'sessions/rename');
    conforms(tsSrc, 'SessionResult', await server.request(P.Tag, { session: key, tag: 'mirror' }), 'sessions/tag');
    conforms(tsSrc, 'TrashResult', await server.request(P.Delete, { session: key }), 'sessions/delete');
    conforms(tsSrc, 'TrashListResult', await server.request(P.Trash, {}), 'sessions/trash');
    conforms(tsSrc, 'SessionResult', await server.request(P.Restore, { session: key }), 'sessions/restore');
    const c = await call<P.CompressResult>(t, 'sessions/compress', { session: key, strategy: 'trim' });
    if (c) conforms(tsSrc, 'CompressResult', c, 'sessions/compress');
  });

  test('errors carry the declared codes and data.kind', async () => {
    await assert.rejects(server.request(P.SessionInfo, { session: '../etc/passwd' }), (e: { code: number; data?: { kind: string } }) => {
      assert.equal(e.code, P.ErrorCodes.InvalidSessionId);
      conforms(tsSrc, 'ErrorData', e.data, 'error.data');
      assert.equal(e.data!.kind, 'invalidSessionId');
      return true;
    });
    await assert.rejects(server.request(P.SessionInfo, { session: 'claude:00000000-0000-4000-8000-000000000000' }), (e: { code: number }) => {
      assert.equal(e.code, P.ErrorCodes.SessionNotFound);
      return true;
    });
    await assert.rejects(server.request(P.ListSessions, { limit: 0 }), (e: { code: number }) => {
      assert.equal(e.code, P.ErrorCodes.InvalidParams);
      return true;
    });
  });
});
