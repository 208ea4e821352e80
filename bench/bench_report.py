# SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
"""Turns bench/run's figures into the Markdown tables of bench/RESULTS.md (also printed)."""

import time


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def busy(row):
    """Share of all CPUs busy during the case, and the CPU seconds of every process then
    (client, Dovecot, Postfix, the rest of the machine), when measured."""
    if "busy" not in row:
        return ""
    return f"{row['busy']:.0f}% ({row['machine_cpu']:.2f} s)" if "machine_cpu" in row else f"{row['busy']:.0f}%"


def find(rows, case, protocol, client):
    for row in rows:
        if row["case"] == case and row["protocol"] == protocol and row["client"] == client:
            return row
    return None


def throughput_section(rows):
    out = []
    for case in ("10 KB", "2 MB"):
        these = [r for r in rows if r["case"] == case]
        if not these:
            continue
        fetchmail = {r["protocol"]: r for r in these if r["client"] == "fetchmail"}
        bound = next((r["rate"] for r in these if r["client"] == "smtp-source -s 4"), None)
        reuse = next((r["rate"] for r in these if r["client"] == "smtp-source -s 4 -d"), None)
        body = []
        for r in these:
            base = fetchmail.get(r["protocol"])
            vs_fm = f"{r['rate'] / base['rate']:.1f}x" if base and r["client"] != "fetchmail" and r["protocol"] != "SMTP" else ""
            vs_bound = f"{100 * r['rate'] / bound:.0f}%" if bound else ""
            vs_reuse = f"{100 * r['rate'] / reuse:.0f}%" if reuse else ""
            body.append([r["protocol"], r["client"], r["messages"], f"{r['rate']:.1f}", vs_fm, vs_bound, vs_reuse,
                         f"{r['wall']:.2f}", f"{r['total']:.2f}", f"{r['cpu']:.2f}", busy(r), f"{r['rss']:.1f}",
                         r["code"], r["check"]])
        out.append(f"### {case} messages\n\n" + table(
            ["protocol", "client", "msgs", "msgs/s", "vs fetchmail", "vs smtp-source -s 4", "vs -s 4 -d", "client wall s",
             "until queue empty s", "CPU s (user+sys)", "machine busy (CPU s, all processes)", "peak RSS MB", "exit", "each Message-ID once"],
            body))
    return "\n\n".join(out)


def empty_section(e, database_label):
    fm, cf = e["fetchmail"], e["clamfetch"]
    body = [[name, f"{d['median'] * 1000:.1f}", f"{d['mean'] * 1000:.1f}", f"{d['min'] * 1000:.1f}",
             f"{d['max'] * 1000:.1f}", f"{d['cpu'] * 1000:.1f}", f"{d['rss']:.1f}", ",".join(map(str, d["codes"]))]
            for name, d in (("fetchmail", fm), ("clamfetch (" + database_label + ")", cf))]
    code, total, opens = e["reads"]
    ccode, ctotal, copens, ccheck = e["control"]
    return (table(["client", "median wall ms", "mean ms", "min ms", "max ms", "CPU ms", "peak RSS MB", "exit codes"],
                  body) +
            f"\n\nclamfetch / fetchmail median wall: **{cf['median'] / fm['median']:.2f}x**.\n\n"
            f"strace -f -e trace=%file of one empty poll (exit {code}): **{total}** file syscalls name the "
            f"database directory ({opens} opens). Control, same rc with one message waiting (exit {ccode}, "
            f"delivered: {ccheck}): {ctotal} file syscalls name it ({copens} opens) - the trace does see a load.")


def engine_section(rows, loads):
    body = [[f"{r['signatures']:,}", f"{r['load']:.2f}", f"{r['hwm']:.0f}", f"{r['scan10']:.2f}", f"{r['scan2']:.1f}"]
            for r in rows]
    text = table(["signatures (synthetic .hdb)", "load + compile s", "peak RSS (VmHWM) MB", "scan 10 KB ms",
                  "scan 2 MB ms"], body)
    load4 = rows[-1]["load"] if rows else 0
    body = [[m, f"{lazy:.0f}", polls, f"{lazy * load4:.0f}", f"{polls * load4:.0f}"] for m, polls, lazy in loads]
    text += ("\n\nLoads a day of `*/3` cron polls (480 polls). Assumption: a small site whose mail arrives as a "
             "Poisson stream during a 10-hour working day and never at night; a poll loads the engine only if it "
             "found mail (lazy) or on every run (eager). CPU seconds use the measured load time of "
             f"the largest database above ({load4:.1f} s; ClamAV reports 10-17 s for the real ~8.7 M).\n\n")
    text += table(["mails/day", "lazy loads/day", "eager loads/day", "lazy load CPU s/day", "eager load CPU s/day"], body)
    return text


