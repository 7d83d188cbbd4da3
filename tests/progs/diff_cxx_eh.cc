// diff_cxx_eh.cc - C++ exceptions in threads that switch while handling them.
//
// The C++ runtime keeps the exceptions being handled and the count of those
// in flight per OS thread (__cxa_get_globals); two threads switching inside
// catch blocks or in destructors run by unwinding must each keep their own.
//
// Checks: two threads each throw a different std::runtime_error, catch it, and
// inside the catch block sleep and yield until both are there; then `throw;`
// rethrows each one's own exception (same object), std::current_exception is
// the same before and after the switches, and nothing is being handled once
// the catch block is left. Two threads unwinding at the same time, each with a
// destructor that yields, each see std::uncaught_exceptions() == 1 in it, and
// 0 in the handler; main sees 0 meanwhile. An exception_ptr taken in a thread
// rethrows in main with its own message. std::call_once whose callable throws
// lets the exception out and leaves the flag unset: the next call runs its
// callable.
#include <atomic>
#include <cstdio>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>

namespace {

// Sleep and yield until `count` reaches `n`, so that both threads are at the
// same point before either goes on.
void meet(std::atomic<int> &count, int n)
{
    count++;
    while (count.load() < n) {
        usleep(1000);
        std::this_thread::yield();
    }
}

void pause_a_little()
{
    for (int i = 0; i < 5; i++) {
        usleep(1000);
        std::this_thread::yield();
    }
}

std::atomic<int> in_catch, in_rethrow_catch;

struct CatchReport {
    std::string name;
    std::string caught, rethrown;
    bool same_ptr = false, same_object = false, ptr_in_inner = false;
    bool nothing_after = false;
    std::exception_ptr ptr;
};

void catcher(CatchReport *r)
{
    try {
        throw std::runtime_error(r->name + "'s error");
    } catch (const std::runtime_error &e) {
        std::exception_ptr before = std::current_exception();
        meet(in_catch, 2);
        pause_a_little();
        r->caught = e.what();
        r->same_ptr = std::current_exception() == before;
        r->ptr = before;
        try {
            throw;
        } catch (const std::runtime_error &again) {
            meet(in_rethrow_catch, 2);
            pause_a_little();
            r->rethrown = again.what();
            r->same_object = &again == &e;
            r->ptr_in_inner = std::current_exception() == before;
        }
    }
    r->nothing_after = std::current_exception() == nullptr;
}

std::atomic<int> in_destructor;

struct UnwindReport {
    int in_destructor_before = -1, in_destructor_after = -1, in_handler = -1;
};

struct Probe {
    UnwindReport *r;
    ~Probe()
    {
        r->in_destructor_before = std::uncaught_exceptions();
        meet(in_destructor, 2);
        pause_a_little();
        r->in_destructor_after = std::uncaught_exceptions();
    }
};

void unwinder(UnwindReport *r)
{
    try {
        Probe p{ r };
        throw std::logic_error("unwinding");
    } catch (const std::logic_error &) {
        r->in_handler = std::uncaught_exceptions();
    }
}

const char *yes(bool b)
{
    return b ? "yes" : "no";
}

void check_catch()
{
    CatchReport r[2];
    r[0].name = "alpha";
    r[1].name = "beta";
    std::thread a(catcher, &r[0]), b(catcher, &r[1]);
    a.join();
    b.join();
    for (auto &x : r) {
        std::printf("%s: caught \"%s\" after switching in the catch block; current_exception "
                    "unchanged: %s\n", x.name.c_str(), x.caught.c_str(), yes(x.same_ptr));
        std::printf("  throw; rethrew \"%s\", the same object: %s, current_exception in the inner "
                    "handler unchanged: %s; nothing handled afterwards: %s\n", x.rethrown.c_str(),
                    yes(x.same_object), yes(x.ptr_in_inner), yes(x.nothing_after));
    }
    std::printf("the two threads' exception_ptrs differ: %s\n", yes(r[0].ptr != r[1].ptr));
    try {
        std::rethrow_exception(r[1].ptr);
    } catch (const std::runtime_error &e) {
        std::printf("main rethrows beta's exception_ptr: \"%s\"\n", e.what());
    }
}

void check_unwind()
{
    UnwindReport r[2];
    std::thread a(unwinder, &r[0]), b(unwinder, &r[1]);
    int in_main = std::uncaught_exceptions();
    a.join();
    b.join();
    for (int i = 0; i < 2; i++)
        std::printf("unwinding thread %d: uncaught_exceptions in the destructor %d, after switching "
                    "%d, in the handler %d\n", i + 1, r[i].in_destructor_before,
                    r[i].in_destructor_after, r[i].in_handler);
    std::printf("main meanwhile: %d\n", in_main);
}

std::once_flag flag;
int once_calls;

void check_call_once()
{
    std::string first;
    std::thread t([&first] {
        try {
            std::call_once(flag, [] {
                once_calls++;
                throw std::runtime_error("call_once callable failed");
            });
        } catch (const std::runtime_error &e) {
            first = e.what();
        }
    });
    t.join();
    std::printf("std::call_once whose callable throws: caught \"%s\"\n", first.c_str());
    std::thread u([] { std::call_once(flag, [] { once_calls++; }); });
    u.join();
    std::call_once(flag, [] { once_calls++; });
    std::printf("  then two more calls: callables run %d in all\n", once_calls);
}

} // namespace

int main()
{
    setvbuf(stdout, nullptr, _IOLBF, 0);
    alarm(10);
    check_catch();
    check_unwind();
    check_call_once();
    return 0;
}
