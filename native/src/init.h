/* The container side: pid 1 of the new pid namespace. It builds the file system view, starts the
 * workload, forwards signals to it, reaps every zombie and reports the workload's end. */
#ifndef STRATA_INIT_H
#define STRATA_INIT_H

#include <signal.h>
#include <stdbool.h>

#include "run.h"

/* The signals the supervisor and the init pass on to the workload (plus SIGCHLD, which they
 * handle themselves); blocked in both, waited for synchronously. */
void init_signal_set(sigset_t *set);

__attribute__((noreturn)) void init_main(struct run_options *o, const struct id_mapping *map, int chan,
                                                bool guard_exec);

#endif
