import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  detectPaper, keyFromUrl, normalizeDate, normalizeDoi, parseArxivId, siteOf,
} from '../../extension/lib/detect.js';
import { fixture } from './helpers.js';

test('arXiv ids: new and old style, versions stripped', () => {
  assert.deepEqual(parseArxivId('2401.01234'), { id: '2401.01234', version: null });
  assert.deepEqual(parseArxivId('2401.01234v3'), { id: '2401.01234', version: 'v3' });
  assert.deepEqual(parseArxivId('1501.0123'), { id: '1501.0123', version: null });
  assert.deepEqual(parseArxivId('math/0301001'), { id: 'math/0301001', version: null });
  assert.deepEqual(parseArxivId('hep-th/9901001v2'), { id: 'hep-th/9901001', version: 'v2' });
  assert.deepEqual(parseArxivId('math.GT/0309136'), { id: 'math.GT/0309136', version: null });
  assert.deepEqual(parseArxivId('arXiv:2401.01234v1'), { id: '2401.01234', version: 'v1' });
  assert.equal(parseArxivId('2401.012'), null);
  assert.equal(parseArxivId('hello/world'), null);
  assert.equal(parseArxivId(''), null);
});

test('keys from arxiv.org URLs: abs, pdf (with and without .pdf), html', () => {
  const k = (u) => keyFromUrl(u) && keyFromUrl(u).key;
  assert.equal(k('https://arxiv.org/abs/2401.01234'), 'arxiv:2401.01234');
  assert.equal(k('https://arxiv.org/abs/2401.01234v3'), 'arxiv:2401.01234');
  assert.equal(k('https://arxiv.org/pdf/2401.01234v2'), 'arxiv:2401.01234');
  assert.equal(k('https://arxiv.org/pdf/2401.01234v2.pdf'), 'arxiv:2401.01234');
  assert.equal(k('https://arxiv.org/pdf/2401.01234.pdf'), 'arxiv:2401.01234');
  assert.equal(k('https://arxiv.org/html/2401.01234v1'), 'arxiv:2401.01234');
  assert.equal(k('https://arxiv.org/html/2401.01234v1/#S2'), 'arxiv:2401.01234');
  assert.equal(k('https://arxiv.org/html/2401.01234v1/S2.html'), 'arxiv:2401.01234');
  assert.equal(k('https://arxiv.org/abs/math/0301001'), 'arxiv:math/0301001');
  assert.equal(k('https://arxiv.org/abs/hep-th/9901001v2'), 'arxiv:hep-th/9901001');
  assert.equal(k('https://arxiv.org/pdf/hep-th/9901001v2.pdf'), 'arxiv:hep-th/9901001');
  assert.equal(k('https://www.arxiv.org/abs/2401.01234'), 'arxiv:2401.01234');
  assert.equal(k('https://export.arxiv.org/abs/2401.01234'), 'arxiv:2401.01234');
  assert.equal(keyFromUrl('https://arxiv.org/abs/2401.01234v3').version, 'v3');
  assert.equal(k('https://arxiv.org/list/cs.CL/recent'), null);
  assert.equal(k('https://arxiv.org/'), null);
});

test('keys from Hugging Face, alphaXiv, OpenReview and doi.org URLs', () => {
  const k = (u) => keyFromUrl(u) && keyFromUrl(u).key;
  assert.equal(k('https://huggingface.co/papers/2401.01234'), 'arxiv:2401.01234');
  assert.equal(k('https://huggingface.co/papers/2401.01234v2'), 'arxiv:2401.01234');
  assert.equal(k('https://huggingface.co/papers'), null);
  assert.equal(k('https://huggingface.co/models'), null);
  assert.equal(k('https://www.alphaxiv.org/abs/2401.01234'), 'arxiv:2401.01234');
  assert.equal(k('https://alphaxiv.org/abs/2401.01234v2'), 'arxiv:2401.01234');
  assert.equal(k('https://www.alphaxiv.org/overview/2401.01234'), 'arxiv:2401.01234');
  assert.equal(k('https://openreview.net/forum?id=AbC_dEf-123'), 'openreview:AbC_dEf-123');
  assert.equal(k('https://openreview.net/forum?id=AbC_dEf-123&noteId=xyz'), 'openreview:AbC_dEf-123');
  assert.equal(k('https://openreview.net/pdf?id=AbC_dEf-123'), 'openreview:AbC_dEf-123');
  assert.equal(k('https://openreview.net/group?id=ICLR.cc/2024/Conference'), null);
  assert.equal(k('https://doi.org/10.1109/CVPR.2016.90'), 'doi:10.1109/cvpr.2016.90');
  assert.equal(k('https://example.org/abs/2401.01234'), null);
  assert.equal(k('not a url'), null);
});

