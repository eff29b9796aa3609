/* CVE-2019-5736 class: the container must never run strata-box's own binary from the host, since
 * a second process inside could then open it through /proc/PID/exe and overwrite it whenever an id
 * of the container may write the file (root running strata-box, or a user who owns the binary).
 * See execguard.c for why one checked exec is enough and what it costs. */
#ifndef STRATA_EXECGUARD_H
#define STRATA_EXECGUARD_H

#include <stdbool.h>
#include <sys/types.h>

#include "run.h"

/* Supervisor, before any namespace exists. Returns true when the workload's exec must be guarded
 * (the container could write the binary), false when nothing is needed (it could not, or this
 * process already runs from a sealed copy). Where the guard cannot work (ptrace forbidden) or
 * STRATA_BOX_EXEC_GUARD=sealed-copy asks for it, it re-executes from a sealed memfd instead and
 * does not return. */
bool execguard_choose(char **argv, const struct id_mapping *map);

/* The workload child, right before exec: have the exec stop for the init's check. */
void execguard_arm(void);

enum exec_guard_result {
  GUARD_RUNNING, /* the workload runs something else; no longer traced */
  GUARD_REFUSED, /* it had executed strata-box's binary: killed before its first instruction, reaped */
  GUARD_ENDED,   /* it ended before a successful exec stopped it; *status is its wait status */
};

/* The init, right after forking the workload: waits for its exec's stop and checks it, or for its
 * end (a failed exec, a failure before it, or a signal: GUARD_ENDED with *status). */
enum exec_guard_result execguard_check(pid_t workload, int *status);

#endif
