#!/usr/bin/python3
"""py_threading.py - what a CPython program observes of its threads.

An ordinary program using `threading` and `queue` with several threads, run
by tests/integration/test_stock.sh with Debian's /usr/bin/python3 natively and
under scripts/greenrun: both runs must print the same lines. CPython's locks
are POSIX semaphores (sem_wait, sem_trywait, sem_clockwait, sem_post), its
GIL a mutex and a condvar with a 5 ms pthread_cond_timedwait, and every
Python-level primitive below is built on those: Lock, RLock, Condition
(notify, notify_all, wait and wait_for with and without a timeout), Event,
Semaphore, BoundedSemaphore, Barrier, queue.Queue and queue.SimpleQueue
(blocking get and put, timeouts raising queue.Empty and queue.Full,
task_done/join), join results collected in order, join with a timeout, an
exception caught by threading.excepthook, and threading.local. Threads that
must let others run meanwhile call time.sleep, which CPython implements with
clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME).

Only deterministic observations are printed: results, exception names, and
for a wait that must time out whether it waited at least its timeout and less
than 300 ms more, never a time. The main thread prints everything, after the
joins or barriers that fix the order of what it reports.

signal.alarm bounds the run: if a wait never returns, SIGALRM (no handler is
installed) kills the process. stdout is line buffered so that the lines
printed before a hang are not lost.
"""
import queue
import signal
import sys
import threading
import time

TIMEOUT = 0.1  # seconds, every wait that must time out
SLACK = 0.3  # how late a timed-out wait may return on a busy machine


def yes(flag):
    return "yes" if flag else "no"


def measure(wait):
    """Runs wait(), which must time out after TIMEOUT: its result, and
    whether it returned neither early nor late."""
    start = time.monotonic()
    result = wait()
    waited = time.monotonic() - start
    return result, TIMEOUT <= waited < TIMEOUT + SLACK


def report(label, result, in_time):
    print(f"{label}: {result}, waited {TIMEOUT * 1000:.0f} to "
          f"{(TIMEOUT + SLACK) * 1000:.0f} ms: {yes(in_time)}")


def timed(label, wait):
    report(label, *measure(wait))


def raises(call):
    """The name of the exception call() raises, or 'no exception'."""
    try:
        call()
    except Exception as e:  # the name is the observation
        return type(e).__name__
    return "no exception"


def start_all(threads):
    for t in threads:
        t.start()
    return threads


def join_all(threads):
    for t in threads:
        t.join()


class Holder:
    """A thread that takes `acquire`, says so, and keeps it until told."""

    def __init__(self, acquire, release):
        self.held = threading.Event()
        self.go = threading.Event()
        self.thread = threading.Thread(target=self.run,
                                       args=(acquire, release))
        self.thread.start()
        self.held.wait()

    def run(self, acquire, release):
        acquire()
        self.held.set()
        self.go.wait()
        release()

    def finish(self):
        self.go.set()
        self.thread.join()


def check_lock():
    print("== Lock")
    lock = threading.Lock()
    counter = [0]

    def add(n):
        for _ in range(n):
            with lock:
                counter[0] += 1

    join_all(start_all([threading.Thread(target=add, args=(20000,))
                        for _ in range(4)]))
    print(f"4 threads x 20000 increments under a Lock: {counter[0]}")
    lock.acquire()
    print(f"locked() while held: {lock.locked()}")
    print(f"acquire(blocking=False) while held: "
          f"{lock.acquire(blocking=False)}")
    lock.release()
    print(f"release of an unlocked Lock raises: {raises(lock.release)}")
    h = Holder(lock.acquire, lock.release)
    timed("acquire(timeout) of a Lock another thread holds",
          lambda: lock.acquire(timeout=TIMEOUT))
    h.finish()
    print(f"acquire(timeout=5) once released: {lock.acquire(timeout=5)}")
    lock.release()

    # A Lock released by a thread other than its owner, as a handoff.
    lock.acquire()
    t = threading.Thread(target=lambda: (time.sleep(0.02), lock.release()))
    t.start()
    print(f"acquire() of a Lock another thread releases: {lock.acquire()}")
    t.join()
    lock.release()


def check_rlock():
    print("== RLock")
    r = threading.RLock()
    print(f"acquire three times in one thread: "
          f"{[r.acquire() for _ in range(3)]}")
    seen = []
    t = threading.Thread(target=lambda: seen.append(
        measure(lambda: r.acquire(timeout=TIMEOUT))))
    t.start()
    t.join()
    report("acquire(timeout) from another thread", *seen[0])
    for _ in range(3):
        r.release()
    print(f"release once more raises: {raises(r.release)}")
    t = threading.Thread(target=lambda: (
        seen.append(r.acquire(blocking=False)), r.release()))
    t.start()
    t.join()
    print(f"another thread takes it once released three times: "
          f"{seen[1]}")
    h = Holder(r.acquire, r.release)
    print(f"release by a thread that does not own it raises: "
          f"{raises(r.release)}")
    h.finish()


