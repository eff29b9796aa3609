/* The plan of this invocation: $STRATA_HOME/plans/<sha256 of the key>, the key being the exact
 * bytes server/src/engine/plan/key.ts hashes (planKeyText): NUL-terminated fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "front.h"

/* Same list, same order as KEY_ENV in key.ts. */
static const char *const KEY_ENV[] = {
    "STRATA_HOME",     "XDG_DATA_HOME", "HOME",          "STRATA_BOX", "STRATA_REGISTRY_MIRRORS",
    "STRATA_MAX_LAYER_BYTES", "XDG_CONFIG_HOME", "DOCKER_CONFIG", "PIP_INDEX_URL", "NO_COLOR",
    "TERM",
};

/* Node's path.resolve/path.join would rewrite anything else; such paths are left to Node. */
static bool normalized_absolute(const char *p) {
  size_t n = strlen(p);
  if (n == 0 || p[0] != '/') return false;
  if (n > 1 && p[n - 1] == '/') return false;
  if (strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../")) return false;
  if ((n >= 2 && strcmp(p + n - 2, "/.") == 0) || (n >= 3 && strcmp(p + n - 3, "/..") == 0)) return false;
  return true;
}

/* As defaultStrataHome() in store/paths.ts; NULL where it would need more than these rules. */
char *strata_home(void) {
  struct buf b = {0};
  const char *home = getenv("STRATA_HOME");
  const char *xdg = getenv("XDG_DATA_HOME");
  const char *user = getenv("HOME");
  if (home && *home) {
    if (!normalized_absolute(home)) return NULL;
    buf_str(&b, home);
  } else if (xdg && *xdg && xdg[0] == '/') {
    if (!normalized_absolute(xdg)) return NULL;
    buf_printf(&b, "%s/strata", strcmp(xdg, "/") == 0 ? "" : xdg);
  } else if (user && *user) {
    if (!normalized_absolute(user)) return NULL;
    buf_printf(&b, "%s/.local/share/strata", strcmp(user, "/") == 0 ? "" : user);
  } else {
    return NULL;
  }
  return b.p;
}

static void field(struct buf *b, const char *s) { buf_add(b, s, strlen(s) + 1); }

char *plan_path(const struct invocation *inv, const char *home) {
  char cwd[4096];
  if (!getcwd(cwd, sizeof cwd)) return NULL;
  struct buf key = {0};
  char num[32];
  field(&key, PLAN_FORMAT);
  field(&key, inv->root);
  snprintf(num, sizeof num, "%u", (unsigned)getuid());
  field(&key, num);
  field(&key, cwd);
  char ttys[4] = {isatty(0) ? '1' : '0', isatty(1) ? '1' : '0', isatty(2) ? '1' : '0', 0};
  field(&key, ttys);
  for (size_t i = 0; i < sizeof KEY_ENV / sizeof *KEY_ENV; i++) {
    const char *v = getenv(KEY_ENV[i]);
    if (v) {
      buf_printf(&key, "%s=%s", KEY_ENV[i], v);
      buf_add(&key, "", 1);
    } else {
      field(&key, KEY_ENV[i]);
    }
  }
  field(&key, "--");
  for (int i = 0; i < inv->argc; i++) field(&key, inv->argv[i]);
  struct sha256 s;
  char hex[65];
  sha256_init(&s);
  sha256_update(&s, key.p, key.len);
  sha256_hex(&s, hex);
  free(key.p);
  struct buf path = {0};
  buf_printf(&path, "%s/plans/%s", home, hex);
  return path.p;
}
