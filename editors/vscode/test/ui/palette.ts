/**
 * UI tests in real VS Code (code-server + headless Chromium via Playwright) with the packaged
 * .vsix installed: the command palette's "Resume Session…" starts the agent with the right
 * argv; screenshots of the sidebar, the history view, the status bar gauge and the
 * fork-on-checkout question go to test-output/screenshots/.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { Results, env, git, launchBrowser, makeHome, startCodeServer, userSettings, waitForWorkbench } from './codeServer';
import { Feature, probe } from './probe';

const RENAMED = { id: 'a0a51dc5-d7b2-43b0-80f6-e51fa390a987', title: 'Corpus title 4' };

async function runCommand(page: Page, title: string, rowText: string | RegExp = title): Promise<void> {
  // The first attempt can beat the extension's command registration, and F1 pressed while a
  // webview has focus is forwarded to the workbench, which a loaded machine can lose: retry,
  // every other time by clicking the command center (typing `>` there lists commands too).
  for (let attempt = 1; ; attempt++) {
    try {
      if (await page.locator('.quick-input-widget:visible').count()) await page.keyboard.press('Escape');
      if (attempt % 2 === 1) await page.keyboard.press('F1');
      else await page.locator('.command-center-center').first().click({ timeout: 2000 });
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible', timeout: 5000 });
      await input.fill(`>${title}`);
      const row = page.locator('.quick-input-list .monaco-list-row', { hasText: rowText }).first();
      await row.waitFor({ state: 'visible', timeout: 3000 });
      await row.click();
      return;
    } catch (e) {
      if (attempt >= 15) throw e;
      await page.waitForTimeout(1000);
    }
  }
}

/**
 * Runs `command` and picks a session in its QuickPick by typing part of its title. A QuickPick
 * closes when focus leaves it; on a loaded machine focus can still be settling from the step
 * before (a panel hidden, a terminal or webview opened) when it appears. If it closed before it
 * could be used, the command runs again.
 */
async function pickSession(page: Page, command: string, typed: string, rowText: string | RegExp): Promise<void> {
  const title = page.locator('.quick-input-widget .quick-input-title', { hasText: /session\?/i });
  for (let attempt = 1; ; attempt++) {
    await runCommand(page, command);
    try {
      await title.waitFor({ state: 'visible', timeout: 10000 });
      break;
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
  const input = page.locator('.quick-input-widget input');
  await input.fill(typed);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: rowText }).first();
  await row.waitFor({ state: 'visible', timeout: 20000 });
  await row.click();
}

