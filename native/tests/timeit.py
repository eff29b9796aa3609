#!/usr/bin/env python3
"""The benchmark's timer (bench/native.bench.ts): times commands in interleaved, shuffled rounds and
prints one JSON line [{"name", "medianMs", "cpuMs"}] with the median wall time and the median CPU
time (user + system from wait4, so it covers every process the command waited for: strata-box, its
init and the workload; bwrap's and runc's helpers alike; not podman's daemonized conmon).

  python3 native/tests/timeit.py '{"commands": [["name", ["argv0", ...]], ...], "rounds": 40, "warmup": 2}'

`{round}` in an argument becomes the round's number (per-run directories). A command that fails is
reported on stderr and left out. Timing is done here, around posix_spawn and wait4, so no wrapper's
own start-up is counted."""
import json
import os
import random
import statistics
import sys
import tempfile
import time


def main():
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
            t0 = time.perf_counter_ns()
            try:
                pid = os.posix_spawnp(argv[0], argv, env, file_actions=actions)
            except OSError as e:
                failed.add(name)
                print(f"  {name} failed to start: {e}", file=sys.stderr)
                continue
            _, status, ru = os.wait4(pid, 0)
            ms = (time.perf_counter_ns() - t0) / 1e6
            if os.waitstatus_to_exitcode(status) != 0:
                failed.add(name)
                err_file.seek(0)
                tail = err_file.read().decode(errors="replace").strip()[-300:]
                print(f"  {name} failed (exit {os.waitstatus_to_exitcode(status)}): {tail}", file=sys.stderr)
                continue
            if rnd >= 0:  # the warm-up rounds fill caches
                walls[name].append(ms)
                cpus[name].append((ru.ru_utime + ru.ru_stime) * 1000)
    out = [
        {"name": n, "medianMs": statistics.median(walls[n]), "cpuMs": statistics.median(cpus[n])}
        for n, _ in job["commands"]
        if n not in failed and walls[n]
    ]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
