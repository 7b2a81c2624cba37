/**
 * The connection to the sidecar: one `LanguageClient` over stdio per window, started from the
 * configured binary with the workspace folders; `restart()` is the one way to restart it.
 */
import * as vscode from 'vscode';
import {
  CancellationToken,
  DidChangeConfigurationNotification,
  LanguageClient,
  LanguageClientOptions,
  RequestType,
  RequestParam,
  ResponseError,
  RevealOutputChannelOn,
  ServerOptions,
  State,
  WorkDoneProgress,
  WorkDoneProgressBegin,
  WorkDoneProgressEnd,
  WorkDoneProgressReport,
} from 'vscode-languageclient/node';
import * as P from './protocol';
import { findServer } from './serverPath';
import { Settings, initializationOptions } from './settings';

export { initializationOptions };

export type ClientState = 'stopped' | 'starting' | 'running' | 'missing' | 'failed';

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration('sessionSidecar');
  const agents = c.get<P.Agent[]>('agents');
  return {
    serverPath: c.get<string>('serverPath') ?? '',
    home: c.get<string>('home') ?? '',
    agents: agents && agents.length ? agents : null,
    agentPaths: c.get<Partial<Record<P.Agent, string>>>('agentPaths') ?? {},
    storeRoots: c.get<Partial<Record<P.Agent, string>>>('storeRoots') ?? {},
    forkOnCheckout: c.get<P.ForkOnCheckout>('forkOnCheckout') ?? 'ask',
    truncateBytes: c.get<number | null>('truncateBytes') ?? null,
  };
}

