"""The scheduler's digest job: registered when an SMTP server is configured (even without ingest jobs), one run
sends what is due, and a bad crontab line is one line."""

from __future__ import annotations

import signal
import threading

from server.digest.run import scheduled_digests
from tests.scheduler_process import log_until, scheduler_process

from .helpers import import_papers, switch_on, topic_papers


def test_the_job_sends_what_is_due_once(mail_app, client, runner, accounts, tmp_path, smtp_server):
    import_papers(runner, tmp_path, topic_papers("2611", ["graph partitioning"], kind="network"))
    reader = accounts.new()
    switch_on(client, reader)
    scheduled_digests(mail_app, threading.Event())
    scheduled_digests(mail_app, threading.Event())
    assert len(smtp_server.to(reader["email"])) == 1
    stopped = threading.Event()
    stopped.set()  # a SIGTERM before the run reaches anybody: nobody is processed, nobody is lost
    other = accounts.new()
    switch_on(client, other)
    scheduled_digests(mail_app, stopped)
    assert smtp_server.to(other["email"]) == []


def test_a_bad_digest_crontab_line_is_one_line(mail_app, runner):
    mail_app.config["DIGEST_CRON"] = "every morning"
    result = runner.invoke(args=["scheduler"])
    assert result.exit_code == 1 and result.output.startswith("Error: PAPERSCOUT_DIGEST_CRON:"), result.output
    assert len(result.output.strip().splitlines()) == 1


def test_the_scheduler_runs_for_digests_alone_and_stops_on_sigterm(tmp_path, smtp_server):
    variables = {
        "PAPERSCOUT_INGEST": "",
        "PAPERSCOUT_SMTP_URL": f"smtp://127.0.0.1:{smtp_server.port}",
        "PAPERSCOUT_DIGEST_CRON": "0 0 1 1 *",  # not during this test
    }
    with scheduler_process(tmp_path, **variables) as process:
        lines = log_until(process, "scheduler: digests at")
        assert any("scheduler: digests at '0 0 1 1 *' (UTC)" in line for line in lines), lines
        assert not any("scheduler: jobs" in line for line in lines)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
