/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-instance-procfs.c: hull-procfs's files from sample host and cgroup files, and its FUSE requests */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fuse.h>
#include <math.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "instance/bundle.h"
#include "instance/procfs-start.h"
#include "instance/procfs.h"

static const char host_meminfo[] = "MemTotal:        8000000 kB\n"
                                   "MemFree:         6000000 kB\n"
                                   "MemAvailable:    7000000 kB\n"
                                   "Buffers:           10000 kB\n"
                                   "Cached:           900000 kB\n"
                                   "SwapCached:            0 kB\n"
                                   "Active:           500000 kB\n"
                                   "Inactive:         400000 kB\n"
                                   "Active(anon):     100000 kB\n"
                                   "Inactive(anon):   200000 kB\n"
                                   "Active(file):     400000 kB\n"
                                   "Inactive(file):   200000 kB\n"
                                   "SwapTotal:       2000000 kB\n"
                                   "SwapFree:        2000000 kB\n"
                                   "Dirty:                12 kB\n"
                                   "Shmem:             30000 kB\n"
                                   "HugePages_Total:       0\n";

/* Four CPUs told apart by their apicid. */
static const char host_cpuinfo[] = "processor\t: 0\nmodel name\t: Test CPU\napicid\t\t: 10\n\n"
                                   "processor\t: 1\nmodel name\t: Test CPU\napicid\t\t: 11\n\n"
                                   "processor\t: 2\nmodel name\t: Test CPU\napicid\t\t: 12\n\n"
                                   "processor\t: 3\nmodel name\t: Test CPU\napicid\t\t: 13\n\n";

static const char host_stat[] = "cpu  10 0 20 30 0 0 0 0 0 0\n"
                                "cpu0 1 0 2 3 0 0 0 0 0 0\n"
                                "cpu1 2 0 4 6 0 0 0 0 0 0\n"
                                "cpu2 3 0 6 9 0 0 0 0 0 0\n"
                                "cpu3 4 0 8 12 0 0 0 0 0 0\n"
                                "intr 5 1 2\n"
                                "ctxt 99\n"
                                "btime 1700000000\n";

static char tmp_dir[PATH_MAX];

static char *path_in(const char *sub)
{
        return xasprintf("%s/%s", tmp_dir, sub);
}

