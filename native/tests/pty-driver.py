#!/usr/bin/python3
"""Runs a command on a fresh pseudo-terminal of ROWSxCOLS, as a terminal emulator would, and once
the command prints "ready" resizes the terminal to NEWROWSxNEWCOLS (the kernel then sends SIGWINCH
to the command). Prints everything the command wrote; exits with its exit status.
Used by test/native/run-tty.test.ts to check that `strata-box run --tty` passes size changes on.
usage: pty-driver.py ROWS COLS NEWROWS NEWCOLS -- COMMAND [ARG...]"""
import fcntl
import os
import struct
import sys
import termios


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def main():
    rows, cols, new_rows, new_cols = (int(a) for a in sys.argv[1:5])
    assert sys.argv[5] == "--"
    command = sys.argv[6:]
    master, slave = os.openpty()
    set_size(slave, rows, cols)
    pid = os.fork()
    if pid == 0:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        os.close(master)
        os.execvp(command[0], command)
    os.close(slave)
    seen = b""
    resized = False
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the command closed the terminal
            break
        if not data:
            break
        seen += data
        if not resized and b"ready" in seen:
            set_size(master, new_rows, new_cols)
            resized = True
    sys.stdout.write(seen.decode(errors="replace"))
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)


main()
