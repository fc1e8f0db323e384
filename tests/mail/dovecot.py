"""A real IMAP server for the mail tests: Debian's Dovecot, started per test on free ports
with a throwaway configuration under the test's ``tmp_path`` (one user in a passwd-file,
maildir storage, a self-signed certificate for SSL/TLS and STARTTLS, plain-text login allowed).

Run as root, Dovecot will not let its login processes or the mail user be root: login runs
as Debian's ``dovenull``, mail as ``nobody``, chrooted into the mail directory (pytest's
temporary directories are private to root, and the chroot is entered while still root).
Run as anyone else, every Dovecot process is that user.
"""

from __future__ import annotations

import getpass
import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from imapclient import IMAPClient

from tests.servers import free_port

DOVECOT = Path(os.environ.get("SARUNA_DOVECOT", "/usr/sbin/dovecot"))
USERNAME = "alice"
PASSWORD = "secret-imap-password"


@dataclass
class Dovecot:
    port: int  # plain IMAP, offers STARTTLS
    ssl_port: int
    certificate: Path
    host: str = "127.0.0.1"
    username: str = USERNAME
    password: str = PASSWORD

    def client(self) -> IMAPClient:
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(self.username, self.password)
        return client

    def deliver(self, raw: bytes, folder: str = "INBOX") -> int:
        """Puts a mail into ``folder`` as a delivery would; returns its UID."""
        with self.client() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            reply = client.append(folder, raw)
        # "[APPENDUID <uidvalidity> <uid>] Append completed."
        return int(reply.split(b"]")[0].split()[-1])

    def messages(self, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
        """UID → flags of every mail in ``folder``."""
        with self.client() as client:
            if not client.folder_exists(folder):
                return {}
            client.select_folder(folder, readonly=True)
            return {uid: data[b"FLAGS"] for uid, data in
                    client.fetch(client.search(["ALL"]), ["FLAGS"]).items()}


def _config(tmp: Path, run: Path, port: int, ssl_port: int, certificate: Path,
            key: Path) -> str:
    as_root = os.geteuid() == 0
    mail = tmp / "mail"
    home = mail / USERNAME
    home.mkdir(parents=True)
    if as_root:
        nobody = pwd.getpwnam("nobody")
        for path in (mail, home):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        # "/./" makes Dovecot chroot to the part before it.
        user = f"{nobody.pw_uid}:{nobody.pw_gid}::{mail}/./{USERNAME}"
        process_users = f"""
default_internal_user = dovecot
default_login_user = dovenull
valid_chroot_dirs = {mail}
service auth {{
  user = root
}}
"""
        login_chroot = ""
    else:
        me, my_group = getpass.getuser(), grp.getgrgid(os.getgid()).gr_name
        user = f"{os.getuid()}:{os.getgid()}::{home}"
        process_users = f"""
default_internal_user = {me}
default_internal_group = {my_group}
default_login_user = {me}
first_valid_uid = {os.getuid()}
"""
        login_chroot = "  chroot =\n"
    (tmp / "passwd").write_text(f"{USERNAME}:{{PLAIN}}{PASSWORD}:{user}::\n")
    return f"""
base_dir = {run}
state_dir = {tmp}/state
log_path = {tmp}/dovecot.log
protocols = imap
listen = 127.0.0.1
{process_users}
ssl = yes
ssl_cert = <{certificate}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {tmp}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {tmp}/passwd
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {ssl_port}
  }}
{login_chroot}}}
service anvil {{
{login_chroot}}}
"""


def _self_signed_certificate(tmp: Path) -> tuple[Path, Path]:
    certificate, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True,
    )
    return certificate, key


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            return sock.recv(64).startswith(b"* OK")
    except OSError:
        return False


def require_dovecot() -> None:
    """Called at the top of a test module, skips it with one line when Dovecot is missing;
    with ``CI`` set it must be there."""
    if DOVECOT.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI needs Dovecot at {DOVECOT} (apt-get install dovecot-imapd)",
                    pytrace=False)
    pytest.skip(f"no Dovecot at {DOVECOT} (apt-get install dovecot-imapd)",
                allow_module_level=True)


@pytest.fixture(name="dovecot")
def dovecot_fixture(tmp_path: Path) -> Iterator[Dovecot]:
    require_dovecot()
    tmp = tmp_path / "dovecot"
    (tmp / "state").mkdir(parents=True)
    # Dovecot's sockets live here, and a socket's path may be 107 bytes at most: pytest's
    # temporary paths can be longer.
    run = Path(tempfile.mkdtemp(prefix="dovecot-"))
    certificate, key = _self_signed_certificate(tmp)
    server = Dovecot(port=free_port(), ssl_port=free_port(), certificate=certificate)
    config = tmp / "dovecot.conf"
    config.write_text(_config(tmp, run, server.port, server.ssl_port, certificate, key))
    with (tmp / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen([str(DOVECOT), "-F", "-c", str(config)],
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + 10
        while not _answers(server.port):
            if process.poll() is not None or time.monotonic() > deadline:
                logs = [tmp / "stderr.log", tmp / "dovecot.log"]
                raise RuntimeError("Dovecot did not start:\n" + "".join(
                    log.read_text() for log in logs if log.exists()))
            time.sleep(0.05)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(run, ignore_errors=True)
