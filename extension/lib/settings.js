// Settings live in chrome.storage.local; nothing is kept in globals.
export const DEFAULTS = Object.freeze({
  backendUrl: 'http://127.0.0.1:5000',
  apiToken: null,
  user: null,
  paused: false,
  disabledSites: [],
});

export const SETTING_KEYS = Object.freeze(Object.keys(DEFAULTS));

export function normalizeBackendUrl(raw) {
  const s = String(raw || '').trim();
  if (!s) return DEFAULTS.backendUrl;
  const u = new URL(s);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('The server address must start with http:// or https://');
  return u.href.replace(/\/+$/, '');
}

export async function getSettings(storage = chrome.storage.local) {
  const got = await storage.get(SETTING_KEYS);
  const out = { ...DEFAULTS };
  for (const k of SETTING_KEYS) if (got[k] !== undefined) out[k] = got[k];
  if (!Array.isArray(out.disabledSites)) out.disabledSites = [];
  out.backendUrl = String(out.backendUrl || DEFAULTS.backendUrl).replace(/\/+$/, '');
  return out;
}

/** Per-site switch: disabledSites holds hostnames like "arxiv.org"; subdomains follow their site. */
export function siteEnabled(settings, hostname) {
  const host = String(hostname || '').toLowerCase().replace(/^www\./, '');
  return !(settings.disabledSites || []).some((s) => host === s || host.endsWith(`.${s}`));
}
