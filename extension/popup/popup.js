// Popup: sign in / register, then For you / Trending / Saved. Lists are read from the API directly;
// save, unsave, dismiss and click go through the worker (it falls back to the queue when offline).
// The DOM is built with createElement/textContent only.

import { ApiError, apiRequest } from '../lib/api.js';
import { urlForKey } from '../lib/detect.js';
import { MSG, send } from '../lib/messages.js';
import { getSettings } from '../lib/settings.js';

const $ = (id) => document.getElementById(id);

const LISTS = {
  foryou: { path: '/recommendations?limit=20', empty: 'No recommendations yet. Open or save a few papers on arXiv, Hugging Face or OpenReview, then come back.' },
  trending: { path: '/trending?window=7d&limit=20', empty: 'Nothing is trending this week yet.' },
  saved: { path: '/saves?limit=100', empty: 'No saved papers yet. Use the Save button on a paper page or in these lists.' },
};

function el(tag, props = {}, ...children) {
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

// ------------------------------------------------------------------ views

async function init() {
  $('open-options').addEventListener('click', () => chrome.runtime.openOptionsPage());
  $('login-form').addEventListener('submit', (e) => { e.preventDefault(); signIn('login'); });
  $('register').addEventListener('click', () => signIn('register'));
  setupTabs();
  const settings = await getSettings();
  if (settings.apiToken) showMain(settings);
  else showLogin(settings);
}

function showLogin(settings, message) {
  $('main').hidden = true;
  $('login').hidden = false;
  $('who').textContent = '';
  $('login-server').textContent = settings.backendUrl;
  const err = $('login-error');
  err.hidden = !message;
  err.textContent = message || '';
  $('email').focus();
}

async function signIn(mode) {
  const email = $('email').value.trim();
  const password = $('password').value;
  const err = $('login-error');
  if (!email || !password) {
    err.textContent = 'Enter your email and password.';
    err.hidden = false;
    return;
  }
  const settings = await getSettings();
  for (const b of [$('sign-in'), $('register')]) b.disabled = true;
  try {
    const data = await apiRequest({ backendUrl: settings.backendUrl }, 'POST', `/auth/${mode}`, { email, password });
    if (!data || !data.token) throw new ApiError('http', 'The server did not return a token.');
    await chrome.storage.local.set({ apiToken: data.token, user: data.user || { email } });
    $('password').value = '';
    showMain(await getSettings());
  } catch (e) {
    err.textContent = loginErrorText(e, mode, settings.backendUrl);
    err.hidden = false;
  } finally {
    for (const b of [$('sign-in'), $('register')]) b.disabled = false;
  }
}

function loginErrorText(e, mode, url) {
  if (e.kind === 'offline') return `Cannot reach the PaperScout server at ${url}. Start it, or set its address in Settings (gear button).`;
  if (e.kind === 'auth') return 'Wrong email or password.';
  if (e.status === 409) return 'An account with this email already exists. Sign in instead.';
  const details = e.body && e.body.errors ? ` ${flattenErrors(e.body.errors)}` : '';
  return `${mode === 'register' ? 'Could not create the account' : 'Could not sign in'}: ${e.message}${details}`;
}

function flattenErrors(errors) {
  if (typeof errors === 'string') return errors;
  if (Array.isArray(errors)) return errors.map(flattenErrors).join(' ');
  if (errors && typeof errors === 'object') return Object.entries(errors).map(([k, v]) => `${k}: ${flattenErrors(v)}`).join(' ');
  return '';
}

function showMain(settings) {
  $('login').hidden = true;
  $('main').hidden = false;
  $('who').textContent = (settings.user && settings.user.email) || '';
  const selected = document.querySelector('[role=tab][aria-selected=true]');
  loadList(selected ? selected.dataset.list : 'foryou');
  showSyncStatus();
}

async function showSyncStatus() {
  const st = await send(MSG.STATUS);
  const p = $('sync');
  const parts = [];
  if (st.ok && st.paused) parts.push('Tracking is paused (Settings).');
  if (st.ok && st.queued) parts.push(`${st.queued} event${st.queued === 1 ? '' : 's'} waiting to sync${st.lastError ? ` (${st.lastError}; retrying)` : ''}.`);
  if (st.ok && st.notDelivered) parts.push(`${st.notDelivered} event${st.notDelivered === 1 ? '' : 's'} could not be delivered (see Settings).`);
  p.textContent = parts.join(' ');
  p.hidden = !parts.length;
}

// ------------------------------------------------------------------ tabs

function setupTabs() {
  const tabs = [...document.querySelectorAll('[role=tab]')];
  const select = (tab) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
    }
    $('panel').setAttribute('aria-labelledby', tab.id);
    loadList(tab.dataset.list);
  };
  for (const t of tabs) {
    t.addEventListener('click', () => select(t));
    t.addEventListener('keydown', (e) => {
      const i = tabs.indexOf(t);
      let next = null;
      if (e.key === 'ArrowRight') next = tabs[(i + 1) % tabs.length];
      else if (e.key === 'ArrowLeft') next = tabs[(i - 1 + tabs.length) % tabs.length];
      else if (e.key === 'Home') next = tabs[0];
      else if (e.key === 'End') next = tabs[tabs.length - 1];
      if (next) { e.preventDefault(); next.focus(); select(next); }
    });
  }
}

