// Save, unsave and dismiss: the user's explicit choices. They go straight to the REST API, and are queued
// as events when the server cannot be reached, so nothing is lost. The saved state of each paper is cached
// in chrome.storage.local (savedKeys) for when the server cannot be asked.

import { ApiError, apiRequest, isServerDown, keyPath } from '../lib/api.js';
import { apiPaper, urlForKey } from '../lib/detect.js';
import { isChoice, readQueue } from '../lib/queue.js';
import { getSettings } from '../lib/settings.js';
import { queueEvent } from './delivery.js';
import { notifyTabs, tabPaper } from './tabs.js';

const SAVED_CACHE_KEY = 'savedKeys';
export const BAD_MESSAGE = Object.freeze({ ok: false, error: 'bad message' });

export function validPaper(p) {
  return p && typeof p === 'object' && (typeof p.key === 'string' || typeof p.url === 'string') ? p : null;
}

/** Are there save/unsave/dismiss events for this paper still waiting in the queue? Then new ones must
 *  queue behind them, or the server would see them out of order. */
async function hasPendingChoice(key) {
  const q = await readQueue(chrome.storage.local);
  return q.some((e) => isChoice(e) && e.paper && e.paper.key === key);
}

/**
 * Send it or queue it: run the direct API request for a choice, or queue the choice as an event when the
 * server cannot be reached, when the paper has no key the API can name, or when an earlier choice for the
 * paper still waits in the queue. Returns {queued}; other API errors are thrown.
 */
async function sendOrQueue(type, paper, context, request) {
  if (paper.key && !(await hasPendingChoice(paper.key))) {
    try {
      await request();
      return { queued: false };
    } catch (err) {
      if (!isServerDown(err)) throw err;
    }
  }
  await queueEvent(type, paper, context);
  return { queued: true };
}

async function saveRequest(settings, paper, saved) {
  const path = `/saves/${keyPath(paper.key)}`;
  if (!saved) {
    try {
      await apiRequest(settings, 'DELETE', path);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err; // not saved there: the state we want
    }
    return;
  }
  // The body's url must name the same paper as the path: send the canonical address for the key.
  const meta = { ...apiPaper(paper), url: urlForKey(paper.key) || undefined };
  delete meta.key;
  if (!meta.url) delete meta.url;
  await apiRequest(settings, 'PUT', path, { paper: meta });
}

export async function setSaved(rawPaper, saved, source) {
  const paper = validPaper(rawPaper);
  if (!paper) return BAD_MESSAGE;
  const settings = await getSettings();
  if (!settings.apiToken) return { ok: false, error: 'signed-out', message: 'Sign in to PaperScout to save papers.' };
  let queued;
  try {
    ({ queued } = await sendOrQueue(saved ? 'save' : 'unsave', paper, { source },
      () => saveRequest(settings, paper, saved)));
  } catch (err) {
    return { ok: false, error: err.kind || 'error', message: err.message, saved: !saved };
  }
  if (paper.key) {
    await cacheSaved(paper.key, saved);
    await notifyTabs(paper.key, saved);
  }
  return { ok: true, saved, queued };
}

export async function dismiss(rawPaper, list, rank) {
  const paper = validPaper(rawPaper);
  if (!paper) return BAD_MESSAGE;
  const settings = await getSettings();
  if (!settings.apiToken) return { ok: false, error: 'signed-out', message: 'Sign in to PaperScout first.' };
  const context = list ? { list, rank } : undefined;
  try {
    const { queued } = await sendOrQueue('dismiss', paper, context,
      () => apiRequest(settings, 'POST', `/papers/${keyPath(paper.key)}/dismiss`, {}));
    return { ok: true, queued };
  } catch (err) {
    return { ok: false, error: err.kind || 'error', message: err.message };
  }
}

export async function toggleSaveInTab(tabId) {
  if (tabId === undefined || tabId === null) {
    const [tab] = await chrome.tabs.query({ active: true, lastFocusedWindow: true });
    tabId = tab && tab.id;
  }
  const paper = await tabPaper(tabId);
  if (!paper) return { ok: false, error: 'no paper in this tab' };
  return setSaved(paper, !(await savedState(paper)), 'shortcut');
}

async function cacheSaved(key, saved) {
  const got = await chrome.storage.local.get(SAVED_CACHE_KEY);
  const cache = got[SAVED_CACHE_KEY] || {};
  if (saved) cache[key] = Date.now(); else delete cache[key];
  await chrome.storage.local.set({ [SAVED_CACHE_KEY]: cache });
}

/** The saved state of a paper: the server's answer when it can be had quickly, else the local cache. */
export async function savedState(paper) {
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
