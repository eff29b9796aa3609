/* The run record, field for field as engine/run/run.ts writes it (JSON.stringify(record, null, 2)):
 * id, then the plan's fixed members (spec .. resources), then host, times, exit, rusage and the
 * sha256 of every file under the workload's declared outputs (engine/run/outputs.ts). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "front.h"

void format_iso(const struct timespec *t, char out[96]) {
  struct tm tm;
  gmtime_r(&t->tv_sec, &tm);
  snprintf(out, 96, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec, t->tv_nsec / 1000000);
}

static long long ms_of(const struct timespec *t) { return (long long)t->tv_sec * 1000 + t->tv_nsec / 1000000; }

/* os.cpus()[0].model and os.totalmem(), as libuv reads them. */
static void host_facts(struct buf *b) {
  struct utsname u;
  uname(&u);
  char model[256] = "unknown";
  unsigned long long mem_kb = 0;
  char *text;
  size_t len;
  if (read_file("/proc/cpuinfo", 1 << 22, &text, &len)) {
    char *line = strstr(text, "model name");
    if (line && (line = strchr(line, ':'))) {
      line++;
      while (*line == ' ' || *line == '\t') line++;
      size_t n = strcspn(line, "\n");
      while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t')) n--;
      if (n >= sizeof model) n = sizeof model - 1;
      memcpy(model, line, n);
      model[n] = 0;
    }
    free(text);
  }
  if (read_file("/proc/meminfo", 1 << 16, &text, &len)) {
    char *line = strstr(text, "MemTotal:");
    if (line) sscanf(line + 9, "%llu", &mem_kb);
    free(text);
  }
  struct buf kernel = {0};
  buf_printf(&kernel, "%s %s %s", u.sysname, u.release, u.machine);
  buf_str(b, "  \"host\": {\n    \"kernel\": ");
  buf_json(b, kernel.p);
  buf_str(b, ",\n    \"hostname\": ");
  buf_json(b, u.nodename);
  buf_str(b, ",\n    \"cpu\": {\n      \"model\": ");
  buf_json(b, model);
  buf_printf(b, ",\n      \"count\": %ld\n    },\n    \"memoryBytes\": %llu\n  },\n", sysconf(_SC_NPROCESSORS_ONLN),
             mem_kb * 1024);
  free(kernel.p);
}

/* path.resolve(base, rel) for the simple cases outputs use: "." and ".." and repeated slashes. */
static char *resolve(const char *base, const char *rel) {
  struct buf joined = {0}, out = {0};
  if (rel[0] == '/') buf_str(&joined, rel);
  else buf_printf(&joined, "%s/%s", base, rel);
  char *save, *part;
  for (part = strtok_r(joined.p, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
    if (strcmp(part, ".") == 0) continue;
    if (strcmp(part, "..") == 0) {
      char *slash = out.p ? strrchr(out.p, '/') : NULL;
      if (slash) *slash = 0, out.len = (size_t)(slash - out.p);
      continue;
    }
    buf_printf(&out, "/%s", part);
  }
  if (!out.p) buf_str(&out, "/");
  free(joined.p);
  return out.p;
}

/* path.relative(from, to) for absolute, resolved paths. */
static char *relative(const char *from, const char *to) {
  size_t i = 0;
  while (from[i] && from[i] == to[i]) i++;
  size_t common = i;
  if (!((from[i] == 0 || from[i] == '/') && (to[i] == 0 || to[i] == '/')))
    while (common > 0 && from[common] != '/') common--;
  struct buf out = {0};
  for (const char *p = from + common; *p; p++)
    if (*p == '/') buf_str(&out, out.len ? "/.." : "..");
  const char *rest = to + common + (to[common] == '/' ? 1 : 0);
  if (*rest) buf_printf(&out, "%s%s", out.len ? "/" : "", rest);
  if (!out.p) buf_str(&out, "");
  return out.p;
}

struct files {
  char **v;
  size_t n, cap;
};

static void add_file(struct files *f, const char *p) {
  for (size_t i = 0; i < f->n; i++)
    if (strcmp(f->v[i], p) == 0) return;
  if (f->n == f->cap) {
    f->cap = f->cap ? f->cap * 2 : 16;
    f->v = realloc(f->v, f->cap * sizeof *f->v);
    if (!f->v) abort();
  }
  f->v[f->n++] = strdup(p);
}

static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }
static int not_dots(const struct dirent *d) { return strcmp(d->d_name, ".") && strcmp(d->d_name, ".."); }

