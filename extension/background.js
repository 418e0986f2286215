// PaperScout service worker (Firefox: event page). Listeners are registered at top level, synchronously.
// No state in globals: settings, the event queue, the saved-state cache live in chrome.storage.local;
// per-tab data (the paper shown in a tab, recent opens) in chrome.storage.session.

import { MSG } from './lib/messages.js';
import { apiPaper, keyFromUrl, urlForKey } from './lib/detect.js';
import { ApiError, apiRequest, isServerDown, keyPath } from './lib/api.js';
import { getSettings, siteEnabled } from './lib/settings.js';
import {
  MIN_RETRY_MS, QUEUE_KEY, enqueue, flushQueue, makeEvent, readFlushState, readQueue,
} from './lib/queue.js';

const FLUSH_ALARM = 'paperscout-flush';
const MENU_ID = 'paperscout-save';
const OPEN_DEDUP_MS = 10 * 60_000; // a reload of the same paper in the same tab within this time is not a new open
const SAVED_CACHE_KEY = 'savedKeys';
const MENU_PATTERNS = [
  '*://arxiv.org/*', '*://*.arxiv.org/*', '*://huggingface.co/*', '*://openreview.net/*',
  '*://alphaxiv.org/*', '*://*.alphaxiv.org/*', '*://*.semanticscholar.org/*', '*://semanticscholar.org/*',
  'http://127.0.0.1/*', 'http://localhost/*',
];

// storage.session holds per-tab data; fall back to local storage where session storage is missing.
const session = () => chrome.storage.session || chrome.storage.local;

// ---------------------------------------------------------------- listeners (top level)

chrome.runtime.onInstalled.addListener(() => {
  createMenu();
  flush({ force: false });
});

chrome.runtime.onStartup.addListener(() => {
  createMenu();
  flush({ force: true });
});

chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === FLUSH_ALARM) flush({ force: true });
});

chrome.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && changes.apiToken && changes.apiToken.newValue) flush({ force: true });
});

chrome.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  const handler = msg && HANDLERS[msg.type];
  if (!handler) return false;
  Promise.resolve()
    .then(() => handler(msg, sender))
    .then(sendResponse, (err) => {
      console.error('PaperScout:', msg.type, err);
      sendResponse({ ok: false, error: String((err && err.message) || err) });
    });
  return true; // answer asynchronously
});

if (chrome.commands) {
  chrome.commands.onCommand.addListener((command, tab) => {
    if (command === 'toggle-save') toggleSaveInTab(tab && tab.id);
  });
}

if (chrome.contextMenus) {
  chrome.contextMenus.onClicked.addListener((info, tab) => {
    if (info.menuItemId === MENU_ID) saveFromMenu(info, tab);
  });
}

chrome.tabs.onRemoved.addListener((tabId) => {
  forgetTab(tabId);
});

// Every time the worker wakes up, deliver what is waiting (respecting the backoff).
flush({ force: false });

// For tests and debugging from the worker console (module scope is not global).
globalThis.paperscout = { flush, status: () => statusReply() };

// ---------------------------------------------------------------- message handlers

const HANDLERS = {
  [MSG.PAGE_PAPER]: onPagePaper,
  [MSG.SET_SAVED]: (msg) => setSaved(msg.paper, Boolean(msg.saved), msg.source || 'popup'),
  [MSG.DISMISS]: (msg) => dismiss(msg.paper, msg.list, msg.rank),
  [MSG.CLICK]: onClick,
  [MSG.FLUSH]: async () => ({ ok: true, ...(await flush({ force: true })) }),
  [MSG.STATUS]: () => statusReply(),
  [MSG.GET_SAVED]: async (msg) => ({ ok: true, saved: await savedState(msg.paper) }),
};

function validPaper(p) {
  return p && typeof p === 'object' && (typeof p.key === 'string' || typeof p.url === 'string') ? p : null;
}

async function onPagePaper(msg, sender) {
  const paper = validPaper(msg.paper);
  const tabId = sender.tab && sender.tab.id;
  const pageUrl = sender.url || (sender.tab && sender.tab.url) || (paper && paper.url);
  if (!paper || tabId === undefined || !pageUrl) return { ok: false, error: 'bad message' };
  const host = new URL(pageUrl).hostname;
  const settings = await getSettings();
  if (!siteEnabled(settings, host)) return { ok: true, enabled: false, tracked: false };
  await rememberTabPaper(tabId, paper);
  let tracked = false;
  if (!settings.paused && (await isNewOpen(tabId, paper, pageUrl))) {
    await enqueue(chrome.storage.local, [makeEvent('open', paper, { url: pageUrl })]);
    tracked = true;
    flush({ force: false });
  }
  return { ok: true, enabled: true, tracked, paused: settings.paused, signedIn: Boolean(settings.apiToken),
    saved: await savedState(paper) };
}

