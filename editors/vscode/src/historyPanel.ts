/**
 * The history view: a webview per session showing the latest page first, older pages on
 * demand, and live appends through sessions/subscribe. Only pages cross into the webview, so a
 * transcript of any size stays responsive.
 */
import * as vscode from 'vscode';
import { SidecarClient, errorMessage } from './client';
import { AGENT_LABELS, formatAge, messagesLabel, sessionTitle } from './model';
import * as P from './protocol';

type FromWebview =
  | { type: 'ready' }
  | { type: 'loadOlder' }
  | { type: 'fork'; id: string }
  | { type: 'expand'; id: string };

export interface HistoryPanelHooks {
  /** "Fork from here". */
  forkFrom(session: P.SessionSummary, messageId: string): Promise<void>;
  /** The panel became the active editor: the gauge follows its session. */
  focused(session: P.SessionSummary): void;
}

export class HistoryPanel implements vscode.Disposable {
  static readonly viewType = 'sessionSidecar.history';
  private static readonly panels = new Map<string, HistoryPanel>();

  private olderCursor: string | null = null;
  /** The newest cursor held (subscribe resumes after it). */
  newerCursor: string | null = null;
  private subscription: string | undefined;
  private readonly subs: vscode.Disposable[] = [];
  private disposed = false;
  private pendingAppends: P.HistoryItem[] = [];
  private initialized = false;
  /** Ids of the items the webview holds (dedup of live appends against the first page). */
  private readonly seen = new Set<string>();
  /** Number of items sent to the webview (tests read it). */
  loadedCount = 0;
  private readonly _onDidLoad = new vscode.EventEmitter<{ kind: 'init' | 'older' | 'append'; count: number }>();
  readonly onDidLoad = this._onDidLoad.event;

  static key(s: { agent: P.Agent; id: string }): string {
    return P.sessionKey(s);
  }

  static get(s: { agent: P.Agent; id: string }): HistoryPanel | undefined {
    return HistoryPanel.panels.get(HistoryPanel.key(s));
  }

  static all(): HistoryPanel[] {
    return [...HistoryPanel.panels.values()];
  }

