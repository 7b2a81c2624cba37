/** The window's view of the sidecar's sessions: loaded once, then kept live by sessions/changed. */
import * as vscode from 'vscode';
import { SidecarClient, errorMessage } from './client';
import { currentBranch } from './git';
import { SessionSet } from './model';
import * as P from './protocol';

export class SessionsModel implements vscode.Disposable {
  readonly sessions = new SessionSet();
  loaded = false;
  loadError: string | undefined;
  private branches = new Map<string, string | undefined>();
  private readonly _onDidChange = new vscode.EventEmitter<void>();
  readonly onDidChange = this._onDidChange.event;
  private readonly subs: vscode.Disposable[] = [];
  private loading: Promise<void> | undefined;
  private generation = 0;

  constructor(private readonly client: SidecarClient) {
    this.subs.push(
      this._onDidChange,
      client.onChanged((p) => {
        if (this.sessions.apply(p)) this._onDidChange.fire();
      }),
      client.onBranchChanged(() => {
        this.readBranches();
        this._onDidChange.fire();
      }),
      client.onState((s) => {
        if (s === 'running') void this.reload();
        else if (s !== 'starting') {
          this.sessions.clear();
          this.loaded = false;
          this._onDidChange.fire();
        }
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(() => {
        this.readBranches();
        this._onDidChange.fire();
      }),
      vscode.window.onDidChangeWindowState((w) => {
        if (w.focused && this.readBranches()) this._onDidChange.fire();
      }),
    );
    this.readBranches();
  }

  /** Applies a change we made ourselves (ahead of the sidecar's own sessions/changed). */
  apply(p: P.ChangedParams): void {
    if (this.sessions.apply(p)) this._onDidChange.fire();
  }

  /** Re-reads each folder's branch; returns whether any changed. */
  readBranches(): boolean {
    const next = new Map<string, string | undefined>();
    for (const f of vscode.workspace.workspaceFolders ?? []) {
      if (f.uri.scheme === 'file') next.set(f.uri.fsPath, currentBranch(f.uri.fsPath));
    }
    const changed = next.size !== this.branches.size || [...next].some(([k, v]) => this.branches.get(k) !== v);
    this.branches = next;
    return changed;
  }

  /** The branches the workspace folders are on (one per folder in a multi-root workspace). */
  currentBranches(): string[] {
    return [...new Set([...this.branches.values()].filter((b): b is string => !!b))];
  }

  /** Lists every workspace session (paged). */
  reload(): Promise<void> {
    const gen = ++this.generation;
    this.sessions.beginReplace();
    this.loading = (async () => {
      try {
        const items: P.SessionSummary[] = [];
        let cursor: string | null | undefined;
        do {
          const page = await this.client.request(P.ListSessions, { scope: 'workspace', limit: 1000, cursor });
          items.push(...page.items);
          cursor = page.nextCursor;
        } while (cursor && items.length < 20000);
        if (gen !== this.generation) return;
        this.readBranches();
        this.sessions.replaceAll(items);
        this.loaded = true;
        this.loadError = undefined;
      } catch (e) {
        if (gen !== this.generation) return;
        this.sessions.cancelReplace();
        this.loadError = errorMessage(e);
        this.client.output.error(`sessions/list: ${this.loadError}`);
      }
      this._onDidChange.fire();
    })();
    return this.loading;
  }

  /** Resolves once the first list has arrived (or failed). */
  async ready(): Promise<void> {
    while (!this.loaded && this.loading) await this.loading;
  }

  dispose(): void {
    for (const d of this.subs.splice(0)) d.dispose();
  }
}
