// Bundles the extension (node), the history webview script (browser) and, with --tests, the
// test suites. Usage: node scripts/build.mjs [--production] [--tests]
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const production = process.argv.includes('--production');
const tests = process.argv.includes('--tests');
const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', absWorkingDir: root };

const builds = [
  esbuild.build({
    ...common,
    entryPoints: ['src/extension.ts'],
    outfile: 'dist/extension.js',
    platform: 'node',
    format: 'cjs',
    target: 'node18',
    external: ['vscode'],
  }),
  esbuild.build({
    ...common,
    entryPoints: ['src/webview/main.ts'],
    outfile: 'dist/webview.js',
    platform: 'browser',
    format: 'iife',
    target: 'es2020',
  }),
];

if (tests) {
  const list = (dir) =>
    fs.existsSync(path.join(root, dir))
      ? fs.readdirSync(path.join(root, dir)).filter((f) => f.endsWith('.ts')).map((f) => `${dir}/${f}`)
      : [];
  // Unit tests run in plain node: vscode-languageclient (which needs the vscode module) is
  // replaced by vscode-jsonrpc, which defines the same RequestType/NotificationType classes.
  builds.push(
    esbuild.build({
      ...common,
      sourcemap: true,
      entryPoints: list('test/unit'),
      outdir: 'out/test/unit',
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      alias: { 'vscode-languageclient': 'vscode-jsonrpc' },
      external: ['typescript'],
    }),
    esbuild.build({
      ...common,
      sourcemap: true,
      entryPoints: list('test/exthost'),
      outdir: 'out/test/exthost',
      platform: 'node',
      format: 'cjs',
      target: 'node18',
      external: ['vscode'],
    }),
    esbuild.build({
      ...common,
      sourcemap: true,
      entryPoints: list('test/ui'),
      outdir: 'out/test/ui',
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['playwright-core'],
    }),
  );
}

await Promise.all(builds);