async function waitForFile(file: string, pred: (s: string) => boolean, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (s && pred(s)) return s;
    if (Date.now() > deadline) throw new Error(`${file} did not get the expected content within ${timeoutMs} ms; it has: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The innermost frame of our history webview. */
async function historyFrame(page: Page, title?: string, timeoutMs = 30000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const f of page.frames()) {
      try {
        const h = await f.$('main#items');
        if (h && (!title || (await f.$eval('#title', (el) => el.textContent ?? '')) === title)) return f;
      } catch {
        // detached while looking
      }
    }
    if (Date.now() > deadline) throw new Error('no history webview frame');
    await page.waitForTimeout(200);
  }
}

async function main(): Promise<number> {
  const e = env();
  const r = new Results('ui', process.argv[2]);
  const dir = path.join(e.run, 'ui');
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(e.screenshots, { recursive: true });
  const home = makeHome(dir);
  const has = await probe(e.sidecarBin, path.join(dir, 'probe'), e.workspace);
  console.log(`sidecar features: ${[...has].join(', ') || 'none of the probed'}`);
  /** A step that needs sidecar features: skipped, with the reason, when the build lacks one. */
  const stepNeeding = async (needs: Feature[], title: string, fn: () => Promise<void>, onFail?: (e: unknown) => Promise<void>) => {
    const missing = needs.filter((f) => !has.has(f));
    if (missing.length) r.skip(title, `this sidecar build lacks ${missing.join(', ')}`);
    else await r.step(title, fn, onFail);
  };
  git(e.workspace, 'checkout', '-q', 'main');
  // Workspace settings left by the extension-host run do not apply here.
  fs.rmSync(path.join(e.workspace, '.vscode'), { recursive: true, force: true });
  const cs = await startCodeServer(e, 'ui', userSettings(e, home, { 'workbench.colorTheme': 'Default Dark Modern' }), true);
  const browser = await launchBrowser(e);
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const shot = async (name: string) => {
    // Earlier notifications would cover what the screenshot is about.
    if (await page.locator('.notifications-toasts .notification-list-item:visible').count()) {
      await runCommand(page, 'Notifications: Clear All Notifications');
      await page.locator('.notifications-toasts .notification-list-item').first().waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
    }
    await page.screenshot({ path: path.join(e.screenshots, name) });
  };
  const failShot = (name: string) => async () => {
    await page.screenshot({ path: path.join(e.screenshots, `FAILED-${name}.png`) });
    const toasts = await page.locator('.notifications-toasts').allInnerTexts().catch(() => []);
    if (toasts.length) console.log(`  toasts: ${toasts.join(' | ')}`);
  };
  try {
    await r.step('the workbench opens the fixture workspace with the extension installed', async () => {
      await page.goto(`${cs.url}/?folder=${encodeURIComponent(e.workspace)}`);
      await waitForWorkbench(page);
      const ext = fs.readdirSync(path.join(cs.dir, 'ext')).filter((d) => d.startsWith('session-sidecar.session-sidecar-'));
      if (ext.length !== 1) throw new Error(`installed extensions: ${fs.readdirSync(path.join(cs.dir, 'ext')).join(', ')}`);
    });

    await r.step(
      'the Agent Sessions sidebar shows the branch tree (screenshot)',
      async () => {
        if (await page.locator('.part.panel:visible').count()) await runCommand(page, 'View: Hide Panel', /View: (Hide|Close) Panel/);
        await page.locator('.part.activitybar .action-item a[aria-label^="Agent Sessions"], .part.activitybar .action-item[aria-label^="Agent Sessions"]').first().click();
        // Widen the sidebar so titles and descriptions fit in the screenshot.
        const sb = await page.locator('.part.sidebar').boundingBox();
        if (sb && sb.width < 450) {
          await page.mouse.move(sb.x + sb.width + 1, sb.y + 300);
          await page.mouse.down();
          await page.mouse.move(sb.x + 470, sb.y + 300, { steps: 5 });
          await page.mouse.up();
        }
        const tree = page.locator('.pane-body .monaco-list-row');
        await page.locator('.pane-body .monaco-list-row', { hasText: 'feature/login' }).first().waitFor({ state: 'visible', timeout: 20000 });
        // The current branch is expanded: its sessions show.
        await page.locator('.pane-body .monaco-list-row', { hasText: RENAMED.title }).first().waitFor({ state: 'visible', timeout: 20000 });
        const rows = await tree.allInnerTexts();
        const first = rows[0] ?? '';
        if (!/^main/.test(first.trim())) throw new Error(`the current branch is not first: ${JSON.stringify(rows.slice(0, 3))}`);
        if (!rows.some((t) => t.includes(RENAMED.title))) throw new Error(`no "${RENAMED.title}" row: ${JSON.stringify(rows)}`);
        await shot('sidebar.png');
      },
      failShot('sidebar'),
    );

    await stepNeeding(['resume'], 
      'palette: Resume Session… → pick a fixture session → the terminal runs the agent with --resume <id>',
      async () => {
        fs.rmSync(e.argvFile, { force: true });
        await pickSession(page, 'Session Sidecar: Resume Session…', 'corpus title', RENAMED.title);
        const got = await waitForFile(e.argvFile, (s) => s.includes('\ncwd='), 30000);
        const args = got.split('\n').filter((l) => l.startsWith('arg=')).map((l) => l.slice(4));
        const i = args.indexOf('--resume');
        if (i < 0 || args[i + 1] !== RENAMED.id) throw new Error(`argv ${JSON.stringify(args)} lacks --resume ${RENAMED.id}`);
        const cwd = got.split('\n').find((l) => l.startsWith('cwd='))?.slice(4);
        if (cwd !== e.workspace) throw new Error(`cwd ${cwd}, expected ${e.workspace}`);
        // The terminal is named after the session and shows the agent's output.
        await page.locator('.part.panel', { hasText: RENAMED.title }).first().waitFor({ state: 'visible', timeout: 10000 });
        await page.locator('.part.panel .xterm').first().waitFor({ state: 'visible', timeout: 10000 });
        await page.waitForFunction(
          (id) => [...document.querySelectorAll('.part.panel .xterm-rows')].some((el) => (el.textContent ?? '').includes(id)),
          RENAMED.id,
          { timeout: 10000 },
        ).catch(() => undefined); // the canvas renderer has no text rows; the argv file is the proof
        await shot('resume-terminal.png');
      },
      failShot('resume'),
    );

    await stepNeeding(['delete'], 
      'tree context menu: Delete, then Undo in the notification restores the session',
      async () => {
        const title = 'corpus 5 AGENTCALL please';
        const row = page.locator('.pane-body .monaco-list-row', { hasText: title }).first();
        await row.click({ button: 'right' });
        const del = page.locator('.monaco-menu .action-item', { hasText: /^Delete$/ }).first();
        await del.waitFor({ state: 'visible', timeout: 10000 });
        for (const item of ['Resume', 'Open History', 'Fork…', 'Compress…', 'Rename…', 'Tag…']) {
          if (!(await page.locator('.monaco-menu .action-item', { hasText: item }).count())) throw new Error(`no ${item} in the context menu`);
        }
        await del.click();
        const toast = page.locator('.notifications-toasts .notification-list-item', { hasText: `Deleted '${title}'` }).first();
        await toast.waitFor({ state: 'visible', timeout: 15000 });
        await row.waitFor({ state: 'detached', timeout: 10000 });
        await toast.locator('.monaco-button', { hasText: 'Undo' }).click();
        await page.locator('.notifications-toasts .notification-list-item', { hasText: `Restored '${title}'` }).first().waitFor({ state: 'visible', timeout: 15000 });
        await page.locator('.pane-body .monaco-list-row', { hasText: title }).first().waitFor({ state: 'visible', timeout: 10000 });
      },
      failShot('delete-undo'),
    );

    await stepNeeding(['context'], 
      'the status bar shows the context gauge (screenshot)',
      async () => {
        const gauge = page.locator('.part.statusbar .statusbar-item', { hasText: /\d+% · [\d.]+[kM]?\/[\d.]+[kM]?/ }).first();
        await gauge.waitFor({ state: 'visible', timeout: 20000 });
        const text = (await gauge.innerText()).trim();
        if (!/^\d+% · [\d.]+[kM]?\/[\d.]+[kM]?$/.test(text)) throw new Error(`gauge text ${JSON.stringify(text)}`);
        if (!(await gauge.locator('.codicon-pulse').count())) throw new Error('no $(pulse) icon');
        const sb = await page.locator('.part.statusbar').boundingBox();
        await page.screenshot({ path: path.join(e.screenshots, 'statusbar.png'), clip: { x: 0, y: sb!.y - 1, width: 1280, height: sb!.height + 2 } });
        await gauge.hover();
        const hover = page.locator('.monaco-hover, .workbench-hover', { hasText: 'Window size' }).first();
        await hover.waitFor({ state: 'visible', timeout: 10000 });
        const hb = await hover.boundingBox();
        const y = Math.max(0, (hb?.y ?? 600) - 10);
        await page.screenshot({ path: path.join(e.screenshots, 'statusbar-tooltip.png'), clip: { x: 560, y, width: 720, height: 800 - y } });
        await page.mouse.move(640, 300);
        if (!has.has('history')) return;
        // Following a session past its auto-compact point (Qwen, 40k window): error colour.
        await pickSession(page, 'Session Sidecar: Open Session History', 'small context window', 'small context window');
        const hot = page.locator('.part.statusbar .statusbar-item', { hasText: /\d+% · [\d.]+k\/40k/ }).first();
        await hot.waitFor({ state: 'visible', timeout: 20000 });
        const bg = await hot.evaluate((el) => getComputedStyle(el).backgroundColor);
        if (/^rgba\(0, 0, 0, 0\)$|^transparent$/.test(bg)) throw new Error(`no error background (${bg})`);
        const sb2 = await page.locator('.part.statusbar').boundingBox();
        await page.screenshot({ path: path.join(e.screenshots, 'statusbar-autocompact.png'), clip: { x: 0, y: sb2!.y - 1, width: 1280, height: sb2!.height + 2 } });
      },
      failShot('statusbar'),
    );

    await stepNeeding(['history'], 
      'Open Session History renders the transcript (screenshot)',
      async () => {
        if (await page.locator('.part.panel:visible').count()) await runCommand(page, 'View: Hide Panel', /View: (Hide|Close) Panel/);
        await pickSession(page, 'Session Sidecar: Open Session History', 'THINK then answer', /THINK then answer[\s\S]*· main ·/);
        const f = await historyFrame(page, 'corpus 1 turn 4 THINK then answer');
        await f.waitForSelector('article.item, .status:not([hidden])', { timeout: 20000 });
        const err = await f.$('.status.error:not([hidden])');
        if (err) {
          await shot('history.png');
          throw new Error(`the history view shows an error: ${await err.innerText()}`);
        }
        const n = await f.locator('article.item').count();
        if (n < 3) throw new Error(`only ${n} items`);
        await f.locator('details.tool-use').first().waitFor({ timeout: 5000 });
        if (!(await f.locator('details.thinking').count())) throw new Error('no thinking block');
        // The latest page is shown first, scrolled to the end. Open the last tool output so the
        // screenshot shows both states, without scrolling.
        const atEnd = await f.evaluate(() => {
          const results = document.querySelectorAll('details.tool-result');
          (results[results.length - 1] as HTMLDetailsElement | undefined)?.setAttribute('open', '');
          const thinking = document.querySelectorAll('details.thinking');
          (thinking[thinking.length - 1] as HTMLDetailsElement | undefined)?.setAttribute('open', '');
          const el = document.scrollingElement!;
          el.scrollTop = el.scrollHeight;
          return el.scrollHeight - el.scrollTop - el.clientHeight < 5;
        });
        if (!atEnd) throw new Error('not scrolled to the latest message');
        await shot('history.png');
        // A session with a /compact: the compaction marker between the turns.
        await pickSession(page, 'Session Sidecar: Open Session History', 'after compaction', /after compaction[\s\S]*· main ·/);
        const c = await historyFrame(page, 'corpus 2 turn 3 after compaction');
        await c.waitForSelector('article.item', { timeout: 20000 });
        const marker = c.locator('.compaction').first();
        await marker.waitFor({ timeout: 5000 });
        if (!/Context compacted/.test(await marker.innerText())) throw new Error('no compaction marker text');
        await marker.evaluate((el) => el.scrollIntoView({ block: 'center' }));
        await shot('history-compaction.png');
      },
      failShot('history'),
    );

    await stepNeeding(['history', 'fork'], 
      'history view: "Fork from here" forks up to that message',
      async () => {
        const f = await historyFrame(page, 'corpus 2 turn 3 after compaction');
        const user = f.locator('article.role-user').last();
        await user.hover();
        await user.locator('button[data-action="fork"]').click();
        const input = page.locator('.quick-input-widget input');
        await input.waitFor({ state: 'visible', timeout: 10000 });
        await input.fill('Forked from the history view');
        await page.keyboard.press('Enter');
        await page.locator('.notifications-toasts .notification-list-item', { hasText: "→ 'Forked from the history view'" }).first().waitFor({ state: 'visible', timeout: 15000 });
        await page.locator('.pane-body .monaco-list-row', { hasText: 'Forked from the history view' }).first().waitFor({ state: 'visible', timeout: 10000 });
      },
      failShot('fork-from-here'),
    );

    await stepNeeding(['branchWatch'], 
      "git checkout -b asks: Switched to feature/signup — fork '<title>' for this branch? (screenshot, Not now)",
      async () => {
        git(e.workspace, 'checkout', '-q', '-b', 'feature/signup');
        const toast = page.locator('.notifications-toasts .notification-list-item', { hasText: 'Switched to feature/signup — fork' }).first();
        await toast.waitFor({ state: 'visible', timeout: 20000 });
        const text = await toast.innerText();
        if (!/Switched to feature\/signup — fork '.+' for this branch\?/.test(text)) throw new Error(`toast: ${text}`);
        for (const b of ['Fork', 'Not now', 'Never for this repo']) {
          if (!(await toast.locator('.monaco-button', { hasText: b }).count())) throw new Error(`no ${b} button`);
        }
        await page.screenshot({ path: path.join(e.screenshots, 'fork-on-checkout.png') });
        await toast.locator('.monaco-button', { hasText: 'Not now' }).click();
        await toast.waitFor({ state: 'hidden', timeout: 10000 });
      },
      failShot('fork-on-checkout'),
    );
  } finally {
    try {
      git(e.workspace, 'checkout', '-q', 'main');
    } catch {
      // leave it
    }
    await browser.close();
    await cs.stop();
  }
  return r.finish();
}

main().then(
  (c) => process.exit(c),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
