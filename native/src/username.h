/* The invoking user's name, for the /etc/subuid and /etc/subgid lines that give one. */
#ifndef STRATA_USERNAME_H
#define STRATA_USERNAME_H

#include <sys/types.h>

/* A malloc'd name, or NULL when no source knows the uid. */
char *username_of(uid_t uid);

#endif
