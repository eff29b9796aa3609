#ifndef STRATA_SELFEXEC_H
#define STRATA_SELFEXEC_H
/* CVE-2019-5736: make sure the running strata-box is a sealed in-memory copy before anything of a
 * container exists, so nothing inside can reach the binary on disk through /proc/PID/exe. */
#include "run.h"
/* Re-executes from a sealed memfd unless it already runs from one, or no id of the container
 * (per `map`) could write the binary anyway (then the copy would only cost time). */
void selfexec_ensure_sealed(char **argv, const struct id_mapping *map);
#endif