static void put(const char *sub, const char *text)
{
        _cleanup_free_ char *p = path_in(sub), *dir = xstrdup(p);
        FILE *f;

        *strrchr(dir, '/') = '\0';
        assert_int_equal(mkdir_p(dir, 0755, NULL), 0);
        f = fopen(p, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static int group_setup(void **state)
{
        const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

        snprintf(tmp_dir, sizeof(tmp_dir), "%s/hull-procfs-XXXXXX", tmp);
        if (!mkdtemp(tmp_dir))
                return -1;
        put("proc/meminfo", host_meminfo);
        put("proc/cpuinfo", host_cpuinfo);
        put("proc/stat", host_stat);
        /* v1: 64 MiB, 10 MiB used of which 4 MiB page cache (1 MiB shmem), swap covered by the limit */
        put("v1/memory.limit_in_bytes", "67108864\n");
        put("v1/memory.usage_in_bytes", "10485760\n");
        put("v1/memory.memsw.limit_in_bytes", "67108864\n");
        put("v1/memory.memsw.usage_in_bytes", "10485760\n");
        put("v1/memory.stat", "cache 1\nrss 2\ntotal_cache 4194304\ntotal_rss 6291456\ntotal_shmem 1048576\n"
                              "total_active_anon 2097152\ntotal_inactive_anon 5242880\n"
                              "total_active_file 1048576\ntotal_inactive_file 2097152\n");
        /* v2: 128 MiB, 32 MiB used, no swap */
        put("v2/memory.max", "134217728\n");
        put("v2/memory.current", "33554432\n");
        put("v2/memory.swap.max", "0\n");
        put("v2/memory.swap.current", "0\n");
        put("v2/memory.stat", "anon 10\nfile 8388608\nshmem 2097152\n"
                              "active_anon 1048576\ninactive_anon 1048576\n"
                              "active_file 3145728\ninactive_file 4194304\nslab_reclaimable 1048576\n");
        put("v2/cpuset.cpus.effective", "1,3\n");
        put("v2/cpu.stat", "usage_usec 20000000\nuser_usec 1\n");
        put("unlimited/memory.limit_in_bytes", "9223372036854771712\n");
        put("unlimited/memory.usage_in_bytes", "1048576\n");
        put("max/memory.max", "max\n");
        put("max/memory.current", "1048576\n");
        put("huge/memory.max", "17179869184\n");
        put("huge/memory.current", "1048576\n");
        put("cpuset1/cpuset.effective_cpus", "2\n");
        put("cpuset1/cpuacct.usage", "5000000000\n");
        return 0;
}

static int group_teardown(void **state)
{
        return rm_rf_at(AT_FDCWD, tmp_dir, NULL) < 0 ? -1 : 0;
}

/* The content of f with the given cgroup directories (names below tmp_dir, or NULL). */
static char *gen(ProcfsFile f, const char *mem, const char *cpuset, const char *cpuacct, double start,
                 double now)
{
        _cleanup_free_ char *proc = path_in("proc"), *m = mem ? path_in(mem) : NULL,
                            *c = cpuset ? path_in(cpuset) : NULL, *a = cpuacct ? path_in(cpuacct) : NULL;
        ProcfsSources src = {
                .proc_dir = proc, .memory_dir = m, .cpuset_dir = c, .cpuacct_dir = a, .start = start
        };
        char *text = NULL;
        size_t len = 0;

        assert_int_equal(procfs_generate(&src, f, now, &text, &len), 0);
        assert_int_equal(strlen(text), len);
        return text;
}

static void assert_has_line(const char *text, const char *line)
{
        _cleanup_free_ char *want = xasprintf("%s\n", line);

        if (!strstr(text, want))
                fail_msg("line '%s' not in:\n%s", line, text);
}

static void test_meminfo_v1(void **state)
{
        _cleanup_free_ char *t = gen(PROCFS_MEMINFO, "v1", NULL, NULL, 0, 0);

        assert_has_line(t, "MemTotal:          65536 kB");
        assert_has_line(t, "MemFree:           55296 kB");
        /* free + the file LRUs (3 MiB) */
        assert_has_line(t, "MemAvailable:      58368 kB");
        assert_has_line(t, "Buffers:               0 kB");
        assert_has_line(t, "Cached:             4096 kB");
        assert_has_line(t, "Active:             3072 kB");
        assert_has_line(t, "Inactive:           7168 kB");
        assert_has_line(t, "Active(anon):       2048 kB");
        assert_has_line(t, "Inactive(file):     2048 kB");
        assert_has_line(t, "Shmem:              1024 kB");
        /* memsw = limit: no swap */
        assert_has_line(t, "SwapTotal:             0 kB");
        assert_has_line(t, "SwapFree:              0 kB");
        /* the rest as the host's */
        assert_has_line(t, "Dirty:                12 kB");
        assert_has_line(t, "HugePages_Total:       0");
        assert_int_equal(strncmp(t, "MemTotal:", 9), 0);
}

static void test_meminfo_v2(void **state)
{
        _cleanup_free_ char *t = gen(PROCFS_MEMINFO, "v2", NULL, NULL, 0, 0);

        assert_has_line(t, "MemTotal:         131072 kB");
        assert_has_line(t, "MemFree:           98304 kB");
        /* free + 7 MiB of file LRUs + 1 MiB of reclaimable slab */
        assert_has_line(t, "MemAvailable:     106496 kB");
        assert_has_line(t, "Cached:             8192 kB");
        assert_has_line(t, "Shmem:              2048 kB");
        assert_has_line(t, "SwapTotal:             0 kB");
}

/* No limit, a limit at or above the host's memory, no cgroup: the host's file as it is. */
static void test_meminfo_host(void **state)
{
        const char *dirs[] = { "unlimited", "max", "huge", "nonexistent", NULL };

        for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
                _cleanup_free_ char *t = gen(PROCFS_MEMINFO, dirs[i], NULL, NULL, 0, 0);
                assert_string_equal(t, host_meminfo);
        }
}

static void test_cpuinfo(void **state)
{
        _cleanup_free_ char *t = gen(PROCFS_CPUINFO, NULL, "v2", NULL, 0, 0),
                            *all = gen(PROCFS_CPUINFO, NULL, NULL, NULL, 0, 0),
                            *one = gen(PROCFS_CPUINFO, NULL, "cpuset1", NULL, 0, 0);

        assert_string_equal(t, "processor\t: 0\nmodel name\t: Test CPU\napicid\t\t: 11\n\n"
                               "processor\t: 1\nmodel name\t: Test CPU\napicid\t\t: 13\n\n");
        assert_string_equal(one, "processor\t: 0\nmodel name\t: Test CPU\napicid\t\t: 12\n\n");
        assert_string_equal(all, host_cpuinfo);
}

static void test_stat(void **state)
{
        _cleanup_free_ char *t = gen(PROCFS_STAT, NULL, "v2", NULL, 0, 0),
                            *all = gen(PROCFS_STAT, NULL, NULL, NULL, 0, 0);

        assert_string_equal(t, "cpu  6 0 12 18 0 0 0 0 0 0\n"
                               "cpu0 2 0 4 6 0 0 0 0 0 0\n"
                               "cpu1 4 0 8 12 0 0 0 0 0 0\n"
                               "intr 5 1 2\nctxt 99\nbtime 1700000000\n");
        /* every CPU: the same figures, the sum recomputed */
        assert_string_equal(all, host_stat);
}

static void test_uptime(void **state)
{
        /* 60.5 s on 2 CPUs, 20 s of them used (v2 cpu.stat) */
        _cleanup_free_ char *t = gen(PROCFS_UPTIME, NULL, "v2", "v2", 100, 160.5),
                            *v1 = gen(PROCFS_UPTIME, NULL, "cpuset1", "cpuset1", 10, 20),
                            *early = gen(PROCFS_UPTIME, NULL, "cpuset1", "cpuset1", 10, 5);

        assert_string_equal(t, "60.50 101.00\n");
        assert_string_equal(v1, "10.00 5.00\n");
        assert_string_equal(early, "0.00 0.00\n");
}

static void test_missing_host(void **state)
{
        ProcfsSources src = { .proc_dir = "/nonexistent" };
        char *t = NULL;
        size_t n;

        assert_int_equal(procfs_generate(&src, PROCFS_MEMINFO, 0, &t, &n), -ENOENT);
        assert_int_equal(procfs_generate(&src, PROCFS_CPUINFO, 0, &t, &n), -ENOENT);
        assert_int_equal(procfs_generate(&src, _PROCFS_FILE_MAX, 0, &t, &n), -EINVAL);
        assert_null(t);
        assert_null(procfs_file_name(_PROCFS_FILE_MAX));
        assert_string_equal(procfs_file_name(PROCFS_MEMINFO), "meminfo");
}

static void test_cpu_list(void **state)
{
        unsigned char m[16];

        assert_int_equal(procfs_parse_cpu_list("0-3,8,10-11\n", m, 128), 7);
        assert_int_equal(m[0], 0x0f);
        assert_int_equal(m[1], 0x0d);
        assert_int_equal(procfs_parse_cpu_list("5", m, 128), 1);
        assert_int_equal(procfs_parse_cpu_list("1,1,0-1", m, 128), 2);
        assert_int_equal(procfs_parse_cpu_list("", m, 128), 0);
        const char *bad[] = { "a", "1-", "3-1", "1,,2", "128", "0-200", "1 2", "-1", "1-2-3" };
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
                assert_int_equal(procfs_parse_cpu_list(bad[i], m, 128), -EINVAL);
}

/* ---- the FUSE dispatcher, fed requests as the kernel writes them ---- */

typedef struct Fuse {
        Procfs *p;
        ProcfsSources src;
        char *proc;
        unsigned char out[PROCFS_REPLY_MAX];
        uint64_t unique;
} Fuse;

/* Sends one request (header + arg); returns the reply's length (0: none); *ret_error its error. */
static size_t call(Fuse *f, uint32_t opcode, uint64_t node, const void *arg, size_t n, int *ret_error)
{
        unsigned char req[PROCFS_REQUEST_MAX];
        struct fuse_in_header h = { .len = (uint32_t)(sizeof(h) + n), .opcode = opcode, .unique = ++f->unique,
                                    .nodeid = node };
        struct fuse_out_header o;
        size_t len;

        assert_true(sizeof(h) + n <= sizeof(req));
        memcpy(req, &h, sizeof(h));
        if (n)
                memcpy(req + sizeof(h), arg, n);
        len = procfs_handle(f->p, req, sizeof(h) + n, f->out);
        if (len == 0)
                return 0;
        assert_true(len >= sizeof(o) && len <= PROCFS_REPLY_MAX);
        memcpy(&o, f->out, sizeof(o));
        assert_int_equal(o.len, len);
        assert_int_equal(o.unique, f->unique);
        *ret_error = o.error;
        return len;
}

static void fuse_setup(Fuse *f)
{
        struct fuse_init_in in = { .major = 7, .minor = 38, .max_readahead = 65536 };
        struct fuse_init_out out;
        int e = 1;

        memset(f, 0, sizeof(*f));
        f->proc = path_in("proc");
        f->src = (ProcfsSources){ .proc_dir = f->proc };
        f->p = procfs_new(&f->src);
        /* before INIT: refused */
        assert_int_not_equal(call(f, FUSE_GETATTR, FUSE_ROOT_ID, NULL, 0, &e), 0);
        assert_int_equal(e, -EPROTO);
        assert_int_equal(call(f, FUSE_INIT, 0, &in, sizeof(in), &e),
                         sizeof(struct fuse_out_header) + sizeof(out));
        assert_int_equal(e, 0);
        memcpy(&out, f->out + sizeof(struct fuse_out_header), sizeof(out));
        assert_int_equal(out.major, 7);
        assert_int_equal(out.minor, 38);
        assert_true(out.max_write >= 4096);
}

static void fuse_done(Fuse *f)
{
        procfs_free(f->p);
        free(f->proc);
}

static uint64_t lookup(Fuse *f, const char *name)
{
        struct fuse_entry_out e;
        int error = 1;

        assert_int_equal(call(f, FUSE_LOOKUP, FUSE_ROOT_ID, name, strlen(name) + 1, &error),
                         sizeof(struct fuse_out_header) + sizeof(e));
        assert_int_equal(error, 0);
        memcpy(&e, f->out + sizeof(struct fuse_out_header), sizeof(e));
        assert_int_equal(e.attr.mode, S_IFREG | 0444);
        assert_int_equal(e.attr.size, 0);
        return e.nodeid;
}

/* Opens node: the reply (after the store notification) gives the handle. */
static uint64_t open_node(Fuse *f, uint64_t node, const char *content)
{
        struct fuse_open_in in = { .flags = O_RDONLY };
        struct fuse_out_header h;
        struct fuse_notify_store_out st;
        struct fuse_open_out o;
        unsigned char req[sizeof(struct fuse_in_header) + sizeof(in)];
        struct fuse_in_header ih = {
                .len = sizeof(req), .opcode = FUSE_OPEN, .unique = ++f->unique, .nodeid = node
        };
        size_t len, store;

        memcpy(req, &ih, sizeof(ih));
        memcpy(req + sizeof(ih), &in, sizeof(in));
        len = procfs_handle(f->p, req, sizeof(req), f->out);
        /* the store: the content's last byte at its offset */
        memcpy(&h, f->out, sizeof(h));
        assert_int_equal(h.error, FUSE_NOTIFY_STORE);
        assert_int_equal(h.unique, 0);
        assert_int_equal(h.len, sizeof(h) + sizeof(st) + 1);
        memcpy(&st, f->out + sizeof(h), sizeof(st));
        assert_int_equal(st.nodeid, node);
        assert_int_equal(st.size, 1);
        if (content) {
                assert_int_equal(st.offset, strlen(content) - 1);
                assert_int_equal(f->out[sizeof(h) + sizeof(st)], (unsigned char)content[strlen(content) - 1]);
        }
        /* then the reply */
        store = h.len;
        assert_int_equal(len, store + sizeof(h) + sizeof(o));
        memcpy(&h, f->out + store, sizeof(h));
        assert_int_equal(h.error, 0);
        assert_int_equal(h.unique, f->unique);
        memcpy(&o, f->out + len - sizeof(o), sizeof(o));
        assert_int_equal(o.open_flags, FOPEN_DIRECT_IO);
        return o.fh;
}

static size_t read_at(Fuse *f, uint64_t node, uint64_t fh, uint64_t off, uint32_t size, char *buf,
                      int *ret_error)
{
        struct fuse_read_in in = { .fh = fh, .offset = off, .size = size };
        size_t len = call(f, FUSE_READ, node, &in, sizeof(in), ret_error);

        if (*ret_error)
                return 0;
        memcpy(buf, f->out + sizeof(struct fuse_out_header), len - sizeof(struct fuse_out_header));
        return len - sizeof(struct fuse_out_header);
}

static void test_fuse_read(void **state)
{
        Fuse f;
        uint64_t node, fh;
        struct fuse_release_in rel = {};
        char buf[PROCFS_REPLY_MAX], got[8192];
        size_t n = 0, k;
        int e = 1;

        fuse_setup(&f);
        node = lookup(&f, "cpuinfo");
        fh = open_node(&f, node, host_cpuinfo);
        /* in pieces of 7 bytes, to the end and one read past it */
        do {
                k = read_at(&f, node, fh, n, 7, buf, &e);
                assert_int_equal(e, 0);
                assert_true(k <= 7);
                memcpy(got + n, buf, k);
                n += k;
        } while (k > 0);
        got[n] = '\0';
        assert_string_equal(got, host_cpuinfo);
        /* offsets past the end: empty */
        assert_int_equal(read_at(&f, node, fh, UINT64_MAX, 100, buf, &e), 0);
        assert_int_equal(e, 0);
        /* a handle not open, another node */
        read_at(&f, node, fh + 100, 0, 10, buf, &e);
        assert_int_equal(e, -EBADF);
        read_at(&f, FUSE_ROOT_ID, fh, 0, 10, buf, &e);
        assert_int_equal(e, -EBADF);
        rel.fh = fh;
        assert_int_not_equal(call(&f, FUSE_RELEASE, node, &rel, sizeof(rel), &e), 0);
        assert_int_equal(e, 0);
        read_at(&f, node, fh, 0, 10, buf, &e);
        assert_int_equal(e, -EBADF);
        /* a second release of the same handle is harmless */
        call(&f, FUSE_RELEASE, node, &rel, sizeof(rel), &e);
        assert_int_equal(e, 0);
        fuse_done(&f);
}

static void test_fuse_refusals(void **state)
{
        Fuse f;
        struct fuse_open_in wr = { .flags = O_WRONLY }, rdwr = { .flags = O_RDWR },
                            tr = { .flags = O_RDONLY | O_TRUNC };
        struct fuse_getattr_in ga = {};
        struct fuse_attr_out ao;
        int e = 1;

        fuse_setup(&f);
        assert_int_not_equal(call(&f, FUSE_LOOKUP, FUSE_ROOT_ID, "nothere", 8, &e), 0);
        assert_int_equal(e, -ENOENT);
        /* a name without its NUL, a lookup below a file */
        call(&f, FUSE_LOOKUP, FUSE_ROOT_ID, "meminfo", 7, &e);
        assert_int_equal(e, -EINVAL);
        call(&f, FUSE_LOOKUP, 2, "x", 2, &e);
        assert_int_equal(e, -ENOTDIR);
        call(&f, FUSE_OPEN, 2, &wr, sizeof(wr), &e);
        assert_int_equal(e, -EACCES);
        call(&f, FUSE_OPEN, 2, &rdwr, sizeof(rdwr), &e);
        assert_int_equal(e, -EACCES);
        call(&f, FUSE_OPEN, 2, &tr, sizeof(tr), &e);
        assert_int_equal(e, -EACCES);
        call(&f, FUSE_OPEN, FUSE_ROOT_ID, &(struct fuse_open_in){ 0 }, sizeof(struct fuse_open_in), &e);
        assert_int_equal(e, -EISDIR);
        call(&f, FUSE_OPEN, 99, &(struct fuse_open_in){ 0 }, sizeof(struct fuse_open_in), &e);
        assert_int_equal(e, -ENOENT);
        /* a short argument */
        call(&f, FUSE_OPEN, 2, &wr, 4, &e);
        assert_int_equal(e, -EINVAL);
        call(&f, FUSE_READ, 2, &wr, 8, &e);
        assert_int_equal(e, -EINVAL);
        call(&f, FUSE_GETATTR, 99, &ga, sizeof(ga), &e);
        assert_int_equal(e, -ENOENT);
        call(&f, FUSE_GETATTR, FUSE_ROOT_ID, &ga, sizeof(ga), &e);
        assert_int_equal(e, 0);
        memcpy(&ao, f.out + sizeof(struct fuse_out_header), sizeof(ao));
        assert_int_equal(ao.attr.mode, S_IFDIR | 0555);
        /* what we do not do */
        call(&f, FUSE_SETATTR, 2, NULL, 0, &e);
        assert_int_equal(e, -ENOSYS);
        call(&f, FUSE_MKDIR, FUSE_ROOT_ID, NULL, 0, &e);
        assert_int_equal(e, -ENOSYS);
        call(&f, 12345, FUSE_ROOT_ID, NULL, 0, &e);
        assert_int_equal(e, -ENOSYS);
        /* no reply */
        assert_int_equal(call(&f, FUSE_FORGET, 2, &(uint64_t){ 1 }, 8, &e), 0);
        assert_int_equal(call(&f, FUSE_BATCH_FORGET, 2, NULL, 0, &e), 0);
        assert_int_equal(call(&f, FUSE_INTERRUPT, 2, NULL, 0, &e), 0);
        /* a header whose length lies, and less than a header */
        {
                struct fuse_in_header h = { .len = 100, .opcode = FUSE_GETATTR, .unique = 7, .nodeid = 1 };
                struct fuse_out_header o;
                assert_int_equal(procfs_handle(f.p, &h, sizeof(h), f.out), sizeof(o));
                memcpy(&o, f.out, sizeof(o));
                assert_int_equal(o.error, -EINVAL);
                assert_int_equal(procfs_handle(f.p, &h, 10, f.out), 0);
        }
        fuse_done(&f);
}

static void test_fuse_readdir_statfs(void **state)
{
        Fuse f;
        struct fuse_read_in rd = { .size = 4096 };
        const char *want[] = { ".", "..", "meminfo", "cpuinfo", "stat", "uptime" };
        size_t len, off, i = 0;
        int e = 1;

        fuse_setup(&f);
        call(&f, FUSE_OPENDIR, FUSE_ROOT_ID, &(struct fuse_open_in){ 0 }, sizeof(struct fuse_open_in), &e);
        assert_int_equal(e, 0);
        call(&f, FUSE_OPENDIR, 2, &(struct fuse_open_in){ 0 }, sizeof(struct fuse_open_in), &e);
        assert_int_equal(e, -ENOTDIR);
        len = call(&f, FUSE_READDIR, FUSE_ROOT_ID, &rd, sizeof(rd), &e);
        assert_int_equal(e, 0);
        for (off = sizeof(struct fuse_out_header); off < len; i++) {
                struct fuse_dirent d;
                memcpy(&d, f.out + off, sizeof(d));
                assert_true(i < ARRAY_SIZE(want));
                assert_int_equal(d.namelen, strlen(want[i]));
                assert_memory_equal(f.out + off + FUSE_NAME_OFFSET, want[i], d.namelen);
                assert_int_equal(d.off, i + 1);
                off += FUSE_DIRENT_SIZE(&d);
        }
        assert_int_equal(i, ARRAY_SIZE(want));
        /* from an offset, and a buffer too small for one entry */
        rd.offset = 5;
        len = call(&f, FUSE_READDIR, FUSE_ROOT_ID, &rd, sizeof(rd), &e);
        assert_int_equal(len, sizeof(struct fuse_out_header) + FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + 6));
        rd.offset = 0;
        rd.size = 8;
        assert_int_equal(call(&f, FUSE_READDIR, FUSE_ROOT_ID, &rd, sizeof(rd), &e),
                         sizeof(struct fuse_out_header));
        call(&f, FUSE_RELEASEDIR, FUSE_ROOT_ID, NULL, 0, &e);
        assert_int_equal(e, 0);
        call(&f, FUSE_STATFS, FUSE_ROOT_ID, NULL, 0, &e);
        assert_int_equal(e, 0);
        fuse_done(&f);
}

