"""scripts/bench_build.py: the benchmark's bulk build leaves the aggregate, the saves and the schema that
writing the same log through ``insert_logged`` (the event ingest's bookkeeping) would leave."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import inspect, select, text

from server.db import db
from server.models import Interaction, Save, TrendingDay, TrendingLastRead, TrendingLive
from server.services.trending_days import record_events

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture(scope="module")
def bench_build():
    sys.path.insert(0, str(SCRIPTS))
    try:
        import bench_build

        yield bench_build
    finally:
        sys.path.remove(str(SCRIPTS))


def _args(**sizes) -> argparse.Namespace:
    return argparse.Namespace(**{"papers": 300, "users": 40, "interactions": 5000, "references": 3, "seed": 3} | sizes)


def _aggregate() -> dict:
    return {
        (r.day, r.paper_id, r.type): (r.events, r.decay_7d, r.decay_30d)
        for r in db.session.scalars(select(TrendingDay))
    }


def _live() -> tuple[dict, set]:
    totals = {(t.span, t.paper_id): (t.score, t.readers) for t in db.session.scalars(select(TrendingLive))}
    return totals, set(
        db.session.execute(select(TrendingLastRead.paper_id, TrendingLastRead.user_id, TrendingLastRead.last_at))
    )


def _schema(app) -> dict:
    """Indexes and foreign keys of the tables the build fills, and (SQLite) the triggers of full-text search."""
    with app.app_context():
        triggers = (
            db.session.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
            if db.engine.dialect.name == "sqlite"
            else []
        )
        found = inspect(db.engine)
        tables = ("papers", "interactions", "trending_days")
        return {"triggers": sorted(triggers)} | {
            t: (sorted(map(str, found.get_indexes(t))), sorted(map(str, found.get_foreign_keys(t)))) for t in tables
        }


def test_the_bulk_build_sums_the_log_as_insert_logged_does(app, client, bench_build, monkeypatch):
    monkeypatch.setattr(bench_build, "CHUNK", 1500)  # several chunks, the last one short
    monkeypatch.setattr(bench_build, "PAPER_CHUNK", 128)
    schema = _schema(app)
    timings = bench_build.build(app, _args(), np.random.default_rng(3))
    assert timings["total_s"] >= 0 and _schema(app) == schema  # made again as they were
    found = client.get("/api/v1/papers?q=graph+network&limit=5").get_json()  # full-text search indexed them
    assert len(found["items"]) == 5, found
    with app.app_context():
        s = db.session
        built, built_live = _aggregate(), _live()
        log = s.execute(
            select(Interaction.paper_id, Interaction.user_id, Interaction.type, Interaction.occurred_at).order_by(
                Interaction.id
            )
        ).all()
        assert len(log) == 5000 and len({(r.user_id, r.paper_id) for r in log}) > 1000
        saves = {(r.user_id, r.paper_id): r.occurred_at for r in log if r.type == "save"}  # the last one wins
        assert {(v.user_id, v.paper_id): v.saved_at for v in s.scalars(select(Save))} == saves
        # what insert_logged adds for the same rows, in its batches
        s.query(TrendingDay).delete()
        s.query(TrendingLive).delete()  # the live totals' cursors stay where the build put them
        s.query(TrendingLastRead).delete()
        for start in range(0, len(log), 2000):
            record_events(s, [tuple(r) for r in log[start : start + 2000]])
        s.flush()
        logged, logged_live = _aggregate(), _live()
        s.rollback()
    assert set(built) == set(logged)
    for key, (events, d7, d30) in logged.items():
        assert built[key][0] == events and built[key][1:] == pytest.approx((d7, d30), rel=1e-12)
    assert set(built_live[0]) == set(logged_live[0]) and built_live[1] == logged_live[1] and built_live[1]
    for key, (score, readers) in logged_live[0].items():
        assert built_live[0][key] == (pytest.approx(score, rel=1e-12), readers), key


def test_build_only_keeps_the_database_and_reports_the_build(tmp_path, bench_build, capsys):
    import benchmark

    keep = tmp_path / "kept"
    sizes = ["--papers", "200", "--users", "20", "--interactions", "2000"]
    assert benchmark.main([*sizes, "--build-only", "--keep", str(keep)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"insert_interactions_s", "trending_aggregate_s", "total_s"} <= set(result["build"])
    assert "retrain" not in result and (keep / "bench.sqlite3").exists() and (keep / "tokens.json").exists()


@pytest.fixture
def benchmark_script(bench_build):
    import benchmark

    return benchmark


def test_a_kept_build_is_measured_later_with_its_own_sizes(benchmark_script, tmp_path, capsys):
    kept = tmp_path / "kept"
    sizes = ["--papers", "300", "--users", "30", "--interactions", "3000", "--references", "2", "--seed", "5"]
    assert benchmark_script.main([*sizes, "--build-only", "--keep", str(kept)]) == 0
    built = json.loads(capsys.readouterr().out)
    recorded = json.loads((kept / "build.json").read_text())
    assert recorded["papers"] == 300 and recorded["seed"] == 5 and recorded["build"] == built["build"]

    args = benchmark_script.parse_args(["--from", str(kept), "--papers", "7"])
    assert (args.papers, args.users, args.interactions, args.references, args.seed) == (300, 30, 3000, 2, 5)
    assert args.database_url == recorded["database_url"] and args.database == "sqlite"

    out = tmp_path / "figures.json"
    assert benchmark_script.main(["--from", str(kept), "--no-http", "--requests", "3", "--out", str(out)]) == 0
    measured = json.loads(capsys.readouterr().out)
    assert json.loads(out.read_text()) == json.loads(json.dumps(measured))
    assert measured["sizes"]["papers"] == 300 and measured["build"]["kept_in"] == str(kept)
    assert measured["retrain"]["seconds"] > 0 and measured["requests"]["recommendations"]["n"] == 3


@pytest.mark.parametrize("extra", [[], ["--keep", "elsewhere"]])
def test_from_refuses_a_directory_without_a_kept_build(benchmark_script, tmp_path, capsys, extra):
    with pytest.raises(SystemExit) as exited:
        benchmark_script.parse_args(["--from", str(tmp_path), *extra])
    assert exited.value.code == 2
    assert "--from" in capsys.readouterr().err


def test_a_kept_build_is_served_and_measured_from_outside(benchmark_script, tmp_path, capsys):
    import bench_http

    kept = tmp_path / "kept"
    sizes = ["--papers", "300", "--users", "30", "--interactions", "3000", "--seed", "6"]
    assert benchmark_script.main([*sizes, "--build-only", "--keep", str(kept)]) == 0
    capsys.readouterr()
    only = ["healthz", "trending_uncached", "events"]
    assert bench_http.main([str(kept), "--requests", "4", "--only", *only, "--out", str(tmp_path / "h.json")]) == 0
    measured = json.loads((tmp_path / "h.json").read_text())
    assert set(measured["http"]) == {"healthz", "trending_uncached"}
    for figures in [*measured["http"].values(), measured["events"]]:
        assert set(figures) == {"c1", "c8"} and all(f["non2xx"] == 0 for f in figures.values()), figures
    assert measured["events"]["c1"]["events_per_s"] > 0
