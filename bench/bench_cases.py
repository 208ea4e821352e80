# SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
"""The measurements of bench/run. Each function runs one case on the shared servers and
returns plain dicts (figures in seconds, MB, messages per second) for the report."""

import math
import os
import re
import statistics
import subprocess
import time

from bench_clients import messages
from bench_env import check_exactly_once, log, measure

KB = 1024
MB = 1024 * 1024


def cpu_times():
    """Machine-wide (busy, total) jiffies from /proc/stat: every process, ours and the servers'."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def timed_delivery(servers, run_client):
    """Runs the client; returns (Run, seconds from start until Postfix's queue was empty). The Run
    also gets `busy`: the share of all CPUs busy meanwhile (client, Dovecot, Postfix and anything
    else), which tells a CPU-bound case from a latency-bound one."""
    busy0, total0 = cpu_times()
    start = time.monotonic()
    run = run_client()
    empty = servers.wait_queue()
    busy1, total1 = cpu_times()
    run.busy = 100.0 * (busy1 - busy0) / max(1, total1 - total0)
    run.machine_cpu = (busy1 - busy0) / os.sysconf("SC_CLK_TCK")  # seconds, all processes
    return run, empty - start


SPREAD = "(same mail over 4 accounts, parallel 4)"


def throughput(servers, client, kind, protocol, count, size, label):
    """One client fetching `count` seeded messages of `size` into virtualuser1's Maildir; with
    `SPREAD` in `kind`, the same number of messages seeded over four accounts polled at once."""
    tag = f"{label}-{protocol}-{kind}".replace(" ", "_").replace(",", "")
    servers.clear_delivered("virtualuser1")
    users = [f"pop3userid{i}" for i in (1, 2, 3, 4)] if kind.endswith(SPREAD) else ["pop3userid1"]
    ids = []
    for n, user in enumerate(users):
        these, data = messages(f"{tag}-{user}", count // len(users) + (n < count % len(users)), size)
        servers.seed(user, data)
        ids += these
        del data
    if kind == "fetchmail":
        rc = client.prepare(protocol)
        run, total = timed_delivery(servers, lambda: client.run(rc, tag))
    else:
        rc = client.prepare(client.rc(protocol, users, parallel=len(users)))
        run, total = timed_delivery(servers, lambda: client.run(rc, tag, no_scan=(kind == "clamfetch --no-scan")))
    check = check_exactly_once(servers, "virtualuser1", set(ids), users)
    servers.clear_delivered("virtualuser1")
    row = {"case": label, "protocol": protocol.upper() + "S", "client": kind, "messages": count,
           "rate": count / total, "total": total, "wall": run.wall, "cpu": run.cpu, "rss": run.maxrss_mb,
           "busy": run.busy, "machine_cpu": run.machine_cpu, "code": run.code, "check": check}
    log(f"{tag}: {row['rate']:.1f} msg/s, {total:.2f} s to empty queue, machine busy {run.busy:.0f}%, exit {run.code}, {check}")
    return row


def smtp_source(servers, sessions, count, size, workdir, reuse=False):
    """Postfix's own load generator into the same Postfix: the MTA's bound. By default it opens
    a connection per message; `reuse` (-d) keeps each session's connection, as clamfetch does."""
    servers.clear_delivered("virtualuser2")
    argv = ["smtp-source", "-s", str(sessions), "-m", str(count), "-l", str(size), "-f", "bench@remote.example",
            "-t", "virtualuser2@example.com"] + (["-d"] if reuse else []) + [f"127.0.0.1:{servers.port('SMTP_PORT')}"]
    run, total = timed_delivery(servers, lambda: measure(argv, stderr_path=os.path.join(workdir, "smtp-source.log")))
    arrived = len(servers.delivered_files("virtualuser2"))
    check = "ok" if arrived == count and not servers.deferred() else f"{arrived} of {count} arrived"
    servers.clear_delivered("virtualuser2")
    label = "10 KB" if size < MB else "2 MB"
    client = f"smtp-source -s {sessions}" + (" -d" if reuse else "")
    row = {"case": label, "protocol": "SMTP", "client": client, "messages": count,
           "rate": count / total, "total": total, "wall": run.wall, "cpu": run.cpu, "rss": run.maxrss_mb,
           "busy": run.busy, "machine_cpu": run.machine_cpu, "code": run.code, "check": check}
    log(f"{client} {label}: {row['rate']:.1f} msg/s, {check}")
    return row


def database_reads(servers, clamfetch, rc, database, label):
    """Runs clamfetch once under strace; returns how many file syscalls named the database."""
    trace = os.path.join(clamfetch.logs, f"{label}.strace")
    if os.path.exists(trace):
        os.unlink(trace)
    argv = ["strace", "-f", "-qq", "-e", "trace=%file", "-o", trace, "-u", servers.user] + clamfetch.argv(rc)
    run = measure(argv, env=clamfetch.env(), cwd=clamfetch.home, stderr_path=os.path.join(clamfetch.logs, f"{label}.log"),
                  rss=False)
    with open(trace, errors="replace") as f:
        lines = [line for line in f if database in line]
    return run.code, len(lines), len([line for line in lines if "open" in line])


def empty_poll(servers, fetchmail, clamfetch, database, runs):
    """The cron case: nothing new on the server, `runs` polls of each client, interleaved."""
    user = "pop3userid2"
    servers.seed(user, [])
    fm_rc = fetchmail.prepare("pop3", user)
    cf_rc = clamfetch.prepare(clamfetch.rc("pop3", [user]), database=database)
    fm, cf = [], []
    for i in range(runs):
        fm.append(fetchmail.run(fm_rc, f"empty-fetchmail-{i}"))
        cf.append(clamfetch.run(cf_rc, f"empty-clamfetch-{i}"))
    reads = database_reads(servers, clamfetch, cf_rc, database, "empty-strace")
    # Control: the same trace with one message waiting shows the database being loaded.
    ids, data = messages("empty-control", 1, 10 * KB)
    servers.seed(user, data)
    control = database_reads(servers, clamfetch, cf_rc, database, "empty-strace-control")
    servers.wait_queue()
    control_check = check_exactly_once(servers, "virtualuser1", set(ids), [user])
    servers.clear_delivered("virtualuser1")
    result = {}
    for name, rows in (("fetchmail", fm), ("clamfetch", cf)):
        walls = [r.wall for r in rows]
        result[name] = {"median": statistics.median(walls), "mean": statistics.mean(walls), "min": min(walls),
                        "max": max(walls), "rss": max(r.maxrss_mb for r in rows),
                        "cpu": statistics.mean(r.cpu for r in rows), "codes": sorted({r.code for r in rows})}
    result["reads"] = reads
    result["control"] = control + (control_check,)
    log(f"empty poll: fetchmail median {result['fetchmail']['median'] * 1000:.0f} ms, clamfetch "
        f"{result['clamfetch']['median'] * 1000:.0f} ms; database syscalls empty={reads[1]} control={control[1]}")
    return result


def engine_load(engine, database, signatures, workdir):
    """bench_scan_engine: load + compile time and peak RSS of one synthetic database."""
    out = os.path.join(workdir, f"engine-{signatures}.out")
    if os.path.exists(out):
        os.unlink(out)
    run = measure([engine, database, "5"], stdout_path=out, stderr_path=os.path.join(workdir, f"engine-{signatures}.log"))
    with open(out) as f:
        text = f.read()
    match = re.search(r"load \+ compile: ([0-9.]+) s, VmHWM ([0-9.]+) MB", text)
    scan10 = re.search(r"scan 10 KB .*: ([0-9.]+) ms/message", text)
    scan2 = re.search(r"scan 2 MB .*: ([0-9.]+) ms/message", text)
    if run.code != 0 or not match:
        raise RuntimeError(f"bench_scan_engine failed on {database}:\n{text}\n{run.stderr}")
    row = {"signatures": signatures, "load": float(match.group(1)), "hwm": float(match.group(2)),
           "scan10": float(scan10.group(1)) if scan10 else math.nan, "scan2": float(scan2.group(1)) if scan2 else math.nan}
    log(f"engine {signatures} sigs: load {row['load']:.2f} s, VmHWM {row['hwm']:.0f} MB")
    return row


def guard_cost(engine, database, workdir):
    """bench_scan_engine with a state dir: what the poison-message protection adds per scan
    (scan journal appends + watchdog entry), alone and next to a 10 KB scan."""
    state = os.path.join(workdir, "guard-state")
    os.makedirs(state, exist_ok=True)
    out = os.path.join(workdir, "guard.out")
    run = measure([engine, database, "300", state], stdout_path=out, stderr_path=os.path.join(workdir, "guard.log"))
    with open(out) as f:
        text = f.read()
    alone = re.search(r"guard alone: ([0-9.]+) us per scan", text)
    plain = re.search(r"scan 10 KB +\(.*: ([0-9.]+) ms/message", text)
    guarded = re.search(r"scan 10 KB +guarded .*: ([0-9.]+) ms/message", text)
    if run.code != 0 or not (alone and plain and guarded):
        raise RuntimeError(f"bench_scan_engine (guard) failed:\n{text}\n{run.stderr}")
    row = {"guard_us": float(alone.group(1)), "scan_ms": float(plain.group(1)), "guarded_ms": float(guarded.group(1))}
    log(f"scan guard: {row['guard_us']:.1f} us per scan, 10 KB scan {row['scan_ms']:.2f} ms")
    return row


def loads_per_day(mails_per_day, hours=10, interval_min=3):
    """Cron polls every `interval_min` minutes (480 a day at 3). Lazy loading loads once per poll
    that finds mail. Mail arrives as a Poisson stream during `hours` working hours and not at
    night, so a working-hours poll finds mail with probability 1 - exp(-rate * interval)."""
    polls_day = 24 * 60 // interval_min
    polls_work = hours * 60 // interval_min
    rate = mails_per_day / (hours * 60.0)
    lazy = polls_work * (1 - math.exp(-rate * interval_min))
    return polls_day, lazy


def scaling(servers, clamfetch, accounts, parallel, per_account):
    users = [f"pop3userid{i}" for i in range(accounts)]
    tag = f"scale{accounts}p{parallel}"
    servers.clear_delivered("virtualuser1")
    ids = set()
    for user in users:
        these, data = messages(f"{tag}-{user}", per_account, 10 * KB)
        servers.seed(user, data)
        ids.update(these)
    rc = clamfetch.prepare(clamfetch.rc("pop3", users, parallel=parallel))
    run, total = timed_delivery(servers, lambda: clamfetch.run(rc, tag))
    check = check_exactly_once(servers, "virtualuser1", ids, users)
    servers.clear_delivered("virtualuser1")
    row = {"accounts": accounts, "parallel": parallel, "messages": len(ids), "total": total,
           "rate": len(ids) / total, "cpu": run.cpu, "rss": run.maxrss_mb, "busy": run.busy,
           "machine_cpu": run.machine_cpu, "code": run.code,
           "check": check}
    log(f"{tag}: {total:.2f} s, {row['rate']:.0f} msg/s, machine busy {run.busy:.0f}%, {check}")
    return row


def big_message(servers, clamfetch, protocol, size, scanned):
    """Peak RSS of clamfetch fetching one message of `size` bytes; `scanned`: max_file_size raised
    over the size so that libclamav scans it (default 25M would pass it on unscanned)."""
    user = "pop3userid3"
    tag = f"big-{protocol}-{'scan' if scanned else 'oversize'}"
    servers.clear_delivered("virtualuser1")
    ids, data = messages(tag, 1, size)
    actual = len(data[0])
    servers.seed(user, data)
    del data
    extra = f"max_file_size = \"{2 * size // MB}M\"\nmax_scan_size = \"{4 * size // MB}M\"\n" if scanned else ""
    rc = clamfetch.prepare(clamfetch.rc(protocol, [user], extra_scan=extra))
    run, total = timed_delivery(servers, lambda: clamfetch.run(rc, tag))
    check = check_exactly_once(servers, "virtualuser1", set(ids), [user])
    servers.clear_delivered("virtualuser1")
    row = {"protocol": protocol.upper() + "S", "scanned": scanned, "size_mb": actual / MB, "rss": run.maxrss_mb,
           "total": total, "cpu": run.cpu, "code": run.code, "check": check}
    log(f"{tag}: peak RSS {run.maxrss_mb:.0f} MB for {actual / MB:.0f} MB, {check}")
    return row


def baseline_rss(servers, clamfetch):
    """clamfetch's peak RSS delivering one 10 KB message with the test database: the binary, its
    libraries and the loaded engine, the 'engine' term of the memory target."""
    row = big_message(servers, clamfetch, "pop3", 10 * KB, False)
    return row["rss"]


def versions():
    def first_line(argv):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"
    return {
        "fetchmail": first_line(["dpkg-query", "-W", "-f=${Version}", "fetchmail"]),
        "dovecot": first_line(["dovecot", "--version"]),
        "postfix": first_line(["postconf", "-d", "-h", "mail_version"]),
        "libclamav": first_line(["dpkg-query", "-W", "-f=${Version}\n", "libclamav-dev"]),
        "source": first_line(["git", "-C", os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "describe",
                              "--always", "--dirty"]),
        "kernel": os.uname().release,
        "cpus": str(os.cpu_count()),
        "load": " ".join(open("/proc/loadavg").read().split()[:3]),
    }