/* walk() in outputs.ts: sorted names; folders entered, regular files kept, symlinks skipped. */
static void walk(const char *dir, struct files *f) {
  struct dirent **list;
  int n = scandir(dir, &list, not_dots, by_name);
  if (n < 0) return;
  for (int i = 0; i < n; i++) {
    struct buf p = {0};
    buf_printf(&p, "%s/%s", dir, list[i]->d_name);
    unsigned char type = list[i]->d_type;
    if (type == DT_UNKNOWN) {
      struct stat st;
      if (lstat(p.p, &st) == 0) type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
    }
    if (type == DT_DIR) walk(p.p, f);
    else if (type == DT_REG) add_file(f, p.p);
    free(p.p);
    free(list[i]);
  }
  free(list);
}

static bool sha256_file(const char *file, char hex[65]) {
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct sha256 s;
  sha256_init(&s);
  static char chunk[1 << 20];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return false;
    }
    if (n == 0) break;
    sha256_update(&s, chunk, (size_t)n);
  }
  close(fd);
  sha256_hex(&s, hex);
  return true;
}

static void outputs(struct buf *b, const struct plan *p) {
  const char *spec_dir = plan_get(p, "specdir");
  struct files f = {0};
  for (size_t i = 0; i < p->n; i++) {
    if (strcmp(p->recs[i].tag, "output") != 0) continue;
    char *abs = resolve(spec_dir, p->recs[i].value);
    struct stat st;
    if (stat(abs, &st) == 0) {
      if (S_ISDIR(st.st_mode)) walk(abs, &f);
      else if (S_ISREG(st.st_mode)) add_file(&f, abs);
    }
    free(abs);
  }
  if (f.n == 0) {
    buf_str(b, "  \"outputs\": []\n");
    return;
  }
  buf_str(b, "  \"outputs\": [\n");
  for (size_t i = 0; i < f.n; i++) {
    struct stat st;
    char hex[65];
    /* Node would stop with an error here; a record that names the file with no digest says more. */
    if (stat(f.v[i], &st) != 0 || !sha256_file(f.v[i], hex)) strcpy(hex, "");
    char *rel = relative(spec_dir, f.v[i]);
    buf_str(b, "    {\n      \"path\": ");
    buf_json(b, rel);
    buf_printf(b, ",\n      \"size\": %lld,\n      \"sha256\": \"%s\"\n    }%s\n", (long long)st.st_size, hex,
               i + 1 < f.n ? "," : "");
    free(rel);
    free(f.v[i]);
  }
  free(f.v);
  buf_str(b, "  ]\n");
}

bool write_run_record(const char *home, const char *id, const struct plan *p, const struct timespec *started,
                      const struct timespec *ended, const struct run_outcome *o) {
  struct buf b = {0};
  char start_iso[96], end_iso[96];
  format_iso(started, start_iso);
  format_iso(ended, end_iso);
  buf_printf(&b, "{\n  \"id\": \"%s\",\n%s,\n", id, plan_get(p, "record"));
  host_facts(&b);
  buf_printf(&b, "  \"startedAt\": \"%s\",\n  \"endedAt\": \"%s\",\n  \"durationMs\": %lld,\n", start_iso, end_iso,
             ms_of(ended) - ms_of(started));
  buf_printf(&b, "  \"exit\": {\n    \"code\": %d", o->code);
  if (o->signal) buf_printf(&b, ",\n    \"signal\": \"signal %d\"", o->signal);
  if (o->oom_killed) buf_str(&b, ",\n    \"oomKilled\": true");
  if (o->interrupted) buf_printf(&b, ",\n    \"interrupted\": \"%s\"", o->interrupted);
  buf_str(&b, "\n  },\n");
  if (o->have_rusage)
    buf_printf(&b,
               "  \"rusage\": {\n    \"userCpuMs\": %ld,\n    \"systemCpuMs\": %ld,\n    \"maxRssKiB\": %ld\n  },\n",
               o->user_ms, o->system_ms, o->max_rss_kb);
  else
    buf_str(&b, "  \"rusage\": {},\n");
  outputs(&b, p);
  buf_str(&b, "}\n");

  struct buf dir = {0}, file = {0}, tmp = {0};
  buf_printf(&dir, "%s/runs", home);
  mkdir(dir.p, 0777);
  buf_printf(&file, "%s/%s.json", dir.p, id);
  buf_printf(&tmp, "%s.tmp-%d", file.p, (int)getpid());
  int fd = open(tmp.p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  bool ok = fd >= 0 && write(fd, b.p, b.len) == (ssize_t)b.len;
  if (fd >= 0) close(fd);
  ok = ok && rename(tmp.p, file.p) == 0;
  if (!ok) unlink(tmp.p);
  free(b.p), free(dir.p), free(file.p), free(tmp.p);
  return ok;
}
