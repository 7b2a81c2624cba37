/**
 * Runs test/exthost/suite.ts inside real VS Code: code-server with the extension under
 * development (extensionDevelopmentPath) and the suite as extensionTestsPath, opened in
 * headless Chromium; the suite's console and exit code come back through the page.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { env, git, launchBrowser, makeHome, startCodeServer, userSettings } from './codeServer';

async function main(): Promise<number> {
  const e = env();
  const extRoot = path.resolve(__dirname, '../../..');
  const suite = path.join(extRoot, 'out/test/exthost/suite.js');
  const resultFile = process.argv[2];
  // `multiroot`: a .code-workspace with the fixture folder and a second repository on branch
  // develop; the suite runs its multi-root part (SS_SUITE reaches the extension host's env).
  const mode = process.argv[3] === 'multiroot' ? 'multiroot' : 'exthost';
  const dir = path.join(e.run, mode);
  fs.mkdirSync(dir, { recursive: true });
  const home = makeHome(dir);
  git(e.workspace, 'checkout', '-q', 'main');
  let target = `folder=${encodeURIComponent(e.workspace)}`;
  if (mode === 'multiroot') {
    const other = path.join(dir, 'api-server');
    fs.mkdirSync(other, { recursive: true });
    const g = (...a: string[]) => git(other, '-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'init.defaultBranch=develop', ...a);
    g('init', '-q');
    g('commit', '-q', '--allow-empty', '-m', 'init');
    const ws = path.join(dir, 'two.code-workspace');
    fs.writeFileSync(ws, JSON.stringify({ folders: [{ path: e.workspace }, { path: other }] }));
    target = `workspace=${encodeURIComponent(ws)}`;
    process.env.SS_SUITE = 'multiroot';
  }
  const cs = await startCodeServer(e, mode, userSettings(e, home));
  const browser = await launchBrowser(e);
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  let code = 1;
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    let exit: (c: number) => void = () => undefined;
    const exited = new Promise<number>((r) => (exit = r));
    await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => {
      const text = (args ?? []).map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
      if (/^(ok|not ok) - exthost:|^exthost: |^\s/.test(text)) console.log(text);
      const m = /^exthost: (\d+) passed, (\d+) failed(?:, (\d+) skipped)?/.exec(text);
      if (m) {
        passed = Number(m[1]);
        failed = Number(m[2]);
        skipped = Number(m[3] ?? 0);
      }
      void type;
    });
    await page.exposeFunction('codeAutomationExit', (c: number) => exit(c));
    const remote = (p: string) => `vscode-remote://127.0.0.1:${cs.port}${p}`;
    const payload = [
      ['extensionDevelopmentPath', remote(extRoot)],
      ['extensionTestsPath', remote(suite)],
      ['skipWelcome', 'true'],
    ];
    await page.goto(`${cs.url}/?${target}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
    code = await Promise.race([exited, new Promise<number>((r) => setTimeout(() => r(-1), 240000))]);
    if (code === -1) {
      console.log('not ok - exthost: the suite did not finish within 240 s');
      failed++;
      await page.screenshot({ path: path.join(dir, 'timeout.png') });
    }
  } finally {
    await browser.close();
    await cs.stop();
  }
  if (code !== 0 && failed === 0) failed = 1;
  if (resultFile) fs.writeFileSync(resultFile, JSON.stringify({ passed, failed, skipped }));
  console.log(`${mode} run: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  return failed ? 1 : 0;
}

main().then(
  (c) => process.exit(c),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
