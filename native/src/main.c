/* strata-box: the only part of Strata that makes namespace, mount, xattr and mknod calls.
 * main() reads the subcommand and hands over to one named step per concern. */
#include <stdio.h>
#include <string.h>

#include "apply.h"
#include "scan.h"

#define STRATA_BOX_VERSION "0.1.0"

static int usage(FILE *out) {
  fputs("usage: strata-box run|apply|scan [OPTIONS]\n"
        "       strata-box --version\n", out);
  return out == stderr ? 2 : 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return usage(stderr);
  if (strcmp(argv[1], "--version") == 0) {
    puts("strata-box " STRATA_BOX_VERSION);
    return 0;
  }
  if (strcmp(argv[1], "--help") == 0) return usage(stdout);
  if (strcmp(argv[1], "apply") == 0) return apply_main(argc, argv);
  if (strcmp(argv[1], "scan") == 0) return scan_main(argc, argv);
  fprintf(stderr, "strata-box: unknown subcommand '%s'; try 'strata-box --help'\n", argv[1]);
  return 2;
}
