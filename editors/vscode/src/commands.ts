/** Palette and context-menu commands. */
import * as vscode from 'vscode';
import { SidecarClient, errorCode, errorMessage } from './client';
import { HistoryPanel } from './historyPanel';
import { AGENT_LABELS, formatTokens, pickItems, sessionTitle, SessionPickItem } from './model';
import * as P from './protocol';
import type { SessionsModel } from './sessionsModel';
import type { ContextGauge } from './statusBar';
import type { SessionsTreeProvider, TreeElement } from './sessionsTree';

/** Anything a command may be invoked with: a tree element, a summary, `{agent,id}` or a ref. */
export type SessionArg = TreeElement | P.SessionSummary | { agent: P.Agent; id: string } | string | undefined;

export interface Launched {
  terminal: vscode.Terminal;
  session: { agent: P.Agent; id: string };
  argv: string[];
  cwd: string;
}

export class Commands {
  /** Terminals this window started for sessions (tests and the gauge read it). */
  readonly launched: Launched[] = [];
  private readonly _onDidLaunch = new vscode.EventEmitter<Launched>();
  readonly onDidLaunch = this._onDidLaunch.event;
  /** Set by the extension once the tree exists: new sessions (forks) are revealed in it. */
  tree: SessionsTreeProvider | undefined;

  private reveal(s: P.SessionSummary): void {
    this.tree?.reveal(s.agent, s.id).catch((e) => this.client.output.debug(`reveal: ${errorMessage(e)}`));
  }

  constructor(
    private readonly ctx: vscode.ExtensionContext,
    private readonly client: SidecarClient,
    private readonly model: SessionsModel,
    private readonly gauge: ContextGauge,
  ) {
    ctx.subscriptions.push(this._onDidLaunch);
    ctx.subscriptions.push(
      vscode.window.onDidChangeActiveTerminal((t) => {
        const l = this.launched.find((x) => x.terminal === t);
        if (l) this.gauge.pin(l.session);
      }),
      vscode.window.onDidCloseTerminal((t) => {
        const i = this.launched.findIndex((x) => x.terminal === t);
        if (i >= 0) this.launched.splice(i, 1);
      }),
    );
  }

  register(): void {
    const reg = (id: string, fn: (...a: never[]) => unknown) =>
      this.ctx.subscriptions.push(
        vscode.commands.registerCommand(id, async (...args: never[]) => {
          try {
            return await fn(...args);
          } catch (e) {
            this.showError(e);
            return undefined;
          }
        }),
      );
    reg('sessionSidecar.resume', (a: SessionArg) => this.resume(a));
    reg('sessionSidecar.continue', () => this.continueLatest());
    reg('sessionSidecar.fork', (a: SessionArg, o?: { title?: string; upToMessage?: string }) => this.fork(a, o));
    reg('sessionSidecar.compress', (a: SessionArg, o?: { strategy?: P.CompressStrategy }) => this.compress(a, o));
    reg('sessionSidecar.rename', (a: SessionArg, title?: string) => this.rename(a, title));
    reg('sessionSidecar.tag', (a: SessionArg, tag?: string) => this.tag(a, tag));
    reg('sessionSidecar.delete', (a: SessionArg) => this.delete(a));
    reg('sessionSidecar.restore', (a: SessionArg) => this.restore(a));
    reg('sessionSidecar.openHistory', (a: SessionArg) => this.openHistory(a));
    reg('sessionSidecar.copyId', async (a: SessionArg) => {
      const s = await this.sessionFrom(a, 'Copy the id of which session?');
      if (s) await vscode.env.clipboard.writeText(s.id);
    });
    // Context-menu variants (short titles, hidden from the palette).
    reg('sessionSidecar.item.resume', (a: SessionArg) => this.resume(a));
    reg('sessionSidecar.item.fork', (a: SessionArg) => this.fork(a));
    reg('sessionSidecar.item.compress', (a: SessionArg) => this.compress(a));
    reg('sessionSidecar.item.rename', (a: SessionArg) => this.rename(a));
    reg('sessionSidecar.item.tag', (a: SessionArg) => this.tag(a));
    reg('sessionSidecar.item.delete', (a: SessionArg) => this.delete(a));
    reg('sessionSidecar.item.openHistory', (a: SessionArg) => this.openHistory(a));
  }

  private showError(e: unknown): void {
    const msg = errorMessage(e);
    this.client.output.error(msg);
    const code = errorCode(e);
    const actions = code === P.ErrorCodes.AgentNotFound ? ['Open Settings', 'Show Log'] : ['Show Log'];
    void vscode.window.showErrorMessage(`Session Sidecar: ${msg}`, ...actions).then((a) => {
      if (a === 'Show Log') this.client.output.show(true);
      if (a === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'sessionSidecar.agentPaths');
    });
  }