  static show(
    extensionUri: vscode.Uri,
    client: SidecarClient,
    session: P.SessionSummary,
    hooks: HistoryPanelHooks,
    pageSize: number,
  ): HistoryPanel {
    const existing = HistoryPanel.get(session);
    if (existing) {
      existing.panel.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(
      HistoryPanel.viewType,
      sessionTitle(session),
      { viewColumn: vscode.ViewColumn.Active, preserveFocus: false },
      {
        enableScripts: true,
        retainContextWhenHidden: true,
        localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
      },
    );
    const p = new HistoryPanel(panel, extensionUri, client, session, hooks, pageSize);
    HistoryPanel.panels.set(HistoryPanel.key(session), p);
    return p;
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly client: SidecarClient,
    public session: P.SessionSummary,
    private readonly hooks: HistoryPanelHooks,
    private readonly pageSize: number,
  ) {
    panel.iconPath = {
      light: vscode.Uri.joinPath(extensionUri, 'media', 'agents', `${session.agent}.svg`),
      dark: vscode.Uri.joinPath(extensionUri, 'media', 'agents', `${session.agent}.svg`),
    };
    panel.webview.html = this.html();
    this.subs.push(
      this._onDidLoad,
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: FromWebview) => this.onMessage(m)),
      panel.onDidChangeViewState((e) => {
        if (e.webviewPanel.active) this.hooks.focused(this.session);
      }),
      client.onAppended((p) => this.onAppended(p)),
      client.onChanged((p) => this.onChanged(p)),
      client.onState((s) => {
        if (s === 'running' && this.initialized) void this.reload();
      }),
    );
    hooks.focused(session);
  }

  private post(m: unknown): void {
    if (!this.disposed) void this.panel.webview.postMessage(m);
  }

  private subtitle(): string {
    const s = this.session;
    return [AGENT_LABELS[s.agent], s.gitBranch ?? 'no branch', `last active ${formatAge(s.lastModified)} ago`, messagesLabel(s.messageCount, s.countsExact), s.id]
      .filter(Boolean)
      .join(' · ');
  }

  private async onMessage(m: FromWebview): Promise<void> {
    try {
      switch (m.type) {
        case 'ready':
          await this.reload();
          break;
        case 'loadOlder':
          await this.loadOlder();
          break;
        case 'fork':
          await this.hooks.forkFrom(this.session, m.id);
          break;
        case 'expand': {
          const item = await this.client.request(P.Message, { session: { agent: this.session.agent, id: this.session.id }, id: m.id });
          this.post({ type: 'replace', item });
          break;
        }
      }
    } catch (e) {
      this.post({ type: 'status', kind: 'error', text: errorMessage(e) });
    }
  }

  /** Loads the latest page and (re)subscribes for live appends. */
  async reload(): Promise<void> {
    const ref = { agent: this.session.agent, id: this.session.id };
    await this.unsubscribe();
    let page: P.HistoryPage;
    try {
      page = await this.client.request(P.History, { session: ref, limit: this.pageSize });
    } catch (e) {
      this.post({ type: 'header', title: sessionTitle(this.session), subtitle: this.subtitle() });
      this.post({ type: 'status', kind: 'error', text: `Could not load the history: ${errorMessage(e)}` });
      return;
    }
    this.olderCursor = page.olderCursor;
    this.newerCursor = page.newerCursor;
    this.seen.clear();
    for (const i of page.items) this.seen.add(i.id);
    this.loadedCount = page.items.length;
    this.initialized = true;
    let live = false;
    try {
      const r = await this.client.request(P.Subscribe, { session: ref, after: page.newerCursor });
      this.subscription = r.subscription;
      live = true;
    } catch (e) {
      this.client.output.warn(`sessions/subscribe: ${errorMessage(e)}`);
    }
    this.post({
      type: 'init',
      title: sessionTitle(this.session),
      subtitle: this.subtitle(),
      items: page.items,
      hasOlder: page.hasOlder,
      forkable: this.client.supports(P.Fork.method),
      live,
    });
    this._onDidLoad.fire({ kind: 'init', count: this.loadedCount });
    if (this.pendingAppends.length) {
      const items = this.pendingAppends.splice(0);
      this.appendItems(items);
    }
  }

  async loadOlder(): Promise<void> {
    if (!this.olderCursor) {
      this.post({ type: 'older', items: [], hasOlder: false });
      return;
    }
    const page = await this.client.request(P.History, {
      session: { agent: this.session.agent, id: this.session.id },
      limit: this.pageSize,
      before: this.olderCursor,
    });
    this.olderCursor = page.olderCursor;
    const items = page.items.filter((i) => !this.seen.has(i.id));
    for (const i of items) this.seen.add(i.id);
    this.loadedCount += items.length;
    this.post({ type: 'older', items, hasOlder: page.hasOlder && !!page.olderCursor });
    this._onDidLoad.fire({ kind: 'older', count: this.loadedCount });
  }

  private onAppended(p: P.AppendedParams): void {
    if (!this.subscription || p.subscription !== this.subscription) return;
    if (p.newerCursor) this.newerCursor = p.newerCursor;
    if (!this.initialized) {
      this.pendingAppends.push(...p.items);
      return;
    }
    this.appendItems(p.items);
  }

  private appendItems(items: P.HistoryItem[]): void {
    const fresh = items.filter((i) => !this.seen.has(i.id));
    for (const i of fresh) this.seen.add(i.id);
    if (!fresh.length) return;
    this.loadedCount += fresh.length;
    this.post({ type: 'append', items: fresh });
    this._onDidLoad.fire({ kind: 'append', count: this.loadedCount });
  }

  private onChanged(p: P.ChangedParams): void {
    const me = P.sessionKey(this.session);
    const upd = [...p.updated, ...p.added].find((s) => P.sessionKey(s) === me);
    if (upd) {
      this.session = upd;
      this.panel.title = sessionTitle(upd);
      this.post({ type: 'header', title: sessionTitle(upd), subtitle: this.subtitle() });
    }
    if (p.removed.some((k) => P.sessionKey(k) === me)) {
      this.post({ type: 'status', kind: 'info', text: 'This session was deleted (Session Sidecar keeps it in its trash).' });
      this.post({ type: 'live', live: false });
    }
  }

  private async unsubscribe(): Promise<void> {
    const sub = this.subscription;
    this.subscription = undefined;
    if (sub && this.client.state === 'running') {
      try {
        await this.client.request(P.Unsubscribe, { subscription: sub });
      } catch (e) {
        this.client.output.warn(`sessions/unsubscribe: ${errorMessage(e)}`);
      }
    }
  }

  private html(): string {
    const w = this.panel.webview;
    const nonce = Array.from({ length: 24 }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(Math.random() * 36)]).join('');
    const css = w.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'history.css'));
    const js = w.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview.js'));
    return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${w.cspSource}; img-src ${w.cspSource}; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${css}"><title>Session history</title></head>
<body class="loading">
<header class="page"><h1 id="title"></h1><div class="sub"><span id="subtitle"></span><span id="count"></span><span id="live" hidden>● live</span></div></header>
<div id="top-sentinel"></div>
<button id="load-older" hidden>Load older</button>
<div id="start" hidden>Start of the session</div>
<div id="status" class="status" hidden></div>
<main id="items"></main>
<script nonce="${nonce}" src="${js}"></script>
</body></html>`;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    HistoryPanel.panels.delete(HistoryPanel.key(this.session));
    void this.unsubscribe();
    for (const d of this.subs.splice(0)) d.dispose();
    this.panel.dispose();
  }
}
