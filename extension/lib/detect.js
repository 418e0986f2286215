// Paper detection. Pure module: no chrome.* APIs, no network. It works on anything that looks like a
// DOM Document (the page in a content script, or a linkedom document in node tests) plus a URL.
//
// Canonical keys: `arxiv:<id without version>`, `openreview:<id>`, `doi:<lower-cased doi>`.

const NEW_ARXIV = /^(\d{4}\.\d{4,5})(v\d+)?$/;
// Old style: archive[.SUBJECT]/YYMMNNN, e.g. math/0301001, math.GT/0309136, hep-th/9901001v2
const OLD_ARXIV = /^([a-z][a-z-]*(?:\.[A-Za-z]{2})?\/\d{7})(v\d+)?$/;

/** Parse an arXiv identifier (optionally prefixed with "arXiv:" and/or suffixed with ".pdf").
 *  Returns {id, version} with the version stripped from id, or null. */
export function parseArxivId(raw) {
  if (typeof raw !== 'string') return null;
  let s = raw.trim();
  s = s.replace(/^arxiv:\s*/i, '').replace(/\.pdf$/i, '').replace(/\/+$/, '');
  let m = NEW_ARXIV.exec(s);
  if (m) return { id: m[1], version: m[2] || null };
  m = OLD_ARXIV.exec(s);
  if (m) return { id: m[1], version: m[2] || null };
  return null;
}

