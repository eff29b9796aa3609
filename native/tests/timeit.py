#!/usr/bin/env python3
"""The benchmark's timer (bench/native.bench.ts): times commands in interleaved, shuffled rounds and
prints one JSON line [{"name", "medianMs", "cpuMs"}] with the median wall time (spawn to the
command's exit) and the median CPU time (user + system) of every process the run made. The timer is
a child subreaper, so what a command leaves behind (bwrap's sandbox init, which its outer process
does not wait for; podman's conmon) is re-parented to it and reaped after the command exits; the CPU
time is the growth of RUSAGE_CHILDREN over the run, which then counts all of them.

  python3 native/tests/timeit.py '{"commands": [["name", ["argv0", ...]], ...], "rounds": 40, "warmup": 2}'

`{round}` in an argument becomes the round's number (per-run directories). With "samples": true the
output also lists every round's wall and CPU time ("wallSamples", "cpuSamples", in round order). A command that fails is
reported on stderr and left out. Timing is done here, around posix_spawn and wait4, so no wrapper's
own start-up is counted."""
import ctypes
import json
import os
import resource
import random
import statistics
import sys
import tempfile
import time


PR_SET_CHILD_SUBREAPER = 36


def reap_leftovers(limit_s=0.2):
    """Reaps the processes a run left behind; stops at ECHILD or after limit_s (a daemon that stays,
    such as podman's rootless pause process, is not waited for)."""
    deadline = time.monotonic() + limit_s
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() > deadline:
                return
            time.sleep(0.0005)


def cpu_ms_of_children():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (ru.ru_utime + ru.ru_stime) * 1000


def main():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed")
    job = json.loads(sys.argv[1])
    warmup = job.get("warmup", 2)
    walls = {name: [] for name, _ in job["commands"]}
    cpus = {name: [] for name, _ in job["commands"]}
    failed = set()
    devnull = os.open(os.devnull, os.O_RDWR)
    err_file = tempfile.TemporaryFile()
    env = dict(os.environ)
    for rnd in range(-warmup, job["rounds"]):
        order = list(job["commands"])
        random.shuffle(order)
        for name, template in order:
            if name in failed:
                continue
            argv = [a.replace("{round}", str(rnd + warmup)) for a in template]
            err_file.seek(0)
            err_file.truncate()
            actions = [
                (os.POSIX_SPAWN_DUP2, devnull, 0),
                (os.POSIX_SPAWN_DUP2, devnull, 1),
                (os.POSIX_SPAWN_DUP2, err_file.fileno(), 2),
            ]
            cpu0 = cpu_ms_of_children()
            t0 = time.perf_counter_ns()
            try:
                pid = os.posix_spawnp(argv[0], argv, env, file_actions=actions)
            except OSError as e:
                failed.add(name)
                print(f"  {name} failed to start: {e}", file=sys.stderr)
                continue
            _, status, _ = os.wait4(pid, 0)
            ms = (time.perf_counter_ns() - t0) / 1e6
            reap_leftovers()
            cpu = cpu_ms_of_children() - cpu0
            if os.waitstatus_to_exitcode(status) != 0:
                failed.add(name)
                err_file.seek(0)
                tail = err_file.read().decode(errors="replace").strip()[-300:]
                print(f"  {name} failed (exit {os.waitstatus_to_exitcode(status)}): {tail}", file=sys.stderr)
                continue
            if rnd >= 0:  # the warm-up rounds fill caches
                walls[name].append(ms)
                cpus[name].append(cpu)
    out = [
        {"name": n, "medianMs": statistics.median(walls[n]), "cpuMs": statistics.median(cpus[n])}
        for n, _ in job["commands"]
        if n not in failed and walls[n]
    ]
    if job.get("samples"):  # every round's figures, in round order, for paired comparisons
        for o in out:
            o["wallSamples"] = walls[o["name"]]
            o["cpuSamples"] = cpus[o["name"]]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
