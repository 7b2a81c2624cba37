/** Finding the server, reading the git branch, settings → initializationOptions. */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findServer, INSTALL_HINT } from '../../src/serverPath';
import { currentBranch } from '../../src/git';
import { initializationOptions, Settings } from '../../src/settings';
import { FixtureHome, Server, sidecarBin } from './support/sidecar';
import * as P from '../../src/protocol';

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ss-vscode-'));
}

function exe(dir: string, name = 'session-sidecar'): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return p;
}

describe('finding the server binary', () => {
  test('the setting wins; ~ and relative paths resolve', () => {
    const d = tmpdir();
    const p = exe(d);
    assert.deepEqual(findServer(p, '/nonexistent'), { ok: true, path: p, source: 'setting' });
    assert.deepEqual(findServer('~/session-sidecar', '', { home: d }), { ok: true, path: p, source: 'setting' });
    assert.deepEqual(findServer('session-sidecar', '', { baseDir: d }), { ok: true, path: p, source: 'setting' });
  });
  test('a setting that points nowhere says so (and how to install), without falling back', () => {
    const d = tmpdir();
    exe(d);
    const r = findServer('/no/such/session-sidecar', d);
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.message.includes('/no/such/session-sidecar') && r.message.includes('cargo install --path sidecar'));
  });
  test('a non-executable file is not taken', () => {
    const d = tmpdir();
    fs.writeFileSync(path.join(d, 'session-sidecar'), 'not a program', { mode: 0o644 });
    assert.equal(findServer(undefined, d, { home: tmpdir(), cargoHome: tmpdir() }).ok, false);
  });
  test('else PATH, in order', () => {
    const a = tmpdir();
    const b = tmpdir();
    const pb = exe(b);
    const r = findServer('', [a, b].join(path.delimiter), { home: tmpdir(), cargoHome: tmpdir() });
    assert.deepEqual(r, { ok: true, path: pb, source: 'PATH' });
    const pa = exe(a);
    assert.deepEqual(findServer('', [a, b].join(path.delimiter)), { ok: true, path: pa, source: 'PATH' });
  });
  test("else cargo's bin dir", () => {
    const cargo = tmpdir();
    fs.mkdirSync(path.join(cargo, 'bin'));
    const p = exe(path.join(cargo, 'bin'));
    assert.deepEqual(findServer('', tmpdir(), { cargoHome: cargo }), { ok: true, path: p, source: 'cargo' });
  });
  test('else a clear message with the install command', () => {
    const r = findServer('', tmpdir(), { home: tmpdir(), cargoHome: tmpdir() });
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.message.includes('not found'));
    assert.ok(!r.ok && r.message.includes(INSTALL_HINT));
    assert.match(INSTALL_HINT, /cargo install --path sidecar/);
  });
});

describe('the current git branch', () => {
  const git = (cwd: string, ...args: string[]) => {
    const r = spawnSync('git', ['-c', 'init.defaultBranch=main', '-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  test('from HEAD, in subfolders, in linked worktrees, detached', () => {
    const repo = tmpdir();
    git(repo, 'init', '-q');
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'x');
    assert.equal(currentBranch(repo), 'main');
    fs.mkdirSync(path.join(repo, 'src', 'deep'), { recursive: true });
    assert.equal(currentBranch(path.join(repo, 'src', 'deep')), 'main');
    git(repo, 'checkout', '-q', '-b', 'feature/login');
    assert.equal(currentBranch(repo), 'feature/login');
    const wt = path.join(tmpdir(), 'wt');
    git(repo, 'worktree', 'add', '-q', '-b', 'other', wt);
    assert.equal(currentBranch(wt), 'other', 'a .git file pointing at the worktree git dir');
    git(repo, 'checkout', '-q', '--detach');
    assert.equal(currentBranch(repo), undefined);
    assert.equal(currentBranch(tmpdir()), undefined);
  });
});

describe('settings → initializationOptions', () => {
  const base: Settings = { serverPath: '', home: '', agents: null, agentPaths: {}, storeRoots: {}, forkOnCheckout: 'ask', truncateBytes: null };
  test('defaults send only the policy', () => {
    assert.deepEqual(initializationOptions(base), { forkOnCheckout: 'ask' });
  });
  test('home, agents, agent paths, store roots, truncation', () => {
    assert.deepEqual(
      initializationOptions({
        ...base,
        home: ' /home/dev/other ',
        agents: ['claude', 'codex'],
        agentPaths: { claude: '/opt/claude', qwen: '  ' },
        storeRoots: { codex: '/srv/codex' },
        forkOnCheckout: 'off',
        truncateBytes: 4096,
      }),
      {
        forkOnCheckout: 'off',
        home: '/home/dev/other',
        agents: ['claude', 'codex'],
        agentPaths: { claude: '/opt/claude' },
        storeRoots: { codex: '/srv/codex' },
        truncateBytes: 4096,
      },
    );
  });
  test('the sidecar accepts them (home selects the store)', async () => {
    const home = new FixtureHome();
    const bin = sidecarBin();
    assert.ok(bin);
    const opts = initializationOptions({ ...base, home: home.dir, agents: ['claude'], agentPaths: { claude: '/opt/claude' } });
    const s = await Server.start(home, opts as Record<string, unknown>);
    try {
      const r = await s.request(P.ListSessions, { scope: 'all' });
      assert.ok(r.items.length > 0);
      assert.ok(r.items.every((x) => x.agent === 'claude'), 'only the enabled agent');
      assert.equal(s.initializeResult!.capabilities.experimental!.sessionSidecar!.methods.length, 17);
      await assert.rejects(s.request(P.ListSessions, { agents: ['qwen'] }), (e: { code: number }) => e.code === P.ErrorCodes.AgentDisabled);
    } finally {
      await s.stop();
      home.dispose();
    }
  });
});
