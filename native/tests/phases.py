#!/usr/bin/env python3
"""Where the milliseconds of `strata-box run` go: runs the phase-marked build (make -C native phases)
many times and prints the median of every step on the critical path, plus wall and CPU time.

  python3 native/tests/phases.py [--runs N] [--binary PATH] [--rootfs DIR] [-- COMMAND...]

Without --rootfs it makes a busybox root file system like the benchmark's (bench/native.bench.ts).
Each run is timed from just before posix_spawn to wait4 (which also gives the CPU time of the whole
tree: strata-box, its init and the workload). Phase marks come from src/phase.h."""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# The critical path, in causal order: each step is measured from the one before it.
STEPS = [
    # Only in builds before the exec guard (the sealed-memfd re-exec on every run as root).
    ("old: re-exec from the sealed memfd", "(old) spawn, exec, options, copy into a sealed memfd"),
    ("supervisor: main", "spawn (or re-exec) and exec of strata-box (and dynamic linking, where not static)"),
    ("supervisor: options parsed, id mapping chosen", "parse options, the user's name and /etc/subuid"),
    ("supervisor: exec guard chosen", "exec guard (CVE-2019-5736) decision"),
    ("supervisor: cgroup, channel and signals ready", "cgroup, socketpair, signalfd, parent-death signal"),
    ("init: start", "clone: user, mount, pid, ipc, uts namespaces (before: and net)"),
    ("init: go received", "id maps written, go message"),
    ("init: root mounted", "cgroup ns, private /, bind or overlay root"),
    # Before the network namespace helper (netns.h): the init made it and brought lo up itself.
    ("init: /proc, /dev, /sys, masks mounted", "(old) /proc, /dev, /sys, masks"),
    ("init: binds, host name, loopback done", "(old) binds, host name, loopback up"),
    ("init: /proc, /dev, masks mounted, host name set", "/proc, /dev (tmpfs, 6 nodes, devpts, shm), /proc masks, host name"),
    ("init: network namespace joined", "wait for the helper's network namespace (lo up), join it"),
    ("init: /sys mounted", "/sys and its masks"),
    ("init: binds done", "binds, read-only root"),
    ("init: pivoted", "pivot_root"),
    ("init: pivot_root done", "detach the old root"),
    ("init: fork workload", "close fds"),
    ("workload: forked", "fork the workload"),
    ("workload: exec", "workload: signals, cwd, capabilities, ids, no_new_privs"),
    ("init: exec guard done", "execve; exec guard: stop, compare, detach"),
    ("init: exec confirmed", "execve (unguarded) or exec-status pipe; started report"),
    ("init: workload reaped", "the workload runs (/bin/true) and exits"),
    ("init: exit", "remove created mount points, report"),
    ("supervisor: init reaped", "init exits: pid and mount namespaces torn down"),
    ("supervisor: exit", "exit report"),
    ("(wait4 returned)", "strata-box exits"),
]

# Work beside the critical path: (mark, measured from mark, what).
SIDE = [
    ("supervisor: net helper forked", "supervisor: go sent", "supervisor: fork the network namespace helper"),
    ("net helper: start", "supervisor: go sent", "helper: start"),
    ("net helper: setns", "net helper: start", "helper: setns"),
    ("net helper: unshare", "net helper: setns", "helper: unshare"),
    ("net helper: lo", "net helper: unshare", "helper: lo"),
    ("net helper: namespace ready", "supervisor: go sent", "helper: go sent to network namespace ready (lo up)"),
]


def busybox_rootfs(d):
    for sub in ["bin", "etc", "tmp", "proc", "sys", "dev", "root", "usr"]:
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    shutil.copy("/bin/busybox", os.path.join(d, "bin", "busybox"))
    out = subprocess.run(["/bin/busybox", "--list"], capture_output=True, text=True).stdout.split()
    for a in out:
        if a != "busybox":
            os.symlink("busybox", os.path.join(d, "bin", a))
    os.symlink("bin", os.path.join(d, "sbin"))
    with open(os.path.join(d, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")


def one_run(argv):
    r, w = os.pipe()
    t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, w, 2)])
    os.close(w)
    _, status, ru = os.wait4(pid, 0)
    t1 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    err = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        err += chunk
    os.close(r)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"run failed ({status}): {err.decode(errors='replace')}")
    marks = {"(wait4 returned)": t1}
    for line in err.decode().splitlines():
        if line.startswith("phase "):
            _, stamp, name = line.split(" ", 2)
            sec, nsec = stamp.split(".")
            marks[name] = int(sec) * 10**9 + int(nsec)
    cpu_ms = (ru.ru_utime + ru.ru_stime) * 1000
    return t0, marks, (t1 - t0) / 1e6, cpu_ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--binary", default=os.path.join(HERE, "..", "build", "phases", "strata-box"))
    ap.add_argument("--rootfs")
    ap.add_argument("--overlay", action="store_true", help="the rootfs as the lower dir of an overlay, fresh upper and work dirs per run")
    ap.add_argument("command", nargs="*", default=["/bin/true"])
    a = ap.parse_args()
    tmp = None
    rootfs = a.rootfs
    if not rootfs:
        tmp = tempfile.mkdtemp(prefix="strata-phases-")
        os.chmod(tmp, 0o755)
        rootfs = os.path.join(tmp, "rootfs")
        busybox_rootfs(rootfs)
    scratch = tempfile.mkdtemp(prefix="strata-phases-ov-")
    runs = iter(range(10**9))

    def argv():
        if not a.overlay:
            return [os.path.abspath(a.binary), "run", "--rootfs", rootfs, "--", *a.command]
        d = os.path.join(scratch, str(next(runs)))
        os.makedirs(os.path.join(d, "upper"))
        os.makedirs(os.path.join(d, "work"))
        root = ["--lower", rootfs, "--upper", os.path.join(d, "upper"), "--work", os.path.join(d, "work")]
        return [os.path.abspath(a.binary), "run", *root, "--", *a.command]

    try:
        for _ in range(5):
            one_run(argv())  # warm caches
        deltas = {name: [] for name, _ in STEPS}
        side = {name: [] for name, _, _ in SIDE}
        walls, cpus = [], []
        for _ in range(a.runs):
            t0, marks, wall, cpu = one_run(argv())
            walls.append(wall)
            cpus.append(cpu)
            prev = t0
            for name, _ in STEPS:
                if name in marks:
                    deltas[name].append(max(0, marks[name] - prev) / 1e6)
                    prev = marks[name]
            for name, start, _ in SIDE:
                if name in marks and start in marks:
                    side[name].append((marks[name] - marks[start]) / 1e6)
    finally:
        shutil.rmtree(scratch)
        if tmp:
            shutil.rmtree(tmp)
    root_kind = "overlay root, fresh upper and work dirs" if a.overlay else "plain root"
    print(f"strata-box run -- {' '.join(a.command)}: {root_kind}, median of {a.runs} runs, ms (uid {os.getuid()})\n")
    print("| step | ms |")
    print("| --- | ---: |")
    total = 0.0
    for name, what in STEPS:
        if deltas[name]:
            m = statistics.median(deltas[name])
            total += m
            print(f"| {what} | {m:.3f} |")
    print(f"| sum of step medians | {total:.2f} |")
    print(f"| wall, spawn to wait4 | {statistics.median(walls):.2f} |")
    print(f"| CPU (user + system, whole tree) | {statistics.median(cpus):.2f} |")
    for name, _, what in SIDE:
        if side[name]:
            print(f"| beside the path: {what} | {statistics.median(side[name]):.3f} |")


if __name__ == "__main__":
    main()
