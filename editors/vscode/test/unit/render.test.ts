/** The history view's HTML: readable, escaped, collapsed tool output, highlighted code. */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { HistoryItem } from '../../src/protocol';
import * as P from '../../src/protocol';
import { commandEcho, escapeHtml, highlight, renderItem, renderItems, renderText, toolSummary } from '../../src/webview/render';
import { FixtureHome, Server } from './support/sidecar';

const item = (content: HistoryItem['content'], role: HistoryItem['role'] = 'assistant', extra: Partial<HistoryItem> = {}): HistoryItem => ({
  id: 'm1',
  parentId: null,
  role,
  timestamp: '2026-11-21T06:26:22Z',
  model: null,
  usage: null,
  content,
  truncated: false,
  ...extra,
});

describe('rendering history items', () => {
  test('everything from the transcript is escaped', () => {
    const html = renderItem(item([{ type: 'text', text: '<img src=x onerror=alert(1)> & "q"' }], 'user'));
    assert.ok(!html.includes('<img'));
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt; &amp; &quot;q&quot;'));
    const tool = renderItem(item([{ type: 'toolUse', id: '"><script>', name: '<b>', input: { command: '</pre><script>x</script>' } }]));
    assert.ok(!/<script>|<b>/.test(tool));
    assert.equal(escapeHtml(`<&>"'`), '&lt;&amp;&gt;&quot;&#39;');
  });

  test('fenced code becomes a highlighted block; inline code and bold', () => {
    const html = renderText('Run this:\n\n```ts\nconst x = "hi"; // note\nreturn 42;\n```\n\nThen `npm test` and **done**.');
    assert.match(html, /<pre class="code" data-lang="ts"><code>/);
    assert.match(html, /<span class="tok-keyword">const<\/span> x = <span class="tok-string">&quot;hi&quot;<\/span>; <span class="tok-comment">\/\/ note<\/span>/);
    assert.match(html, /<span class="tok-number">42<\/span>/);
    assert.match(html, /<code>npm test<\/code>/);
    assert.match(html, /<strong>done<\/strong>/);
    assert.match(html, /^<p>Run this:<\/p>/);
    assert.equal(highlight('# comment\necho "x"', 'bash'), '<span class="tok-comment"># comment</span>\necho <span class="tok-string">&quot;x&quot;</span>');
  });

  test('an unterminated fence still renders as code', () => {
    assert.match(renderText('```py\nprint(1)'), /<pre class="code" data-lang="py">/);
  });

  test('tool calls and tool output are collapsed, with a one-line summary', () => {
    const html = renderItem(
      item([
        { type: 'toolUse', id: 't1', name: 'Bash', input: { command: 'ls -la src', description: 'list' } },
        { type: 'toolResult', toolUseId: 't1', content: 'a\nb\nc', isError: false },
        { type: 'toolResult', toolUseId: 't2', content: 'boom', isError: true },
      ]),
    );
    assert.match(html, /<details class="tool-use" data-tool-id="t1"><summary><span class="tool-name">Bash<\/span> <span class="tool-arg">ls -la src<\/span><\/summary>/);
    assert.match(html, /<details class="tool-result" data-tool-id="t1"><summary>Tool output <span class="muted">3 lines<\/span>/);
    assert.match(html, /<details class="tool-result error"/);
    assert.ok(!/<details[^>]* open/.test(html), 'collapsed by default');
    assert.match(html, /class="item role-assistant tools-only"/);
    assert.equal(toolSummary('read_file', { absolute_path: '/home/dev/acme-webapp/README.md' }), '/home/dev/acme-webapp/README.md');
    assert.equal(toolSummary('exec_command', { cmd: ['bash', '-lc', 'ls'] }), 'bash -lc ls');
  });

  test('thinking is collapsed; compaction is a divider with its figures', () => {
    const t = renderItem(item([{ type: 'thinking', text: 'hmm' }, { type: 'text', text: 'answer' }]));
    assert.match(t, /<details class="thinking"><summary>Thinking<\/summary>/);
    const c = renderItem(item([{ type: 'compaction', trigger: 'manual', preTokens: 15234, postTokens: 2100 }], 'system'));
    assert.match(c, /<div class="compaction"><span>Context compacted \(manual\) · 15\.2k → 2\.1k tokens<\/span><\/div>/);
    assert.match(c, /compaction-only/);
  });

  test('slash-command echoes and the carried-over summary after a compaction', () => {
    assert.equal(
      commandEcho('<command-name>/compact</command-name>\n<command-message>compact</command-message>\n<command-args></command-args>'),
      '<div class="command"><code>/compact</code></div>',
    );
    assert.equal(commandEcho('<local-command-stdout>Compacted</local-command-stdout>'), '<pre class="output command-output">Compacted</pre>');
    assert.equal(commandEcho('plain <b>text</b>'), undefined);
    const html = renderItems([
      item([{ type: 'compaction', trigger: 'manual', preTokens: 5600, postTokens: 2600 }], 'system', { id: 'c' }),
      item([{ type: 'text', text: 'This session is being continued…' }], 'user', { id: 's' }),
      item([{ type: 'text', text: 'next question' }], 'user', { id: 'q' }),
    ]);
    assert.match(html, /data-id="s">.*<details class="summary"><summary>Summary carried over from before the compaction<\/summary>/);
    assert.ok(!/data-id="q">[^]*<details class="summary">/.test(html.slice(html.indexOf('data-id="q"'))), 'only the first user item');
  });

  test('roles, truncation and the fork button', () => {
    const u = renderItem(item([{ type: 'text', text: 'q' }], 'user', { truncated: true }), { forkable: true });
    assert.match(u, /<span class="role">You<\/span>/);
    assert.match(u, /data-action="expand"/);
    assert.match(u, /data-action="fork"/);
    assert.ok(!renderItem(item([{ type: 'text', text: 'q' }])).includes('data-action="fork"'));
  });
});

