// One paper in a popup list: title (opens the paper), date and authors, reasons, an expandable abstract, and
// the Save / Dismiss / "More like this" buttons. Save and dismiss go through the worker (it queues them when
// the server is down). The DOM is built with createElement/textContent only.

import { urlForKey } from '../lib/detect.js';
import { MSG, send } from '../lib/messages.js';
import { paperDate } from '../lib/pages.js';

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === 'className') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

/** Where a list item links to: the URL the server shows for it, else the canonical address of its key. */
function paperUrl(paper) {
  if (paper.url && /^https?:\/\//.test(paper.url)) return paper.url;
  return urlForKey(paper.key || '');
}

function authorsText(authors) {
  if (!Array.isArray(authors) || !authors.length) return '';
  return authors.length > 3 ? `${authors.slice(0, 3).join(', ')} et al.` : authors.join(', ');
}

/** Date and authors on one line; the date in a <time> so it reads as one. */
function metaLine(paper) {
  const iso = paper.published_at || paper.announced_at; // announced: arXiv's daily feed, for papers without a date
  const date = paperDate(iso);
  const authors = authorsText(paper.authors);
  if (!date && !authors) return null;
  const line = el('div', { className: 'meta' });
  if (date) line.append(el('time', { className: 'date', datetime: iso, text: date }));
  if (date && authors) line.append(' · ');
  if (authors) line.append(el('span', { className: 'authors', text: authors }));
  return line;
}

function abstractBlock(paper) {
  const text = typeof paper.abstract === 'string' ? paper.abstract.trim() : '';
  if (!text) return null;
  return el('details', { className: 'abstract' }, el('summary', { text: 'Abstract' }), el('p', { text }));
}

/**
 * @param {object} row  the API's row: {paper, reasons, ...} for ranked lists, {paper, saved_at} for saves,
 *   or the paper itself (search)
 * @param {{list: string, rank: number, onSimilar: Function, onEmpty: Function, onError: Function,
 *   onQueued: Function}} ctx
 */
export function renderItem(row, ctx) {
  const paper = row.paper || row;
  if (ctx.list === 'saved') paper.saved = true;
  const title = paper.title || paper.key || 'Untitled paper';
  const href = paperUrl(paper);
  const link = el('a', { className: 'title', href: href || '#', text: title, target: '_blank', rel: 'noopener' });
  link.addEventListener('click', async (e) => {
    e.preventDefault();
    await send(MSG.CLICK, { paper: { key: paper.key, url: href || paper.url, title: paper.title }, list: ctx.list,
      rank: ctx.rank });
    if (href) chrome.tabs.create({ url: href });
  });
  const body = el('div', { className: 'body' }, el('div', {}, link), metaLine(paper));
  const reasons = Array.isArray(row.reasons) ? row.reasons.filter((r) => typeof r === 'string') : [];
  if (reasons.length) {
    const ul = el('ul', { className: 'reasons', 'aria-label': 'Why this paper' });
    for (const r of reasons) ul.append(el('li', { text: r }));
    body.append(ul);
  }
  const abstract = abstractBlock(paper);
  if (abstract) body.append(abstract);
  const li = el('li', { className: 'item', 'data-key': paper.key || '' }, body);
  const actions = el('div', { className: 'actions' }, saveButton(paper, title, ctx));
  if (ctx.list !== 'saved') actions.append(dismissButton(paper, title, li, ctx));
  if (paper.key) {
    actions.append(el('button', { type: 'button', className: 'similar', text: 'More like this',
      'aria-label': `More papers like “${title}”`, onclick: () => ctx.onSimilar(paper) }));
  }
  li.append(actions);
  return li;
}

/** Save / Saved toggle: the state shows at once and goes back if the worker could not record it. */
function saveButton(paper, title, ctx) {
  const saveBtn = el('button', { type: 'button', className: 'save' });
  let saved = Boolean(paper.saved);
  const renderSave = () => {
    saveBtn.textContent = saved ? 'Saved' : 'Save';
    saveBtn.setAttribute('aria-pressed', String(saved));
    saveBtn.setAttribute('aria-label', saved ? `Unsave “${title}”` : `Save “${title}”`);
  };
  renderSave();
  saveBtn.addEventListener('click', async () => {
    saved = !saved; // optimistic: the state shows at once
    renderSave();
    const reply = await send(MSG.SET_SAVED, { paper: { key: paper.key, url: paper.url, title: paper.title }, saved, source: 'popup' });
    if (!reply.ok) {
      saved = !saved;
      renderSave();
      ctx.onError(`Could not ${saved ? 'unsave' : 'save'}: ${reply.message || reply.error}`);
    } else if (reply.queued) {
      ctx.onQueued();
    }
  });
  return saveBtn;
}

/** Dismiss: the item leaves the list at once (focus moves to a neighbour) and comes back if that failed. */
function dismissButton(paper, title, li, ctx) {
  const dismissBtn = el('button', { type: 'button', className: 'dismiss', text: 'Dismiss',
    'aria-label': `Dismiss “${title}”: not interested` });
  dismissBtn.addEventListener('click', async () => {
    const list = li.parentElement;
    const after = li.nextElementSibling;
    const next = after || li.previousElementSibling;
    li.remove();
    if (next) (next.querySelector('button.dismiss') || next.querySelector('button'))?.focus();
    if (!list.children.length) ctx.onEmpty();
    const reply = await send(MSG.DISMISS, { paper: { key: paper.key, url: paper.url, title: paper.title },
      list: ctx.list, rank: ctx.rank });
    if (!reply.ok) {
      list.insertBefore(li, after && after.isConnected ? after : null);
      ctx.onError(`Could not dismiss: ${reply.message || reply.error}`);
    }
  });
  return dismissBtn;
}
