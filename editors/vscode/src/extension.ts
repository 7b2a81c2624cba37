/** Session Sidecar for VS Code: entry point. */
import * as vscode from 'vscode';
import { SidecarClient, readSettings } from './client';
import { Commands } from './commands';
import { ForkOnCheckout } from './forkOnCheckout';
import { HistoryPanel } from './historyPanel';
import { SessionsModel } from './sessionsModel';
import { SessionsTreeProvider, TreeElement } from './sessionsTree';
import { ContextGauge } from './statusBar';

/** What `activate` returns: used by the extension-host tests, not a public API. */
export interface SessionSidecarApi {
  client: SidecarClient;
  model: SessionsModel;
  tree: SessionsTreeProvider;
  gauge: ContextGauge;
  commands: Commands;
  forkOnCheckout: ForkOnCheckout;
  historyPanels(): HistoryPanel[];
  recentLog(): string[];
}

/** Settings whose change needs a new server process. */
const RESTART_SETTINGS = ['serverPath', 'home', 'agents', 'agentPaths', 'storeRoots', 'truncateBytes'].map((k) => `sessionSidecar.${k}`);

export async function activate(ctx: vscode.ExtensionContext): Promise<SessionSidecarApi> {
  const output = vscode.window.createOutputChannel('Session Sidecar', { log: true });
  ctx.subscriptions.push(output);
  const recentLog = keepRecent(output, 300);
  const client = new SidecarClient(output);
  ctx.subscriptions.push(client);
  const model = new SessionsModel(client);
  ctx.subscriptions.push(model);

  const tree = new SessionsTreeProvider(model, ctx.extensionUri);
  const view = vscode.window.createTreeView<TreeElement>('sessionSidecar.sessions', {
    treeDataProvider: tree,
    showCollapseAll: true,
  });
  tree.attach(view);
  ctx.subscriptions.push(tree, view);

  const gauge = new ContextGauge(client, model);
  ctx.subscriptions.push(gauge);
  const commands = new Commands(ctx, client, model, gauge);
  commands.tree = tree;
  commands.register();
  const forkOnCheckout = new ForkOnCheckout(ctx, client, commands);
  ctx.subscriptions.push(forkOnCheckout);

  ctx.subscriptions.push(
    vscode.commands.registerCommand('sessionSidecar.restart', () => client.restart()),
    vscode.commands.registerCommand('sessionSidecar.showLog', () => output.show()),
    vscode.commands.registerCommand('sessionSidecar.refresh', async () => {
      if (client.state === 'running') await model.reload();
      else await client.restart();
    }),
    vscode.commands.registerCommand('sessionSidecar.filter', () => filterInput(tree)),
    vscode.commands.registerCommand('sessionSidecar.clearFilter', () => tree.setFilter('')),
    vscode.commands.registerCommand('sessionSidecar.resetNeverFork', () => forkOnCheckout.resetNever()),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (RESTART_SETTINGS.some((k) => e.affectsConfiguration(k))) {
        await client.restart();
      } else if (e.affectsConfiguration('sessionSidecar.forkOnCheckout')) {
        await client.notifyConfiguration({ forkOnCheckout: readSettings().forkOnCheckout });
      }
    }),
    // The sidecar takes the folders at initialize; a changed multi-root workspace gets a new one.
    vscode.workspace.onDidChangeWorkspaceFolders(() => client.restart()),
    client.onState((s) => {
      if (s === 'missing' && client.lastError) {
        void vscode.window.showErrorMessage(`Session Sidecar: ${client.lastError}`, 'Open Settings', 'Show Log').then((a) => {
          if (a === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'sessionSidecar.serverPath');
          if (a === 'Show Log') output.show();
        });
      } else if (s === 'failed' && client.lastError) {
        void vscode.window.showErrorMessage(`Session Sidecar: ${client.lastError}`, 'Restart', 'Show Log').then((a) => {
          if (a === 'Restart') void client.restart();
          if (a === 'Show Log') output.show();
        });
      }
    }),
  );
  void vscode.commands.executeCommand('setContext', 'sessionSidecar.filtered', false);

  output.info('Session Sidecar activating');
  await client.start();

  return {
    client,
    model,
    tree,
    gauge,
    commands,
    forkOnCheckout,
    historyPanels: () => HistoryPanel.all(),
    recentLog: () => [...recentLog],
  };
}

/** Keeps the last `n` lines written to the output channel (for bug reports and the tests). */
function keepRecent(out: vscode.LogOutputChannel, n: number): string[] {
  const lines: string[] = [];
  const push = (level: string, msg: unknown) => {
    lines.push(`${level} ${String(msg)}`);
    if (lines.length > n) lines.splice(0, lines.length - n);
  };
  const o = out as unknown as Record<string, (...a: unknown[]) => void>;
  for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'append', 'appendLine']) {
    const orig = o[level].bind(out);
    o[level] = (msg: unknown, ...rest: unknown[]) => {
      push(level, msg);
      orig(msg, ...rest);
    };
  }
  return lines;
}

/** The filter box: filters the tree live as you type; Enter keeps it, Escape restores. */
function filterInput(tree: SessionsTreeProvider): Promise<void> {
  const before = tree.getFilter();
  const box = vscode.window.createInputBox();
  box.title = 'Filter agent sessions';
  box.placeholder = 'Words in the title, first prompt, branch, tag, agent or id';
  box.value = before;
  return new Promise((resolve) => {
    let accepted = false;
    box.onDidChangeValue((v) => tree.setFilter(v));
    box.onDidAccept(() => {
      accepted = true;
      box.hide();
    });
    box.onDidHide(() => {
      if (!accepted) tree.setFilter(before);
      box.dispose();
      resolve();
    });
    box.show();
  });
}

export function deactivate(): void {
  for (const p of HistoryPanel.all()) p.dispose();
}
