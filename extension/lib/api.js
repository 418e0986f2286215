// Minimal client for the PaperScout JSON API (/api/v1). Used by the worker, the popup and the options page.

export class ApiError extends Error {
  /** kind: 'offline' (server unreachable), 'auth' (401/403), 'http' (other non-2xx), 'config' (no server set) */
  constructor(kind, message, { status = 0, body = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.kind = kind;
    this.status = status;
    this.body = body;
  }
}

export const keyPath = (key) => encodeURIComponent(key);

/**
 * @param {{backendUrl: string, apiToken?: string}} settings
 * @param {string} method
 * @param {string} path  path below /api/v1, starting with "/"
 * @param {object} [body]
 * @param {{fetchImpl?: Function, timeoutMs?: number}} [opts]
 */
export async function apiRequest(settings, method, path, body, opts = {}) {
  const fetchImpl = opts.fetchImpl || globalThis.fetch.bind(globalThis);
  const base = String(settings.backendUrl || '').replace(/\/+$/, '');
  if (!base) throw new ApiError('config', 'No PaperScout server is set. Open Settings to set one.');
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (settings.apiToken) headers.Authorization = `Bearer ${settings.apiToken}`;
  const ctrl = typeof AbortController !== 'undefined' ? new AbortController() : null;
  const timer = ctrl ? setTimeout(() => ctrl.abort(), opts.timeoutMs || 15000) : null;
  let res;
  try {
    res = await fetchImpl(`${base}/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: ctrl ? ctrl.signal : undefined,
      credentials: 'omit',
    });
  } catch (err) {
    throw new ApiError('offline', `Cannot reach the PaperScout server at ${base}.`);
  } finally {
    if (timer) clearTimeout(timer);
  }
  let data = null;
  if (res.status !== 204) {
    const text = await res.text();
    if (text) {
      try { data = JSON.parse(text); } catch { data = { message: text.slice(0, 200) }; }
    }
  }
  if (res.ok) return data;
  const message = (data && (data.message || data.error)) || `The server answered ${res.status}.`;
  if (res.status === 401 || res.status === 403) throw new ApiError('auth', message, { status: res.status, body: data });
  throw new ApiError('http', message, { status: res.status, body: data });
}

export const isServerDown = (err) => err instanceof ApiError
  && (err.kind === 'offline' || err.status >= 500 || err.status === 429 || err.status === 408);
