/* Who is root inside: the invoking user alone, or ids 0-65535 through a subordinate range. */
#ifndef STRATA_IDMAP_H
#define STRATA_IDMAP_H

#include <sys/types.h>

#include "run.h"

/* `run --single-id`: from now on idmap_choose maps the invoking ids alone, whatever /etc/subuid
 * says. A process-wide setting (as g_status_fd is), made while the options are read, before the
 * mapping is chosen. */
void idmap_force_single_id(void);
/* Whether --single-id asked for the one-id mapping (so a refusal can name the flag). */
bool idmap_single_id_forced(void);
/* Decides the mapping for the invoking user (read /etc/subuid, /etc/subgid, look for newuidmap). */
void idmap_choose(struct id_mapping *m);
/* Writes the maps of the child `pid` (in its new user namespace) from outside. */
void idmap_apply(const struct id_mapping *m, pid_t pid);
/* Whether container id `id` is mapped (for --uid/--gid checks). */
int idmap_uid_mapped(const struct id_mapping *m, uid_t id);

#endif
