/** Finding the `session-sidecar` executable: the setting, else PATH, else cargo's bin dir. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const SERVER_NAME = 'session-sidecar';
export const INSTALL_HINT =
  'Install it with `cargo install --path sidecar` from a checkout of session-sidecar, ' +
  'or set `sessionSidecar.serverPath` to the binary.';

export type ServerLookup =
  | { ok: true; path: string; source: 'setting' | 'PATH' | 'cargo' }
  | { ok: false; message: string };

function isExecutable(p: string): boolean {
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) return false;
    if (process.platform === 'win32') return true;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function expandHome(p: string, home: string = os.homedir()): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

/**
 * `setting` (when non-empty; relative paths resolve against `baseDir`), else the first
 * `session-sidecar` on `envPath`, else `~/.cargo/bin/session-sidecar` (cargo install's default,
 * often not on the PATH of a GUI-started editor).
 */
export function findServer(
  setting: string | undefined,
  envPath: string | undefined = process.env.PATH,
  opts: { home?: string; baseDir?: string; cargoHome?: string } = {},
): ServerLookup {
  const home = opts.home ?? os.homedir();
  const exe = process.platform === 'win32' ? `${SERVER_NAME}.exe` : SERVER_NAME;
  if (setting && setting.trim()) {
    let p = expandHome(setting.trim(), home);
    if (!path.isAbsolute(p) && opts.baseDir) p = path.join(opts.baseDir, p);
    if (isExecutable(p)) return { ok: true, path: p, source: 'setting' };
    return {
      ok: false,
      message: `sessionSidecar.serverPath is set to "${setting}", but no executable file is there. ${INSTALL_HINT}`,
    };
  }
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, exe);
    if (isExecutable(p)) return { ok: true, path: p, source: 'PATH' };
  }
  const cargoBin = path.join(opts.cargoHome ?? process.env.CARGO_HOME ?? path.join(home, '.cargo'), 'bin', exe);
  if (isExecutable(cargoBin)) return { ok: true, path: cargoBin, source: 'cargo' };
  return {
    ok: false,
    message: `The ${SERVER_NAME} server was not found on PATH. ${INSTALL_HINT}`,
  };
}