describe('rendering real fixture history', () => {
  let home: FixtureHome;
  let server: Server;
  before(async () => {
    home = new FixtureHome();
    server = await Server.start(home);
  });
  after(async () => {
    await server.stop();
    home.dispose();
  });

  for (const [agent, id] of [
    ['claude', '59e7b833-aace-4821-88a8-f970caa6c194'],
    ['claude', 'f8b620d5-3e65-440f-b212-18ee553a6a7b'],
    ['qwen', '7aedba9e-a063-4f3e-9a3f-0c2c65b79dcf'],
    ['codex', undefined],
    ['gemini', undefined],
  ] as const) {
    test(`${agent} ${id ?? '(first session)'}: every item renders`, async (t) => {
      const l = await server.request(P.ListSessions, { scope: 'all', agents: [agent] });
      if (!l.items.length) {
        t.skip(`this sidecar build lists no ${agent} sessions yet`);
        return;
      }
      const sid: string = id ?? l.items[0].id;
      let page: P.HistoryPage;
      try {
        page = await server.request(P.History, { session: { agent, id: sid }, limit: 1000 });
      } catch (e) {
        if ((e as { code?: number }).code === P.ErrorCodes.NotSupported) {
          t.skip(`sessions/history for ${agent} is not implemented in this sidecar build`);
          return;
        }
        throw e;
      }
      assert.ok(page.items.length > 0);
      const html = page.items.map((i) => renderItem(i, { forkable: true })).join('');
      assert.equal((html.match(/<article /g) ?? []).length, page.items.length);
      assert.ok(!/<script/i.test(html));
      for (const i of page.items) {
        for (const b of i.content) {
          if (b.type === 'toolResult') assert.ok(html.includes(`data-tool-id="${escapeHtml(b.toolUseId)}"`));
        }
      }
    });
  }
});