// ------------------------------------------------------------------ lists

let loadSeq = 0; // only the newest load may render (the popup lives only while open)

function setState(text, { error = false, actions = [] } = {}) {
  const s = $('state');
  s.replaceChildren();
  s.hidden = !text;
  s.className = error ? 'state error' : 'state';
  if (text) s.append(text);
  for (const [label, fn] of actions) s.append(el('button', { type: 'button', onclick: fn, text: label }));
}

async function loadList(list) {
  const seq = ++loadSeq;
  const items = $('items');
  const panel = $('panel');
  panel.dataset.list = list;
  panel.setAttribute('aria-busy', 'true');
  items.replaceChildren();
  setState('Loading…');
  const settings = await getSettings();
  try {
    const data = await apiRequest(settings, 'GET', LISTS[list].path);
    if (seq !== loadSeq) return;
    const rows = (data && data.items) || [];
    if (!rows.length) setState(LISTS[list].empty);
    else setState('');
    rows.forEach((row, i) => {
      const paper = row.paper || row;
      if (list === 'saved') paper.saved = true;
      items.append(renderItem(paper, row, list, i + 1));
    });
  } catch (e) {
    if (seq !== loadSeq) return;
    if (e.kind === 'auth') {
      await chrome.storage.local.remove(['apiToken']);
      showLogin(await getSettings(), 'Your session has ended. Sign in again.');
      return;
    }
    if (e.kind === 'offline') {
      setState(`Cannot reach the PaperScout server at ${settings.backendUrl}. Is it running? Papers you open and save are kept and sent when it is back.`,
        { error: true, actions: [['Retry', () => loadList(list)], ['Settings', () => chrome.runtime.openOptionsPage()]] });
    } else {
      setState(`Something went wrong loading this list: ${e.message}`, { error: true, actions: [['Retry', () => loadList(list)]] });
    }
  } finally {
    if (seq === loadSeq) panel.setAttribute('aria-busy', 'false');
  }
}

function renderItem(paper, row, list, rank) {
  const title = paper.title || paper.key || 'Untitled paper';
  const href = paperUrl(paper);
  const link = el('a', { className: 'title', href: href || '#', text: title, target: '_blank', rel: 'noopener' });
  link.addEventListener('click', async (e) => {
    e.preventDefault();
    await send(MSG.CLICK, { paper: { key: paper.key, url: href || paper.url, title: paper.title }, list, rank });
    if (href) chrome.tabs.create({ url: href });
  });
  const li = el('li', { className: 'item', 'data-key': paper.key || '' });
  li.append(el('div', {}, link));
  const authors = authorsText(paper.authors);
  if (authors) li.append(el('div', { className: 'authors', text: authors }));
  const reasons = Array.isArray(row.reasons) ? row.reasons.filter((r) => typeof r === 'string') : [];
  if (reasons.length) {
    const ul = el('ul', { className: 'reasons', 'aria-label': 'Why this paper' });
    for (const r of reasons) ul.append(el('li', { text: r }));
    li.append(ul);
  }
  const actions = el('div', { className: 'actions' });
  actions.append(saveButton(paper, title));
  if (list !== 'saved') actions.append(dismissButton(paper, title, li, list, rank));
  li.append(actions);
  return li;
}

/** Save / Saved toggle: the state shows at once and goes back if the worker could not record it. */
function saveButton(paper, title) {
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
      setState(`Could not ${saved ? 'unsave' : 'save'}: ${reply.message || reply.error}`, { error: true });
    } else if (reply.queued) {
      showSyncStatus();
    }
  });
  return saveBtn;
}

/** Dismiss: the item leaves the list at once (focus moves to a neighbour) and comes back if that failed. */
function dismissButton(paper, title, li, list, rank) {
  const dismissBtn = el('button', { type: 'button', className: 'dismiss', text: 'Dismiss',
    'aria-label': `Dismiss “${title}”: not interested` });
  dismissBtn.addEventListener('click', async () => {
    const after = li.nextElementSibling;
    const next = after || li.previousElementSibling;
    li.remove();
    if (next) (next.querySelector('button.dismiss') || next.querySelector('button'))?.focus();
    if (!$('items').children.length) setState('That was the last one here. Check the other lists.');
    const reply = await send(MSG.DISMISS, { paper: { key: paper.key, url: paper.url, title: paper.title }, list, rank });
    if (!reply.ok) {
      $('items').insertBefore(li, after && after.isConnected ? after : null);
      setState(`Could not dismiss: ${reply.message || reply.error}`, { error: true });
    }
  });
  return dismissBtn;
}

init();
