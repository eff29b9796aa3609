/* Pseudo-terminal for --tty, in the manner of runc's console socket: the container's init opens
 * /dev/ptmx of the container's own devpts instance (so the slave exists inside as /dev/pts/0) and
 * passes the master to the supervisor, which relays it to its stdin/stdout and copies window size
 * changes (SIGWINCH) to it; the kernel then signals the workload's foreground process group. */
#include "tty.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "util.h"

static struct termios saved_termios;
static bool termios_saved;

int tty_open_master(char slave_path[64]) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) die_errno(EXIT_TTY, "open /dev/ptmx");
  if (unlockpt(master) < 0) die_errno(EXIT_TTY, "unlock the pseudo-terminal");
  if (ptsname_r(master, slave_path, 64) != 0) die_errno(EXIT_TTY, "name the pseudo-terminal");
  return master;
}

void tty_become_controlling(const char *slave_path) {
  int slave = open(slave_path, O_RDWR | O_NOCTTY);
  if (slave < 0) die_errno(EXIT_TTY, "open %s", slave_path);
  if (ioctl(slave, TIOCSCTTY, 0) < 0) die_errno(EXIT_TTY, "make %s the controlling terminal", slave_path);
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) die_errno(EXIT_TTY, "dup2 the terminal");
  if (slave > 2) close(slave);
}

void tty_restore(void) {
  if (termios_saved) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
  termios_saved = false;
}

void tty_relay_resize(struct tty_relay *r) {
  if (r->master < 0) return;
  struct winsize ws;
  if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
    (void)ioctl(r->master, TIOCSWINSZ, &ws);
}

void tty_relay_start(struct tty_relay *r, int master) {
  r->master = master;
  r->stdin_open = true;
  if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_termios) == 0) {
    termios_saved = true;
    struct termios raw = saved_termios;
    cfmakeraw(&raw);
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0) r->raw = true;
  }
  tty_relay_resize(r);
}

bool tty_relay_pump(struct tty_relay *r, bool from_stdin) {
  char buf[16384];
  int in = from_stdin ? STDIN_FILENO : r->master;
  int out = from_stdin ? r->master : STDOUT_FILENO;
  ssize_t n = read(in, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n == 0 && from_stdin) {
    /* Our input ended: end the workload's too, as ^D does at a terminal in canonical mode. */
    (void)write_all(r->master, "\x04", 1);
    return false;
  }
  if (n <= 0) return false; /* EIO on the master once no one holds the slave */
  if (write_all(out, buf, (size_t)n) < 0) return false;
  return true;
}

void tty_relay_finish(struct tty_relay *r) {
  if (r->master >= 0) {
    /* The slave is closed by now: read what is left until EIO or nothing is ready. */
    struct pollfd p = {.fd = r->master, .events = POLLIN};
    while (poll(&p, 1, 0) > 0 && (p.revents & POLLIN) && tty_relay_pump(r, false)) {
    }
    close(r->master);
    r->master = -1;
  }
  tty_restore();
}
