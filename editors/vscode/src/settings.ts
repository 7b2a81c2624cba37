/** The extension's settings and the initializationOptions they become (no vscode import). */
import * as P from './protocol';

export interface Settings {
  serverPath: string;
  home: string;
  agents: P.Agent[] | null;
  agentPaths: Partial<Record<P.Agent, string>>;
  storeRoots: Partial<Record<P.Agent, string>>;
  forkOnCheckout: P.ForkOnCheckout;
  truncateBytes: number | null;
}

/** initializationOptions from the settings (empty strings and maps are left out). */
export function initializationOptions(s: Settings): P.InitializationOptions {
  const o: P.InitializationOptions = { forkOnCheckout: s.forkOnCheckout };
  if (s.home.trim()) o.home = s.home.trim();
  if (s.agents) o.agents = s.agents;
  const clean = (m: Partial<Record<P.Agent, string>>) =>
    Object.fromEntries(Object.entries(m).filter(([k, v]) => P.AGENTS.includes(k as P.Agent) && typeof v === 'string' && v.trim()));
  const paths = clean(s.agentPaths);
  if (Object.keys(paths).length) o.agentPaths = paths;
  const roots = clean(s.storeRoots);
  if (Object.keys(roots).length) o.storeRoots = roots;
  if (s.truncateBytes && s.truncateBytes > 0) o.truncateBytes = s.truncateBytes;
  return o;
}
