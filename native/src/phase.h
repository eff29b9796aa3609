/* Start-up profiling of `run`, compiled in only on request:
 *   make -C native phases && python3 native/tests/phases.py
 * Every PHASE("name") then writes "phase SECONDS.NANOS name" (CLOCK_MONOTONIC, shared by all
 * processes of a run) on stderr; native/tests/phases.py turns many runs into a per-phase table.
 * In a normal build PHASE() is nothing at all. */
#ifndef STRATA_PHASE_H
#define STRATA_PHASE_H

#ifdef STRATA_PHASES
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static inline void phase_mark(const char *name) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  char line[128];
  int n = snprintf(line, sizeof line, "phase %lld.%09ld %s\n", (long long)ts.tv_sec, ts.tv_nsec, name);
  if (n > 0) (void)!write(STDERR_FILENO, line, (size_t)n);
}
#define PHASE(name) phase_mark(name)
#else
#define PHASE(name) ((void)0)
#endif

#endif
