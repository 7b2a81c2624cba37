/**
 * Client logic against the real sidecar's answers for the fixture home: the branch tree, fork
 * nesting, live updates, formatting, the context gauge and the quick pick items.
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as P from '../../src/protocol';
import {
  SessionSet,
  contextPercent,
  defaultActiveSession,
  detailLine,
  forkPrompt,
  formatAge,
  formatPercent,
  formatTokens,
  gaugeFromStatus,
  gaugeFromSummary,
  groupByBranch,
  matchesFilter,
  pickItems,
  sessionTitle,
  treeDescription,
} from '../../src/model';
import { FixtureHome, Server } from './support/sidecar';

// Fixture sessions (tests/fixtures/README.md).
const CLAUDE_MAIN = '59e7b833-aace-4821-88a8-f970caa6c194';
const CLAUDE_FORK = '4f51b52b-37fa-48ac-9fc2-00f708de9180';
const CLAUDE_RENAMED = 'a0a51dc5-d7b2-43b0-80f6-e51fa390a987';
const CLAUDE_LOGIN = '5c8ccf4c-96fa-4146-804a-a036ef32968c';
const CLAUDE_LOGIN_COMPACT = '1b4c021f-90ef-4fb4-ba06-fb4530cf2884';
const QWEN_SRC = 'a20c9abf-6786-496f-9996-61005c8ac25c';
const QWEN_FORK = '728b1cf1-2de8-42eb-9811-f66c4e36c4f2';

let home: FixtureHome;
let server: Server;
let sessions: P.SessionSummary[];
const byId = (id: string) => sessions.find((s) => s.id === id)!;

before(async () => {
  home = new FixtureHome();
  server = await Server.start(home);
  sessions = (await server.request(P.ListSessions, { scope: 'workspace' })).items;
  // Large files are read head-and-tail first; the exact counts follow as sessions/changed, in
  // one or more batches (a batch can start while the list is still indexing). Wait for a batch
  // that completes a session still partial, list again, until none is (waitFor times out).
  while (sessions.some((s) => !s.countsExact)) {
    const partial = new Set(sessions.filter((s) => !s.countsExact).map((s) => s.id));
    await server.waitFor(P.SessionsChanged, (p) => p.updated.some((u) => partial.has(u.id) && u.countsExact));
    sessions = (await server.request(P.ListSessions, { scope: 'workspace' })).items;
  }
});
after(async () => {
  await server.stop();
  home.dispose();
});

/** Skips a test while the sidecar build does not list that agent's sessions yet. */
function needAgent(t: { skip(m: string): void }, agent: P.Agent): boolean {
  if (sessions.some((s) => s.agent === agent)) return true;
  t.skip(`this sidecar build lists no ${agent} sessions yet`);
  return false;
}