export class SidecarClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private _state: ClientState = 'stopped';
  private _capabilities: P.SidecarCapabilities | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly clientDisposables: vscode.Disposable[] = [];
  private starting: Promise<void> | undefined;

  private readonly _onState = new vscode.EventEmitter<ClientState>();
  readonly onState = this._onState.event;
  private readonly _onChanged = new vscode.EventEmitter<P.ChangedParams>();
  readonly onChanged = this._onChanged.event;
  private readonly _onAppended = new vscode.EventEmitter<P.AppendedParams>();
  readonly onAppended = this._onAppended.event;
  private readonly _onContextUsage = new vscode.EventEmitter<P.ContextUsageParams>();
  readonly onContextUsage = this._onContextUsage.event;
  private readonly _onBranchChanged = new vscode.EventEmitter<P.BranchChangedParams>();
  readonly onBranchChanged = this._onBranchChanged.event;

  /** Why the server is not running, when it is not. */
  lastError: string | undefined;

  constructor(readonly output: vscode.LogOutputChannel) {
    this.disposables.push(this._onState, this._onChanged, this._onAppended, this._onContextUsage, this._onBranchChanged);
  }

  get state(): ClientState {
    return this._state;
  }

  get capabilities(): P.SidecarCapabilities | undefined {
    return this._capabilities;
  }

  private setState(s: ClientState): void {
    this._state = s;
    void vscode.commands.executeCommand('setContext', 'sessionSidecar.state', s);
    this._onState.fire(s);
  }

  async start(): Promise<void> {
    if (this.starting) return this.starting;
    this.starting = this.doStart().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async doStart(): Promise<void> {
    if (!vscode.workspace.workspaceFolders?.some((f) => f.uri.scheme === 'file')) {
      // Sessions belong to folders: nothing to list until one is opened (the view says so).
      this.output.info('no local folder open; the server starts when one is added');
      this.setState('stopped');
      return;
    }
    const settings = readSettings();
    const base = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const found = findServer(settings.serverPath, process.env.PATH, { baseDir: base });
    if (!found.ok) {
      this.lastError = found.message;
      this.output.error(found.message);
      this.setState('missing');
      return;
    }
    this.output.info(`starting ${found.path} serve (found via ${found.source})`);
    this.setState('starting');
    const serverOptions: ServerOptions = {
      command: found.path,
      // No `transport`: with TransportKind.stdio the client would append `--stdio`, which the
      // sidecar's CLI rejects; an Executable without one talks over stdin/stdout anyway.
      args: ['serve'],
      options: { env: { ...process.env } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [],
      outputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: () => initializationOptions(readSettings()),
      // One bad response must not kill the session list; a crash restarts at most 4 times.
      initializationFailedHandler: (e) => {
        this.output.error(`initialize failed: ${e instanceof Error ? e.message : String(e)}`);
        return false;
      },
    };
    const client = new LanguageClient('sessionSidecar', 'Session Sidecar', serverOptions, clientOptions);
    this.client = client;
    this.clientDisposables.push(
      client.onNotification(P.SessionsChanged, (p) => this._onChanged.fire(p)),
      client.onNotification(P.Appended, (p) => this._onAppended.fire(p)),
      client.onNotification(P.ContextUsage, (p) => this._onContextUsage.fire(p)),
      client.onNotification(P.BranchChanged, (p) => this._onBranchChanged.fire(p)),
      client.onDidChangeState((e) => {
        if (this.client !== client) return;
        if (e.newState === State.Stopped && this._state === 'running') this.setState('failed');
        if (e.newState === State.Running) this.setState('running');
      }),
    );
    try {
      await client.start();
      const exp = client.initializeResult?.capabilities.experimental as { sessionSidecar?: P.SidecarCapabilities } | undefined;
      this._capabilities = exp?.sessionSidecar;
      if (this._capabilities && this._capabilities.protocolVersion !== P.PROTOCOL_VERSION) {
        this.output.warn(
          `the server speaks protocol ${this._capabilities.protocolVersion}, this extension ${P.PROTOCOL_VERSION}; update one of them`,
        );
      }
      this.output.info(`session-sidecar ${this._capabilities?.version ?? '?'} running`);
      this.lastError = undefined;
      this.setState('running');
    } catch (e) {
      this.lastError = `The session-sidecar server failed to start: ${errorMessage(e)}`;
      this.output.error(this.lastError);
      this.setState('failed');
    }
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    for (const d of this.clientDisposables.splice(0)) d.dispose();
    this._capabilities = undefined;
    if (c) {
      try {
        if (c.isRunning()) await c.stop(3000);
        else await c.dispose(1000);
      } catch (e) {
        this.output.warn(`stopping the server: ${errorMessage(e)}`);
      }
    }
    this.setState('stopped');
  }

  async restart(): Promise<void> {
    this.output.info('restarting');
    await this.stop();
    await this.start();
  }

  /** Whether the server serves `method` (older servers may lack some). */
  supports(method: string): boolean {
    return !this._capabilities || this._capabilities.methods.includes(method);
  }

  async request<P, R>(type: RequestType<P, R, void>, params: RequestParam<P>, token?: CancellationToken): Promise<R> {
    if (this.starting) await this.starting;
    const c = this.client;
    if (!c || this._state !== 'running') {
      throw new Error(this.lastError ?? 'The session-sidecar server is not running (Session Sidecar: Restart).');
    }
    // By method name: the params go out as they are (an object, by name), and a RequestType
    // from another bundle (the tests') works the same.
    return token ? c.sendRequest<R>(type.method, params, token) : c.sendRequest<R>(type.method, params);
  }

  async notifyConfiguration(settings: P.SidecarSettings): Promise<void> {
    const c = this.client;
    if (!c || this._state !== 'running') return;
    await c.sendNotification(DidChangeConfigurationNotification.type, { settings: { sessionSidecar: settings } });
  }

  /** LSP work-done progress reported under `token` (sessions/compress with the agent). */
  onWorkDoneProgress(
    token: string,
    handler: (value: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd) => void,
  ): vscode.Disposable {
    const c = this.client;
    if (!c) return { dispose() {} };
    return c.onProgress(WorkDoneProgress.type, token, handler);
  }

  dispose(): void {
    void this.stop();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

export function errorCode(e: unknown): number | undefined {
  return e instanceof ResponseError ? e.code : (e as { code?: number } | undefined)?.code;
}

export function errorMessage(e: unknown): string {
  if (e instanceof ResponseError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
