/* strata-box: the only part of Strata that makes namespace, mount, xattr and mknod calls.
 * main() reads the subcommand and hands over to one named step per concern. */
#include <stdio.h>
#include <string.h>

#include "apply.h"
#include "run.h"
#include "scan.h"

#define STRATA_BOX_VERSION "0.1.0"

struct subcommand {
  const char *name;
  int (*main)(int argc, char **argv); /* argv[0] is "strata-box", argv[1] the subcommand */
  const char *summary;
};

static const struct subcommand subcommands[] = {
    {"run", run_main, "run a command in a new rootless container"},
    /* apply and scan: the layer record protocol (see native/README.md) */
    {"apply", apply_main, "write a stream of layer entries into a directory"},
    {"scan", scan_main, "emit the entries of an overlay upper dir as a stream"},
};

static int usage(FILE *out) {
  fputs("usage: strata-box SUBCOMMAND [OPTIONS]   (strata-box SUBCOMMAND --help for its options)\n", out);
  for (size_t i = 0; i < sizeof subcommands / sizeof *subcommands; i++)
    fprintf(out, "  %-6s %s\n", subcommands[i].name, subcommands[i].summary);
  fputs("       strata-box --version\n", out);
  return out == stderr ? 240 : 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return usage(stderr);
  if (strcmp(argv[1], "--version") == 0) {
    puts("strata-box " STRATA_BOX_VERSION);
    return 0;
  }
  if (strcmp(argv[1], "--help") == 0) return usage(stdout);
  for (size_t i = 0; i < sizeof subcommands / sizeof *subcommands; i++)
    if (strcmp(argv[1], subcommands[i].name) == 0) return subcommands[i].main(argc, argv);
  fprintf(stderr, "strata-box: unknown subcommand '%s'; try 'strata-box --help'\n", argv[1]);
  return 240;
}