/* Open handles are bounded: an untrusted caller cannot make the server grow without end. */
static void test_fuse_handle_limit(void **state)
{
        Fuse f;
        struct fuse_release_in rel = {};
        uint64_t fh = 0;
        int e = 0, n = 0;

        fuse_setup(&f);
        for (;; n++) {
                struct fuse_open_in in = { .flags = O_RDONLY };
                struct fuse_out_header h;
                unsigned char req[sizeof(struct fuse_in_header) + sizeof(in)];
                struct fuse_in_header ih = {
                        .len = sizeof(req), .opcode = FUSE_OPEN, .unique = 1, .nodeid = 5
                };
                memcpy(req, &ih, sizeof(ih));
                memcpy(req + sizeof(ih), &in, sizeof(in));
                procfs_handle(f.p, req, sizeof(req), f.out);
                memcpy(&h, f.out, sizeof(h));
                if (h.error != FUSE_NOTIFY_STORE) {
                        e = h.error;
                        break;
                }
                assert_true(n < 100000);
        }
        assert_int_equal(e, -EMFILE);
        assert_true(n >= 64);
        /* one released: one more fits, in the freed slot */
        rel.fh = 3;
        call(&f, FUSE_RELEASE, 5, &rel, sizeof(rel), &e);
        fh = open_node(&f, 5, NULL);
        assert_int_equal(fh, 3);
        fuse_done(&f);
}

