#ifndef STRATA_SCAN_H
#define STRATA_SCAN_H
/* `strata-box scan DIR`: writes the entries of an overlay upper dir to stdout as records. */
int scan_main(int argc, char **argv);
#endif
