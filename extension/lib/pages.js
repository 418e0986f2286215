// The popup's lists as API requests, and how each one pages. Pure module: no chrome.* calls, no DOM.
//
// A view is one list the popup shows: {list: 'foryou' | 'new' | 'trending' | 'saved'} (the tabs), with
// `since` ('1d' | '7d') for 'new'; {list: 'search', q}; or {list: 'similar', key, title}.
// A page is where the next request starts: saved papers page with the API's cursor ({cursor}); the ranked
// lists and search return the top `limit` of a ranking the server computes afresh, so "More" asks for the
// top limit + PAGE_SIZE and shows the papers not shown yet ({limit}), up to the API's largest limit.

import { keyPath } from './api.js';

export const PAGE_SIZE = 20;
export const MAX_LIMIT = 100; // the API's largest `limit`
export const SINCE_CHOICES = Object.freeze(['1d', '7d']);
export const DEFAULT_SINCE = '1d';

export function firstPage(view) {
  return view.list === 'saved' ? { cursor: null } : { limit: PAGE_SIZE };
}

/** The API path (below /api/v1) of this page of this view. */
export function requestPath(view, page) {
  const limit = `limit=${page.limit}`;
  switch (view.list) {
    case 'foryou': return `/recommendations?${limit}`;
    case 'new': return `/recommendations?since=${SINCE_CHOICES.includes(view.since) ? view.since : DEFAULT_SINCE}&${limit}`;
    case 'trending': return `/trending?window=7d&${limit}`;
    case 'saved': return `/saves?limit=${PAGE_SIZE}${page.cursor ? `&cursor=${encodeURIComponent(page.cursor)}` : ''}`;
    case 'search': return `/papers?q=${encodeURIComponent(view.q)}&${limit}`;
    case 'similar': return `/papers/${keyPath(view.key)}/similar?${limit}`;
    default: throw new Error(`Unknown list: ${view.list}`);
  }
}

/** The page after this one, or null when the list has no more: `rowCount` rows came back for `page`. */
export function nextPage(view, page, data, rowCount) {
  if (view.list === 'saved') return data && data.next_cursor ? { cursor: data.next_cursor } : null;
  if (rowCount < page.limit || page.limit >= MAX_LIMIT) return null;
  return { limit: Math.min(page.limit + PAGE_SIZE, MAX_LIMIT) };
}

/** The rows of an answer whose papers are not shown yet (`shown`: a Set of keys); adds theirs to `shown`. */
export function unseenRows(rows, shown) {
  const out = [];
  for (const row of Array.isArray(rows) ? rows : []) {
    const paper = row && (row.paper || row);
    const key = paper && paper.key;
    if (!key || shown.has(key)) continue;
    shown.add(key);
    out.push(row);
  }
  return out;
}

const DAY_FORMAT = { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' };

/** A paper's date as readers write it ("12 Nov 2025"), or '' when it has none (or an unreadable one). */
export function paperDate(iso) {
  if (typeof iso !== 'string' || !iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleDateString('en-GB', DAY_FORMAT);
}
