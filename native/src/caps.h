#ifndef STRATA_CAPS_H
#define STRATA_CAPS_H
/* Limits the calling process's capabilities (bounding, permitted, effective, inheritable; ambient
 * cleared) to Docker's default set. Call while still uid 0 inside, before changing ids. */
void caps_limit_to_default(void);
#endif
