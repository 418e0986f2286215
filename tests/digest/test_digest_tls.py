"""STARTTLS and implicit TLS (smtps://) against real TLS SMTP servers, the certificate verified against the CA
file OpenSSL is pointed at (SSL_CERT_FILE), and the login sent only inside TLS."""

from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest

from .conftest import start_smtp
from .helpers import import_papers, switch_on, topic_papers


@pytest.fixture
def certificate(tmp_path, monkeypatch):
    """A self-signed certificate for 127.0.0.1, trusted by this process's default SSL context."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make the test certificate (apt-get install openssl)")
    cert, key = tmp_path / "smtp-cert.pem", tmp_path / "smtp-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


@pytest.mark.parametrize("mode", ["starttls", "smtps"])
def test_digests_go_through_tls_with_the_login_inside_it(
    mail_app, client, runner, accounts, tmp_path, certificate, mode
):
    if mode == "starttls":
        servers = start_smtp(tls_context=certificate, require_starttls=True, auth_require_tls=True)
    else:
        servers = start_smtp(ssl_context=certificate)
    server = next(servers)
    try:
        import_papers(runner, tmp_path, topic_papers("2611", ["graph partitioning"], kind="network"))
        reader = accounts.new()
        switch_on(client, reader)
        scheme, query = ("smtp", "?starttls=1") if mode == "starttls" else ("smtps", "")
        mail_app.config["SMTP_URL"] = f"{scheme}://digest:s3cret%2Fpass@127.0.0.1:{server.port}{query}"
        result = runner.invoke(args=["send-digests"])
        assert result.exit_code == 0 and "1 sent" in result.output, result.output
        assert server.logins == [("digest", "s3cret/pass")] and len(server.to(reader["email"])) == 1
    finally:
        next(servers, None)


def test_an_untrusted_certificate_is_a_recorded_failure(
    mail_app, client, runner, accounts, tmp_path, certificate, monkeypatch
):
    servers = start_smtp(tls_context=certificate, require_starttls=True)
    server = next(servers)
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-ca.pem"))
        import_papers(runner, tmp_path, topic_papers("2611", ["graph partitioning"], kind="network"))
        reader = accounts.new()
        switch_on(client, reader)
        mail_app.config["SMTP_URL"] = f"smtp://127.0.0.1:{server.port}?starttls=1"
        result = runner.invoke(args=["send-digests"])
        assert result.exit_code == 1 and "SSLCertVerificationError" in result.output, result.output
        assert "Traceback" not in result.output and server.received == []
    finally:
        next(servers, None)
