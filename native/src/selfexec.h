#ifndef STRATA_SELFEXEC_H
#define STRATA_SELFEXEC_H
/* CVE-2019-5736: make sure the running strata-box is a sealed in-memory copy before anything of a
 * container exists, so nothing inside can reach the binary on disk through /proc/PID/exe. */
void selfexec_ensure_sealed(char **argv);
#endif
