/* Resource limits through a cgroup: v2 where our cgroup is writable or delegated, else v1 where
 * writable (as for root on a hybrid machine); where none is, one warning and no limits. */
#ifndef STRATA_CGROUP_H
#define STRATA_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

#include "run.h"

struct cgroup {
  int version;      /* 0: none, 1 or 2 */
  char *dirs[3];    /* the cgroups made for this container (v1: one per controller) */
  size_t n_dirs;
  char *memory_dir; /* where the OOM-kill counter is read */
};

void cgroup_prepare(struct cgroup *cg, const struct run_options *o);
void cgroup_enter(const struct cgroup *cg, pid_t pid);
bool cgroup_oom_killed(const struct cgroup *cg);
void cgroup_remove(struct cgroup *cg);

#endif
