/* run_cost_probe.c - what the memory manager and the process model cost on
 * this host, measured directly, for bench/run_cost.py (make bench-runcost).
 * A sandboxed run is a fork of a zygote, a few hundred page faults and an
 * exit: these are the prices of those three things here.
 *
 *   run_cost_probe touch MIB     first-touch faults: MIB of fresh anonymous
 *                                memory, one write a page; then its munmap
 *   run_cost_probe cow MIB       copy-on-write faults: MIB touched, then a
 *                                forked child writes one byte a page
 *   run_cost_probe fork N MIB    N times fork + _exit(0) + waitpid of this
 *                                process with MIB of anonymous memory
 *                                touched (0: the small process alone)
 *
 * Prints key=value lines; times in nanoseconds: wall time (CLOCK_MONOTONIC)
 * and CPU time (the thread's CLOCK_THREAD_CPUTIME_ID; for fork, the
 * parent's and the reaped children's), which other work on a loaded machine
 * does not lengthen.
 * Transparent huge pages are turned off on the probe's memory
 * (MADV_NOHUGEPAGE): a run's faults are 4 KiB faults, and one 2 MiB fault
 * would hide 512 of them. The fault counts (getrusage) are printed beside
 * the times so that a reader sees one fault was taken per page.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "run_cost_probe: %s: %s\n", what, strerror(errno));
    exit(1);
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* CPU time of the reaped children so far (user + system). */
static long long children_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return ((long long)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
           ((long long)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

static long minflt(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

static size_t page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

/* One write a page; volatile so that the compiler keeps every one. */
static void touch(unsigned char *p, size_t bytes, unsigned char v)
{
    volatile unsigned char *q = p;
    for (size_t i = 0; i < bytes; i += page_size())
        q[i] = v;
}

static unsigned char *map_fresh(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap");
    (void)madvise(p, bytes, MADV_NOHUGEPAGE); /* best effort: see the top */
    return p;
}

static size_t mib_arg(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 0 || v > 4096) {
        fprintf(stderr, "run_cost_probe: bad MiB count '%s'\n", s);
        exit(2);
    }
    return (size_t)v << 20;
}

static void probe_touch(size_t bytes)
{
    unsigned char *p = map_fresh(bytes);
    long f0 = minflt();
    long long c0 = cpu_ns();
    long long t0 = now_ns();
    touch(p, bytes, 1);
    long long t1 = now_ns();
    long long c1 = cpu_ns();
    long f1 = minflt();
    if (munmap(p, bytes) < 0)
        die("munmap");
    long long t2 = now_ns();
    printf("pages=%zu\nfaults=%ld\ntouch_ns=%lld\ntouch_cpu_ns=%lld\nunmap_ns=%lld\n",
           bytes / page_size(), f1 - f0, t1 - t0, c1 - c0, t2 - t1);
}

static void probe_cow(size_t bytes)
{
    unsigned char *p = map_fresh(bytes);
    touch(p, bytes, 1);
    int fd[2];
    if (pipe(fd) < 0)
        die("pipe");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        long long r[3];
        long f0 = minflt();
        long long c0 = cpu_ns();
        long long t0 = now_ns();
        touch(p, bytes, 2);
        r[0] = now_ns() - t0;
        r[1] = cpu_ns() - c0;
        r[2] = minflt() - f0;
        _exit(write(fd[1], r, sizeof r) == (ssize_t)sizeof r ? 0 : 1);
    }
    close(fd[1]);
    long long r[3];
    ssize_t n = read(fd[0], r, sizeof r);
    int st;
    if (waitpid(pid, &st, 0) < 0)
        die("waitpid");
    if (n != (ssize_t)sizeof r || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "run_cost_probe: the copy-on-write child failed\n");
        exit(1);
    }
    printf("pages=%zu\nfaults=%lld\ncow_ns=%lld\ncow_cpu_ns=%lld\n", bytes / page_size(), r[2], r[0],
           r[1]);
}

/* VmRSS of this process, in kB (ru_maxrss would be the exec's parent's:
 * the peak survives exec). */
static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* The p-th percentile's index in n sorted values (nearest rank). */
static int rank(int n, int p)
{
    return (int)(((long long)p * (n - 1) + 50) / 100);
}

static void probe_fork(int n, size_t bytes)
{
    if (bytes)
        touch(map_fresh(bytes), bytes, 1); /* stays mapped: fork copies its page tables */
    long long *t = calloc((size_t)n, sizeof *t);
    if (!t)
        die("calloc");
    long long sum = 0;
    long long c0 = cpu_ns(), k0 = children_cpu_ns();
    for (int i = 0; i < n; i++) {
        long long t0 = now_ns();
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0)
            _exit(0);
        if (waitpid(pid, NULL, 0) < 0)
            die("waitpid");
        t[i] = now_ns() - t0;
        sum += t[i];
    }
    long long cpu = cpu_ns() - c0 + children_cpu_ns() - k0;
    qsort(t, (size_t)n, sizeof *t, cmp_ll);
    printf("forks=%d\np50_ns=%lld\np99_ns=%lld\nmean_ns=%lld\ncpu_mean_ns=%lld\nrss_kb=%ld\n", n,
           t[rank(n, 50)], t[rank(n, 99)], sum / n, cpu / n, rss_kb());
    free(t);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "touch") == 0)
        probe_touch(mib_arg(argv[2]));
    else if (argc == 3 && strcmp(argv[1], "cow") == 0)
        probe_cow(mib_arg(argv[2]));
    else if (argc == 4 && strcmp(argv[1], "fork") == 0 && atoi(argv[2]) > 0)
        probe_fork(atoi(argv[2]), mib_arg(argv[3]));
    else {
        fprintf(stderr, "usage: run_cost_probe touch MIB | cow MIB | fork N MIB\n");
        return 2;
    }
    return 0;
}
