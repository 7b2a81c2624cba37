/**
 * The real sidecar for unit tests: a private copy of tests/fixtures/home (recorded mtimes
 * restored, private XDG dirs) and `session-sidecar serve` spoken to with vscode-jsonrpc.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  MessageConnection,
  NotificationType,
  RequestType,
  StreamMessageReader,
  StreamMessageWriter,
  createMessageConnection,
} from 'vscode-jsonrpc/node';

/** The repository root (out/test/unit → editors/vscode → repo). */
export const REPO = process.env.SESSION_SIDECAR_REPO ?? path.resolve(__dirname, '../../../../..');
export const WORKSPACE = '/home/dev/acme-webapp';

export function sidecarBin(): string {
  const cands = [process.env.SIDECAR_BIN, path.join(REPO, 'target/release/session-sidecar'), path.join(REPO, 'target/debug/session-sidecar')];
  for (const c of cands) if (c && fs.existsSync(c)) return c;
  throw new Error('no session-sidecar binary: set SIDECAR_BIN or run cargo build --release');
}

export function copyTree(src: string, dst: string): void {
  fs.cpSync(src, dst, { recursive: true });
}

/** A private fixture home; `dispose()` removes it. */
export class FixtureHome {
  readonly dir: string;
  constructor(which: 'home' | 'corpus' = 'home') {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-vscode-home-'));
    const src = path.join(REPO, 'tests/fixtures', which);
    copyTree(src, this.dir);
    const tsv = which === 'home' ? path.join(REPO, 'tests/fixtures/mtimes.tsv') : path.join(src, 'mtimes.tsv');
    restoreMtimes(this.dir, tsv);
    fs.mkdirSync(path.join(this.dir, '.xdg-cache'), { recursive: true });
    fs.mkdirSync(path.join(this.dir, '.xdg-data'), { recursive: true });
  }
  path(...rel: string[]): string {
    return path.join(this.dir, ...rel);
  }
  env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: this.path('.xdg-cache'), XDG_DATA_HOME: this.path('.xdg-data') };
    for (const k of ['CLAUDE_CONFIG_DIR', 'QWEN_HOME', 'QWEN_RUNTIME_DIR', 'CODEX_HOME', 'GEMINI_CLI_HOME']) delete env[k];
    return env;
  }
  /** The sidecar's CLI against this home (`--json` output parsed). */
  cliJson(args: string[]): unknown {
    const r = spawnSync(sidecarBin(), ['--home', this.dir, ...args], { env: this.env(), encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`session-sidecar ${args.join(' ')} failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }
  dispose(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export function restoreMtimes(home: string, tsv: string): void {
  if (!fs.existsSync(tsv)) return;
  for (const line of fs.readFileSync(tsv, 'utf8').split('\n')) {
    const [secs, rel] = line.split('\t');
    if (!rel) continue;
    const p = path.join(home, rel.replace(/^\.\//, ''));
    if (fs.existsSync(p)) fs.utimesSync(p, Number(secs), Number(secs));
  }
}

interface Note {
  method: string;
  params: unknown;
}

export class Server {
  readonly conn: MessageConnection;
  readonly notes: Note[] = [];
  private waiters: (() => void)[] = [];
  initializeResult: { capabilities: { experimental?: { sessionSidecar?: { methods: string[]; notifications: string[]; protocolVersion: number } } } } | undefined;
  stderr = '';

  private constructor(readonly child: ChildProcess) {
    this.conn = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    this.conn.onNotification((method: string, params: unknown) => {
      this.notes.push({ method, params });
      for (const w of this.waiters.splice(0)) w();
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.conn.listen();
  }

  static async start(home: FixtureHome, options: Record<string, unknown> = {}, workspace = WORKSPACE): Promise<Server> {
    const child = spawn(sidecarBin(), ['serve'], { env: home.env(), stdio: ['pipe', 'pipe', 'pipe'] });
    const s = new Server(child);
    s.initializeResult = await s.conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri: null,
      capabilities: {},
      workspaceFolders: [{ uri: `file://${workspace}`, name: path.basename(workspace) }],
      initializationOptions: { home: home.dir, ...options },
    });
    await s.conn.sendNotification('initialized', {});
    return s;
  }

  methods(): string[] {
    return this.initializeResult?.capabilities.experimental?.sessionSidecar?.methods ?? [];
  }

  request<P, R>(type: RequestType<P, R, void>, params: P): Promise<R> {
    return this.conn.sendRequest(type, params as never);
  }

  /** Waits for a notification matching `pred` (already received ones count) or fails. */
  async waitFor<P>(type: NotificationType<P>, pred: (p: P) => boolean = () => true, timeoutMs = 15000): Promise<P> {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      for (; seen < this.notes.length; seen++) {
        const n = this.notes[seen];
        if (n.method === type.method && pred(n.params as P)) return n.params as P;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type.method} notification within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    try {
      await Promise.race([this.conn.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 2000))]);
      await this.conn.sendNotification('exit');
    } catch {
      // already gone
    }
    this.conn.dispose();
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      setTimeout(() => this.child.kill('SIGKILL'), 2000).unref();
      await exited;
    }
  }
}

/** Whether the workspace is a git repository on a branch (test.sh makes it one). */
export function workspaceBranch(): string | undefined {
  const r = spawnSync('git', ['-C', WORKSPACE, 'symbolic-ref', '--short', '-q', 'HEAD'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
