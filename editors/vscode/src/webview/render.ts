/**
 * HTML for history items, shared by the webview (in the browser) and the unit tests (in node).
 * Everything from the transcript is escaped; code fences become highlighted <pre> blocks; tool
 * calls, tool output and thinking are collapsed <details>.
 */
import type { ContentBlock, HistoryItem } from '../protocol';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const KEYWORDS = new Set(
  (
    'as async await break case catch class const continue def default del do elif else enum export extends ' +
    'false fn for from func function go if impl import in interface let loop match mod mut new nil None null ' +
    'package pass pub raise return self Self static struct super switch this throw true True False try type ' +
    'typeof use var void while with yield'
  ).split(' '),
);

/** A small language-agnostic highlighter: comments, strings, numbers, keywords. */
export function highlight(code: string, lang = ''): string {
  const shellish = /^(sh|bash|zsh|shell|console|python|py|ruby|rb|yaml|yml|toml)$/.test(lang);
  const re = shellish
    ? /(#[^\n]*)|("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|(\b\d+(?:\.\d+)?\b)|([A-Za-z_][A-Za-z0-9_]*)/g
    : /(\/\/[^\n]*|\/\*[\s\S]*?\*\/)|("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`)|(\b\d+(?:\.\d+)?\b)|([A-Za-z_][A-Za-z0-9_]*)/g;
  let out = '';
  let last = 0;
  for (let m = re.exec(code); m; m = re.exec(code)) {
    out += escapeHtml(code.slice(last, m.index));
    const [tok, comment, str, num, word] = m;
    if (comment) out += `<span class="tok-comment">${escapeHtml(tok)}</span>`;
    else if (str) out += `<span class="tok-string">${escapeHtml(tok)}</span>`;
    else if (num) out += `<span class="tok-number">${escapeHtml(tok)}</span>`;
    else if (word && KEYWORDS.has(word)) out += `<span class="tok-keyword">${escapeHtml(tok)}</span>`;
    else out += escapeHtml(tok);
    last = m.index + tok.length;
  }
  return out + escapeHtml(code.slice(last));
}

function codeBlock(code: string, lang: string): string {
  const l = lang.replace(/[^A-Za-z0-9_+-]/g, '');
  return `<pre class="code"${l ? ` data-lang="${l}"` : ''}><code>${highlight(code, l)}</code></pre>`;
}

/** Inline markdown: `code`, **bold**, and line breaks; everything else as text. */
function inline(text: string): string {
  let out = '';
  const re = /(`[^`\n]+`)|(\*\*[^*\n]+\*\*)/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out += escapeHtml(text.slice(last, m.index));
    if (m[1]) out += `<code>${escapeHtml(m[1].slice(1, -1))}</code>`;
    else out += `<strong>${escapeHtml(m[2].slice(2, -2))}</strong>`;
    last = m.index + m[0].length;
  }
  return out + escapeHtml(text.slice(last));
}

/** Text with fenced code blocks; paragraphs split on blank lines. */
export function renderText(text: string): string {
  const parts: string[] = [];
  const fence = /^(```|~~~)([^\n`]*)\n([\s\S]*?)(?:\n\1[ \t]*(?=\n|(?![\s\S]))|(?![\s\S]))/gm;
  let last = 0;
  for (let m = fence.exec(text); m; m = fence.exec(text)) {
    parts.push(paragraphs(text.slice(last, m.index)));
    parts.push(codeBlock(m[3], m[2].trim().split(/\s+/)[0] ?? ''));
    last = m.index + m[0].length;
  }
  parts.push(paragraphs(text.slice(last)));
  return parts.join('');
}

function paragraphs(text: string): string {
  return text
    .split(/\n{2,}/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => `<p>${inline(p).replace(/\n/g, '<br>')}</p>`)
    .join('');
}

function firstLine(s: string, max = 100): string {
  const l = s.split('\n').find((x) => x.trim()) ?? '';
  return l.length > max ? `${l.slice(0, max - 1)}…` : l;
}

/** A one-line summary of a tool call's input: the command, path or pattern if there is one. */
export function toolSummary(name: string, input: unknown): string {
  if (input && typeof input === 'object') {
    const o = input as Record<string, unknown>;
    for (const k of ['command', 'cmd', 'file_path', 'path', 'absolute_path', 'pattern', 'url', 'query', 'description', 'prompt']) {
      const v = o[k];
      if (typeof v === 'string' && v) return firstLine(v, 80);
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return firstLine(v.join(' '), 80);
    }
  }
  return '';
}

export function formatCount(n: number): string {
  return n >= 1000 ? `${Math.round(n / 100) / 10}k` : String(n);
}

export function renderBlock(b: ContentBlock): string {
  switch (b.type) {
    case 'text':
      return `<div class="text">${renderText(b.text)}</div>`;
    case 'thinking':
      return `<details class="thinking"><summary>Thinking</summary><div class="text">${renderText(b.text)}</div></details>`;
    case 'toolUse': {
      const sum = toolSummary(b.name, b.input);
      const json = JSON.stringify(b.input, null, 2) ?? '';
      return (
        `<details class="tool-use" data-tool-id="${escapeHtml(b.id)}"><summary><span class="tool-name">${escapeHtml(b.name)}</span>` +
        (sum ? ` <span class="tool-arg">${escapeHtml(sum)}</span>` : '') +
        `</summary>${codeBlock(json, 'json')}</details>`
      );
    }
    case 'toolResult': {
      const lines = b.content ? b.content.split('\n').length : 0;
      const label = b.isError ? 'Tool error' : 'Tool output';
      return (
        `<details class="tool-result${b.isError ? ' error' : ''}" data-tool-id="${escapeHtml(b.toolUseId)}"><summary>${label}` +
        ` <span class="muted">${lines} ${lines === 1 ? 'line' : 'lines'}</span>` +
        (b.content ? ` <span class="tool-arg">${escapeHtml(firstLine(b.content, 80))}</span>` : '') +
        `</summary><pre class="output">${escapeHtml(b.content)}</pre></details>`
      );
    }
    case 'image':
      return `<div class="image muted">[image${b.mediaType ? ` ${escapeHtml(b.mediaType)}` : ''}]</div>`;
    case 'compaction': {
      const fig =
        b.preTokens != null
          ? ` · ${formatCount(b.preTokens)}${b.postTokens != null ? ` → ${formatCount(b.postTokens)}` : ''} tokens`
          : '';
      return `<div class="compaction"><span>Context compacted${b.trigger ? ` (${escapeHtml(b.trigger)})` : ''}${fig}</span></div>`;
    }
    default:
      return '';
  }
}

const ROLE_LABELS: Record<string, string> = { user: 'You', assistant: 'Assistant', system: 'System', tool: 'Tool' };

/**
 * Slash-command echoes the CLI records as user text (`<command-name>/compact</command-name>…`,
 * `<local-command-stdout>…`) shown as what they are.
 */
export function commandEcho(text: string): string | undefined {
  const name = /<command-name>([^<]*)<\/command-name>/.exec(text);
  if (name) {
    const args = /<command-args>([^<]*)<\/command-args>/.exec(text)?.[1]?.trim();
    return `<div class="command"><code>${escapeHtml(name[1].trim())}${args ? ` ${escapeHtml(args)}` : ''}</code></div>`;
  }
  const out = /^\s*<local-command-stdout>([\s\S]*)<\/local-command-stdout>\s*$/.exec(text);
  if (out) return `<pre class="output command-output">${escapeHtml(out[1])}</pre>`;
  return undefined;
}

/**
 * Items in order. The user message right after a compaction is the summary the agent carried
 * over: collapsed, like tool output.
 */
export function renderItems(items: HistoryItem[], opts: { forkable?: boolean; previous?: HistoryItem } = {}): string {
  let prev = opts.previous;
  let out = '';
  for (const it of items) {
    const afterCompaction = !!prev && prev.content.length > 0 && prev.content.every((b) => b.type === 'compaction');
    out += renderItem(it, { forkable: opts.forkable, summary: afterCompaction && it.role === 'user' });
    prev = it;
  }
  return out;
}

/** One history item as an <article>; `forkable` adds the "Fork from here" button. */
export function renderItem(item: HistoryItem, opts: { forkable?: boolean; summary?: boolean } = {}): string {
  const onlyTools = item.content.length > 0 && item.content.every((b) => b.type === 'toolResult' || b.type === 'toolUse');
  const onlyCompaction = item.content.length > 0 && item.content.every((b) => b.type === 'compaction');
  const cls = ['item', `role-${item.role}`];
  if (onlyTools) cls.push('tools-only');
  if (onlyCompaction) cls.push('compaction-only');
  const time = item.timestamp ? new Date(item.timestamp) : null;
  const head = onlyCompaction
    ? ''
    : `<header><span class="role">${ROLE_LABELS[item.role] ?? escapeHtml(item.role)}</span>` +
      (item.model ? `<span class="muted model">${escapeHtml(item.model)}</span>` : '') +
      (time && !Number.isNaN(time.getTime())
        ? `<time class="muted" datetime="${escapeHtml(item.timestamp!)}">${escapeHtml(time.toLocaleString())}</time>`
        : '') +
      `<span class="actions">` +
      (item.truncated ? `<button class="link" data-action="expand">Show all</button>` : '') +
      (opts.forkable ? `<button class="link" data-action="fork" title="Fork the session up to and including this message">Fork from here</button>` : '') +
      `</span></header>`;
  return (
    `<article class="${cls.join(' ')}" data-id="${escapeHtml(item.id)}">${head}` +
    (opts.summary
      ? `<details class="summary"><summary>Summary carried over from before the compaction</summary>${item.content.map(renderBlock).join('')}</details>`
      : item.content
          .map((b) => (item.role === 'user' && b.type === 'text' ? (commandEcho(b.text) ?? renderBlock(b)) : renderBlock(b)))
          .join('')) +
    (item.truncated ? `<div class="muted truncated">(cut; “Show all” loads the whole message)</div>` : '') +
    `</article>`
  );
}
