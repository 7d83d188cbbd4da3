#!/usr/bin/python3
"""stocknet_client.py - native clients for tests/integration/test_stock_net.sh.

Run natively (never under greenrun) against servers that the test runs under
greenrun and natively; each command prints only deterministic observations,
so the outputs of the two runs can be compared line for line.

  gen DIR COUNT
      writes COUNT files f00, f01, ... into DIR: 2 MB plus 173 kB per index,
      pseudo-random bytes from a generator seeded with the index, so every
      run writes the same bytes.

  http PORT REPEAT HOLD NAME...
      downloads every NAME from 127.0.0.1:PORT, REPEAT times each, all at
      once, one thread and one connection per download. Every connection
      first sends the request line only, and waits until the server's
      kernel has acknowledged it (the connection is then queued for accept
      or accepted); then all of them wait together (the line "holding N"
      is printed, flushed) for HOLD seconds, so that
      the server has all N requests in progress, each thread of a
      thread-per-request server waiting for the rest of its request, while
      /proc/PID/status is sampled ("released" follows). Then the requests
      are completed and every body is read and hashed. Prints, per NAME in
      order, one line per distinct outcome: NAME STATUS SIZE SHA256 xCOUNT.

  memcached PORT
      8 connections, each on its own thread, storing, reading back and
      changing their own keys with the text protocol (set, get, gets,
      multi-get, add, replace, append, prepend, cas, incr, decr, delete,
      values from 1 byte to 900 kB), checked against what was stored; then
      the server's "threads" statistic. Prints what each connection saw.

Every socket operation has a 60 s timeout, so a server that stops answering
makes the command fail instead of hanging.
"""
import hashlib
import random
import socket
import sys
import threading
import time

TIMEOUT = 60  # seconds, every socket operation


def gen(directory, count):
    for i in range(int(count)):
        size = 2000000 + 173000 * i
        with open(f"{directory}/f{i:02d}", "wb") as f:
            f.write(random.Random(i).randbytes(size))


def connect(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect(("127.0.0.1", port))
    return s


def wait_acked(s):
    """Waits until the peer's kernel has acknowledged everything sent on s.

    A listening socket's accept queue is short (http.server asks for 5):
    while it is full, the server's kernel drops the client's handshake
    completion and first data, and the connection exists on the client's
    side only, until a retransmission gets through. Once the data is
    acknowledged, the connection is in the accept queue or accepted.
    tcpi_unacked is the u32 after 8 bytes of flags and four u32 fields in
    struct tcp_info."""
    deadline = time.monotonic() + TIMEOUT / 2
    while time.monotonic() < deadline:
        info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 32)
        if int.from_bytes(info[24:28], sys.byteorder) == 0:
            return
        time.sleep(0.01)
    raise TimeoutError("request line never acknowledged")


def http_get(port, name, barrier, release):
    """One download; returns (status, size, sha256) or raises. The request
    is sent in two parts, the hold in between: once the first part is
    acknowledged, the server has the connection and, as soon as it accepts
    it, a thread waiting for the rest of the request."""
    with connect(port) as s:
        s.sendall(f"GET /{name} HTTP/1.0\r\n".encode())
        wait_acked(s)
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        release.wait(TIMEOUT)
        s.sendall(b"Host: 127.0.0.1\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(1 << 16)
            if not chunk:
                raise ConnectionError("connection closed in the headers")
            head += chunk
        head, body = head.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split()[1]
        length = None
        for line in lines[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-length":
                length = int(value)
        digest = hashlib.sha256(body)
        size = len(body)
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
        if length is not None and size != length:
            raise ConnectionError(f"{size} bytes of {length}")
        return status, size, digest.hexdigest()


def http(port, repeat, hold, *names):
    port, repeat, hold = int(port), int(repeat), float(hold)
    jobs = [name for name in names for _ in range(repeat)]
    barrier = threading.Barrier(len(jobs) + 1, timeout=TIMEOUT / 2)
    release = threading.Event()
    results = [None] * len(jobs)

    def worker(i):
        try:
            results[i] = http_get(port, jobs[i], barrier, release)
        except Exception as e:  # reported, and breaks the hold
            results[i] = ("error", type(e).__name__, str(e))
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(i,))
               for i in range(len(jobs))]
    for t in threads:
        t.start()
    try:
        barrier.wait()
        print("holding", len(jobs), flush=True)
        time.sleep(hold)
        print("released", flush=True)
    except threading.BrokenBarrierError:
        print("holding failed: not every download got its headers", flush=True)
    release.set()
    for t in threads:
        t.join()
    failed = 0
    for name in names:
        outcomes = {}
        for job, result in zip(jobs, results):
            if job == name:
                outcomes[result] = outcomes.get(result, 0) + 1
        for result, count in sorted(outcomes.items(), key=str):
            print(name, *result, f"x{count}")
            failed += result[0] == "error"
    return 1 if failed else 0


