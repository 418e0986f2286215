"""Migration 0003 on a database with data: nothing is lost, and SQLite never reuses an id afterwards."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from server import create_app
from server.db import upgrade_database


def _rows(engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_upgrade_keeps_rows_and_stops_sqlite_id_reuse(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x", "MODEL_DIR": str(tmp_path / "m")})
    upgrade_database(app, "0002")
    engine = create_engine(url)
    with engine.begin() as conn:
        for uid in (1, 2, 3):
            conn.execute(
                text(
                    "INSERT INTO users (id, email, password_hash, is_admin, tracking_paused, created_at) "
                    "VALUES (:id, :email, 'h', 0, 0, '2026-11-01 00:00:00')"
                ),
                {"id": uid, "email": f"u{uid}@example.org"},
            )
            conn.execute(
                text(
                    "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) "
                    "VALUES (:id, '', :hash, 'ps_', '2026-11-01 00:00:00')"
                ),
                {"id": uid, "hash": f"{uid:064d}"},
            )
        conn.execute(
            text(
                "INSERT INTO papers (id, key, title, abstract, authors, keywords, reference_keys, source, "
                "created_at, updated_at) VALUES (1, 'arxiv:2401.00001', 't', '', '[]', '[]', '[]', 'arxiv', "
                "'2026-11-01 00:00:00', '2026-11-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO interactions (user_id, paper_id, type, occurred_at, received_at, client_event_id) "
                "VALUES (3, 1, 'save', '2026-11-01 00:00:00', '2026-11-01 00:00:00', 'e1')"
            )
        )
        conn.execute(text("INSERT INTO saves (user_id, paper_id, saved_at) VALUES (3, 1, '2026-11-01 00:00:00')"))
    engine.dispose()

    upgrade_database(app)

    engine = create_engine(url)
    assert _rows(engine, "SELECT count(*) FROM users") == [(3,)]
    assert _rows(engine, "SELECT count(*) FROM api_tokens") == [(3,)]
    assert _rows(engine, "SELECT user_id, client_event_id FROM interactions") == [(3, "e1")]
    assert _rows(engine, "SELECT user_id FROM saves") == [(3,)]
    tokens = _rows(engine, "SELECT session_token FROM users")
    assert len({t for (t,) in tokens}) == 3 and all(len(t) >= 40 for (t,) in tokens)
    assert _rows(engine, "SELECT DISTINCT provenance FROM papers") == [("client",)]
    with engine.begin() as conn:
        conn.execute(text("PRAGMA foreign_keys=ON"))
        conn.execute(text("DELETE FROM users WHERE id = 3"))
        conn.execute(
            text(
                "INSERT INTO users (email, password_hash, is_admin, tracking_paused, created_at, session_token) "
                "VALUES ('d@example.org', 'h', 0, 0, '2026-11-02 00:00:00', 'fresh')"
            )
        )
    assert _rows(engine, "SELECT id FROM users WHERE email = 'd@example.org'") == [(4,)]
    engine.dispose()