describe('the branch tree', () => {
  test('the fixture workspace lists the Claude sessions', () => {
    for (const id of [CLAUDE_MAIN, CLAUDE_FORK, CLAUDE_RENAMED, CLAUDE_LOGIN, CLAUDE_LOGIN_COMPACT]) assert.ok(byId(id), id);
  });

  for (const agent of ['qwen', 'codex', 'gemini'] as const) {
    test(`the fixture workspace lists the ${agent} sessions`, (t) => {
      if (!needAgent(t, agent)) return;
      assert.ok(sessions.filter((s) => s.agent === agent).length >= 2);
    });
  }

  test('grouped by git branch, the current branch first', () => {
    const groups = groupByBranch(sessions, ['feature/login']);
    assert.equal(groups[0].branch, 'feature/login');
    assert.equal(groups[0].current, true);
    const ids = groups[0].sessions.map((n) => n.session.id).sort();
    assert.deepEqual(ids, [CLAUDE_LOGIN, CLAUDE_LOGIN_COMPACT].sort());
    const main = groups.find((g) => g.branch === 'main')!;
    assert.equal(main.current, false);
    assert.ok(groups.indexOf(main) > 0);
    // Every session is in exactly one group, forks included.
    assert.equal(groups.reduce((n, g) => n + g.count, 0), sessions.length);
    // Sessions that recorded no branch come last.
    const nob = groups.findIndex((g) => g.branch === null);
    if (nob >= 0) assert.equal(nob, groups.length - 1);

    const onMain = groupByBranch(sessions, ['main']);
    assert.equal(onMain[0].branch, 'main');
    assert.equal(onMain[0].current, true);
  });

  test('multi-root: every folder\'s branch is current and comes first', () => {
    const groups = groupByBranch(sessions, ['feature/login', 'main']);
    assert.deepEqual(groups.slice(0, 2).map((g) => [g.branch, g.current]).sort(), [['feature/login', true], ['main', true]]);
    assert.ok(groups.slice(2).every((g) => !g.current));
  });

  test('a current branch without sessions still shows (empty) first', () => {
    const groups = groupByBranch(sessions, ['feature/new']);
    assert.equal(groups[0].branch, 'feature/new');
    assert.equal(groups[0].count, 0);
  });

  test("forks nest under their source (the CLI's own --fork-session)", () => {
    const fork = byId(CLAUDE_FORK);
    assert.equal(fork.forkedFrom?.sessionId, CLAUDE_MAIN, 'the sidecar reports forkedFrom');
    const main = groupByBranch(sessions, ['main']).find((g) => g.branch === 'main')!;
    const src = main.sessions.find((n) => n.session.id === CLAUDE_MAIN)!;
    assert.ok(src, 'the source is a top-level node');
    assert.deepEqual(src.forks.map((n) => n.session.id), [CLAUDE_FORK]);
    assert.ok(!main.sessions.some((n) => n.session.id === CLAUDE_FORK), 'the fork is not also top-level');
  });

  test('Qwen forks nest too (recorded forkedFrom)', (t) => {
    if (!needAgent(t, 'qwen')) return;
    const q = byId(QWEN_FORK);
    assert.equal(q.forkedFrom?.sessionId, QWEN_SRC);
    const g = groupByBranch(sessions, []).find((x) => x.sessions.some((n) => n.session.id === QWEN_SRC))!;
    const src = g.sessions.find((n) => n.session.id === QWEN_SRC)!;
    assert.deepEqual(src.forks.map((n) => n.session.id), [QWEN_FORK]);
  });

  test('a fork whose source is on another branch stays top-level with a note', () => {
    const moved = { ...byId(CLAUDE_FORK), gitBranch: 'feature/login' };
    const list = sessions.map((s) => (s.id === CLAUDE_FORK ? moved : s));
    const login = groupByBranch(list, ['feature/login'])[0];
    const node = login.sessions.find((n) => n.session.id === CLAUDE_FORK)!;
    assert.ok(node, 'top-level on its own branch');
    assert.equal(node.forkOfTitle, sessionTitle(byId(CLAUDE_MAIN)));
  });

  test('newest first within a branch', () => {
    for (const g of groupByBranch(sessions, ['main'])) {
      const t = g.sessions.map((n) => Date.parse(n.session.lastModified));
      assert.deepEqual(t, [...t].sort((a, b) => b - a), `${g.branch}`);
    }
  });

  test('the filter matches titles, first prompts, agents, branches and ids', () => {
    const renamed = byId(CLAUDE_RENAMED);
    assert.equal(renamed.customTitle, 'Corpus title 4');
    const g = groupByBranch(sessions, ['main'], 'corpus title');
    assert.deepEqual(g.flatMap((x) => x.sessions.map((n) => n.session.id)), [CLAUDE_RENAMED]);
    assert.ok(matchesFilter(byId(CLAUDE_MAIN), 'claude code'));
    assert.ok(matchesFilter(byId(CLAUDE_LOGIN), 'login'));
    assert.ok(matchesFilter(byId(CLAUDE_LOGIN), '5c8ccf4c'));
    assert.ok(!matchesFilter(byId(CLAUDE_LOGIN), 'no-such-word-anywhere'));
    const first = byId(CLAUDE_MAIN).firstPrompt!;
    const word = first.split(/\s+/).find((w) => w.length > 4)!;
    assert.ok(matchesFilter(byId(CLAUDE_MAIN), word.toUpperCase()));
    // Filtering hides empty branches (and the empty current one).
    assert.ok(groupByBranch(sessions, ['feature/new'], 'corpus title').every((x) => x.count > 0));
  });
});