async function onClick(msg) {
  const paper = validPaper(msg.paper);
  if (!paper) return { ok: false, error: 'bad message' };
  const settings = await getSettings();
  let host = '';
  try { host = new URL(paper.url).hostname; } catch { /* no url */ }
  if (settings.paused || !siteEnabled(settings, host)) return { ok: true, tracked: false };
  const context = { list: String(msg.list || ''), rank: Number.isInteger(msg.rank) ? msg.rank : null };
  await enqueue(chrome.storage.local, [makeEvent('click', paper, context)]);
  flush({ force: false });
  return { ok: true, tracked: true };
}

// ---------------------------------------------------------------- save / unsave / dismiss

/** Are there save/unsave/dismiss events for this paper still waiting in the queue? Then new ones must
 *  queue behind them, or the server would see them out of order. */
async function hasPendingChoice(key) {
  const q = await readQueue(chrome.storage.local);
  return q.some((e) => e.type !== 'open' && e.type !== 'click' && e.paper && e.paper.key === key);
}

/** Direct REST call; when the server is unreachable the event is queued instead (nothing is lost). */
async function setSaved(rawPaper, saved, source) {
  const paper = validPaper(rawPaper);
  if (!paper) return { ok: false, error: 'bad message' };
  const settings = await getSettings();
  if (!settings.apiToken) return { ok: false, error: 'signed-out', message: 'Sign in to PaperScout to save papers.' };
  const type = saved ? 'save' : 'unsave';
  const queueIt = async () => {
    await enqueue(chrome.storage.local, [makeEvent(type, paper, { source })]);
    flush({ force: false });
  };
  let queued = false;
  if (!paper.key || (await hasPendingChoice(paper.key))) {
    await queueIt();
    queued = true;
  } else {
    try {
      // The body's url must name the same paper as the path: send the canonical address for the key.
      const meta = { ...apiPaper(paper), url: urlForKey(paper.key) || undefined };
      delete meta.key;
      if (!meta.url) delete meta.url;
      if (saved) await apiRequest(settings, 'PUT', `/saves/${keyPath(paper.key)}`, { paper: meta });
      else await apiRequest(settings, 'DELETE', `/saves/${keyPath(paper.key)}`);
    } catch (err) {
      if (!saved && err instanceof ApiError && err.status === 404) {
        // not saved on the server: that is the state we wanted
      } else if (isServerDown(err)) {
        await queueIt();
        queued = true;
      } else {
        return { ok: false, error: err.kind || 'error', message: err.message, saved: !saved };
      }
    }
  }
  if (paper.key) {
    await cacheSaved(paper.key, saved);
    await notifyTabs(paper.key, saved);
  }
  return { ok: true, saved, queued };
}

async function dismiss(rawPaper, list, rank) {
  const paper = validPaper(rawPaper);
  if (!paper) return { ok: false, error: 'bad message' };
  const settings = await getSettings();
  if (!settings.apiToken) return { ok: false, error: 'signed-out', message: 'Sign in to PaperScout first.' };
  const context = list ? { list, rank } : undefined;
  const queueIt = async () => {
    await enqueue(chrome.storage.local, [makeEvent('dismiss', paper, context)]);
    flush({ force: false });
    return { ok: true, queued: true };
  };
  if (!paper.key || (await hasPendingChoice(paper.key))) return queueIt();
  try {
    await apiRequest(settings, 'POST', `/papers/${keyPath(paper.key)}/dismiss`, {});
  } catch (err) {
    if (isServerDown(err)) return queueIt();
    return { ok: false, error: err.kind || 'error', message: err.message };
  }
  return { ok: true, queued: false };
}

async function toggleSaveInTab(tabId) {
  if (tabId === undefined || tabId === null) {
    const [tab] = await chrome.tabs.query({ active: true, lastFocusedWindow: true });
    tabId = tab && tab.id;
  }
  const paper = await tabPaper(tabId);
  if (!paper) return { ok: false, error: 'no paper in this tab' };
  return setSaved(paper, !(await savedState(paper)), 'shortcut');
}

async function saveFromMenu(info, tab) {
  const linked = info.linkUrl && keyFromUrl(info.linkUrl);
  const paper = linked ? { key: linked.key, url: urlForKey(linked.key) } : await tabPaper(tab && tab.id);
  if (!paper) return;
  const res = await setSaved(paper, true, 'context-menu');
  if (!res.ok) console.warn('PaperScout: could not save from the context menu:', res.message || res.error);
}