def check_condition():
    print("== Condition")
    cond = threading.Condition()
    state = {"go": False, "turn": 0, "log": []}
    woke = []

    def waiter():
        with cond:
            woke.append(cond.wait_for(lambda: state["go"], timeout=5))

    ws = start_all([threading.Thread(target=waiter) for _ in range(3)])
    with cond:
        state["go"] = True
        cond.notify_all()
    join_all(ws)
    print(f"notify_all wakes 3 waiters: {woke}")

    # Two threads take turns, each waiting for the other's notify.
    def player(me, rounds):
        for _ in range(rounds):
            with cond:
                while state["turn"] != me:
                    cond.wait()
                state["log"].append(me)
                state["turn"] = 1 - me
                cond.notify()

    join_all(start_all([threading.Thread(target=player, args=(i, 100))
                        for i in (0, 1)]))
    log = state["log"]
    print(f"ping-pong, 200 turns: alternating: "
          f"{yes(log == [i % 2 for i in range(200)])}")

    with cond:
        timed("wait(timeout) without notify", lambda: cond.wait(TIMEOUT))
        timed("wait_for(false predicate, timeout)",
              lambda: cond.wait_for(lambda: False, timeout=TIMEOUT))
    print(f"wait() without holding the lock raises: {raises(cond.wait)}")
    print(f"notify() without holding the lock raises: "
          f"{raises(cond.notify)}")


def check_event():
    print("== Event")
    e = threading.Event()
    timed("wait(timeout) of an Event never set", lambda: e.wait(TIMEOUT))
    t = threading.Thread(target=lambda: (time.sleep(0.05), e.set()))
    t.start()
    print(f"wait(timeout=5) of an Event another thread sets: {e.wait(5)}")
    t.join()
    print(f"is_set: {e.is_set()}; after clear: "
          f"{(e.clear(), e.is_set())[1]}")
    results = []
    ws = start_all([threading.Thread(target=lambda: results.append(e.wait()))
                    for _ in range(4)])
    time.sleep(0.02)
    e.set()
    join_all(ws)
    print(f"4 waiters released by one set(): {results}")


def check_semaphore():
    print("== Semaphore, BoundedSemaphore")
    sem = threading.Semaphore(2)
    both = threading.Barrier(3)
    go = threading.Event()

    def hold():
        with sem:
            both.wait()
            go.wait()

    hs = start_all([threading.Thread(target=hold) for _ in range(2)])
    both.wait()
    print("Semaphore(2): two threads hold it at once: yes")
    timed("acquire(timeout) of a third", lambda: sem.acquire(timeout=TIMEOUT))
    go.set()
    join_all(hs)
    print(f"once both released: {[sem.acquire(blocking=False) for _ in range(3)]}")
    sem.release(2)

    guard = threading.Lock()
    active = [0, 0]  # now, most

    def use():
        with sem:
            with guard:
                active[0] += 1
                active[1] = max(active[1], active[0])
            time.sleep(0.01)
            with guard:
                active[0] -= 1

    join_all(start_all([threading.Thread(target=use) for _ in range(6)]))
    print(f"6 threads through Semaphore(2): never more than 2 at once: "
          f"{yes(active[1] <= 2)}")

    s0 = threading.Semaphore(0)
    t = threading.Thread(target=lambda: (time.sleep(0.05), s0.release()))
    t.start()
    print(f"acquire(timeout=5) of Semaphore(0) another thread releases: "
          f"{s0.acquire(timeout=5)}")
    t.join()
    b = threading.BoundedSemaphore(1)
    print(f"BoundedSemaphore(1): acquire {b.acquire()}, release "
          f"{b.release()}, release again raises {raises(b.release)}")


def check_barrier():
    print("== Barrier")
    bar = threading.Barrier(4)
    indices = []
    join_all(start_all([threading.Thread(
        target=lambda: indices.append(bar.wait())) for _ in range(4)]))
    print(f"4 parties get the indices: {sorted(indices)}")
    lone = threading.Barrier(2)
    timed("wait(timeout) with 1 of 2 parties",
          lambda: raises(lambda: lone.wait(TIMEOUT)))
    print(f"broken afterwards: {lone.broken}")


