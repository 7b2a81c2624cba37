/** The current git branch of a folder, read from HEAD like the sidecar does (no git process). */
import * as fs from 'fs';
import * as path from 'path';

/** The git directory of a work tree: `.git`, or where a `.git` file points (worktrees). */
export function gitDir(worktree: string): string | undefined {
  const dotgit = path.join(worktree, '.git');
  let st: fs.Stats;
  try {
    st = fs.statSync(dotgit);
  } catch {
    return undefined;
  }
  if (st.isDirectory()) return dotgit;
  try {
    const text = fs.readFileSync(dotgit, 'utf8');
    const line = text.split(/\r?\n/).find((l) => l.startsWith('gitdir:'));
    if (!line) return undefined;
    const target = line.slice('gitdir:'.length).trim();
    return path.isAbsolute(target) ? target : path.join(worktree, target);
  } catch {
    return undefined;
  }
}

/** The branch HEAD names, or undefined when detached or not in a repository. */
export function currentBranch(folder: string): string | undefined {
  let dir = path.resolve(folder);
  for (;;) {
    const g = gitDir(dir);
    if (g) {
      try {
        const head = fs.readFileSync(path.join(g, 'HEAD'), 'utf8').trim();
        return head.startsWith('ref: refs/heads/') ? head.slice('ref: refs/heads/'.length) : undefined;
      } catch {
        return undefined;
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
