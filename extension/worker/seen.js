// The "seen" state of the page's paper for the on-page badge: when this reader opened or saved it before, on
// any site (the server knows every open, whichever site it came from). Opens of this visit are left out.

import { apiRequest, keyPath } from '../lib/api.js';
import { getSettings } from '../lib/settings.js';
import { OPEN_DEDUP_MS } from './tabs.js';

/** {last_opened_at, times_opened, saved_at} before this visit, or null (signed out, offline, no key). */
export async function seenState(paper, now = Date.now()) {
  if (!paper || !paper.key) return null;
  const settings = await getSettings();
  if (!settings.apiToken) return null;
  // A reload within OPEN_DEDUP_MS is the same visit (tabs.js): its open is not "before".
  const before = new Date(now - OPEN_DEDUP_MS).toISOString();
  try {
    return await apiRequest(settings, 'GET', `/papers/${keyPath(paper.key)}/seen?before=${encodeURIComponent(before)}`,
      undefined, { timeoutMs: 3000 });
  } catch {
    return null; // the badge then says nothing about the past
  }
}
