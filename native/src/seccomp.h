#ifndef STRATA_SECCOMP_H
#define STRATA_SECCOMP_H
/* --fakeroot: chown-family and set*id calls return success without effect (needs no_new_privs). */
void seccomp_install_fakeroot(void);
#endif
