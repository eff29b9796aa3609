/* Namespaces: the clone that makes the container's init, its host name and its loopback. */
#ifndef STRATA_NS_H
#define STRATA_NS_H

#include <stdbool.h>
#include <sys/types.h>

/* fork(2) into new user, mount, pid, ipc and uts namespaces. The child is pid 1 of the new pid
 * namespace. Returns like fork. The network namespace comes from netns.h. */
pid_t ns_clone_container(void);
void ns_set_hostname(const char *name);
/* Brings up "lo" in a new network namespace (the kernel then gives it 127.0.0.1 and ::1).
 * 0, or -1 with errno. */
int ns_try_loopback_up(void);

#endif
