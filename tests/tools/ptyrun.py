#!/usr/bin/env python3
"""ptyrun.py - the end-to-end tests' terminal (tests/e2e/42-progress.sh, 43-progress-inpaint.sh).

  ptyrun.py run COLS OUT [RESIZE] -- CMD...
      Run CMD (through sh -c when it is one word with spaces) on a new pseudo-terminal
      COLS wide (TIOCSWINSZ before exec), write every byte it printed to OUT and exit
      with its status. Each time CMD stops itself (SIGSTOP: TILEPAINT_TEST_FREEZE), what
      it printed so far is read, the byte offset reached is appended to OUT.stops, the
      window is resized to RESIZE columns when given (the terminal sends SIGWINCH), and
      CMD is continued.
  ptyrun.py segments OUT
      OUT split on \\r and \\n, escape sequences removed: one piece per line.
  ptyrun.py widest OUT
      The most characters (not bytes) of a piece that is not a log line ("tilepaint: ...").
  ptyrun.py screen COLS OUT
      What a COLS-wide terminal shows after OUT: \\r, \\n, ESC[K (erase to the end of the
      line) and printable characters. Log lines ("tilepaint: ...") are kept whole (a
      terminal would wrap them); any other write past the last column, a bar that
      wraps, adds a last line '<<WRAP>>'.
"""
import os, pty, re, select, signal, struct, sys, fcntl, termios

ESC = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def set_cols(fd, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))


def drain(fd, out, wait):
    while True:
        r, _, _ = select.select([fd], [], [], wait)
        if not r:
            return True
        try:
            d = os.read(fd, 65536)
        except OSError:
            return False
        if not d:
            return False
        out.extend(d)


def run(cols, path, resize, cmd):
    if len(cmd) == 1 and " " in cmd[0]:
        cmd = ["sh", "-c", cmd[0]]
    pid, fd = pty.fork()
    if pid == 0:
        set_cols(sys.stdout.fileno(), cols)
        os.execvp(cmd[0], cmd)
    out, stops, status = bytearray(), [], None
    while status is None:
        alive = drain(fd, out, 0.05)
        got, st = os.waitpid(pid, os.WUNTRACED | os.WNOHANG)
        if got and os.WIFSTOPPED(st):
            drain(fd, out, 0.3)
            stops.append(len(out))
            if resize:
                set_cols(fd, resize)
            os.kill(pid, signal.SIGCONT)
        elif got:
            status = st
        elif not alive:
            _, status = os.waitpid(pid, 0)
    drain(fd, out, 0.1)
    with open(path, "wb") as f:
        f.write(out)
    with open(path + ".stops", "w") as f:
        f.write("".join("%d\n" % s for s in stops))
    return os.waitstatus_to_exitcode(status)


def pieces(path):
    text = open(path, "rb").read().decode("utf-8", "replace")
    return [p for p in re.split(r"[\r\n]", ESC.sub("", text)) if p]


def segments(path):
    for piece in pieces(path):
        print(piece)


def screen(cols, path):
    text = open(path, "rb").read().decode("utf-8", "replace")
    lines, line, col, i, wrapped = [], [], 0, 0, False
    while i < len(text):
        c = text[i]
        m = ESC.match(text, i)
        if m:
            if m.group().endswith("K"):
                del line[col:]
            i = m.end()
            continue
        if c == "\r":
            col = 0
        elif c == "\n":
            lines.append("".join(line))
            line, col = [], 0
        elif c >= " ":
            if col >= cols and not "".join(line).startswith("tilepaint:"):
                wrapped = True
            if col < len(line):
                line[col] = c
            else:
                line.append(c)
            col += 1
        i += 1
    if line:
        lines.append("".join(line))
    if wrapped:
        lines.append("<<WRAP>>")
    for l in lines:
        print(l)


def main(a):
    if a[0] == "run":
        sep = a.index("--")
        resize = int(a[3]) if sep > 3 else 0
        return run(int(a[1]), a[2], resize, a[sep + 1:])
    if a[0] == "segments":
        return segments(a[1])
    if a[0] == "widest":
        print(max([len(p) for p in pieces(a[1]) if not p.startswith("tilepaint:")] + [0]))
        return 0
    if a[0] == "screen":
        return screen(int(a[1]), a[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]) or 0)