/** DOI normalisation: strip resolver prefixes and "doi:", lower-case. */
export function normalizeDoi(raw) {
  if (typeof raw !== 'string') return null;
  let s = raw.trim();
  try { s = decodeURIComponent(s); } catch { /* keep as is */ }
  s = s.replace(/^https?:\/\/(dx\.)?doi\.org\//i, '').replace(/^doi:\s*/i, '');
  const m = /^(10\.\d{4,9}\/\S+)$/.exec(s);
  return m ? m[1].toLowerCase() : null;
}

export function doiKey(raw) {
  const d = normalizeDoi(raw);
  return d ? `doi:${d}` : null;
}

function hostOf(u) {
  return u.hostname.toLowerCase().replace(/^www\./, '');
}

function toUrl(url) {
  if (url instanceof URL) return url;
  try { return new URL(String(url)); } catch { return null; }
}

/** Identify a paper from its URL alone. Returns {key, source, version?} or null.
 *  Used for the page itself and for links (context menu, Semantic Scholar pages). */
export function keyFromUrl(url) {
  const u = toUrl(url);
  if (!u) return null;
  const host = hostOf(u);
  const path = u.pathname;
  if (host === 'arxiv.org' || host === 'export.arxiv.org') {
    const m = /^\/(?:abs|pdf|html)\/(.+)$/.exec(path);
    if (!m) return null;
    // /html/<id>/<section>... : keep only the id part (old ids contain exactly one slash)
    let rest = decodeURIComponent(m[1]);
    let parsed = parseArxivId(rest);
    if (!parsed) {
      const parts = rest.split('/');
      parsed = parseArxivId(parts[0]) || parseArxivId(parts.slice(0, 2).join('/'));
    }
    return parsed ? { key: `arxiv:${parsed.id}`, source: 'arxiv', version: parsed.version } : null;
  }
  if (host === 'huggingface.co') {
    const m = /^\/papers\/([^/?#]+)\/?$/.exec(path);
    const parsed = m && parseArxivId(decodeURIComponent(m[1]));
    return parsed ? { key: `arxiv:${parsed.id}`, source: 'huggingface', version: parsed.version } : null;
  }
  if (host === 'alphaxiv.org') {
    const m = /^\/(?:abs|overview|pdf)\/(.+?)\/?$/.exec(path);
    const parsed = m && parseArxivId(decodeURIComponent(m[1]));
    return parsed ? { key: `arxiv:${parsed.id}`, source: 'alphaxiv', version: parsed.version } : null;
  }
  if (host === 'openreview.net') {
    if (path !== '/forum' && path !== '/pdf') return null;
    const id = u.searchParams.get('id');
    return id && /^[A-Za-z0-9_-]+$/.test(id) ? { key: `openreview:${id}`, source: 'openreview' } : null;
  }
  if (host === 'doi.org' || host === 'dx.doi.org') {
    const k = doiKey(path.slice(1));
    return k ? { key: k, source: 'doi' } : null;
  }
  return null;
}

/** Is this URL on one of the supported paper sites? (Used to decide whether to look at all.) */
export const PAPER_SITES = Object.freeze([
  'arxiv.org', 'huggingface.co', 'openreview.net', 'alphaxiv.org', 'semanticscholar.org',
]);

export function siteOf(url) {
  const u = toUrl(url);
  if (!u) return null;
  const host = hostOf(u);
  return PAPER_SITES.find((s) => host === s || host.endsWith(`.${s}`)) || null;
}

// ---- reading the document ----

function metaValues(doc, name) {
  const out = [];
  if (!doc || typeof doc.querySelectorAll !== 'function') return out;
  for (const el of doc.querySelectorAll('meta')) {
    const n = el.getAttribute('name') || el.getAttribute('property') || '';
    if (n.toLowerCase() === name) {
      const v = (el.getAttribute('content') || '').trim();
      if (v) out.push(v);
    }
  }
  return out;
}

function first(doc, ...names) {
  for (const n of names) {
    const v = metaValues(doc, n);
    if (v.length) return v[0];
  }
  return null;
}

function clean(text, max) {
  if (typeof text !== 'string') return null;
  const s = text.replace(/\s+/g, ' ').trim();
  if (!s) return null;
  return max && s.length > max ? s.slice(0, max) : s;
}

/** "Vaswani, Ashish" -> "Ashish Vaswani"; other shapes are kept. */
export function normalizeAuthor(name) {
  const s = clean(name, 300);
  if (!s) return null;
  const parts = s.split(',');
  if (parts.length === 2 && parts[0].trim() && parts[1].trim()) return `${parts[1].trim()} ${parts[0].trim()}`;
  return s;
}

/** "2017/06/12", "2017-06-12", "2017/06", "2017" -> ISO date "2017-06-12" (month/day default to 01). */
export function normalizeDate(raw) {
  if (typeof raw !== 'string') return null;
  const m = /^(\d{4})(?:[-/](\d{1,2}))?(?:[-/](\d{1,2}))?/.exec(raw.trim());
  if (!m) return null;
  const pad = (x) => String(x || 1).padStart(2, '0');
  const mm = Number(m[2] || 1); const dd = Number(m[3] || 1);
  if (mm < 1 || mm > 12 || dd < 1 || dd > 31) return null;
  return `${m[1]}-${pad(m[2])}-${pad(m[3])}`;
}

/** Strip the site decorations that page titles and og:title carry. */
export function cleanTitle(raw) {
  const t = clean(raw, 1000);
  if (!t) return null;
  return clean(t
    .replace(/^\[[^\]]+\]\s*/, '') // arXiv "[2401.01234] Title", Semantic Scholar "[PDF] Title"
    .replace(/^Paper page - /, '') // Hugging Face
    .replace(/\s*[|\u2013-]\s*(OpenReview|Semantic Scholar|alphaXiv|arXiv)\s*$/i, ''), 1000);
}

/** Links on the page that identify the paper (Semantic Scholar and other aggregator pages). */
function keyFromLinks(doc) {
  if (!doc || typeof doc.querySelectorAll !== 'function') return null;
  let doi = null;
  for (const a of doc.querySelectorAll('a[href]')) {
    const href = a.getAttribute('href') || '';
    if (/arxiv\.org\/(abs|pdf)\//i.test(href)) {
      const k = keyFromUrl(href.startsWith('//') ? `https:${href}` : href);
      if (k) return k.key;
    }
    if (!doi && /doi\.org\/10\./i.test(href)) doi = doiKey(href.replace(/^.*?doi\.org\//i, ''));
  }
  return doi;
}

/**
 * Detect the paper shown by a page.
 * @param {Document} doc  a DOM document (or linkedom document)
 * @param {string|URL} url  the page URL (defaults to doc.URL / doc.location)
 * @returns {null | {key: string|null, url: string, source: string, title?, abstract?, authors?, keywords?,
 *           published_at?, doi?, pdf_url?, version?}}
 */
export function detectPaper(doc, url) {
  const u = toUrl(url || (doc && (doc.URL || (doc.location && doc.location.href))));
  if (!u) return null;
  const site = siteOf(u);
  const fromUrl = keyFromUrl(u);

  const metaArxiv = first(doc, 'citation_arxiv_id');
  const metaDoi = first(doc, 'citation_doi', 'dc.identifier', 'prism.doi');
  const metaTitle = first(doc, 'citation_title');
  const pdfUrl = first(doc, 'citation_pdf_url');

  let key = null; let version = fromUrl ? fromUrl.version || null : null;
  if (fromUrl) key = fromUrl.key;
  if (!key && metaArxiv) {
    const p = parseArxivId(metaArxiv);
    if (p) { key = `arxiv:${p.id}`; version = version || p.version; }
  }
  if (!key && pdfUrl) {
    const k = keyFromUrl(pdfUrl);
    if (k && k.key.startsWith('arxiv:')) key = k.key;
  }
  if (!key && metaDoi) key = doiKey(metaDoi);
  const isSemanticScholarPaper = site === 'semanticscholar.org' && /^\/paper\//.test(u.pathname);
  if (!key && isSemanticScholarPaper) key = keyFromLinks(doc);

  // A page is a paper page when it has an identifier, or (on a supported site) citation metadata.
  if (!key && !(metaTitle && (site || metaArxiv || metaDoi)) && !(isSemanticScholarPaper && metaTitle)) {
    return null;
  }

  const authors = metaValues(doc, 'citation_author').map(normalizeAuthor).filter(Boolean).slice(0, 100);
  const keywords = metaValues(doc, 'citation_keywords')
    .flatMap((k) => k.split(/[;,]/)).map((k) => clean(k, 100)).filter(Boolean).slice(0, 50);
  const published = normalizeDate(first(doc, 'citation_date', 'citation_publication_date',
    'citation_online_date', 'citation_cover_date') || '');
  const title = clean(metaTitle, 1000) || cleanTitle(first(doc, 'og:title', 'twitter:title'))
    || cleanTitle(doc && doc.title);
  const abstract = clean(first(doc, 'citation_abstract', 'dc.description'), 20000)
    || clean(first(doc, 'og:description', 'description', 'twitter:description'), 20000);

  const paper = {
    key,
    url: canonicalUrl(u, key),
    source: fromUrl ? fromUrl.source : (site ? site.split('.')[0] : (metaArxiv ? 'arxiv' : 'web')),
  };
  if (title) paper.title = title;
  if (abstract) paper.abstract = abstract;
  if (authors.length) paper.authors = authors;
  if (keywords.length) paper.keywords = keywords;
  if (published) paper.published_at = published;
  if (version) paper.version = version;
  if (metaDoi && normalizeDoi(metaDoi)) paper.doi = normalizeDoi(metaDoi);
  if (pdfUrl) paper.pdf_url = pdfUrl;
  return paper;
}

/** The canonical web address of a paper key (what the backend also derives from the key): the one rule of
 *  the extension, for the events and saves it sends and for the links in the popup. */
export function urlForKey(key) {
  if (typeof key !== 'string') return null;
  if (key.startsWith('arxiv:')) return `https://arxiv.org/abs/${key.slice(6)}`;
  if (key.startsWith('openreview:')) return `https://openreview.net/forum?id=${encodeURIComponent(key.slice(11))}`;
  if (key.startsWith('doi:')) return `https://doi.org/${key.slice(4)}`;
  return null;
}

/** The URL to store for a paper: the canonical address for a known key (the page itself goes into the
 *  event's context), else the page URL without its fragment. */
export function canonicalUrl(u, key) {
  const byKey = urlForKey(key);
  if (byKey) return byKey;
  const url = toUrl(u);
  if (!url) return null;
  url.hash = '';
  return url.href;
}

/** Fields the backend accepts in `paper` objects (events and saves). */
export function apiPaper(paper) {
  if (!paper) return null;
  const out = {};
  for (const f of ['key', 'url', 'title', 'abstract', 'authors', 'keywords', 'published_at', 'source']) {
    if (paper[f] !== undefined && paper[f] !== null) out[f] = paper[f];
  }
  return out;
}
