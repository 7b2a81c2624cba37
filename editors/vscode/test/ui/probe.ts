/**
 * What the sidecar build under test implements, asked directly (vscode-jsonrpc) on a scratch
 * copy of the fixture home, so UI steps that need a missing feature are reported as skipped
 * (with the reason) instead of failing on a build that does not have it yet.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StreamMessageReader, StreamMessageWriter, createMessageConnection } from 'vscode-jsonrpc/node';
import { makeHome } from './codeServer';

export type Feature = 'resume' | 'history' | 'delete' | 'fork' | 'context' | 'branchWatch';
const NOT_SUPPORTED = 1011;

export async function probe(sidecarBin: string, dir: string, workspace: string): Promise<Set<Feature>> {
  fs.mkdirSync(dir, { recursive: true });
  const home = makeHome(dir);
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(repo, { recursive: true });
  const g = (...a: string[]) => spawnSync('git', ['-c', 'user.name=p', '-c', 'user.email=p@example.com', '-c', 'init.defaultBranch=main', '-C', repo, ...a]);
  g('init', '-q');
  g('commit', '-q', '--allow-empty', '-m', 'p');
  const env = { ...process.env, XDG_CACHE_HOME: path.join(dir, 'xdg-cache'), XDG_DATA_HOME: path.join(dir, 'xdg-data') };
  const out = new Set<Feature>();
  const start = async (ws: string) => {
    const child = spawn(sidecarBin, ['serve'], { env, stdio: ['pipe', 'pipe', 'ignore'] });
    const conn = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    const notes: { method: string; params: unknown }[] = [];
    conn.onNotification((method: string, params: unknown) => {
      notes.push({ method, params });
    });
    conn.listen();
    await conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri: null,
      capabilities: {},
      workspaceFolders: [{ uri: `file://${ws}`, name: 'ws' }],
      initializationOptions: { home, agentPaths: { claude: '/bin/true' } },
    });
    await conn.sendNotification('initialized', {});
    const stop = () => {
      conn.dispose();
      child.kill();
    };
    return { conn, notes, stop };
  };
  const supported = async (f: Feature, call: () => Promise<unknown>) => {
    try {
      await call();
      out.add(f);
    } catch (e) {
      if ((e as { code?: number }).code !== NOT_SUPPORTED) out.add(f); // another error: implemented
    }
  };
  const s = await start(workspace);
  try {
    const ref = { agent: 'claude', id: '59e7b833-aace-4821-88a8-f970caa6c194' };
    await supported('resume', () => s.conn.sendRequest('sessions/resume', { session: ref }));
    await supported('history', () => s.conn.sendRequest('sessions/history', { session: ref, limit: 1 }));
    await supported('context', () => s.conn.sendRequest('sessions/context', { session: ref }));
    await supported('fork', () => s.conn.sendRequest('sessions/fork', { session: ref, title: 'probe' }));
    await supported('delete', () => s.conn.sendRequest('sessions/delete', { session: { agent: 'claude', id: 'f205d6e4-de5f-4f14-8702-317c76336a05' } }));
  } finally {
    s.stop();
  }
  // Branch watching: a switch in a scratch repository must be reported.
  const b = await start(repo);
  try {
    await new Promise((r) => setTimeout(r, 300));
    g('checkout', '-q', '-b', 'probe');
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline && !b.notes.some((n) => n.method === 'sessions/branchChanged')) await new Promise((r) => setTimeout(r, 100));
    if (b.notes.some((n) => n.method === 'sessions/branchChanged')) out.add('branchWatch');
  } finally {
    b.stop();
  }
  return out;
}
