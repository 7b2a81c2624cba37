/**
 * Fork on checkout: the sidecar watches the workspace's git HEAD and, under the `ask` policy,
 * names a candidate session from the branch left behind. We ask; "Never for this repo" is
 * remembered per repository folder in the extension's global state (no file in the repo).
 */
import * as vscode from 'vscode';
import { SidecarClient, errorMessage } from './client';
import { forkPrompt, sessionTitle } from './model';
import * as P from './protocol';
import type { Commands } from './commands';

const NEVER_KEY = 'sessionSidecar.neverForkOnCheckout';

export class ForkOnCheckout implements vscode.Disposable {
  private readonly subs: vscode.Disposable[] = [];
  /** The last question asked (tests read it). */
  lastPrompt: string | undefined;
  /** Shows the question; the extension-host tests put an automatic answer here. */
  prompter: (message: string, ...items: string[]) => Thenable<string | undefined> = (m, ...items) =>
    vscode.window.showInformationMessage(m, ...items);
  private readonly _onDidFork = new vscode.EventEmitter<P.SessionSummary>();
  readonly onDidFork = this._onDidFork.event;
  private readonly _onDidAsk = new vscode.EventEmitter<{ prompt: string; answer: string | undefined }>();
  readonly onDidAsk = this._onDidAsk.event;

  constructor(
    private readonly ctx: vscode.ExtensionContext,
    private readonly client: SidecarClient,
    private readonly commands: Commands,
  ) {
    this.subs.push(this._onDidAsk, this._onDidFork, client.onBranchChanged((p) => void this.onBranchChanged(p)));
  }

  private neverRepos(): string[] {
    return this.ctx.globalState.get<string[]>(NEVER_KEY) ?? [];
  }

  async resetNever(): Promise<void> {
    await this.ctx.globalState.update(NEVER_KEY, []);
  }

  private async onBranchChanged(p: P.BranchChangedParams): Promise<void> {
    const to = p.to ?? 'a detached HEAD';
    if (p.forked) {
      const forked = p.forked;
      void vscode.window
        .showInformationMessage(`Switched to ${to} — forked '${sessionTitle(forked)}' for this branch.`, 'Resume', 'Open History')
        .then((a) => {
          if (a === 'Resume') void this.commands.resume(forked);
          if (a === 'Open History') void this.commands.openHistory(forked);
        });
      return;
    }
    const policy = vscode.workspace.getConfiguration('sessionSidecar').get<string>('forkOnCheckout') ?? 'ask';
    if (!p.candidate || p.detached || !p.to || policy !== 'ask') return;
    if (this.neverRepos().includes(p.workspace)) return;
    const candidate = p.candidate;
    const prompt = forkPrompt(p.to, candidate);
    this.lastPrompt = prompt;
    const answer = await this.prompter(prompt, 'Fork', 'Not now', 'Never for this repo');
    this._onDidAsk.fire({ prompt, answer });
    if (answer === 'Fork') {
      try {
        const r = await this.client.request(P.Fork, {
          session: { agent: candidate.agent, id: candidate.id },
          branch: p.to,
          title: null,
        });
        this._onDidFork.fire(r.session);
        void vscode.window
          .showInformationMessage(`Forked '${sessionTitle(candidate)}' for ${p.to}.`, 'Resume', 'Open History')
          .then((a) => {
            if (a === 'Resume') void this.commands.resume(r.session);
            if (a === 'Open History') void this.commands.openHistory(r.session);
          });
      } catch (e) {
        void vscode.window.showErrorMessage(`Session Sidecar: fork failed: ${errorMessage(e)}`);
      }
    } else if (answer === 'Never for this repo') {
      await this.ctx.globalState.update(NEVER_KEY, [...new Set([...this.neverRepos(), p.workspace])]);
    }
  }

  dispose(): void {
    for (const d of this.subs.splice(0)) d.dispose();
  }
}
