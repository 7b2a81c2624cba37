/**
 * The context gauge in the status bar: `$(pulse) 68% · 180k/262k` for the active session —
 * the one last focused in a history view or resumed in a terminal, else the newest session of
 * the current branch. Initial value from sessions/context, then sessions/contextUsage pushes
 * (and the summary's context fill while the server has no sessions/context).
 */
import * as vscode from 'vscode';
import { SidecarClient, errorMessage } from './client';
import { Gauge, gaugeFromStatus, gaugeFromSummary, defaultActiveSession, formatTokens, sessionTitle, windowSourceLabel, AGENT_LABELS } from './model';
import * as P from './protocol';
import type { SessionsModel } from './sessionsModel';

export class ContextGauge implements vscode.Disposable {
  readonly item: vscode.StatusBarItem;
  private pinned: P.SessionKey | undefined;
  private active: P.SessionSummary | undefined;
  private status: P.ContextStatus | undefined;
  private gauge: Gauge | null = null;
  private readonly subs: vscode.Disposable[] = [];
  private seq = 0;
  private readonly _onDidUpdate = new vscode.EventEmitter<Gauge | null>();
  readonly onDidUpdate = this._onDidUpdate.event;

  constructor(
    private readonly client: SidecarClient,
    private readonly model: SessionsModel,
  ) {
    this.item = vscode.window.createStatusBarItem('sessionSidecar.context', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Agent Session Context';
    this.subs.push(
      this.item,
      this._onDidUpdate,
      model.onDidChange(() => this.recompute(false)),
      client.onContextUsage((c) => {
        if (this.active && P.sessionKey(c.session) === P.sessionKey(this.active)) {
          this.status = c;
          this.render();
        }
      }),
      client.onChanged((p) => {
        if (!this.active) return;
        const k = P.sessionKey(this.active);
        if ([...p.updated, ...p.added].some((s) => P.sessionKey(s) === k)) void this.fetch();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('sessionSidecar.contextWarningThreshold')) this.render();
      }),
    );
    this.recompute(false);
  }

  /** Follow this session (history view focused, session resumed). */
  pin(s: { agent: P.Agent; id: string }): void {
    this.pinned = { agent: s.agent, id: s.id };
    this.recompute(true);
  }

  current(): { session: P.SessionSummary | undefined; gauge: Gauge | null; text: string; visible: boolean; level: string } {
    return { session: this.active, gauge: this.gauge, text: this.item.text, visible: !!this.gauge, level: this.gauge?.level ?? 'none' };
  }

  private recompute(force: boolean): void {
    const all = this.model.sessions.all();
    let next: P.SessionSummary | undefined;
    if (this.pinned) next = this.model.sessions.get(this.pinned.agent, this.pinned.id);
    if (!next) next = defaultActiveSession(all, this.model.currentBranches());
    const changed = P.sessionKey(next ?? { agent: 'claude', id: '' }) !== P.sessionKey(this.active ?? { agent: 'claude', id: '' });
    const summaryChanged = next !== this.active;
    this.active = next;
    if (changed) this.status = undefined;
    if (changed || force) void this.fetch();
    else if (summaryChanged) this.render();
  }

  private async fetch(): Promise<void> {
    const s = this.active;
    const seq = ++this.seq;
    if (!s) {
      this.render();
      return;
    }
    if (this.client.state === 'running' && this.client.supports(P.Context.method)) {
      try {
        const st = await this.client.request(P.Context, { session: { agent: s.agent, id: s.id } });
        if (seq !== this.seq) return;
        this.status = st;
      } catch (e) {
        if (seq !== this.seq) return;
        this.client.output.debug(`sessions/context: ${errorMessage(e)}`);
        this.status = undefined;
      }
    }
    this.render();
  }

  private render(): void {
    const warn = vscode.workspace.getConfiguration('sessionSidecar').get<number>('contextWarningThreshold') ?? 80;
    const s = this.active;
    this.gauge = s ? (this.status ? gaugeFromStatus(this.status, warn) : gaugeFromSummary(s, warn)) : null;
    if (!s || !this.gauge) {
      this.item.hide();
      this._onDidUpdate.fire(null);
      return;
    }
    const g = this.gauge;
    this.item.text = g.text;
    this.item.backgroundColor =
      g.level === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : g.level === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
    const ref = encodeURIComponent(JSON.stringify([{ agent: s.agent, id: s.id }]));
    const md = new vscode.MarkdownString(undefined, true);
    md.isTrusted = { enabledCommands: ['sessionSidecar.compress', 'sessionSidecar.openHistory'] };
    md.appendMarkdown(`**${escapeMd(sessionTitle(s))}** — ${AGENT_LABELS[s.agent]}\n\n`);
    md.appendMarkdown(`Context: ${Math.round(g.percent)}% · ${formatTokens(g.usedTokens)} of ${formatTokens(g.contextWindow)} tokens  \n`);
    md.appendMarkdown(`Model: ${escapeMd(g.model ?? s.model ?? 'unknown')}  \n`);
    md.appendMarkdown(`Window size: ${windowSourceLabel(g.source)}  \n`);
    if (g.autoCompactAt != null) {
      md.appendMarkdown(`Auto-compact at: ${formatTokens(g.autoCompactAt)} tokens${g.level === 'error' ? ' — reached' : ''}  \n`);
    }
    md.appendMarkdown(`\n$(fold) [Compress…](command:sessionSidecar.compress?${ref}) · $(history) [Open History](command:sessionSidecar.openHistory?${ref})`);
    this.item.tooltip = md;
    this.item.command = { command: 'sessionSidecar.openHistory', title: 'Open Session History', arguments: [s] };
    this.item.accessibilityInformation = { label: `Agent session context ${Math.round(g.percent)} percent used` };
    this.item.show();
    this._onDidUpdate.fire(g);
  }

  dispose(): void {
    for (const d of this.subs.splice(0)) d.dispose();
  }
}

function escapeMd(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (c) => `\\${c}`);
}
