/**
 * Real VS Code for tests: code-server (from npm) started on a free loopback port with private
 * user/extension/XDG/TMP dirs, and headless Debian Chromium driven by playwright-core.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { Browser, Page, chromium } from 'playwright-core';

export interface Env {
  /** The per-run scratch dir (test.sh's RUN). */
  run: string;
  codeServer: string;
  sidecarBin: string;
  extDir: string;
  vsix: string;
  workspace: string;
  fakeAgent: string;
  argvFile: string;
  screenshots: string;
  chromium: string;
}

export function env(): Env {
  const need = (k: string) => {
    const v = process.env[k];
    if (!v) throw new Error(`${k} is not set (run the tests through test.sh)`);
    return v;
  };
  return {
    run: need('SS_RUN'),
    codeServer: need('SS_CODE_SERVER'),
    sidecarBin: need('SIDECAR_BIN'),
    extDir: need('SS_EXT_DIR'),
    vsix: need('SS_VSIX'),
    workspace: need('SS_WORKSPACE'),
    fakeAgent: need('SS_FAKE_AGENT'),
    argvFile: need('SS_ARGV_FILE'),
    screenshots: need('SS_SCREENSHOTS'),
    chromium: process.env.CHROMIUM ?? '/usr/bin/chromium',
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => {
      req.destroy();
      resolve(0);
    });
  });
}

export interface CodeServer {
  url: string;
  port: number;
  dir: string;
  proc: ChildProcess;
  log: string;
  stop(): Promise<void>;
}

/** Settings for every run: quiet workbench, the sidecar and the fake agents, no network. */
export function userSettings(e: Env, home: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'security.workspace.trust.enabled': false,
    'chat.disableAIFeatures': true,
    'git.enabled': false,
    'terminal.integrated.enablePersistentSessions': false,
    'terminal.integrated.showExitAlert': false,
    'terminal.integrated.showTerminalConfigPrompt': false,
    'window.restoreWindows': 'none',
    'sessionSidecar.serverPath': e.sidecarBin,
    'sessionSidecar.home': home,
    'sessionSidecar.agentPaths': { claude: e.fakeAgent, qwen: e.fakeAgent, codex: e.fakeAgent, gemini: e.fakeAgent },
    ...extra,
  };
}

export async function startCodeServer(e: Env, name: string, settings: Record<string, unknown>, installVsix = false): Promise<CodeServer> {
  const dir = path.join(e.run, name);
  const user = path.join(dir, 'user');
  const ext = path.join(dir, 'ext');
  const tmp = path.join(dir, 'tmp');
  for (const d of [path.join(user, 'User'), ext, tmp, path.join(dir, 'xdg-config'), path.join(dir, 'xdg-data'), path.join(dir, 'xdg-cache')]) {
    fs.mkdirSync(d, { recursive: true });
  }
  fs.writeFileSync(path.join(user, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    XDG_CONFIG_HOME: path.join(dir, 'xdg-config'),
    XDG_DATA_HOME: path.join(dir, 'xdg-data'),
    XDG_CACHE_HOME: path.join(dir, 'xdg-cache'),
    TMPDIR: tmp,
    SHELL: '/bin/bash',
  };
  for (const k of ['CLAUDE_CONFIG_DIR', 'QWEN_HOME', 'QWEN_RUNTIME_DIR', 'CODEX_HOME', 'GEMINI_CLI_HOME', 'VSCODE_IPC_HOOK_CLI']) delete childEnv[k];
  const common = ['--user-data-dir', user, '--extensions-dir', ext];
  if (installVsix) {
    const r = spawnSync(e.codeServer, [...common, '--install-extension', e.vsix], { env: childEnv, encoding: 'utf8', timeout: 120000 });
    if (r.status !== 0) throw new Error(`installing ${e.vsix} failed: ${r.stdout}\n${r.stderr}`);
  }
  const port = await freePort();
  const proc = spawn(
    e.codeServer,
    [
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      ...common,
    ],
    { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const cs: CodeServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    proc,
    log: '',
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
  const logFile = fs.createWriteStream(path.join(dir, 'code-server.log'));
  proc.stdout!.on('data', (d: Buffer) => logFile.write(d));
  proc.stderr!.on('data', (d: Buffer) => logFile.write(d));
  const deadline = Date.now() + 60000;
  while ((await get(`${cs.url}/healthz`)) !== 200) {
    if (proc.exitCode !== null) throw new Error(`code-server exited with ${proc.exitCode} (see ${dir}/code-server.log)`);
    if (Date.now() > deadline) throw new Error('code-server did not answer /healthz within 60 s');
    await new Promise((r) => setTimeout(r, 250));
  }
  return cs;
}

export async function launchBrowser(e: Env): Promise<Browser> {
  return chromium.launch({
    executablePath: e.chromium,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export async function waitForWorkbench(page: Page): Promise<void> {
  await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
  await page.waitForSelector('.part.activitybar', { timeout: 60000 });
}

/** Tiny test harness: named async steps, `N passed, N failed`, a results file for test.sh. */
export class Results {
  passed = 0;
  failed = 0;
  skipped = 0;
  constructor(
    private readonly name: string,
    private readonly file: string | undefined,
  ) {}
  async step(title: string, fn: () => Promise<void>, onFail?: (e: unknown) => Promise<void>): Promise<boolean> {
    const t0 = Date.now();
    try {
      await fn();
      this.passed++;
      console.log(`ok - ${this.name}: ${title} (${Date.now() - t0} ms)`);
      return true;
    } catch (e) {
      this.failed++;
      console.log(`not ok - ${this.name}: ${title}\n  ${(e instanceof Error ? e.stack ?? e.message : String(e)).replace(/\n/g, '\n  ')}`);
      if (onFail) await onFail(e).catch(() => undefined);
      return false;
    }
  }
  skip(title: string, why: string): void {
    this.skipped++;
    console.log(`ok - ${this.name}: ${title} # SKIP ${why}`);
  }
  finish(): number {
    console.log(`${this.name}: ${this.passed} passed, ${this.failed} failed${this.skipped ? `, ${this.skipped} skipped` : ''}`);
    if (this.file) fs.writeFileSync(this.file, JSON.stringify({ passed: this.passed, failed: this.failed, skipped: this.skipped }));
    return this.failed ? 1 : 0;
  }
}

/** A private copy of tests/fixtures/home with the recorded mtimes restored. */
export function makeHome(dir: string): string {
  const repo = process.env.SS_REPO ?? path.resolve(__dirname, '../../../../..');
  const home = path.join(dir, 'home');
  fs.cpSync(path.join(repo, 'tests/fixtures/home'), home, { recursive: true });
  for (const line of fs.readFileSync(path.join(repo, 'tests/fixtures/mtimes.tsv'), 'utf8').split('\n')) {
    const [secs, rel] = line.split('\t');
    if (!rel) continue;
    const p = path.join(home, rel.replace(/^\.\//, ''));
    if (fs.existsSync(p)) fs.utimesSync(p, Number(secs), Number(secs));
  }
  return home;
}

export function git(workspace: string, ...args: string[]): string {
  const r = spawnSync('git', ['-C', workspace, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}