def check_queue():
    print("== Queue")
    q = queue.Queue()
    got = {0: [], 1: []}

    def produce(p):
        for i in range(200):
            q.put((p, i))

    def consume(c):
        while True:
            item = q.get()
            q.task_done()
            if item is None:
                return
            got[c].append(item)

    cs = start_all([threading.Thread(target=consume, args=(c,))
                    for c in (0, 1)])
    join_all(start_all([threading.Thread(target=produce, args=(p,))
                        for p in range(3)]))
    q.put(None)
    q.put(None)
    q.join()
    join_all(cs)
    items = got[0] + got[1]
    print(f"3 producers x 200 items, 2 consumers: {len(items)} items, "
          f"each once: {yes(sorted(items) == [(p, i) for p in range(3) for i in range(200)])}")
    fifo = True
    for c in (0, 1):
        for p in range(3):
            mine = [i for p2, i in got[c] if p2 == p]
            fifo = fifo and mine == sorted(mine)
    print(f"each consumer sees each producer's items in order: {yes(fifo)}")
    print(f"task_done/join: unfinished tasks {q.unfinished_tasks}")

    small = queue.Queue(maxsize=2)
    out = []

    def slow_consumer():
        for _ in range(20):
            out.append(small.get())
            time.sleep(0.001)

    t = threading.Thread(target=slow_consumer)
    t.start()
    for i in range(20):
        small.put(i)
    t.join()
    print(f"Queue(maxsize=2), 20 items through it: in order: "
          f"{yes(out == list(range(20)))}")

    empty = queue.Queue()
    timed("get(timeout) of an empty Queue",
          lambda: raises(lambda: empty.get(timeout=TIMEOUT)))
    print(f"get_nowait of an empty Queue: {raises(empty.get_nowait)}")
    full = queue.Queue(maxsize=1)
    full.put(0)
    timed("put(timeout) into a full Queue",
          lambda: raises(lambda: full.put(1, timeout=TIMEOUT)))
    t = threading.Thread(target=lambda: (time.sleep(0.05), empty.put("late")))
    t.start()
    print(f"get(timeout=5) of an item put by another thread: "
          f"{empty.get(timeout=5)}")
    t.join()

    sq = queue.SimpleQueue()
    timed("SimpleQueue get(timeout) when empty",
          lambda: raises(lambda: sq.get(timeout=TIMEOUT)))
    t = threading.Thread(target=lambda: [sq.put(i) for i in range(5)])
    t.start()
    print(f"SimpleQueue items from another thread: "
          f"{[sq.get(timeout=5) for _ in range(5)]}")
    t.join()


def check_join():
    print("== join")
    results = [None] * 8

    def work(k):
        results[k] = sum(i * i for i in range(k * 10000))

    ts = start_all([threading.Thread(target=work, args=(k,), name=f"w{k}")
                    for k in range(8)])
    names = []
    for t in ts:
        t.join()
        names.append((t.name, t.is_alive()))
    print(f"results collected in order: {results}")
    print(f"names and is_alive after join: {names}")
    t = threading.Thread(target=time.sleep, args=(0.5,))
    t.start()
    timed("join(timeout) of a thread still running: is_alive",
          lambda: (t.join(TIMEOUT), t.is_alive())[1])
    t.join()
    print(f"active_count after every join: {threading.active_count()}")

    caught = []
    old, threading.excepthook = threading.excepthook, \
        lambda a: caught.append((a.exc_type.__name__, a.thread.name))
    t = threading.Thread(target=lambda: int("x"), name="raiser")
    t.start()
    t.join()
    threading.excepthook = old
    print(f"exception in a thread goes to excepthook: {caught}")


def check_local():
    print("== threading.local")

    class Counted(threading.local):
        inits = 0

        def __init__(self):
            with guard:
                Counted.inits += 1
            self.value = "initial"

    guard = threading.Lock()
    loc = threading.local()
    loc.x = "main"
    counted = Counted()
    all_set = threading.Barrier(4)
    seen = [None] * 4
    idents = [None] * 4

    def run(i):
        before = hasattr(loc, "x")
        loc.x = i
        counted.value = i
        idents[i] = threading.get_ident()
        all_set.wait()
        time.sleep(0.01)
        seen[i] = (before, loc.x == i, counted.value == i)

    join_all(start_all([threading.Thread(target=run, args=(i,))
                        for i in range(4)]))
    print(f"each thread: (had x before, sees its own x, sees its own "
          f"value): {seen}")
    print(f"main still sees: {loc.x}, {counted.value}")
    print(f"local subclass __init__ runs once per thread: {Counted.inits}")
    print(f"4 live threads have 4 distinct get_ident(): "
          f"{yes(len(set(idents)) == 4)}")


def main():
    signal.alarm(10)
    sys.stdout.reconfigure(line_buffering=True)
    print(f"main thread: {threading.current_thread().name}, "
          f"is main_thread(): "
          f"{threading.current_thread() is threading.main_thread()}")
    check_lock()
    check_rlock()
    check_condition()
    check_event()
    check_semaphore()
    check_barrier()
    check_queue()
    check_join()
    check_local()
    print("done")


main()
