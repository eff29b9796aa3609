#ifndef STRATA_SELFEXEC_H
#define STRATA_SELFEXEC_H
/* CVE-2019-5736, the fallback defence (see execguard.h for the usual one): re-execute strata-box
 * from a sealed in-memory copy before anything of a container exists, so nothing inside can reach
 * the binary on disk through /proc/PID/exe. */
#include <sys/types.h>

/* True when `self_fd` (an fd of /proc/self/exe) is a memfd with every seal this copy sets. */
int selfexec_is_sealed(int self_fd);
/* Copies the binary open at `self_fd` into a sealed memfd and executes it with the same argv;
 * returns only to die with a message. */
__attribute__((noreturn)) void selfexec_reexec_sealed(int self_fd, off_t size, char **argv);
#endif