test('DOI and date normalisation', () => {
  assert.equal(normalizeDoi('10.1145/ABC.12345'), '10.1145/abc.12345');
  assert.equal(normalizeDoi('https://doi.org/10.1145/ABC.12345'), '10.1145/abc.12345');
  assert.equal(normalizeDoi('doi:10.1145/ABC.12345'), '10.1145/abc.12345');
  assert.equal(normalizeDoi('not-a-doi'), null);
  assert.equal(normalizeDate('2024/01/02'), '2024-01-02');
  assert.equal(normalizeDate('2017-06-12'), '2017-06-12');
  assert.equal(normalizeDate('2021'), '2021-01-01');
  assert.equal(normalizeDate('garbage'), null);
});

test('arXiv abstract page: citation_* metadata', () => {
  const p = detectPaper(fixture('arxiv_abs.html'), 'https://arxiv.org/abs/2401.01234v3');
  assert.equal(p.key, 'arxiv:2401.01234');
  assert.equal(p.version, 'v3');
  assert.equal(p.source, 'arxiv');
  assert.equal(p.url, 'https://arxiv.org/abs/2401.01234');
  assert.equal(p.title, 'Sparse Mixtures of Retrieval Experts for Long-Context Reasoning');
  assert.deepEqual(p.authors, ['Ada Lovelace', 'Alan M. Turing', 'Grace Hopper']);
  assert.equal(p.published_at, '2024-01-02');
  assert.match(p.abstract, /^We study retrieval-augmented models that route/);
  assert.ok(!/\s{2}/.test(p.abstract), 'whitespace collapsed');
  assert.equal(p.pdf_url, 'https://arxiv.org/pdf/2401.01234');
});

test('arXiv pdf URL without any metadata still gives the key', () => {
  const p = detectPaper(fixture('no_paper.html'), 'https://arxiv.org/pdf/2401.01234v2.pdf');
  assert.equal(p.key, 'arxiv:2401.01234');
  assert.equal(p.url, 'https://arxiv.org/abs/2401.01234');
});

test('old-style arXiv id page', () => {
  const p = detectPaper(fixture('arxiv_abs_old.html'), 'https://arxiv.org/abs/hep-th/9901001v2');
  assert.equal(p.key, 'arxiv:hep-th/9901001');
  assert.deepEqual(p.authors, ['J. Maldacena']);
  assert.equal(p.published_at, '1999-01-04');
});

test('arXiv HTML (experimental) page: key from URL, title from og:title', () => {
  const p = detectPaper(fixture('arxiv_html.html'), 'https://arxiv.org/html/2401.01234v1');
  assert.equal(p.key, 'arxiv:2401.01234');
  assert.equal(p.title, 'Sparse Mixtures of Retrieval Experts for Long-Context Reasoning');
  assert.match(p.abstract, /retrieval-augmented/);
});

test('citation_arxiv_id identifies the paper on any host (the local test fixture host)', () => {
  const p = detectPaper(fixture('arxiv_abs.html'), 'http://127.0.0.1:8123/abs/2401.01234v3');
  assert.equal(p.key, 'arxiv:2401.01234');
  assert.equal(p.url, 'https://arxiv.org/abs/2401.01234', 'the canonical address, not the page');
});