function createMenu() {
  if (!chrome.contextMenus) return;
  chrome.contextMenus.removeAll(() => {
    chrome.contextMenus.create({
      id: MENU_ID,
      title: 'Save paper to PaperScout',
      contexts: ['page', 'link'],
      documentUrlPatterns: MENU_PATTERNS,
    });
  });
}

// ---------------------------------------------------------------- saved-state cache

async function cacheSaved(key, saved) {
  const got = await chrome.storage.local.get(SAVED_CACHE_KEY);
  const cache = got[SAVED_CACHE_KEY] || {};
  if (saved) cache[key] = Date.now(); else delete cache[key];
  await chrome.storage.local.set({ [SAVED_CACHE_KEY]: cache });
}

/** The saved state of a paper: the server's answer when it can be had quickly, else the local cache. */
async function savedState(paper) {
  if (!paper || !paper.key) return false;
  const settings = await getSettings();
  const got = await chrome.storage.local.get(SAVED_CACHE_KEY);
  const cached = Boolean((got[SAVED_CACHE_KEY] || {})[paper.key]);
  if (!settings.apiToken || (await hasPendingChoice(paper.key))) return cached;
  try {
    const p = await apiRequest(settings, 'GET', `/papers/${keyPath(paper.key)}`, undefined, { timeoutMs: 3000 });
    const remote = p && (p.paper ? p.paper.saved : p.saved);
    if (typeof remote === 'boolean') {
      if (remote !== cached) await cacheSaved(paper.key, remote);
      return remote;
    }
  } catch { /* unknown paper (404) or offline: use the cache */ }
  return cached;
}

async function notifyTabs(key, saved) {
  const got = await session().get('tabPapers');
  const tabs = got.tabPapers || {};
  for (const [tabId, p] of Object.entries(tabs)) {
    if (p && p.key === key) {
      chrome.tabs.sendMessage(Number(tabId), { type: MSG.SAVED_CHANGED, key, saved }).catch(() => {});
    }
  }
}

// ---------------------------------------------------------------- per-tab data

async function rememberTabPaper(tabId, paper) {
  const got = await session().get('tabPapers');
  const tabs = got.tabPapers || {};
  tabs[tabId] = apiPaper(paper);
  await session().set({ tabPapers: tabs });
}

async function tabPaper(tabId) {
  if (tabId === undefined || tabId === null) return null;
  const got = await session().get('tabPapers');
  return (got.tabPapers || {})[tabId] || null;
}

async function forgetTab(tabId) {
  const got = await session().get(['tabPapers', 'recentOpens']);
  const tabs = got.tabPapers || {};
  delete tabs[tabId];
  const opens = Object.fromEntries(Object.entries(got.recentOpens || {})
    .filter(([k]) => !k.startsWith(`${tabId}|`)));
  await session().set({ tabPapers: tabs, recentOpens: opens });
}

/** One open per paper per visit: same tab + same paper within OPEN_DEDUP_MS is a reload, not a new open. */
async function isNewOpen(tabId, paper, pageUrl) {
  const id = `${tabId}|${paper.key || pageUrl}`;
  const now = Date.now();
  const got = await session().get('recentOpens');
  const opens = Object.fromEntries(Object.entries(got.recentOpens || {})
    .filter(([, t]) => now - t < OPEN_DEDUP_MS));
  const isNew = !opens[id];
  opens[id] = now;
  await session().set({ recentOpens: opens });
  return isNew;
}

// ---------------------------------------------------------------- delivery

async function flush({ force = false } = {}) {
  try {
    const settings = await getSettings();
    const res = await flushQueue({ storage: chrome.storage.local, settings, fetchImpl: fetch, force });
    if (res.remaining > 0 && res.status !== 'no-token' && res.status !== 'auth') {
      const when = Math.max(res.nextAttemptAt || 0, Date.now() + MIN_RETRY_MS);
      await chrome.alarms.create(FLUSH_ALARM, { when });
    } else if (res.remaining === 0) {
      await chrome.alarms.clear(FLUSH_ALARM);
    }
    return res;
  } catch (err) {
    console.error('PaperScout: flush failed', err);
    return { status: 'error', error: String(err) };
  }
}

async function statusReply() {
  const settings = await getSettings();
  const queue = await readQueue(chrome.storage.local);
  const state = await readFlushState(chrome.storage.local);
  return {
    ok: true,
    signedIn: Boolean(settings.apiToken),
    paused: settings.paused,
    backendUrl: settings.backendUrl,
    queued: queue.length,
    queueKey: QUEUE_KEY,
    lastError: state.lastError,
    nextAttemptAt: state.nextAttemptAt,
    lastSuccessAt: state.lastSuccessAt,
  };
}
