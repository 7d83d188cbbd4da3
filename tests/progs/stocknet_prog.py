#!/usr/bin/python3
"""stocknet_prog.py - CPython threads waiting on children and on the resolver.

Run by tests/integration/test_stock_net.sh with Debian's /usr/bin/python3
natively and under greenrun; both runs must print the same lines.

  subproc
      Each wait on a child below can only end if another thread of this
      process runs meanwhile: it feeds the child the line the child waits
      for, 0.2 s later. Under greenrun that needs a cooperative wait
      (waitpid for Popen.wait, glibc's system() for os.system); one that
      blocks the only OS thread never lets the feeder run, and
      signal.alarm ends the run. Then two threads each wait for their own
      0.5 s child: cooperative waits overlap, so both are done in less than
      0.9 s, where waits one after the other take 1 s (a yes/no, never a
      time, is printed).

  resolve
      8 threads call getaddrinfo, gethostbyname, gethostbyaddr and
      getnameinfo on names /etc/hosts answers (localhost, 127.0.0.1), and a
      numeric-only lookup of a name, which fails with EAI_NONAME; the main
      thread prints every result in thread order.
"""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

FEED_DELAY = 0.2  # seconds before a feeder writes the awaited line


def feeder(fd, line):
    """A thread that writes line into fd after FEED_DELAY, then closes it."""
    def run():
        time.sleep(FEED_DELAY)
        os.write(fd, line)
        os.close(fd)
    t = threading.Thread(target=run)
    t.start()
    return t


def fed_pipe(line):
    """(read end, feeder thread): the read end gets line after FEED_DELAY."""
    r, w = os.pipe()
    return r, feeder(w, line)


def subproc():
    r, t = fed_pipe(b"7\n")
    p = subprocess.Popen(["sh", "-c", "read x; exit $x"], stdin=r)
    os.close(r)
    print("Popen.wait while a thread feeds the child:", p.wait())
    t.join()

    r, t = fed_pipe(b"5\n")
    os.set_inheritable(r, True)
    status = os.system(f"read x <&{r}; exit $x")
    os.close(r)
    print("os.system while a thread feeds the child:",
          os.waitstatus_to_exitcode(status))
    t.join()

    codes = [None, None]

    def child(i):
        codes[i] = subprocess.Popen(["sleep", "0.5"]).wait()
    start = time.monotonic()
    threads = [threading.Thread(target=child, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    overlapped = time.monotonic() - start < 0.9
    print("two threads waiting for 0.5 s children:", codes,
          "overlapped:", "yes" if overlapped else "no")


def lookups(i):
    port = 8000 + i
    out = []
    infos = socket.getaddrinfo("localhost", port, socket.AF_INET,
                               socket.SOCK_STREAM)
    out.append(f"getaddrinfo localhost:{port} inet stream: "
               f"{sorted(a[4] for a in infos)}")
    infos = socket.getaddrinfo("127.0.0.1", None)
    out.append(f"getaddrinfo 127.0.0.1: "
               f"{sorted((a[1].name, a[4]) for a in infos)}")
    out.append(f"gethostbyname localhost: {socket.gethostbyname('localhost')}")
    name, _, addrs = socket.gethostbyaddr("127.0.0.1")
    out.append(f"gethostbyaddr 127.0.0.1: {name} {addrs}")
    out.append(f"getnameinfo 127.0.0.1:{port}: "
               f"{socket.getnameinfo(('127.0.0.1', port), socket.NI_NUMERICSERV)}")
    try:
        socket.getaddrinfo("localhost", None, flags=socket.AI_NUMERICHOST)
        out.append("numeric-only localhost: found")
    except socket.gaierror as e:
        out.append(f"numeric-only localhost: "
                   f"{'EAI_NONAME' if e.errno == socket.EAI_NONAME else e}")
    return out


def resolve():
    results = [None] * 8

    def worker(i):
        try:
            results[i] = lookups(i)
        except Exception as e:
            results[i] = [f"error: {type(e).__name__}: {e}"]
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, lines in enumerate(results):
        for line in lines:
            print(f"thread {i}: {line}")


if __name__ == "__main__":
    commands = {"subproc": subproc, "resolve": resolve}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: {sys.argv[0]} subproc|resolve")
    # A wait that never ends is killed by SIGALRM (no handler installed);
    # the lines printed before it are kept.
    signal.alarm(20)
    sys.stdout.reconfigure(line_buffering=True)
    commands[sys.argv[1]]()
