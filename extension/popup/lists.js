// The popup's list panel: loads a view (a tab, search results, or papers like one paper; see lib/pages.js),
// pages it with "More", and says plainly when a list is empty or could not be loaded.

import { apiRequest } from '../lib/api.js';
import { firstPage, nextPage, requestPath, unseenRows } from '../lib/pages.js';
import { getSettings } from '../lib/settings.js';
import { el, renderItem } from './items.js';

const $ = (id) => document.getElementById(id);

const SINCE_WORDS = { '1d': 'the last day', '7d': 'the last 7 days' };

/** What an empty list says: why it is empty and what to do about it. */
function emptyText(view) {
  switch (view.list) {
    case 'foryou': return 'No recommendations yet. Open or save a few papers on arXiv, Hugging Face or OpenReview, then come back.';
    case 'new': return `No new papers for you from ${SINCE_WORDS[view.since] || SINCE_WORDS['1d']}.${view.since === '7d' ? '' : ' Try the last 7 days.'}`;
    case 'trending': return 'Nothing is trending this week yet.';
    case 'saved': return 'No saved papers yet. Use the Save button on a paper page or in these lists.';
    case 'search': return `No papers match “${view.q}”.`;
    case 'similar': return 'No similar papers found yet.';
    default: return 'Nothing here.';
  }
}

let hooks = { onSignedOut: async () => {}, onQueued: () => {}, onSimilar: () => {} };
let current = null; // {view, page, shown: Set of keys, seq}; only the newest load may render
let loadSeq = 0;

/** @param {{onSignedOut: Function, onQueued: Function, onSimilar: Function}} h  onSimilar(paper): "More like
 *  this" was chosen for a paper */
export function setListHooks(h) {
  hooks = { ...hooks, ...h };
  $('more').addEventListener('click', () => current && current.page && loadPage(current));
}

export function setState(text, { error = false, actions = [] } = {}) {
  const s = $('state');
  s.replaceChildren();
  s.hidden = !text;
  s.className = error ? 'state error' : 'state';
  if (text) s.append(text);
  for (const [label, fn] of actions) s.append(el('button', { type: 'button', onclick: fn, text: label }));
}

/** Show a view from its first page. */
export function showView(view) {
  current = { view, page: firstPage(view), shown: new Set(), seq: ++loadSeq };
  $('panel').dataset.list = view.list;
  $('items').replaceChildren();
  $('more').hidden = true;
  return loadPage(current);
}

export const reloadView = () => current && showView(current.view);

async function loadPage(state) {
  const first = state.shown.size === 0;
  const panel = $('panel');
  const more = $('more');
  panel.setAttribute('aria-busy', 'true');
  more.disabled = true;
  if (first) setState('Loading…');
  const settings = await getSettings();
  try {
    const data = await apiRequest(settings, 'GET', requestPath(state.view, state.page));
    if (state.seq !== loadSeq) return;
    const rows = (data && data.items) || [];
    const fresh = unseenRows(rows, state.shown);
    state.page = nextPage(state.view, state.page, data, rows.length);
    renderRows(state, fresh, first);
  } catch (e) {
    if (state.seq === loadSeq) await loadFailed(e, settings, first);
  } finally {
    if (state.seq === loadSeq) {
      panel.setAttribute('aria-busy', 'false');
      more.disabled = false;
    }
  }
}

function renderRows(state, rows, first) {
  const items = $('items');
  const start = items.children.length;
  rows.forEach((row, i) => items.append(renderItem(row, {
    list: state.view.list,
    rank: start + i + 1,
    onSimilar: (paper) => hooks.onSimilar(paper),
    onEmpty: () => setState('That was the last one here. Check the other lists.'),
    onError: (text) => setState(text, { error: true }),
    onQueued: () => hooks.onQueued(),
  })));
  if (first) setState(rows.length ? '' : emptyText(state.view));
  else if (rows.length) items.children[start].querySelector('a.title').focus(); // where reading goes on
  $('more').hidden = !state.page || (!first && !rows.length);
  if (!first && !rows.length) state.page = null;
}

async function loadFailed(e, settings, first) {
  if (e.kind === 'auth') {
    await hooks.onSignedOut();
    return;
  }
  const retry = ['Retry', first ? reloadView : () => loadPage(current)];
  if (e.kind === 'offline') {
    setState(`Cannot reach the PaperScout server at ${settings.backendUrl}. Is it running? Papers you open and save are kept and sent when it is back.`,
      { error: true, actions: [retry, ['Settings', () => chrome.runtime.openOptionsPage()]] });
  } else {
    setState(`Something went wrong loading this list: ${e.message}`, { error: true, actions: [retry] });
  }
}
