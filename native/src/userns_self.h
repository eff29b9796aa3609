/* Running apply or scan inside a user namespace with the mapping `strata-box run` uses. */
#ifndef STRATA_USERNS_SELF_H
#define STRATA_USERNS_SELF_H

/* Forks; the child enters a new user namespace whose ids are mapped as idmap_choose() decides
 * (container root = the invoking user, plus the subordinate range where there is one) and
 * returns, now root there; the parent writes the maps, waits for the child and exits with its
 * status. Owners then read and write as container ids, and files of the mapped ids are readable
 * and removable. */
void enter_container_userns(const char *cmd);

#endif