  // ------------------------------------------------------------------------------------------
  // Picking a session

  /** The session an argument names, or one the user picks. */
  async sessionFrom(arg: SessionArg, placeHolder: string): Promise<P.SessionSummary | undefined> {
    if (arg && typeof arg === 'object' && 'kind' in arg) {
      return arg.kind === 'session' ? arg.node.session : this.pick(placeHolder, arg.group.branch ?? undefined);
    }
    if (arg && typeof arg === 'object' && 'agent' in arg && 'id' in arg) {
      if ('lastModified' in arg) return arg as P.SessionSummary;
      return this.model.sessions.get(arg.agent, arg.id) ?? (await this.client.request(P.SessionInfo, { session: { agent: arg.agent, id: arg.id } }));
    }
    if (typeof arg === 'string' && arg) return this.client.request(P.SessionInfo, { session: arg });
    return this.pick(placeHolder);
  }

  /**
   * The session QuickPick: titles and first prompts match as you type; with more sessions than
   * one page, the sidecar is asked too (its query also covers ids, branches and tags).
   */
  async pick(placeHolder: string, branch?: string): Promise<P.SessionSummary | undefined> {
    await this.model.ready();
    const qp = vscode.window.createQuickPick<SessionPickItem & vscode.QuickPickItem>();
    qp.title = placeHolder;
    qp.placeholder = 'Type to search titles and first prompts';
    qp.matchOnDescription = true;
    qp.matchOnDetail = true;
    const historyButton: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('history'), tooltip: 'Open History' };
    const toItems = (ss: P.SessionSummary[]) =>
      pickItems(ss).map((i) => ({
        ...i,
        iconPath: vscode.Uri.joinPath(this.ctx.extensionUri, 'media', 'agents', `${i.session.agent}.svg`),
        buttons: [historyButton],
      }));
    let base = this.model.sessions.all();
    if (branch) base = base.filter((s) => s.gitBranch === branch);
    const many = !this.model.loaded;
    if (!this.model.loaded) {
      qp.busy = true;
      try {
        base = (await this.client.request(P.ListSessions, { scope: 'workspace', limit: 200, branch })).items;
      } finally {
        qp.busy = false;
      }
    }
    qp.items = toItems(base);
    let seq = 0;
    let timer: NodeJS.Timeout | undefined;
    const disposables: vscode.Disposable[] = [];
    if (many) {
      disposables.push(
        qp.onDidChangeValue((v) => {
          if (timer) clearTimeout(timer);
          timer = setTimeout(async () => {
            const my = ++seq;
            qp.busy = true;
            try {
              const r = await this.client.request(P.ListSessions, { scope: 'workspace', limit: 200, query: v || null, branch });
              if (my === seq) qp.items = toItems(r.items);
            } catch (e) {
              this.client.output.warn(`search: ${errorMessage(e)}`);
            } finally {
              if (my === seq) qp.busy = false;
            }
          }, 150);
        }),
      );
    }
    return new Promise((resolve) => {
      let done = false;
      disposables.push(
        qp.onDidAccept(() => {
          const sel = qp.selectedItems[0];
          done = true;
          resolve(sel?.session);
          qp.hide();
        }),
        qp.onDidTriggerItemButton((e) => {
          done = true;
          qp.hide();
          resolve(undefined);
          void this.openHistory(e.item.session);
        }),
        qp.onDidHide(() => {
          if (timer) clearTimeout(timer);
          if (!done) resolve(undefined);
          for (const d of disposables) d.dispose();
          qp.dispose();
        }),
      );
      qp.show();
    });
  }

  // ------------------------------------------------------------------------------------------
  // Resume / continue

  /** Opens an integrated terminal running argv (shellPath + shellArgs, never a command line). */
  launch(session: P.SessionSummary, cmd: P.LaunchCommand): Launched {
    if (!cmd.argv.length) throw new Error('the sidecar returned an empty command');
    const terminal = vscode.window.createTerminal({
      name: sessionTitle(session).slice(0, 60),
      shellPath: cmd.argv[0],
      shellArgs: cmd.argv.slice(1),
      cwd: cmd.cwd,
      env: cmd.env,
      iconPath: vscode.Uri.joinPath(this.ctx.extensionUri, 'media', 'agents', `${session.agent}.svg`),
    });
    terminal.show();
    this.client.output.info(`launched ${AGENT_LABELS[session.agent]} for ${session.agent}:${session.id} in ${cmd.cwd}`);
    const l: Launched = { terminal, session: { agent: session.agent, id: session.id }, argv: cmd.argv, cwd: cmd.cwd };
    this.launched.push(l);
    this.gauge.pin(session);
    this._onDidLaunch.fire(l);
    return l;
  }

  async resume(arg: SessionArg, opts: { fork?: boolean } = {}): Promise<Launched | undefined> {
    const s = await this.sessionFrom(arg, 'Resume which session?');
    if (!s) return undefined;
    const cmd = await this.client.request(P.Resume, { session: { agent: s.agent, id: s.id }, fork: opts.fork ?? false });
    return this.launch(s, cmd);
  }

  async continueLatest(): Promise<Launched | undefined> {
    try {
      const r = await this.client.request(P.Continue, { branch: '@current' });
      return this.launch(r.session, { argv: r.argv, cwd: r.cwd, env: r.env });
    } catch (e) {
      if (errorCode(e) === P.ErrorCodes.NoSession) {
        const branch = this.model.currentBranches()[0];
        const a = await vscode.window.showInformationMessage(
          `No agent session on ${branch ? `branch ${branch}` : 'this branch'} yet.`,
          'Resume Session…',
        );
        if (a) return this.resume(undefined);
        return undefined;
      }
      throw e;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Mutations

  async fork(arg: SessionArg, opts: { title?: string; upToMessage?: string } = {}): Promise<P.SessionSummary | undefined> {
    const s = await this.sessionFrom(arg, 'Fork which session?');
    if (!s) return undefined;
    let title = opts.title;
    if (title === undefined) {
      title = await vscode.window.showInputBox({
        title: `Fork '${sessionTitle(s)}'`,
        prompt: opts.upToMessage ? 'Title of the fork (it keeps the messages up to the chosen one)' : 'Title of the fork',
        value: `${sessionTitle(s)} (fork)`,
      });
      if (title === undefined) return undefined;
    }
    const current = this.model.currentBranches()[0];
    const r = await this.client.request(P.Fork, {
      session: { agent: s.agent, id: s.id },
      title: title.trim() || null,
      upToMessage: opts.upToMessage ?? null,
      branch: current && current !== s.gitBranch ? current : null,
    });
    this.model.apply({ added: [r.session], updated: [], removed: [] });
    this.reveal(r.session);
    void vscode.window.showInformationMessage(`Forked '${sessionTitle(s)}' → '${sessionTitle(r.session)}'.`, 'Resume', 'Open History').then((a) => {
      if (a === 'Resume') void this.resume(r.session);
      if (a === 'Open History') void this.openHistory(r.session);
    });
    return r.session;
  }

  async compress(arg: SessionArg, opts: { strategy?: P.CompressStrategy } = {}): Promise<P.CompressResult | undefined> {
    const s = await this.sessionFrom(arg, 'Compress which session?');
    if (!s) return undefined;
    let strategy = opts.strategy;
    // Gemini has no headless compaction: trimming is the only way.
    if (!strategy && s.agent === 'gemini') strategy = 'trim';
    if (!strategy) {
      const choice = await vscode.window.showQuickPick(
        [
          {
            label: '$(repo-forked) Trim into a fork',
            description: 'local, instant',
            detail: 'A new session without bulky tool output and file contents; the last turns stay whole. The original is kept.',
            strategy: 'trim' as const,
          },
          {
            label: `$(sparkle) Let ${AGENT_LABELS[s.agent]} compact it`,
            description: 'uses the model',
            detail: `Runs the agent's own compaction (${s.agent === 'qwen' ? '/compress' : '/compact'}) on this session, so it resumes with a summary.`,
            strategy: 'agent' as const,
          },
        ],
        { title: `Compress '${sessionTitle(s)}'`, placeHolder: 'How?' },
      );
      if (!choice) return undefined;
      strategy = choice.strategy;
    }
    const token = `sessionSidecar-compress-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Compressing '${sessionTitle(s)}'`, cancellable: true },
      async (progress, cancel) => {
        let last = 0;
        const sub = this.client.onWorkDoneProgress(token, (v) => {
          if (v.kind === 'end') return;
          const pct = v.percentage;
          progress.report({ message: v.message, increment: pct != null ? Math.max(0, pct - last) : undefined });
          if (pct != null) last = pct;
        });
        try {
          return await this.client.request(P.Compress, { session: { agent: s.agent, id: s.id }, strategy: strategy!, workDoneToken: token }, cancel);
        } finally {
          sub.dispose();
        }
      },
    );
    this.model.apply({ added: [], updated: [result.session], removed: [] });
    this.reveal(result.session);
    const est = result.estimated ? ' (estimated)' : '';
    void vscode.window
      .showInformationMessage(
        `Compressed '${sessionTitle(s)}': ${formatTokens(result.tokensBefore)} → ${formatTokens(result.tokensAfter)} tokens${est}.`,
        'Resume',
        'Open History',
      )
      .then((a) => {
        if (a === 'Resume') void this.resume(result.session);
        if (a === 'Open History') void this.openHistory(result.session);
      });
    return result;
  }

  async rename(arg: SessionArg, title?: string): Promise<P.SessionSummary | undefined> {
    const s = await this.sessionFrom(arg, 'Rename which session?');
    if (!s) return undefined;
    if (title === undefined) {
      title = await vscode.window.showInputBox({
        title: 'Rename session',
        value: s.customTitle ?? sessionTitle(s),
        prompt: `New title for the ${AGENT_LABELS[s.agent]} session (the agent shows it too)`,
        validateInput: (v) => (v.trim() ? undefined : 'The title cannot be empty'),
      });
      if (title === undefined) return undefined;
    }
    const r = await this.client.request(P.Rename, { session: { agent: s.agent, id: s.id }, title: title.trim() });
    this.model.apply({ added: [], updated: [r.session], removed: [] });
    return r.session;
  }

  async tag(arg: SessionArg, tag?: string): Promise<P.SessionSummary | undefined> {
    const s = await this.sessionFrom(arg, 'Tag which session?');
    if (!s) return undefined;
    if (tag === undefined) {
      tag = await vscode.window.showInputBox({
        title: `Tag '${sessionTitle(s)}'`,
        value: s.tag ?? '',
        prompt: 'Tag (empty removes it)',
      });
      if (tag === undefined) return undefined;
    }
    const r = await this.client.request(P.Tag, { session: { agent: s.agent, id: s.id }, tag: tag.trim() || null });
    this.model.apply({ added: [], updated: [r.session], removed: [] });
    return r.session;
  }

  /** Moves the session to the sidecar's trash; the notification offers Undo (sessions/restore). */
  async delete(arg: SessionArg): Promise<P.TrashEntry | undefined> {
    const s = await this.sessionFrom(arg, 'Delete which session?');
    if (!s) return undefined;
    const r = await this.client.request(P.Delete, { session: { agent: s.agent, id: s.id } });
    this.model.apply({ added: [], updated: [], removed: [{ agent: s.agent, id: s.id }] });
    HistoryPanel.get(s)?.dispose();
    void vscode.window.showInformationMessage(`Deleted '${sessionTitle(s)}' (moved to the trash).`, 'Undo').then((a) => {
      if (a === 'Undo') void vscode.commands.executeCommand('sessionSidecar.restore', { agent: r.trashed.agent, id: r.trashed.id });
    });
    return r.trashed;
  }

  async restore(arg: SessionArg): Promise<P.SessionSummary | undefined> {
    let key: { agent: P.Agent; id: string } | undefined;
    if (arg && typeof arg === 'object' && 'agent' in arg) key = { agent: arg.agent, id: arg.id };
    else if (typeof arg === 'string') key = undefined;
    if (!key) {
      const trash = await this.client.request(P.Trash, {});
      const pick = await vscode.window.showQuickPick(
        trash.items.map((t) => ({
          label: t.title ?? t.id,
          description: AGENT_LABELS[t.agent],
          detail: `deleted ${new Date(t.deletedAt).toLocaleString()} · ${t.originalPath}`,
          t,
        })),
        { title: 'Restore a deleted session', placeHolder: trash.items.length ? 'Which session?' : 'The trash is empty' },
      );
      if (!pick) return undefined;
      key = { agent: pick.t.agent, id: pick.t.id };
    }
    const r = await this.client.request(P.Restore, { session: key });
    this.model.apply({ added: [r.session], updated: [], removed: [] });
    this.reveal(r.session);
    void vscode.window.showInformationMessage(`Restored '${sessionTitle(r.session)}'.`);
    return r.session;
  }

  async openHistory(arg: SessionArg): Promise<HistoryPanel | undefined> {
    const s = await this.sessionFrom(arg, 'Open the history of which session?');
    if (!s) return undefined;
    const pageSize = vscode.workspace.getConfiguration('sessionSidecar').get<number>('historyPageSize') ?? 100;
    return HistoryPanel.show(
      this.ctx.extensionUri,
      this.client,
      s,
      {
        forkFrom: async (session, id) => {
          await this.fork(session, { upToMessage: id });
        },
        focused: (session) => this.gauge.pin(session),
      },
      Math.min(1000, Math.max(10, pageSize)),
    );
  }
}