static void test_cpuset_pinning(void **state)
{
        cpu_set_t set;
        _cleanup_free_ char *a = NULL, *b = NULL;
        unsigned char m[CPU_SETSIZE / 8];

        assert_null(inst_procfs_cpuset("abc", 0));
        assert_null(inst_procfs_cpuset("abc", 1e6));
        assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
        if (CPU_COUNT(&set) < 2)
                skip();
        a = inst_procfs_cpuset("abc", 0.5);
        assert_non_null(a);
        assert_int_equal(procfs_parse_cpu_list(a, m, CPU_SETSIZE), 1);
        b = inst_procfs_cpuset("abc", 0.5);
        assert_string_equal(a, b); /* the same id, the same CPU */
        if (CPU_COUNT(&set) > 2) {
                _cleanup_free_ char *c = inst_procfs_cpuset("abc", 1.5);
                assert_int_equal(procfs_parse_cpu_list(c, m, CPU_SETSIZE), 2);
        }
        for (int i = 0; i < CPU_SETSIZE; i++)
                if (m[i / 8] & (1u << (i % 8)))
                        assert_true(CPU_ISSET(i, &set));
}

/* The bundle of a system container: its procfs files bound read-only after /proc, its cpuset. */
static void test_bundle(void **state)
{
        char *cmd[] = { "sleep", "1000", NULL };
        InstRunSpec spec = {
                .id = "0123456789abcdef", .cmd = cmd, .cpus = 1, .procfs_dir = "/run/x", .cpuset = "1"
        };
        _cleanup_json_ json_t *cfg = NULL;
        json_t *mounts, *m;
        size_t i, proc_at = SIZE_MAX, n_found = 0;
        const char *dst;

        assert_int_equal(inst_bundle_config(NULL, &spec, tmp_dir, -EBADF, &cfg, NULL), 0);
        mounts = json_object_get(cfg, "mounts");
        json_array_foreach(mounts, i, m) {
                dst = json_string_value(json_object_get(m, "destination"));
                if (strcmp(dst, "/proc") == 0)
                        proc_at = i;
                for (size_t k = 0; inst_procfs_files[k]; k++) {
                        _cleanup_free_ char *want = xasprintf("/proc/%s", inst_procfs_files[k]),
                                            *src = xasprintf("/run/x/%s", inst_procfs_files[k]);
                        if (strcmp(dst, want) != 0)
                                continue;
                        assert_true(i > proc_at);
                        assert_string_equal(json_string_value(json_object_get(m, "source")), src);
                        assert_string_equal(json_string_value(json_object_get(m, "type")), "bind");
                        assert_string_equal(json_string_value(json_array_get(json_object_get(m, "options"), 1)),
                                            "ro");
                        n_found++;
                }
        }
        assert_int_equal(n_found, 4);
        m = json_object_get(json_object_get(json_object_get(cfg, "linux"), "resources"), "cpu");
        assert_string_equal(json_string_value(json_object_get(m, "cpus")), "1");
        assert_int_equal(json_integer_value(json_object_get(m, "quota")), 100000);
        /* an application container: neither */
        json_decref(cfg);
        spec.procfs_dir = spec.cpuset = NULL;
        spec.cpus = 0;
        assert_int_equal(inst_bundle_config(NULL, &spec, tmp_dir, -EBADF, &cfg, NULL), 0);
        json_array_foreach(json_object_get(cfg, "mounts"), i, m)
                assert_null(strstr(json_string_value(json_object_get(m, "destination")), "meminfo"));
        assert_null(json_object_get(json_object_get(json_object_get(cfg, "linux"), "resources"), "cpu"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_meminfo_v1),
                cmocka_unit_test(test_meminfo_v2),
                cmocka_unit_test(test_meminfo_host),
                cmocka_unit_test(test_cpuinfo),
                cmocka_unit_test(test_stat),
                cmocka_unit_test(test_uptime),
                cmocka_unit_test(test_missing_host),
                cmocka_unit_test(test_cpu_list),
                cmocka_unit_test(test_fuse_read),
                cmocka_unit_test(test_fuse_refusals),
                cmocka_unit_test(test_fuse_readdir_statfs),
                cmocka_unit_test(test_fuse_handle_limit),
                cmocka_unit_test(test_cpuset_pinning),
                cmocka_unit_test(test_bundle),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