describe('live updates', () => {
  test('sessions/changed adds, updates and removes', () => {
    const set = new SessionSet(sessions);
    const n = set.size;
    const renamed = { ...byId(CLAUDE_MAIN), title: 'Renamed', customTitle: 'Renamed' };
    assert.ok(set.apply({ added: [], updated: [renamed], removed: [] }));
    assert.equal(set.size, n);
    assert.equal(set.get('claude', CLAUDE_MAIN)!.title, 'Renamed');
    assert.ok(set.apply({ added: [], updated: [], removed: [{ agent: 'claude', id: CLAUDE_MAIN }] }));
    assert.equal(set.size, n - 1);
    assert.ok(!set.apply({ added: [], updated: [], removed: [{ agent: 'claude', id: CLAUDE_MAIN }] }), 'removing twice changes nothing');
    assert.ok(set.apply({ added: [renamed], updated: [], removed: [] }));
    assert.equal(set.size, n);
    // Same id under another agent is another session.
    assert.equal(set.get('qwen', CLAUDE_MAIN), undefined);
  });

  test('a sessions/changed that beats the list response is applied over the list', () => {
    const set = new SessionSet();
    const partial = { ...byId(CLAUDE_LOGIN_COMPACT), messageCount: 3, countsExact: false };
    const exact = byId(CLAUDE_LOGIN_COMPACT);
    const gone = byId(CLAUDE_RENAMED);
    set.beginReplace();
    // While the list is in flight: the exact counts arrive, and a session is deleted.
    set.apply({ added: [], updated: [exact], removed: [] });
    set.apply({ added: [], updated: [], removed: [{ agent: 'claude', id: CLAUDE_RENAMED }] });
    // The list was read before both.
    set.replaceAll([partial, gone, byId(CLAUDE_MAIN)]);
    assert.deepEqual(set.get('claude', CLAUDE_LOGIN_COMPACT), exact);
    assert.equal(set.get('claude', CLAUDE_RENAMED), undefined);
    assert.equal(set.size, 2);
    // Once replaced, later lists start afresh: nothing is replayed twice.
    set.replaceAll([partial]);
    assert.equal(set.get('claude', CLAUDE_LOGIN_COMPACT)!.countsExact, false);
    // A failed list keeps nothing for the next one.
    set.beginReplace();
    set.apply({ added: [], updated: [exact], removed: [] });
    set.cancelReplace();
    set.replaceAll([partial]);
    assert.equal(set.get('claude', CLAUDE_LOGIN_COMPACT)!.countsExact, false);
  });

  test('a session appended to on disk arrives as sessions/changed and updates the tree', async () => {
    const fs = await import('node:fs');
    const s = byId(CLAUDE_LOGIN);
    const set = new SessionSet(sessions);
    const line = JSON.stringify({
      type: 'user',
      uuid: '11111111-2222-4333-8444-555555555555',
      parentUuid: null,
      sessionId: s.id,
      cwd: s.cwd,
      gitBranch: s.gitBranch,
      timestamp: new Date().toISOString(),
      message: { role: 'user', content: 'one more question from the unit test' },
    });
    fs.appendFileSync(s.path, `${line}\n`);
    const changed = await server.waitFor(P.SessionsChanged, (p) => p.updated.some((u) => u.id === s.id && u.messageCount === s.messageCount + 1));
    assert.ok(set.apply(changed));
    const u = set.get('claude', s.id)!;
    assert.equal(u.messageCount, s.messageCount + 1);
    assert.ok(Date.parse(u.lastModified) > Date.parse(s.lastModified));
    // Now the newest session: first in its branch, and the default gauge session.
    const g = groupByBranch(set.all(), ['feature/login'])[0];
    assert.equal(g.sessions[0].session.id, s.id);
    assert.equal(defaultActiveSession(set.all(), ['feature/login'])!.id, s.id);
  });
});