def guard_section(g):
    share = 100 * g["guard_us"] / 1000 / g["scan_ms"] if g["scan_ms"] else 0
    return (table(["guard alone, per scan (us)", "10 KB scan (ms)", "10 KB scan, guarded (ms)", "guard / scan"],
                  [[f"{g['guard_us']:.1f}", f"{g['scan_ms']:.3f}", f"{g['guarded_ms']:.3f}", f"{share:.1f}%"]]) +
            "\n\nThe chosen way (scan/scan_guard): every in-process scan is written to an append-only "
            "journal before it starts and crossed out after it (two write() calls, no fsync), and a "
            "watchdog thread holds its deadline; a crash signal or an overrun names the message for the "
            "next run. The other way, a child forked per scan after the engine is loaded, would copy "
            "the page tables of the whole engine (about 1 GB with the real database) for every message "
            "and return the verdict through a pipe; it was not built. The two scan columns are separate "
            "rounds of 300 different 10 KB messages (tests/data/signatures): their difference is noise "
            "next to the guard's own cost.")


def scaling_section(rows):
    body = []
    for r in rows:
        base = next((b for b in rows if b["accounts"] == r["accounts"] and b["parallel"] == 1), None)
        speed = f"{base['total'] / r['total']:.2f}x" if base else ""
        body.append([r["accounts"], r["parallel"], r["messages"], f"{r['total']:.2f}", f"{r['rate']:.0f}", speed,
                     f"{r['cpu']:.2f}", busy(r), f"{r['rss']:.1f}", r["code"], r["check"]])
    return table(["accounts", "parallel", "msgs", "total s (until queue empty)", "msgs/s", "speed-up vs parallel 1",
                  "CPU s", "machine busy (CPU s, all processes)", "peak RSS MB", "exit", "each Message-ID once"],
                 body)


def memory_section(rows, baseline):
    body = [[r["protocol"], "yes" if r["scanned"] else "no (over max_file_size)", f"{r['size_mb']:.1f}",
             f"{r['rss']:.0f}", f"{(r['rss'] - baseline) / r['size_mb']:.2f}", f"{r['total']:.2f}", f"{r['cpu']:.2f}",
             r["code"], r["check"]] for r in rows]
    return (f"Baseline (binary + libraries + test engine, one 10 KB message): {baseline:.0f} MB.\n\n" +
            table(["protocol", "scanned", "message MB", "peak RSS MB", "(peak - baseline) / size", "total s", "CPU s",
                   "exit", "each Message-ID once"], body))


def targets_section(targets):
    body = [[t["target"], t["measured"], "**met**" if t["met"] else "**MISSED**"] for t in targets]
    return table(["target (clamfetch with scanning on)", "measured", ""], body)


def document(r):
    v = r["versions"]
    parts = [
        "# bench: clamfetch vs fetchmail on the same Dovecot + Postfix",
        f"Written by `bench/run` on {time.strftime('%Y-%m-%d %H:%M %Z')} in {r['elapsed'] / 60:.1f} min from source "
        f"`{v.get('source', '?')}` (uncommitted work of several developers included when `-dirty`). "
        f"Machine: {v['cpus']} CPUs, kernel {v['kernel']}, load average at start {v['load']} (shared machine: "
        f"other work ran alongside). fetchmail {v['fetchmail']}, Dovecot {v['dovecot']}, Postfix {v['postfix']}, "
        f"libclamav {v['libclamav']}. All servers on loopback, started by tests/fixture/mailservers; "
        "clients run as the unprivileged test user; clamfetch with `smtp_sessions = 4`, scanning with "
        "tests/data/signatures unless said otherwise. `msgs/s` counts from the client's start until Postfix's "
        "queue is empty (delivery finished), and every run is checked by Message-ID in the virtual Maildir.",
        "## Targets\n\n" + targets_section(r["targets"]),
    ]
    if "throughput" in r:
        parts.append("## Throughput\n\n" + throughput_section(r["throughput"]))
    if "empty" in r:
        parts.append(f"## Empty poll (cron case), {r['empty_runs']} runs each\n\n" + empty_section(r["empty"], r["empty_db"]))
    if "engine" in r:
        parts.append("## Signature database\n\n" + engine_section(r["engine"], r["loads"]))
    if "guard" in r:
        parts.append("## Poison-message protection\n\n" + guard_section(r["guard"]))
    if "scaling" in r:
        parts.append("## Scaling: accounts x 20 messages of 10 KB, POP3S\n\n" + scaling_section(r["scaling"]))
    if "memory" in r:
        parts.append("## Memory: one big message\n\n" + memory_section(r["memory"], r["baseline"]))
    if r.get("notes"):
        parts.append("## Notes\n\n" + r["notes"])
    return "\n\n".join(parts) + "\n"
