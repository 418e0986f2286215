"""Ingestion: new papers from arXiv (API, daily announcements, OAI-PMH) and Hugging Face daily papers.

One module per source turns the upstream format into FetchedPaper records (records.py); storage.py upserts them
as authoritative metadata; runs.py records each run page by page; lock.py keeps runs from overlapping;
scheduler.py runs the configured jobs; cli.py holds the `ingest` commands. See docs/ingestion.md.
"""
