/** The "Agent Sessions" view: sessions grouped by git branch, forks under their source. */
import * as vscode from 'vscode';
import type { SessionSummary } from './protocol';
import {
  AGENT_LABELS,
  BranchGroup,
  SessionNode,
  contextPercent,
  formatPercent,
  formatTokens,
  groupByBranch,
  sessionTitle,
  treeDescription,
} from './model';
import type { SessionsModel } from './sessionsModel';

export type TreeElement = { kind: 'branch'; group: BranchGroup } | { kind: 'session'; node: SessionNode };

export class SessionsTreeProvider implements vscode.TreeDataProvider<TreeElement>, vscode.Disposable {
  private readonly _onDidChange = new vscode.EventEmitter<TreeElement | undefined | void>();
  readonly onDidChangeTreeData = this._onDidChange.event;
  private groups: BranchGroup[] = [];
  private filter = '';
  private readonly subs: vscode.Disposable[] = [];
  private view: vscode.TreeView<TreeElement> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly model: SessionsModel,
    private readonly extensionUri: vscode.Uri,
  ) {
    this.subs.push(this._onDidChange, model.onDidChange(() => this.schedule()));
    this.rebuild();
  }

  attach(view: vscode.TreeView<TreeElement>): void {
    this.view = view;
    this.updateChrome();
  }

  getFilter(): string {
    return this.filter;
  }

  setFilter(f: string): void {
    this.filter = f;
    void vscode.commands.executeCommand('setContext', 'sessionSidecar.filtered', !!f.trim());
    this.refreshNow();
  }

  private dirty = true;

  /** Coalesces bursts of `sessions/changed` into one repaint; reads are always current. */
  private schedule(): void {
    this.dirty = true;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refreshNow();
    }, 50);
  }

  refreshNow(): void {
    this.rebuild();
    this._onDidChange.fire();
  }

  private rebuild(): void {
    this.dirty = false;
    this.groups = groupByBranch(this.model.sessions.all(), this.model.currentBranches(), this.filter);
    this.updateChrome();
  }

  private updateChrome(): void {
    if (!this.view) return;
    const total = this.model.sessions.size;
    const shown = this.groups.reduce((n, g) => n + g.count, 0);
    this.view.description = this.filter.trim() ? `filter: ${this.filter.trim()} (${shown}/${total})` : undefined;
    if (this.model.loaded && total === 0) {
      this.view.message = 'No agent sessions for this workspace yet.';
    } else if (this.filter.trim() && shown === 0) {
      this.view.message = `No session matches "${this.filter.trim()}".`;
    } else {
      this.view.message = undefined;
    }
  }

  /** Shows a session in the view (expanding its branch and source), e.g. a fork just made. */
  async reveal(agent: string, id: string): Promise<void> {
    this.refreshNow();
    if (!this.view) return;
    const find = (nodes: SessionNode[]): SessionNode | undefined => {
      for (const n of nodes) {
        if (n.session.agent === agent && n.session.id === id) return n;
        const f = find(n.forks);
        if (f) return f;
      }
      return undefined;
    };
    for (const group of this.groups) {
      const node = find(group.sessions);
      if (node) {
        await this.view.reveal({ kind: 'session', node }, { select: true, focus: false, expand: false });
        return;
      }
    }
  }

  /** The groups as shown (for tests and the filter). */
  snapshot(): BranchGroup[] {
    if (this.dirty) this.rebuild();
    return this.groups;
  }

  getChildren(el?: TreeElement): TreeElement[] {
    if (this.dirty) this.rebuild();
    if (!el) return this.groups.map((group) => ({ kind: 'branch', group }));
    if (el.kind === 'branch') return el.group.sessions.map((node) => ({ kind: 'session', node }));
    return el.node.forks.map((node) => ({ kind: 'session', node }));
  }

  getTreeItem(el: TreeElement): vscode.TreeItem {
    if (el.kind === 'branch') {
      const g = el.group;
      const item = new vscode.TreeItem(
        g.branch ?? '(no branch)',
        g.current || this.filter.trim() ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed,
      );
      item.id = `branch:${g.branch ?? ''}`;
      item.description = `${g.current ? 'current · ' : ''}${g.count} ${g.count === 1 ? 'session' : 'sessions'}`;
      item.iconPath = new vscode.ThemeIcon(g.current ? 'git-branch' : 'source-control', g.current ? new vscode.ThemeColor('charts.green') : undefined);
      item.contextValue = 'branch';
      return item;
    }
    return this.sessionItem(el.node);
  }

  private sessionItem(node: SessionNode): vscode.TreeItem {
    const s = node.session;
    const item = new vscode.TreeItem(
      sessionTitle(s),
      node.forks.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None,
    );
    // A session that gains its first fork gets a new id, so VS Code shows it expanded (it
    // keeps the remembered state of a known id, and a leaf has none).
    item.id = `session:${s.agent}:${s.id}${node.forks.length ? ':forked' : ''}`;
    item.description = treeDescription(s) + (node.forkOfTitle ? ` · ⑂ ${node.forkOfTitle}` : '');
    item.iconPath = agentIcon(this.extensionUri, s.agent);
    item.tooltip = sessionTooltip(s);
    item.contextValue = 'session';
    item.accessibilityInformation = { label: `${AGENT_LABELS[s.agent]} session ${sessionTitle(s)}, ${treeDescription(s)}` };
    item.command = { command: 'sessionSidecar.openHistory', title: 'Open Session History', arguments: [s] };
    return item;
  }

  getParent(el: TreeElement): TreeElement | undefined {
    if (el.kind === 'branch') return undefined;
    if (this.dirty) this.rebuild();
    for (const group of this.groups) {
      const find = (nodes: SessionNode[], parent: TreeElement): TreeElement | undefined => {
        for (const n of nodes) {
          if (n === el.node) return parent;
          const r = find(n.forks, { kind: 'session', node: n });
          if (r) return r;
        }
        return undefined;
      };
      const r = find(group.sessions, { kind: 'branch', group });
      if (r) return r;
    }
    return undefined;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.subs.splice(0)) d.dispose();
  }
}

