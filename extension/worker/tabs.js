// Per-tab data in chrome.storage.session (it dies with the browser session): the paper shown in each tab,
// and the recent opens that make a reload of the same paper in the same tab one visit, not a new open.

import { apiPaper } from '../lib/detect.js';
import { MSG } from '../lib/messages.js';

export const OPEN_DEDUP_MS = 10 * 60_000; // a reload of the same paper in the same tab within this time is not a new open

// storage.session holds per-tab data; fall back to local storage where session storage is missing.
const session = () => chrome.storage.session || chrome.storage.local;

export async function rememberTabPaper(tabId, paper) {
  const got = await session().get('tabPapers');
  const tabs = got.tabPapers || {};
  tabs[tabId] = apiPaper(paper);
  await session().set({ tabPapers: tabs });
}

export async function tabPaper(tabId) {
  if (tabId === undefined || tabId === null) return null;
  const got = await session().get('tabPapers');
  return (got.tabPapers || {})[tabId] || null;
}

export async function forgetTab(tabId) {
  const got = await session().get(['tabPapers', 'recentOpens']);
  const tabs = got.tabPapers || {};
  delete tabs[tabId];
  const opens = Object.fromEntries(Object.entries(got.recentOpens || {})
    .filter(([k]) => !k.startsWith(`${tabId}|`)));
  await session().set({ tabPapers: tabs, recentOpens: opens });
}

/** One open per paper per visit: same tab + same paper within OPEN_DEDUP_MS is a reload, not a new open. */
export async function isNewOpen(tabId, paper, pageUrl) {
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

/** Tell the tabs showing this paper that its saved state changed (their badges follow). */
export async function notifyTabs(key, saved) {
  const got = await session().get('tabPapers');
  const tabs = got.tabPapers || {};
  for (const [tabId, p] of Object.entries(tabs)) {
    if (p && p.key === key) {
      chrome.tabs.sendMessage(Number(tabId), { type: MSG.SAVED_CHANGED, key, saved }).catch(() => {});
    }
  }
}
