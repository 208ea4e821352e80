# SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
"""The bench's world: the build, the fixture's Dovecot + Postfix, the unprivileged runs and
what they cost (wall, CPU, peak RSS from wait4), and the check that every message arrived
exactly once. Used by bench/run; nothing here decides what to measure."""

import collections
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time

QUEUES = ("incoming", "active", "maildrop")
MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]*>)", re.IGNORECASE | re.MULTILINE)


def log(text):
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


class Run:
    """One finished process: what it cost and how it ended."""

    def __init__(self, code, wall, user, sys_, maxrss_kb, stderr):
        self.code, self.wall, self.user, self.sys = code, wall, user, sys_
        self.maxrss_mb = maxrss_kb / 1024.0
        self.stderr = stderr

    @property
    def cpu(self):
        return self.user + self.sys


def measure(argv, user=None, env=None, cwd=None, stdout_path=os.devnull, stderr_path=None, rss=True):
    """Runs argv (as `user` when given) and returns a Run: wall time, CPU of the process and the
    children it reaped (wait4), peak RSS. The peak comes from GNU time wrapped around argv: a
    process's ru_maxrss survives execve and starts from the RSS of the process that forked it,
    so a child forked by this Python process would report at least Python's own RSS."""
    kwargs = {}
    if user is not None:
        entry = pwd.getpwnam(user)
        kwargs = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    fd, rss_path = tempfile.mkstemp(prefix="bench-rss.")
    os.close(fd)
    if user is not None:  # GNU time, run as `user`, rewrites it
        os.chown(rss_path, kwargs["user"], kwargs["group"])
    wrapped = ["/usr/bin/time", "-f", "%M", "-o", rss_path] + argv if rss else argv
    err_path = stderr_path or os.devnull
    try:
        with open(stdout_path, "ab") as out, open(err_path, "ab") as err:
            start = time.monotonic()
            proc = subprocess.Popen(wrapped, env=env, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                    **kwargs)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.monotonic() - start
        with open(rss_path) as f:
            report = f.read().splitlines()
    finally:
        os.unlink(rss_path)
    proc.returncode = os.waitstatus_to_exitcode(status)
    code, maxrss_kb = proc.returncode, usage.ru_maxrss
    if rss:
        # GNU time: "Command terminated by signal N" first when the child was killed.
        signalled = [line for line in report if line.startswith("Command terminated by signal")]
        code = -int(signalled[0].split()[-1]) if signalled else code
        maxrss_kb = int(report[-1]) if report and report[-1].isdigit() else 0
    text = ""
    if stderr_path:
        with open(stderr_path, "rb") as f:
            text = f.read()[-4000:].decode("utf-8", "replace")
    return Run(code, wall, usage.ru_utime, usage.ru_stime, maxrss_kb, text)


def build(src, build_dir):
    """Configures (RelWithDebInfo) and builds clamfetch and bench_scan_engine; returns paths."""
    if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
        subprocess.run(["cmake", "-S", src, "-B", build_dir, "-DCMAKE_BUILD_TYPE=RelWithDebInfo"],
                       check=True, stdout=subprocess.DEVNULL)
    jobs = str(os.cpu_count() or 2)
    subprocess.run(["cmake", "--build", build_dir, "-j", jobs, "--target", "clamfetch", "bench_scan_engine"],
                   check=True, stdout=subprocess.DEVNULL)
    return (os.path.join(build_dir, "app", "clamfetch"), os.path.join(build_dir, "bench", "bench_scan_engine"))