test('Hugging Face paper page', () => {
  const p = detectPaper(fixture('huggingface_paper.html'), 'https://huggingface.co/papers/2401.01234');
  assert.equal(p.key, 'arxiv:2401.01234');
  assert.equal(p.source, 'huggingface');
  assert.equal(p.title, 'Sparse Mixtures of Retrieval Experts for Long-Context Reasoning');
  assert.deepEqual(p.authors, ['Ada Lovelace', 'Alan M. Turing']);
});

test('OpenReview forum page', () => {
  const p = detectPaper(fixture('openreview_forum.html'), 'https://openreview.net/forum?id=AbC_dEf-123');
  assert.equal(p.key, 'openreview:AbC_dEf-123');
  assert.equal(p.url, 'https://openreview.net/forum?id=AbC_dEf-123');
  assert.equal(p.source, 'openreview');
  assert.equal(p.title, 'Calibrated Contrastive Rankers');
  assert.deepEqual(p.authors, ['Emmy Noether', 'Kurt Gödel']);
  assert.equal(p.published_at, '2023-09-22');
});

test('alphaXiv page: key from URL, site suffix removed from the title', () => {
  const p = detectPaper(fixture('alphaxiv_abs.html'), 'https://www.alphaxiv.org/abs/2401.01234');
  assert.equal(p.key, 'arxiv:2401.01234');
  assert.equal(p.source, 'alphaxiv');
  assert.equal(p.title, 'Sparse Mixtures of Retrieval Experts for Long-Context Reasoning');
});

test('Semantic Scholar page: arXiv link on the page gives the key', () => {
  const p = detectPaper(fixture('semanticscholar_paper.html'),
    'https://www.semanticscholar.org/paper/Attention-is-All-you-Need-Vaswani-Shazeer/204e3073870fae3d05bcbc2f6a8e263d9b72e776');
  assert.equal(p.key, 'arxiv:1706.03762');
  assert.equal(p.title, 'Attention Is All You Need');
  assert.equal(p.published_at, '2017-06-12');
  assert.equal(p.source, 'semanticscholar');
});

test('Semantic Scholar page with only a DOI link', () => {
  const p = detectPaper(fixture('semanticscholar_doi.html'),
    'https://www.semanticscholar.org/paper/Deep-Residual-Learning-He/2c03df8b48bf3fa39054345bafabfeff15bfd11d');
  assert.equal(p.key, 'doi:10.1109/cvpr.2016.90');
  assert.deepEqual(p.authors, ['Kaiming He']);
});

test('citation_doi gives a doi key; keywords split', () => {
  const p = detectPaper(fixture('journal_doi.html'), 'http://localhost:9000/article/42');
  assert.equal(p.key, 'doi:10.1145/abc.12345');
  assert.deepEqual(p.keywords, ['recommender systems', 'graph kernels']);
  assert.equal(p.published_at, '2021-01-01');
  assert.deepEqual(p.authors, ['Jane Doe']);
});

test('pages without a paper give null', () => {
  assert.equal(detectPaper(fixture('arxiv_listing.html'), 'https://arxiv.org/list/cs.CL/recent'), null);
  assert.equal(detectPaper(fixture('no_paper.html'), 'https://example.org/blog'), null);
  assert.equal(detectPaper(fixture('no_paper.html'), 'http://127.0.0.1:5000/'), null);
  assert.equal(detectPaper(fixture('no_paper.html'), 'https://huggingface.co/papers'), null);
  assert.equal(detectPaper(fixture('no_paper.html'), 'https://openreview.net/group?id=ICLR.cc'), null);
  assert.equal(detectPaper(fixture('no_paper.html'), 'https://www.semanticscholar.org/search?q=x'), null);
});

test('siteOf maps hosts to the supported sites', () => {
  assert.equal(siteOf('https://www.semanticscholar.org/paper/x'), 'semanticscholar.org');
  assert.equal(siteOf('https://export.arxiv.org/abs/1'), 'arxiv.org');
  assert.equal(siteOf('https://example.org/'), null);
});
