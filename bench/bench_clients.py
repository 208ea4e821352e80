# SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
"""The messages the bench seeds, and the two clients it runs as the unprivileged test user:
fetchmail (Debian's, its own 0700 rc) and clamfetch (its own TOML rc, CLAMFETCH_HOME)."""

import base64
import os
import random
import time

from bench_env import measure, prepare_home, write_owned

WORDS = ("mail server fetch scan deliver postfix dovecot message account invoice meeting report "
         "quarter budget review schedule attached please find regards thanks team project").split()


def text_lines(rng, size):
    lines, total = [], 0
    while total < size:
        line = " ".join(rng.choice(WORDS) for _ in range(11))
        lines.append(line)
        total += len(line) + 2
    return "\r\n".join(lines) + "\r\n"


def message(tag, index, size, rng):
    """A message of about `size` bytes with a unique Message-ID: a short text part and a base64
    attachment of random bytes (every message differs: libclamav caches clean results by
    content, so identical messages would time a cache lookup, not a scan)."""
    message_id = f"<bench.{tag}.{index}@remote.example>"
    text = text_lines(rng, min(2048, size // 4))
    payload = rng.randbytes(max(0, (size - len(text) - 800) * 3 // 4))
    attachment = base64.encodebytes(payload).decode().replace("\n", "\r\n")
    head = (f"Return-Path: <sender{index}@remote.example>\r\n"
            f"From: Sender {index} <sender{index}@remote.example>\r\n"
            f"To: virtualuser1@example.com\r\n"
            f"Subject: bench {tag} {index}\r\n"
            f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}\r\n"
            f"Message-ID: {message_id}\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"bench-boundary\"\r\n\r\n")
    body = ("--bench-boundary\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + text +
            "--bench-boundary\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + attachment + "--bench-boundary--\r\n")
    return message_id, (head + body).encode()


def messages(tag, count, size):
    rng = random.Random(f"{tag}/{count}/{size}")
    ids, data = [], []
    for i in range(count):
        message_id, raw = message(tag, i, size, rng)
        ids.append(message_id)
        data.append(raw)
    return ids, data


def port_of(servers, protocol):
    return servers.port("IMAPS_PORT" if protocol == "imap" else "POP3S_PORT")


class Clamfetch:
    """clamfetch as the test user with its own CLAMFETCH_HOME; a fresh home per run."""

    def __init__(self, servers, binary, database, work):
        self.servers, self.binary, self.database = servers, binary, database
        self.home = os.path.join(work, "cfhome")
        self.logs = os.path.join(work, "logs")
        os.makedirs(self.logs, exist_ok=True)

    def rc(self, protocol, users, parallel=1, sessions=4, scan=True, extra_scan=""):
        ca = os.path.join(self.home, "ca.pem")
        text = (f"[global]\npostmaster = \"postmaster@example.com\"\nparallel = {parallel}\n"
                f"smtp_sessions = {sessions}\n\n[defaults]\n"
                f"smtphost = \"127.0.0.1:{self.servers.port('SMTP_PORT')}\"\ntimeout = 120\n"
                "fetchall = true\nkeep = false\n\n"
                f"[scan]\nenabled = {'true' if scan else 'false'}\ndatabase = \"{self.database}\"\n"
                f"{extra_scan}\n"
                f"[[poll]]\nserver = \"localhost\"\nprotocol = \"{protocol}\"\n"
                f"port = {port_of(self.servers, protocol)}\ntls = \"implicit\"\nca_file = \"{ca}\"\n")
        for user in users:
            number = user[len("pop3userid"):]
            text += (f"\n  [[poll.user]]\n  username = \"{user}\"\n  password = \"pop3password{number}\"\n"
                     "  is = \"virtualuser1@example.com\"\n")
        return text

    def prepare(self, rc_text, database=None):
        """A fresh CLAMFETCH_HOME with the rc (and `database` instead of the test one)."""
        owner = self.servers.user
        prepare_home(self.home, owner)
        with open(self.servers.env["CA_FILE"]) as f:
            write_owned(os.path.join(self.home, "ca.pem"), f.read(), owner, 0o644)
        if database:
            rc_text = rc_text.replace(f"database = \"{self.database}\"", f"database = \"{database}\"")
        rc_path = os.path.join(self.home, "clamfetch.toml")
        write_owned(rc_path, rc_text, owner, 0o600)
        return rc_path

    def argv(self, rc_path, no_scan=False):
        return [self.binary, "-f", rc_path] + (["--no-scan"] if no_scan else [])

    def env(self):
        return {"CLAMFETCH_HOME": self.home, "HOME": self.home, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}

    def run(self, rc_path, label, no_scan=False):
        return measure(self.argv(rc_path, no_scan), user=self.servers.user, env=self.env(),
                       cwd=self.home, stderr_path=os.path.join(self.logs, f"{label}.log"))


class Fetchmail:
    """Debian's fetchmail as the test user: rc 0700 owned by it, idfile and pidfile in its home,
    fetchall nokeep, certificate checked against the fixture's CA (host name localhost)."""

    def __init__(self, servers, work):
        self.servers = servers
        self.home = os.path.join(work, "fmhome")
        self.logs = os.path.join(work, "logs")
        os.makedirs(self.logs, exist_ok=True)

    def prepare(self, protocol, user="pop3userid1"):
        owner = self.servers.user
        prepare_home(self.home, owner)
        ca = os.path.join(self.home, "ca.pem")
        with open(self.servers.env["CA_FILE"]) as f:
            write_owned(ca, f.read(), owner, 0o644)
        number = user[len("pop3userid"):]
        rc = (f"set postmaster \"postmaster@example.com\"\nset no bouncemail\n"
              f"poll localhost with protocol {'IMAP' if protocol == 'imap' else 'POP3'} "
              f"port {port_of(self.servers, protocol)}\n"
              f"  user \"{user}\" there with password \"pop3password{number}\" "
              "is \"virtualuser1@example.com\" here\n"
              f"  options fetchall nokeep ssl sslcertck sslcertfile \"{ca}\"\n"
              f"  smtphost 127.0.0.1/{self.servers.port('SMTP_PORT')} smtpname \"virtualuser1@example.com\"\n")
        path = os.path.join(self.home, "fetchmailrc")
        write_owned(path, rc, owner, 0o700)
        return path

    def run(self, rc_path, label):
        argv = ["/usr/bin/fetchmail", "-f", rc_path, "--idfile", os.path.join(self.home, "fetchids"),
                "--pidfile", os.path.join(self.home, "fetchmail.pid"), "--nosyslog"]
        env = {"HOME": self.home, "FETCHMAILHOME": self.home, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        return measure(argv, user=self.servers.user, env=env, cwd=self.home,
                       stdout_path=os.path.join(self.logs, f"{label}.out"),
                       stderr_path=os.path.join(self.logs, f"{label}.log"))