class Servers:
    """tests/fixture/mailservers: one Dovecot and one Postfix for the whole bench."""

    def __init__(self, src, directory):
        self.fixture = os.path.join(src, "tests", "fixture", "mailservers")
        self.dir = directory
        subprocess.run([self.fixture, "start", directory], check=True, stdout=subprocess.DEVNULL)
        self.env = {}
        with open(os.path.join(directory, "env")) as f:
            for line in f:
                key, _, value = line.rstrip("\n").partition("=")
                self.env[key] = value
        self.mail_uid, self.mail_gid = int(self.env["MAIL_UID"]), int(self.env["MAIL_GID"])
        self.user = self.env["TEST_USER"]
        self.seq = 0

    def stop(self):
        subprocess.run([self.fixture, "stop", self.dir], check=False)

    def port(self, name):
        return int(self.env[name])

    def add_users(self, count):
        """Makes sure pop3userid0 .. pop3userid{count-1} exist (the fixture has ten): the same
        lines the fixture writes; Dovecot's passwd-file driver rereads changed files."""
        with open(os.path.join(self.dir, "dovecot.passwd")) as f:
            known = {line.split(":", 1)[0] for line in f}
        passwd, users = [], []
        for i in range(count):
            name = f"pop3userid{i}"
            if name not in known:
                passwd.append(f"{name}:{{PLAIN}}pop3password{i}::::::\n")
                users.append(f"{name}:::::{self.dir}/remote/{name}::\n")
        with open(os.path.join(self.dir, "dovecot.passwd"), "a") as f:
            f.writelines(passwd)
        with open(os.path.join(self.dir, "dovecot.users"), "a") as f:
            f.writelines(users)

    def maildir(self, user):
        return os.path.join(self.env["REMOTE"], user)

    def seed(self, user, messages):
        """Empties USER's INBOX (what a failed run left must not count in the next), then puts
        each message (bytes) there as the fixture's `seed` does (tmp/, then a rename into new/,
        owned by the mail user), without a process per message."""
        base = self.maildir(user)
        for sub in ("", "tmp", "new", "cur"):
            path = os.path.join(base, sub)
            os.makedirs(path, mode=0o700, exist_ok=True)
            os.chown(path, self.mail_uid, self.mail_gid)
            if sub in ("new", "cur"):
                for name in os.listdir(path):
                    os.unlink(os.path.join(path, name))
        for data in messages:
            self.seq += 1
            now = time.time()
            name = f"{int(now)}.M{int((now % 1) * 1e6)}P{os.getpid()}Q{self.seq}.bench"
            tmp = os.path.join(base, "tmp", name)
            with open(tmp, "wb") as f:
                f.write(data)
            os.chown(tmp, self.mail_uid, self.mail_gid)
            os.chmod(tmp, 0o600)
            os.rename(tmp, os.path.join(base, "new", name))
        self.index(user)

    def index(self, user):
        """Dovecot indexes a mailbox at its first login: do it now so no client pays for it."""
        subprocess.run(["doveadm", "-c", self.env["DOVECOT_CONF"], "mailbox", "status", "-u", user,
                        "messages", "INBOX"], check=True, stdout=subprocess.DEVNULL)

    def remote_count(self, user):
        base = self.maildir(user)
        return sum(len(os.listdir(os.path.join(base, sub))) for sub in ("new", "cur")
                   if os.path.isdir(os.path.join(base, sub)))

    def queue_empty(self):
        for name in QUEUES:
            for _, _, files in os.walk(os.path.join(self.dir, "pfqueue", name)):
                if files:
                    return False
        return True

    def wait_queue(self, timeout=300):
        """Blocks until Postfix's incoming/active/maildrop queues are empty; returns when."""
        deadline = time.monotonic() + timeout
        while not self.queue_empty():
            if time.monotonic() > deadline:
                raise RuntimeError("Postfix queue not empty after %d s" % timeout)
            time.sleep(0.005)
        return time.monotonic()

    def deferred(self):
        return sum(len(files) for _, _, files in os.walk(os.path.join(self.dir, "pfqueue", "deferred")))

    def delivered_files(self, localpart):
        files = []
        for sub in ("new", "cur"):
            path = os.path.join(self.env["VMAIL"], localpart, sub)
            if os.path.isdir(path):
                files.extend(os.path.join(path, name) for name in os.listdir(path))
        return files

    def delivered_ids(self, localpart):
        """Message-ID -> how many copies are in LOCALPART's virtual Maildir."""
        counts = collections.Counter()
        for path in self.delivered_files(localpart):
            with open(path, "rb") as f:
                head = f.read(16384)
            end = head.find(b"\r\n\r\n")
            if end < 0:
                end = head.find(b"\n\n")
            match = MESSAGE_ID.search(head[:end] if end >= 0 else head)
            counts[match.group(1).decode() if match else "(none)"] += 1
        return counts

    def clear_delivered(self, localpart):
        for path in self.delivered_files(localpart):
            os.unlink(path)


def check_exactly_once(servers, localpart, expected_ids, remote_users):
    """'ok' when every expected Message-ID is in the Maildir exactly once, nothing else is there,
    nothing is deferred and the remote mailboxes are empty; else what is wrong."""
    counts = servers.delivered_ids(localpart)
    missing = [i for i in expected_ids if counts.get(i, 0) == 0]
    doubled = [i for i in expected_ids if counts.get(i, 0) > 1]
    extra = sum(n for i, n in counts.items() if i not in expected_ids)
    left = sum(servers.remote_count(u) for u in remote_users)
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing")
    if doubled:
        problems.append(f"{len(doubled)} duplicated")
    if extra:
        problems.append(f"{extra} unexpected")
    if servers.deferred():
        problems.append(f"{servers.deferred()} deferred")
    if left:
        problems.append(f"{left} left on server")
    return "ok" if not problems else ", ".join(problems)


def prepare_home(path, owner):
    """A 0700 directory owned by `owner` (fresh: the previous run's state is removed)."""
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, mode=0o700)
    entry = pwd.getpwnam(owner)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    os.chmod(path, 0o700)
    return path


def write_owned(path, text, owner, mode):
    entry = pwd.getpwnam(owner)
    with open(path, "w") as f:
        f.write(text)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    os.chmod(path, mode)
