"""Admin tasks as flask CLI commands (`flask --app server <command>`); scripts/ wraps them."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from marshmallow import ValidationError
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from server.db import db
from server.models import Interaction, ModelVersion, Paper, User
from server.schemas import PaperMetaSchema
from server.services.papers import PaperMeta, upsert_papers
from server.services.sql import chunks

DEMO_CATALOG = Path(__file__).parent / "demo" / "catalog.jsonl"


def init_app(app: Flask) -> None:
    from server.ingest import cli as ingest_cli

    for command in (create_user_command, import_papers_command, load_demo_command, retrain_command):
        app.cli.add_command(command)
    ingest_cli.init_app(app)


@click.command("create-user")
@with_appcontext
@click.argument("email")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(email: str, admin: bool, password_stdin: bool) -> None:
    """Create a user (or promote an existing one with --admin). Prompts for the password."""
    email = email.strip().lower()
    if "@" not in email:
        raise click.BadParameter("not an email address", param_hint="EMAIL")
    if password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise click.ClickException("The password must have at least 8 characters.")
    session = db.session
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, password_hash=generate_password_hash(password), is_admin=admin)
        session.add(user)
        action = "created"
    else:
        user.password_hash = generate_password_hash(password)
        user.is_admin = user.is_admin or admin
        action = "updated"
    session.commit()
    click.echo(f"{action} {'admin' if user.is_admin else 'user'} {email} (id {user.id})")


def _read_records(path: Path) -> Iterator[tuple[int, Any]]:
    """Records from a JSON array or a JSON-lines file, with their 1-based position for error messages."""
    text = path.read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise click.ClickException(f"{path}: not valid JSON ({exc})") from None
        yield from enumerate(data, start=1)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise click.ClickException(f"{path}:{number}: not valid JSON ({exc.msg})") from None


def import_file(path: Path) -> int:
    """Validate every record first, then upsert them all in one transaction (a bad file stores nothing)."""
    schema = PaperMetaSchema()
    metas: dict[str, PaperMeta] = {}
    errors: list[str] = []
    for number, record in _read_records(path):
        try:
            item = schema.load(record)
        except ValidationError as exc:
            errors.append(f"{path.name} record {number}: {json.dumps(exc.normalized_messages())}")
            continue
        meta = PaperMeta.from_payload(item["canonical_key"], item)
        metas[meta.key] = metas[meta.key].merge(meta) if meta.key in metas else meta
    if errors:
        shown = "\n".join(errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise click.ClickException(f"{len(errors)} invalid record(s); nothing was imported:\n{shown}{more}")
    session = db.session
    for part in chunks(sorted(metas), 2000):
        upsert_papers(session, {k: metas[k] for k in part})
    session.commit()
    return len(metas)


@click.command("import-papers")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_papers_command(path: Path) -> None:
    """Import papers from a JSON array or JSON-lines file ({key|url, title, abstract, authors, keywords,
    references, ...})."""
    count = import_file(path)
    click.echo(f"imported {count} papers from {path.name}")


@click.command("load-demo")
@with_appcontext
def load_demo_command() -> None:
    """Load the demo catalog shipped with PaperScout (idempotent)."""
    count = import_file(DEMO_CATALOG)
    total = db.session.scalar(select(func.count()).select_from(Paper))
    click.echo(f"demo catalog: {count} papers loaded; {total} papers in the database")


def _stream_interactions(session: Any) -> Iterator[tuple[int, str, str, datetime]]:
    query = (
        select(Interaction.user_id, Paper.key, Interaction.type, Interaction.occurred_at)
        .join(Paper, Paper.id == Interaction.paper_id)
        .execution_options(yield_per=20000)
    )
    yield from session.execute(query)


def run_retrain(*, progress: bool = True, config_path: Path | None = None) -> dict[str, Any]:
    """Read papers and interactions, fit, evaluate, publish a new version and flip `current`."""
    from recommender import store
    from recommender.config import load_config
    from recommender.training import train
    from server.services.new_papers import PAPER_DOC_COLUMNS, paper_doc

    started = time.perf_counter()
    session = db.session
    papers = [
        paper_doc(row)
        for row in session.execute(select(*PAPER_DOC_COLUMNS).order_by(Paper.id).execution_options(yield_per=20000))
    ]
    result = train(papers, _stream_interactions(session), config=load_config(config_path), progress=progress)
    root = Path(current_app.config["MODEL_DIR"])
    version = store.save(result.model, root, counts=result.counts, metrics=result.metrics)
    session.add(
        ModelVersion(
            version=version,
            path=str(root / store.VERSIONS / version),
            created_at=datetime.now(UTC),
            params=result.config,
            metrics=result.metrics,
            counts=result.counts,
        )
    )
    session.commit()
    store.prune(root, keep=5)
    return {
        "version": version,
        "seconds": round(time.perf_counter() - started, 2),
        "counts": result.counts,
        "metrics": result.metrics,
    }


@click.command("retrain")
@with_appcontext
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON merged over the default recommender config.",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
def retrain_command(config_path: Path | None, quiet: bool) -> None:
    """Retrain the recommender from the database and publish it; running servers pick it up."""
    try:
        summary = run_retrain(progress=not quiet, config_path=config_path)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(summary, indent=2, default=str))


def retrain_main() -> None:
    """Console script entry point: `paperscout-retrain` = `flask --app server retrain`."""
    from server import create_app

    app = create_app()
    with app.app_context():
        retrain_command.main(standalone_mode=True)