export function agentIcon(extensionUri: vscode.Uri, agent: string): { light: vscode.Uri; dark: vscode.Uri } {
  return {
    light: vscode.Uri.joinPath(extensionUri, 'media', 'agents', `${agent}.svg`),
    dark: vscode.Uri.joinPath(extensionUri, 'media', 'agents', `${agent}.svg`),
  };
}

export function sessionTooltip(s: SessionSummary): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.supportThemeIcons = true;
  md.appendMarkdown(`**${escapeMd(sessionTitle(s))}**\n\n`);
  const rows: [string, string][] = [
    ['Agent', AGENT_LABELS[s.agent]],
    ['Session', s.id],
    ['Branch', s.gitBranch ?? '—'],
    ['Messages', `${s.messageCount}${s.countsExact ? '' : ' (counting…)'}`],
    ['Last active', new Date(s.lastModified).toLocaleString()],
  ];
  if (s.model) rows.push(['Model', s.model]);
  const pct = contextPercent(s);
  if (s.context) {
    rows.push([
      'Context',
      `${formatPercent(pct)} · ${formatTokens(s.context.usedTokens)}${s.context.contextWindow ? `/${formatTokens(s.context.contextWindow)}` : ''} tokens`,
    ]);
  }
  if (s.tag) rows.push(['Tag', s.tag]);
  if (s.forkedFrom) rows.push(['Forked from', s.forkedFrom.sessionId]);
  if (s.cwd) rows.push(['Folder', s.cwd]);
  md.appendMarkdown(rows.map(([k, v]) => `${k}: ${escapeMd(v)}`).join('  \n'));
  if (s.firstPrompt && s.firstPrompt !== s.title) {
    md.appendMarkdown(`\n\n---\n\n${escapeMd(s.firstPrompt.slice(0, 400))}`);
  }
  return md;
}

function escapeMd(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (c) => (c === '`' ? '\\`' : `\\${c}`));
}