describe('formatting', () => {
  const now = Date.parse('2026-11-21T12:00:00Z');
  test('ages', () => {
    assert.equal(formatAge('2026-11-21T11:59:30Z', now), 'now');
    assert.equal(formatAge('2026-11-21T11:55:00Z', now), '5m');
    assert.equal(formatAge('2026-11-21T09:00:00Z', now), '3h');
    assert.equal(formatAge('2026-11-19T12:00:00Z', now), '2d');
    assert.equal(formatAge('2026-10-24T12:00:00Z', now), '4w');
    assert.equal(formatAge('2026-05-21T12:00:00Z', now), '6mo');
    assert.equal(formatAge('2024-11-21T12:00:00Z', now), '2y');
    assert.equal(formatAge('2026-11-22T12:00:00Z', now), 'now', 'clock skew is never negative');
    assert.equal(formatAge(null, now), '');
  });
  test('tokens and percentages', () => {
    assert.equal(formatTokens(950), '950');
    assert.equal(formatTokens(1234), '1.2k');
    assert.equal(formatTokens(180_000), '180k');
    assert.equal(formatTokens(262_144), '262k');
    assert.equal(formatTokens(1_000_000), '1M');
    assert.equal(formatTokens(1_500_000), '1.5M');
    assert.equal(formatPercent(67.6), '68%');
    assert.equal(formatPercent(null), '');
  });
  test('tree description and quick pick detail of a real session', () => {
    const s = byId(CLAUDE_MAIN);
    const age = formatAge(s.lastModified, now);
    const pct = contextPercent(s);
    const ctx = pct == null ? '' : ` · ${formatPercent(pct)} ctx`;
    assert.equal(treeDescription(s, now), `${age} · ${s.messageCount} msgs${ctx}`);
    const detail = detailLine(s, now);
    assert.equal(
      detail,
      ['Claude Code', 'main', age, `${s.messageCount} messages`, ...(pct == null ? [] : [`${formatPercent(pct)} context`])].join(' · '),
    );
  });
  test('quick pick items: title as label, the first prompt searchable, detail line', () => {
    const items = pickItems(sessions, now);
    assert.equal(items.length, sessions.length);
    const renamed = items.find((i) => i.session.id === CLAUDE_RENAMED)!;
    assert.equal(renamed.label, 'Corpus title 4');
    assert.ok(renamed.description.length > 0, 'the first prompt is the description (matchOnDescription)');
    assert.equal(renamed.description, byId(CLAUDE_RENAMED).firstPrompt!.replace(/\s+/g, ' ').trim().slice(0, 100).replace(/^(.{99}).+$/, '$1…'));
    for (const i of items) {
      assert.ok(i.label.length > 0);
      assert.match(i.detail, /^(Claude Code|Qwen Code|Codex|Gemini CLI) · /);
    }
  });
});

describe('the context gauge', () => {
  const status = (used: number, window: number, autoAt: number | null): P.ContextStatus => ({
    session: { agent: 'claude', id: CLAUDE_MAIN },
    usedTokens: used,
    contextWindow: window,
    percent: (100 * used) / window,
    autoCompactAt: autoAt,
    autoCompactPercent: autoAt == null ? null : (100 * autoAt) / window,
    model: 'claude-sonnet-4-5',
    source: 'modelTable',
  });
  test('text', () => {
    assert.equal(gaugeFromStatus(status(178_000, 262_144, null), 80).text, '$(pulse) 68% · 178k/262k');
    assert.equal(gaugeFromStatus(status(12_345, 200_000, 167_000), 80).text, '$(pulse) 6% · 12k/200k');
  });
  test('levels: warning at the threshold, error past the auto-compact point', () => {
    assert.equal(gaugeFromStatus(status(100_000, 200_000, 167_000), 80).level, 'normal');
    assert.equal(gaugeFromStatus(status(160_000, 200_000, 167_000), 80).level, 'warning');
    assert.equal(gaugeFromStatus(status(160_000, 200_000, 167_000), 90).level, 'normal', 'configurable threshold');
    assert.equal(gaugeFromStatus(status(167_000, 200_000, 167_000), 80).level, 'error');
    assert.equal(gaugeFromStatus(status(199_000, 200_000, null), 80).level, 'warning', 'no auto-compact: never error');
  });
  test('from a real summary (before sessions/context answers)', (t) => {
    const withCtx = sessions.filter((s) => s.context?.contextWindow);
    assert.ok(sessions.some((s) => s.context && s.context.usedTokens > 0), 'the fixture sessions carry a context fill');
    if (!withCtx.length) {
      t.skip('this sidecar build reports no context window in summaries yet');
      return;
    }
    for (const s of withCtx) {
      const g = gaugeFromSummary(s, 80)!;
      assert.match(g.text, /^\$\(pulse\) \d+% · [\d.]+[kM]?\/[\d.]+[kM]?$/);
      assert.equal(g.source, null);
    }
  });
  test('no window known: the gauge hides', () => {
    const s = byId(CLAUDE_MAIN);
    assert.equal(gaugeFromSummary({ ...s, context: null }, 80), null);
    assert.equal(gaugeFromSummary({ ...s, context: { usedTokens: 5, contextWindow: null, percent: null } }, 80), null);
  });
  test('the default session is the newest on the current branch', () => {
    const d = defaultActiveSession(sessions, ['feature/login'])!;
    assert.equal(d.gitBranch, 'feature/login');
    assert.equal(defaultActiveSession(sessions, ['no-such-branch']), undefined);
  });
});

test('fork-on-checkout question', () => {
  assert.equal(forkPrompt('feature/login', byId(CLAUDE_RENAMED)), "Switched to feature/login — fork 'Corpus title 4' for this branch?");
});
