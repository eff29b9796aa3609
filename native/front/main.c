/* strata-front ROOT ARGS...: bin/strata's native front end. main() reads as the steps it takes;
 * every "no" on the way execs `node ROOT/out/cli.js ARGS...` instead (fall_back). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "front.h"

int main(int argc, char **argv) {
  struct timespec started;
  clock_gettime(CLOCK_MONOTONIC, &started);
  if (argc < 2) {
    fprintf(stderr, "usage: strata-front STRATA_ROOT [ARGS...] (run through bin/strata)\n");
    return 125;
  }
  const char *trace_env = getenv("STRATA_TRACE");
  struct invocation inv = {
      .root = realpath(argv[1], NULL),
      .argc = argc - 2,
      .argv = argv + 2,
      .trace = trace_env && strcmp(trace_env, "1") == 0,
  };
  if (!inv.root) {
    fprintf(stderr, "strata: %s: no such Strata install\n", argv[1]);
    return 125;
  }
  /* Only these two commands ever have plans; everything else is Node's from the first byte. */
  const char *command = inv.argc > 0 ? inv.argv[0] : "";
  if (strcmp(command, "build") != 0 && strcmp(command, "run") != 0) fall_back(&inv, "not build or run");

  char *home = strata_home();
  if (!home) fall_back(&inv, "STRATA_HOME, XDG_DATA_HOME or HOME is not a plain absolute path");
  char *file = plan_path(&inv, home);
  struct plan plan;
  if (!file || !plan_load(file, &plan)) fall_back(&inv, "none for this command line");
  const char *kind = plan_get(&plan, "kind");
  if (!kind || strcmp(kind, command) != 0) fall_back(&inv, "plan of another kind");
  const char *why;
  if (!plan_inputs_unchanged(&plan, &why)) fall_back(&inv, why);

  if (strcmp(command, "build") == 0) {
    if (!plan_objects_present(&plan, &why)) fall_back(&inv, why);
    trace(&inv, "cached plan build %s", file);
    return replay_build(&plan, &started);
  }
  return replay_run(&inv, &plan);
}
