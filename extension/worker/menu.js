// The context menu: "Save paper to PaperScout" on a paper page, or on a link to a paper.

import { keyFromUrl, urlForKey } from '../lib/detect.js';
import { setSaved } from './saves.js';
import { tabPaper } from './tabs.js';

export const MENU_ID = 'paperscout-save';
// The paper sites only (as the content scripts): no loopback pages.
export const MENU_PATTERNS = Object.freeze([
  '*://arxiv.org/*', '*://*.arxiv.org/*', '*://huggingface.co/*', '*://openreview.net/*',
  '*://alphaxiv.org/*', '*://*.alphaxiv.org/*', '*://*.semanticscholar.org/*', '*://semanticscholar.org/*',
]);

export function createMenu() {
  if (!chrome.contextMenus) return;
  chrome.contextMenus.removeAll(() => {
    chrome.contextMenus.create({
      id: MENU_ID,
      title: 'Save paper to PaperScout',
      contexts: ['page', 'link'],
      documentUrlPatterns: [...MENU_PATTERNS],
    });
  });
}

export async function saveFromMenu(info, tab) {
  const linked = info.linkUrl && keyFromUrl(info.linkUrl);
  const paper = linked ? { key: linked.key, url: urlForKey(linked.key) } : await tabPaper(tab && tab.id);
  if (!paper) return;
  const res = await setSaved(paper, true, 'context-menu');
  if (!res.ok) console.warn('PaperScout: could not save from the context menu:', res.message || res.error);
}
