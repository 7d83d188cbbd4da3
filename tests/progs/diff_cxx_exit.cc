// diff_cxx_exit.cc - pthread_exit from inside C++ frames: glibc unwinds them
// (forced unwinding), so their destructors run and a catch (...) that
// rethrows sees the unwinding go by; cleanup handlers run too.
#include <pthread.h>
#include <cstdio>

static bool destructor_ran, catch_saw_it, cleanup_ran;

struct Guard {
    ~Guard() { destructor_ran = true; }
};

static void cleanup(void *) { cleanup_ran = true; }

static void deep()
{
    Guard g;
    pthread_exit(nullptr);
}

static void *worker(void *)
{
    pthread_cleanup_push(cleanup, nullptr);
    try {
        deep();
    } catch (...) {
        catch_saw_it = true;
        throw;                      // the forced unwinding must go on
    }
    pthread_cleanup_pop(0);
    return nullptr;
}

int main()
{
    pthread_t t;

    pthread_create(&t, nullptr, worker, nullptr);
    pthread_join(t, nullptr);
    std::printf("destructor of a frame left by pthread_exit ran: %s\n", destructor_ran ? "yes" : "no");
    std::printf("catch (...) saw the unwinding: %s\n", catch_saw_it ? "yes" : "no");
    std::printf("cleanup handler ran: %s\n", cleanup_ran ? "yes" : "no");
    return 0;
}
