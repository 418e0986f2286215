// Popup: sign in / register, then For you / New / Trending / Saved, search, and "More like this". Lists are
// read from the API directly (popup/lists.js); save, unsave, dismiss and click go through the worker (it falls
// back to the queue when offline). The DOM is built with createElement/textContent only.

import { ApiError, apiRequest } from '../lib/api.js';
import { MSG, send } from '../lib/messages.js';
import { DEFAULT_SINCE, SINCE_CHOICES } from '../lib/pages.js';
import { getSettings } from '../lib/settings.js';
import { setListHooks, showView } from './lists.js';

const $ = (id) => document.getElementById(id);
const SINCE_KEY = 'popupNewSince'; // the New tab's 1d/7d choice, kept in chrome.storage.local

// ------------------------------------------------------------------ views

async function init() {
  $('open-options').addEventListener('click', () => chrome.runtime.openOptionsPage());
  $('login-form').addEventListener('submit', (e) => { e.preventDefault(); signIn('login'); });
  $('register').addEventListener('click', () => signIn('register'));
  setupTabs();
  setupSearch();
  await setupSince();
  setListHooks({
    onSignedOut: async () => {
      await chrome.storage.local.remove(['apiToken']);
      showLogin(await getSettings(), 'Your session has ended. Sign in again.');
    },
    onQueued: () => showSyncStatus(),
    onSimilar: (paper) => showAside({ list: 'similar', key: paper.key, title: paper.title || paper.key },
      `More like “${paper.title || paper.key}”`),
  });
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
  showTab(selectedTab());
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

// ------------------------------------------------------------------ tabs, New's window, search

const tabs = () => [...document.querySelectorAll('[role=tab]')];
const selectedTab = () => document.querySelector('[role=tab][aria-selected=true]') || tabs()[0];

function sinceChoice() {
  const checked = document.querySelector('input[name=since]:checked');
  return checked ? checked.value : DEFAULT_SINCE;
}

/** Show a tab's list (leaving search results or "more like this"). */
function showTab(tab) {
  for (const t of tabs()) {
    const on = t === tab;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
  }
  $('view-bar').hidden = true;
  $('panel').setAttribute('role', 'tabpanel');
  $('panel').setAttribute('aria-labelledby', tab.id);
  const list = tab.dataset.list;
  $('since').hidden = list !== 'new';
  showView(list === 'new' ? { list, since: sinceChoice() } : { list });
}

/** Search results or papers like one paper: in the panel, under a heading, with a way back to the tab. */
function showAside(view, heading) {
  $('since').hidden = true;
  $('view-title').textContent = heading;
  $('view-bar').hidden = false;
  $('panel').setAttribute('role', 'region');
  $('panel').setAttribute('aria-labelledby', 'view-title');
  showView(view);
  $('back').focus();
}

function setupTabs() {
  for (const t of tabs()) {
    t.addEventListener('click', () => showTab(t));
    t.addEventListener('keydown', (e) => {
      const all = tabs();
      const i = all.indexOf(t);
      let next = null;
      if (e.key === 'ArrowRight') next = all[(i + 1) % all.length];
      else if (e.key === 'ArrowLeft') next = all[(i - 1 + all.length) % all.length];
      else if (e.key === 'Home') next = all[0];
      else if (e.key === 'End') next = all[all.length - 1];
      if (next) { e.preventDefault(); next.focus(); showTab(next); }
    });
  }
  $('back').addEventListener('click', () => {
    $('search').value = '';
    showTab(selectedTab());
    selectedTab().focus();
  });
}

async function setupSince() {
  const got = await chrome.storage.local.get(SINCE_KEY);
  const since = SINCE_CHOICES.includes(got[SINCE_KEY]) ? got[SINCE_KEY] : DEFAULT_SINCE;
  for (const input of document.querySelectorAll('input[name=since]')) {
    input.checked = input.value === since;
    input.addEventListener('change', async () => {
      await chrome.storage.local.set({ [SINCE_KEY]: input.value });
      showTab($('tab-new'));
    });
  }
}

function setupSearch() {
  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const q = $('search').value.trim();
    if (!q) {
      showTab(selectedTab());
      return;
    }
    showAside({ list: 'search', q }, `Search results for “${q}”`);
  });
  $('search').addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && $('search').value) {
      e.preventDefault();
      $('search').value = '';
      showTab(selectedTab());
    }
  });
}

init();
