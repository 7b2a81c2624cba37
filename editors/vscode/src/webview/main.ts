/**
 * The history webview's script. It only ever holds the pages it was sent: the latest page
 * first, older pages prepended on "Load older" or when the top is scrolled into view, live
 * items appended (following the bottom when the reader is there).
 */
import type { HistoryItem } from '../protocol';
import { escapeHtml, renderItem, renderItems } from './render';

declare function acquireVsCodeApi(): { postMessage(m: unknown): void; setState(s: unknown): void; getState(): unknown };

type ToWebview =
  | { type: 'init'; title: string; subtitle: string; items: HistoryItem[]; hasOlder: boolean; forkable: boolean; live: boolean }
  | { type: 'older'; items: HistoryItem[]; hasOlder: boolean }
  | { type: 'append'; items: HistoryItem[] }
  | { type: 'replace'; item: HistoryItem }
  | { type: 'header'; title: string; subtitle: string }
  | { type: 'status'; text: string; kind?: 'info' | 'error' }
  | { type: 'live'; live: boolean };

const vscode = acquireVsCodeApi();
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const list = $('items');
const olderBtn = $<HTMLButtonElement>('load-older');
const sentinel = $('top-sentinel');
const status = $('status');
let forkable = false;
let hasOlder = false;
let loadingOlder = false;
let count = 0;

let last: HistoryItem | undefined;

function html(items: HistoryItem[], previous?: HistoryItem): string {
  return renderItems(items, { forkable, previous });
}

function setHasOlder(v: boolean): void {
  hasOlder = v;
  olderBtn.hidden = !v;
  $('start').hidden = v || count === 0;
}

function atBottom(): boolean {
  const el = document.scrollingElement!;
  return el.scrollHeight - el.scrollTop - el.clientHeight < 40;
}

function requestOlder(): void {
  if (!hasOlder || loadingOlder) return;
  loadingOlder = true;
  olderBtn.disabled = true;
  olderBtn.textContent = 'Loading…';
  vscode.postMessage({ type: 'loadOlder' });
}

/** Keeps loading while the top is still on screen (short pages), like scrolling up would. */
function topVisible(): void {
  if (hasOlder && !loadingOlder && sentinel.getBoundingClientRect().bottom >= 0) requestOlder();
}

function updateCount(): void {
  count = list.children.length;
  $('count').textContent = `${count} ${count === 1 ? 'message' : 'messages'} loaded`;
}

window.addEventListener('message', (ev: MessageEvent<ToWebview>) => {
  const m = ev.data;
  switch (m.type) {
    case 'init': {
      forkable = m.forkable;
      $('title').textContent = m.title;
      $('subtitle').textContent = m.subtitle;
      list.innerHTML = html(m.items);
      last = m.items[m.items.length - 1];
      updateCount();
      setHasOlder(m.hasOlder);
      $('live').hidden = !m.live;
      status.hidden = true;
      document.body.classList.remove('loading');
      document.scrollingElement!.scrollTop = document.scrollingElement!.scrollHeight;
      requestAnimationFrame(topVisible);
      break;
    }
    case 'older': {
      const el = document.scrollingElement!;
      const before = el.scrollHeight - el.scrollTop;
      list.insertAdjacentHTML('afterbegin', html(m.items));
      el.scrollTop = el.scrollHeight - before;
      loadingOlder = false;
      olderBtn.disabled = false;
      olderBtn.textContent = 'Load older';
      updateCount();
      setHasOlder(m.hasOlder);
      requestAnimationFrame(topVisible);
      break;
    }
    case 'append': {
      const follow = atBottom();
      for (const it of m.items) list.querySelector(`article[data-id="${CSS.escape(it.id)}"]`)?.remove();
      list.insertAdjacentHTML('beforeend', html(m.items, last));
      if (m.items.length) last = m.items[m.items.length - 1];
      updateCount();
      if (follow) document.scrollingElement!.scrollTop = document.scrollingElement!.scrollHeight;
      break;
    }
    case 'replace': {
      const old = list.querySelector(`article[data-id="${CSS.escape(m.item.id)}"]`);
      if (old) {
        old.insertAdjacentHTML('afterend', renderItem(m.item, { forkable }));
        old.remove();
      }
      break;
    }
    case 'header':
      $('title').textContent = m.title;
      $('subtitle').textContent = m.subtitle;
      break;
    case 'status':
      status.hidden = false;
      status.className = m.kind === 'error' ? 'status error' : 'status';
      status.innerHTML = escapeHtml(m.text);
      document.body.classList.remove('loading');
      loadingOlder = false;
      olderBtn.disabled = false;
      olderBtn.textContent = 'Load older';
      break;
    case 'live':
      $('live').hidden = !m.live;
      break;
  }
});

olderBtn.addEventListener('click', requestOlder);
new IntersectionObserver((entries) => {
  if (entries.some((e) => e.isIntersecting) && count > 0) requestOlder();
}).observe(sentinel);

list.addEventListener('click', (ev) => {
  const btn = (ev.target as HTMLElement).closest('button[data-action]') as HTMLButtonElement | null;
  if (!btn) return;
  const id = btn.closest('article')?.getAttribute('data-id');
  if (!id) return;
  vscode.postMessage({ type: btn.dataset.action, id });
});

vscode.postMessage({ type: 'ready' });