class Memc:
    """A text-protocol memcached connection."""

    def __init__(self, port):
        self.sock = connect(port)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def exactly(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def cmd(self, text, data=None):
        msg = text.encode() + b"\r\n"
        if data is not None:
            msg += data + b"\r\n"
        self.sock.sendall(msg)
        return self.line()

    def store(self, verb, key, value, flags=0, cas=None):
        extra = f" {cas}" if cas is not None else ""
        return self.cmd(f"{verb} {key} {flags} 0 {len(value)}{extra}", value)

    def get(self, verb, *keys):
        """{key: (flags, value, cas or None)}."""
        self.sock.sendall(f"{verb} {' '.join(keys)}\r\n".encode())
        found = {}
        while True:
            line = self.line()
            if line == "END":
                return found
            _, key, flags, size, *cas = line.split()
            value = self.exactly(int(size) + 2)[:-2]
            found[key] = (int(flags), value, int(cas[0]) if cas else None)


SIZES = [1, 100, 1000, 10000, 100000, 500000]
KEYS = 40


def value_of(w, i, size):
    return random.Random(w * 1000 + i).randbytes(size)


def memc_worker(port, w):
    """What connection w observes, as lines."""
    out = []
    m = Memc(port)
    keys = [f"w{w}k{i}" for i in range(KEYS)]
    values = [value_of(w, i, SIZES[i % len(SIZES)]) for i in range(KEYS)]
    replies = [m.store("set", k, v, flags=i) for i, (k, v) in
               enumerate(zip(keys, values))]
    out.append(f"set {KEYS} keys: {sorted(set(replies))}")
    good = sum(m.get("get", k).get(k, (None, None))[:2] == (i, v)
               for i, (k, v) in enumerate(zip(keys, values)))
    out.append(f"get one by one: {good} of {KEYS} match")
    many = m.get("get", *keys, f"w{w}missing")
    good = sum(many.get(k, (None, None))[:2] == (i, v)
               for i, (k, v) in enumerate(zip(keys, values)))
    out.append(f"multi-get: {len(many)} found, {good} match")
    out.append(f"add existing: {m.store('add', keys[0], b'x')}")
    out.append(f"add new: {m.store('add', f'w{w}new', b'fresh')}")
    out.append(f"replace missing: {m.store('replace', f'w{w}none', b'x')}")
    out.append(f"replace existing: {m.store('replace', keys[1], b'r' * 50)}")
    out.append(f"append: {m.store('append', keys[1], b'-tail')}")
    out.append(f"prepend: {m.store('prepend', keys[1], b'head-')}")
    out.append(f"after append/prepend: "
               f"{m.get('get', keys[1])[keys[1]][1] == b'head-' + b'r' * 50 + b'-tail'}")
    cas = m.get("gets", keys[2])[keys[2]][2]
    out.append(f"cas current: {m.store('cas', keys[2], b'c1', cas=cas)}")
    out.append(f"cas stale: {m.store('cas', keys[2], b'c2', cas=cas)}")
    out.append(f"counter: {m.store('set', f'w{w}n', b'10')}")
    out.append(f"incr 5: {m.cmd(f'incr w{w}n 5')}")
    out.append(f"decr 20: {m.cmd(f'decr w{w}n 20')}")
    out.append(f"incr missing: {m.cmd(f'incr w{w}none 1')}")
    out.append(f"delete: {m.cmd(f'delete {keys[3]}')}")
    out.append(f"delete again: {m.cmd(f'delete {keys[3]}')}")
    out.append(f"get deleted: {len(m.get('get', keys[3]))} found")
    big = value_of(w, 99, 900000)
    out.append(f"set 900 kB: {m.store('set', f'w{w}big', big)}")
    out.append(f"get 900 kB: {m.get('get', f'w{w}big')[f'w{w}big'][1] == big}")
    m.sock.close()
    return out


def memcached(port):
    port = int(port)
    results = [None] * 8

    def worker(w):
        try:
            results[w] = memc_worker(port, w)
        except Exception as e:
            results[w] = [f"error: {type(e).__name__}: {e}"]

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failed = 0
    for w, lines in enumerate(results):
        for line in lines:
            print(f"connection {w}: {line}")
            failed += line.startswith("error")
    try:
        m = Memc(port)
        m.sock.sendall(b"stats\r\n")
        while (line := m.line()) != "END":
            if line.split()[1] == "threads":
                print(line)
    except OSError as e:
        print(f"stats: error: {type(e).__name__}: {e}")
        failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    commands = {"gen": gen, "http": http, "memcached": memcached}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: {sys.argv[0]} gen|http|memcached ARGS...")
    sys.exit(commands[sys.argv[1]](*sys.argv[2:]))
