/* Namespaces: the clone that makes the container's init, its host name and its loopback. */
#ifndef STRATA_NS_H
#define STRATA_NS_H

#include <stdbool.h>
#include <sys/types.h>

/* fork(2) into new user, mount, pid, ipc, uts (and, unless host_net, net) namespaces. The child
 * is pid 1 of the new pid namespace. Returns like fork. */
pid_t ns_clone_container(bool host_net);
void ns_set_hostname(const char *name);
/* Brings up "lo" in a new network namespace (the kernel then gives it 127.0.0.1 and ::1). */
void ns_loopback_up(void);

#endif
