#ifndef STRATA_APPLY_H
#define STRATA_APPLY_H
/* `strata-box apply DIR`: writes a record stream from stdin into DIR (see native/README.md). */
int apply_main(int argc, char **argv);
#endif
