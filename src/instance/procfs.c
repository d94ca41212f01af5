/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* procfs.c: a container's meminfo, cpuinfo, stat and uptime, and the FUSE protocol that serves them */
/*
 * libc only: this is the whole of hull-procfs but its main loop. The figures come from the host's
 * /proc and the container's cgroup files (v1 and v2 names are both tried), read afresh at each open.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/fuse.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "procfs.h"

/* Host and cgroup files are read whole: more than this is refused. */
#define FILE_MAX (8u << 20)
#define CPU_MAX 8192
#define HANDLES_MAX 1024
/* The kernel caches names and attributes this long: the set of files never changes. */
#define ATTR_VALID 3600
#define ROOT_MODE (S_IFDIR | 0555)
#define FILE_MODE (S_IFREG | 0444)
/* Oldest protocol we speak: fuse_entry_out and fuse_attr_out took their present size in 7.9. */
#define MINOR_MIN 12

static const char *const file_names[_PROCFS_FILE_MAX] = {
        [PROCFS_MEMINFO] = "meminfo",
        [PROCFS_CPUINFO] = "cpuinfo",
        [PROCFS_STAT] = "stat",
        [PROCFS_UPTIME] = "uptime",
};

const char *procfs_file_name(ProcfsFile f)
{
        return (unsigned)f < _PROCFS_FILE_MAX ? file_names[f] : NULL;
}

/* A growing text. */
typedef struct Text {
        char *p;
        size_t len, cap;
} Text;

static void text_add(Text *t, const char *s, size_t n)
{
        if (t->len + n + 1 > t->cap) {
                size_t cap = t->cap ? t->cap : 1024;
                while (cap < t->len + n + 1)
                        cap *= 2;
                char *p = realloc(t->p, cap);
                if (!p)
                        abort();
                t->p = p;
                t->cap = cap;
        }
        memcpy(t->p + t->len, s, n);
        t->len += n;
        t->p[t->len] = '\0';
}

__attribute__((format(printf, 2, 3))) static void text_printf(Text *t, const char *fmt, ...)
{
        char buf[512];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (n > 0)
                text_add(t, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* dir/name, read whole (at most FILE_MAX), NUL-terminated; NULL when it cannot be read. */
static char *read_text(const char *dir, const char *name)
{
        char path[PATH_MAX];
        Text t = {};
        char buf[4096];
        ssize_t n;
        int fd;

        if (!dir || snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
                return NULL;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        for (;;) {
                n = read(fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0 || t.len + (size_t)n > FILE_MAX)
                        break;
                text_add(&t, buf, (size_t)n);
        }
        close(fd);
        if (n != 0) {
                free(t.p);
                return NULL;
        }
        if (!t.p)
                text_add(&t, "", 0);
        return t.p;
}

/* A decimal number at the start of s (after blanks); false for none or an overflow. */
static bool parse_u64(const char *s, uint64_t *ret)
{
        uint64_t v = 0;

        s += strspn(s, " \t");
        if (*s < '0' || *s > '9')
                return false;
        for (; *s >= '0' && *s <= '9'; s++) {
                if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
                        return false;
                v = v * 10 + (uint64_t)(*s - '0');
        }
        *ret = v;
        return true;
}

/* A cgroup file holding one number (or "max": *ret = UINT64_MAX); false when absent or bad. */
static bool read_u64(const char *dir, const char *name, uint64_t *ret)
{
        char *s = read_text(dir, name);
        bool ok = false;

        if (s && strncmp(s, "max", 3) == 0) {
                *ret = UINT64_MAX;
                ok = true;
        } else if (s) {
                ok = parse_u64(s, ret);
        }
        free(s);
        return ok;
}

/* The value of "key value" (memory.stat, cpu.stat) or "Key:  value kB" (meminfo) lines; 0 when absent. */
static uint64_t keyed_value(const char *text, const char *key)
{
        size_t k = strlen(key);
        uint64_t v = 0;

        for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
                if (strncmp(l, key, k) == 0 && (l[k] == ' ' || l[k] == ':' || l[k] == '\t')) {
                        if (!parse_u64(l + k + (l[k] == ':'), &v))
                                v = 0;
                        return v;
                }
        return 0;
}

/* What a memory cgroup reports, in bytes. */
typedef struct MemFigures {
        uint64_t limit, usage;
        uint64_t cache, shmem, active_anon, inactive_anon, active_file, inactive_file, slab_reclaimable;
        bool has_swap_limit;
        uint64_t swap_limit, swap_usage;
} MemFigures;

/* The container's memory figures; false without a limit. */
static bool memory_figures(const char *dir, MemFigures *m)
{
        bool is_v2 = read_u64(dir, "memory.max", &m->limit);
        char *stat;
        uint64_t v;

        if (!is_v2 && !read_u64(dir, "memory.limit_in_bytes", &m->limit))
                return false;
        if (m->limit == UINT64_MAX ||
            !read_u64(dir, is_v2 ? "memory.current" : "memory.usage_in_bytes", &m->usage))
                return false;
        stat = read_text(dir, "memory.stat");
        if (stat) {
                const char *pre = is_v2 ? "" : "total_";
                char key[64];
#define STAT(field, name)                                                    \
        snprintf(key, sizeof(key), "%s%s", pre, name);                      \
        m->field = keyed_value(stat, key)
                STAT(cache, is_v2 ? "file" : "cache");
                STAT(shmem, "shmem");
                STAT(active_anon, "active_anon");
                STAT(inactive_anon, "inactive_anon");
                STAT(active_file, "active_file");
                STAT(inactive_file, "inactive_file");
#undef STAT
                if (is_v2)
                        m->slab_reclaimable = keyed_value(stat, "slab_reclaimable");
                free(stat);
        }
        if (is_v2 && read_u64(dir, "memory.swap.max", &m->swap_limit) && m->swap_limit != UINT64_MAX) {
                m->has_swap_limit = true;
                if (!read_u64(dir, "memory.swap.current", &m->swap_usage))
                        m->swap_usage = 0;
        } else if (!is_v2 && read_u64(dir, "memory.memsw.limit_in_bytes", &v) && v >= m->limit &&
                   v - m->limit < (UINT64_C(1) << 62)) {
                m->has_swap_limit = true;
                m->swap_limit = v - m->limit;
                if (read_u64(dir, "memory.memsw.usage_in_bytes", &v) && v > m->usage)
                        m->swap_usage = v - m->usage;
        }
        return true;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
        return a < b ? a : b;
}

/* The meminfo line for key with value kB, in the kernel's layout. */
static void meminfo_line(Text *t, const char *key, uint64_t kb)
{
        char label[32];

        snprintf(label, sizeof(label), "%s:", key);
        text_printf(t, "%-15s %8" PRIu64 " kB\n", label, kb);
}

static int make_meminfo(const ProcfsSources *src, Text *t)
{
        char *host = read_text(src->proc_dir, "meminfo");
        MemFigures m = {};
        uint64_t total, free_kb, avail, swap_total = 0, swap_free = 0;

        if (!host)
                return -ENOENT;
        total = keyed_value(host, "MemTotal");
        if (!memory_figures(src->memory_dir, &m) || m.limit / 1024 >= total) {
                text_add(t, host, strlen(host));
                free(host);
                return 0;
        }
        total = m.limit / 1024;
        free_kb = total - min_u64(m.usage / 1024, total);
        avail = min_u64(total, free_kb + (m.active_file + m.inactive_file + m.slab_reclaimable) / 1024);
        if (m.has_swap_limit) {
                swap_total = min_u64(m.swap_limit / 1024, keyed_value(host, "SwapTotal"));
                swap_free = swap_total - min_u64(m.swap_usage / 1024, swap_total);
        }
        struct {
                const char *key;
                uint64_t kb;
                bool is_set;
        } vals[] = {
                { "MemTotal", total, true },
                { "MemFree", free_kb, true },
                { "MemAvailable", avail, true },
                { "Buffers", 0, true },
                { "Cached", m.cache / 1024, true },
                { "SwapCached", 0, true },
                { "Active", (m.active_anon + m.active_file) / 1024, true },
                { "Inactive", (m.inactive_anon + m.inactive_file) / 1024, true },
                { "Active(anon)", m.active_anon / 1024, true },
                { "Inactive(anon)", m.inactive_anon / 1024, true },
                { "Active(file)", m.active_file / 1024, true },
                { "Inactive(file)", m.inactive_file / 1024, true },
                { "SwapTotal", swap_total, m.has_swap_limit },
                { "SwapFree", swap_free, m.has_swap_limit },
                { "Shmem", m.shmem / 1024, true },
        };
        for (const char *l = host; *l;) {
                const char *nl = strchr(l, '\n'), *end = nl ? nl + 1 : l + strlen(l);
                bool is_done = false;
                for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]) && !is_done; i++) {
                        size_t k = strlen(vals[i].key);
                        if (vals[i].is_set && strncmp(l, vals[i].key, k) == 0 && l[k] == ':') {
                                meminfo_line(t, vals[i].key, vals[i].kb);
                                is_done = true;
                        }
                }
                if (!is_done)
                        text_add(t, l, (size_t)(end - l));
                l = end;
        }
        free(host);
        return 0;
}

int procfs_parse_cpu_list(const char *s, unsigned char *mask, size_t n_bits)
{
        int n = 0;

        memset(mask, 0, (n_bits + 7) / 8);
        while (*s && *s != '\n') {
                char *end;
                unsigned long a, b;
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                a = strtoul(s, &end, 10);
                b = a;
                if (*end == '-') {
                        if (end[1] < '0' || end[1] > '9')
                                return -EINVAL;
                        b = strtoul(end + 1, &end, 10);
                }
                if (a > b || b >= n_bits)
                        return -EINVAL;
                for (unsigned long c = a; c <= b; c++)
                        if (!(mask[c / 8] & (1u << (c % 8)))) {
                                mask[c / 8] |= (unsigned char)(1u << (c % 8));
                                n++;
                        }
                if (*end == ',')
                        end++;
                else if (*end && *end != '\n')
                        return -EINVAL;
                s = end;
        }
        return n;
}

/* The container's CPUs into mask; false when all of the host's count (no cpuset, or unreadable). */
static bool cpuset_mask(const ProcfsSources *src, unsigned char *mask)
{
        static const char *const names[] = { "cpuset.cpus.effective", "cpuset.effective_cpus", "cpuset.cpus" };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                char *s = read_text(src->cpuset_dir, names[i]);
                int n = s ? procfs_parse_cpu_list(s, mask, CPU_MAX) : -ENOENT;
                free(s);
                if (n > 0)
                        return true;
        }
        return false;
}

static bool mask_has(const unsigned char *mask, unsigned long cpu)
{
        return cpu < CPU_MAX && (mask[cpu / 8] & (1u << (cpu % 8)));
}

/* Blocks of "key\t: value" lines split by blank lines; those of "processor : N" kept when N is ours. */
static int make_cpuinfo(const ProcfsSources *src, Text *t)
{
        char *host = read_text(src->proc_dir, "cpuinfo");
        unsigned char mask[CPU_MAX / 8];
        bool has_mask, is_kept = true;
        unsigned long next = 0;

        if (!host)
                return -ENOENT;
        has_mask = cpuset_mask(src, mask);
        for (const char *l = host; *l;) {
                const char *nl = strchr(l, '\n'), *end = nl ? nl + 1 : l + strlen(l);
                if (strncmp(l, "processor", 9) == 0 && (l[9] == '\t' || l[9] == ' ' || l[9] == ':')) {
                        const char *colon = memchr(l, ':', (size_t)(end - l));
                        uint64_t cpu;
                        is_kept = colon && parse_u64(colon + 1, &cpu) ? !has_mask || mask_has(mask, cpu) : true;
                        if (is_kept && colon) {
                                text_add(t, l, (size_t)(colon - l));
                                text_printf(t, ": %lu\n", next++);
                                l = end;
                                continue;
                        }
                } else if (*l == '\n') {
                        /* A block's end: the blank line goes with it. */
                        if (is_kept)
                                text_add(t, l, 1);
                        is_kept = true;
                        l = end;
                        continue;
                }
                if (is_kept)
                        text_add(t, l, (size_t)(end - l));
                l = end;
        }
        free(host);
        return 0;
}

#define STAT_FIELDS 10

/* The fields of a "cpu..." line after its name, added to sum; how many there were. */
static size_t stat_fields(const char *l, const char *end, uint64_t *sum)
{
        size_t n = 0;

        l += strcspn(l, " \n");
        while (l < end && n < STAT_FIELDS) {
                uint64_t v;
                l += strspn(l, " ");
                if (l >= end || !parse_u64(l, &v))
                        break;
                sum[n++] += v;
                l += strspn(l, "0123456789");
        }
        return n;
}

/* The host's stat, with the cpuset's "cpuN" lines renumbered and their sum as the "cpu" line. */
static int make_stat(const ProcfsSources *src, Text *t)
{
        char *host = read_text(src->proc_dir, "stat");
        unsigned char mask[CPU_MAX / 8];
        uint64_t sum[STAT_FIELDS] = {};
        Text cpus = {};
        bool has_mask;
        unsigned long next = 0;
        size_t n_fields = 0;
        const char *l = NULL;

        if (!host)
                return -ENOENT;
        has_mask = cpuset_mask(src, mask);
        for (l = host; *l && strncmp(l, "cpu", 3) == 0;) {
                const char *nl = strchr(l, '\n'), *end = nl ? nl + 1 : l + strlen(l);
                uint64_t cpu;
                bool is_cpu_line = l[3] >= '0' && l[3] <= '9' && parse_u64(l + 3, &cpu);
                if (is_cpu_line && (!has_mask || mask_has(mask, cpu))) {
                        uint64_t one[STAT_FIELDS] = {};
                        size_t n = stat_fields(l, end, one);
                        text_printf(&cpus, "cpu%lu", next++);
                        for (size_t i = 0; i < n; i++) {
                                text_printf(&cpus, " %" PRIu64, one[i]);
                                sum[i] += one[i];
                        }
                        text_add(&cpus, "\n", 1);
                        if (n > n_fields)
                                n_fields = n;
                }
                l = end;
        }
        text_add(t, "cpu ", 4);
        for (size_t i = 0; i < n_fields; i++)
                text_printf(t, " %" PRIu64, sum[i]);
        text_add(t, "\n", 1);
        if (cpus.p)
                text_add(t, cpus.p, cpus.len);
        text_add(t, l, strlen(l));
        free(cpus.p);
        free(host);
        return 0;
}

/* Seconds of CPU time the container used; 0 when unknown. */
static double cpu_used(const ProcfsSources *src)
{
        uint64_t v;
        char *s;

        if (read_u64(src->cpuacct_dir, "cpuacct.usage", &v) && v != UINT64_MAX)
                return (double)v / 1e9;
        s = read_text(src->cpuacct_dir, "cpu.stat");
        v = s ? keyed_value(s, "usage_usec") : 0;
        free(s);
        return (double)v / 1e6;
}

static int make_uptime(const ProcfsSources *src, double now, Text *t)
{
        unsigned char mask[CPU_MAX / 8];
        double up = now > src->start ? now - src->start : 0, idle;
        int n_cpus = 0;

        if (cpuset_mask(src, mask)) {
                for (size_t i = 0; i < CPU_MAX; i++)
                        n_cpus += mask_has(mask, i);
        } else {
                long n = sysconf(_SC_NPROCESSORS_ONLN);
                n_cpus = n > 0 ? (int)n : 1;
        }
        idle = up * n_cpus - cpu_used(src);
        text_printf(t, "%.2f %.2f\n", up, idle > 0 ? idle : 0);
        return 0;
}

int procfs_generate(const ProcfsSources *src, ProcfsFile f, double now, char **ret, size_t *ret_len)
{
        Text t = {};
        int r;

        switch (f) {
        case PROCFS_MEMINFO:
                r = make_meminfo(src, &t);
                break;
        case PROCFS_CPUINFO:
                r = make_cpuinfo(src, &t);
                break;
        case PROCFS_STAT:
                r = make_stat(src, &t);
                break;
        case PROCFS_UPTIME:
                r = make_uptime(src, now, &t);
                break;
        default:
                return -EINVAL;
        }
        if (r < 0) {
                free(t.p);
                return r;
        }
        if (!t.p)
                text_add(&t, "", 0);
        *ret = t.p;
        *ret_len = t.len;
        return 0;
}

/* ---- the FUSE protocol ---- */

typedef struct Handle {
        char *data; /* NULL: the slot is free */
        size_t len;
} Handle;

struct Procfs {
        const ProcfsSources *src;
        Handle *handles;
        size_t n_handles;
        size_t n_open;
        uint32_t minor; /* the protocol minor agreed at INIT; 0 before */
        uint64_t mtime; /* when the server started: the files' times */
};

Procfs *procfs_new(const ProcfsSources *src)
{
        Procfs *p = calloc(1, sizeof(*p));

        if (!p)
                abort();
        p->src = src;
        p->mtime = (uint64_t)time(NULL);
        return p;
}

Procfs *procfs_free(Procfs *p)
{
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_handles; i++)
                free(p->handles[i].data);
        free(p->handles);
        free(p);
        return NULL;
}

static double boottime_now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_BOOTTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The reply being built in out. */
typedef struct Reply {
        unsigned char *buf;
        size_t len;
} Reply;

static size_t reply_error(Reply *rp, const struct fuse_in_header *in, int error)
{
        struct fuse_out_header h = { .len = sizeof(h), .error = error, .unique = in->unique };

        memcpy(rp->buf, &h, sizeof(h));
        return sizeof(h);
}

/* A reply of the header and n bytes of body already placed after it. */
static size_t reply_ok(Reply *rp, const struct fuse_in_header *in, size_t n)
{
        struct fuse_out_header h = { .len = (uint32_t)(sizeof(h) + n), .unique = in->unique };

        memcpy(rp->buf, &h, sizeof(h));
        return sizeof(h) + n;
}

static void *body(Reply *rp)
{
        return rp->buf + sizeof(struct fuse_out_header);
}

/* The file a node id stands for: nodes 2.. are the files; -1 for none (or the root). */
static int node_file(uint64_t node)
{
        return node >= 2 && node < 2 + _PROCFS_FILE_MAX ? (int)(node - 2) : -1;
}

static void fill_attr(const Procfs *p, uint64_t node, struct fuse_attr *a)
{
        memset(a, 0, sizeof(*a));
        a->ino = node;
        a->mode = node == FUSE_ROOT_ID ? ROOT_MODE : FILE_MODE;
        a->nlink = node == FUSE_ROOT_ID ? 2 : 1;
        a->blksize = 4096;
        a->atime = a->mtime = a->ctime = p->mtime;
}

static size_t do_init(Procfs *p, const struct fuse_in_header *in, const void *arg, size_t n, Reply *rp)
{
        struct fuse_init_in ii = {};
        struct fuse_init_out o = {};

        if (n < 16)
                return reply_error(rp, in, -EINVAL);
        memcpy(&ii, arg, n < sizeof(ii) ? n : sizeof(ii));
        if (ii.major != FUSE_KERNEL_VERSION || ii.minor < MINOR_MIN)
                return reply_error(rp, in, -EPROTO);
        p->minor = ii.minor < FUSE_KERNEL_MINOR_VERSION ? ii.minor : FUSE_KERNEL_MINOR_VERSION;
        o.major = FUSE_KERNEL_VERSION;
        o.minor = p->minor;
        o.max_readahead = ii.max_readahead;
        o.max_write = 4096;
        o.time_gran = 1;
        /* Before 7.23 the kernel takes the short form of the reply only. */
        n = p->minor >= 23 ? sizeof(o) : FUSE_COMPAT_22_INIT_OUT_SIZE;
        memcpy(body(rp), &o, n);
        return reply_ok(rp, in, n);
}

static size_t do_lookup(Procfs *p, const struct fuse_in_header *in, const char *name, size_t n, Reply *rp)
{
        struct fuse_entry_out e = {};

        if (in->nodeid != FUSE_ROOT_ID)
                return reply_error(rp, in, -ENOTDIR);
        /* The name comes NUL-terminated within the request. */
        if (n == 0 || !memchr(name, '\0', n))
                return reply_error(rp, in, -EINVAL);
        for (int f = 0; f < _PROCFS_FILE_MAX; f++)
                if (strcmp(name, file_names[f]) == 0) {
                        e.nodeid = 2 + (uint64_t)f;
                        e.entry_valid = ATTR_VALID;
                        e.attr_valid = ATTR_VALID;
                        fill_attr(p, e.nodeid, &e.attr);
                        memcpy(body(rp), &e, sizeof(e));
                        return reply_ok(rp, in, sizeof(e));
                }
        return reply_error(rp, in, -ENOENT);
}

static bool is_node(uint64_t node)
{
        return node == FUSE_ROOT_ID || node_file(node) >= 0;
}

static size_t do_getattr(Procfs *p, const struct fuse_in_header *in, Reply *rp)
{
        struct fuse_attr_out a = {};

        if (!is_node(in->nodeid))
                return reply_error(rp, in, -ENOENT);
        a.attr_valid = ATTR_VALID;
        fill_attr(p, in->nodeid, &a.attr);
        memcpy(body(rp), &a, sizeof(a));
        return reply_ok(rp, in, sizeof(a));
}

/* A free handle slot for data; -EMFILE when HANDLES_MAX are open. */
static int handle_add(Procfs *p, char *data, size_t len)
{
        size_t i;

        if (p->n_open >= HANDLES_MAX)
                return -EMFILE;
        for (i = 0; i < p->n_handles && p->handles[i].data; i++)
                ;
        if (i == p->n_handles) {
                Handle *h = realloc(p->handles, (p->n_handles + 1) * sizeof(*h));
                if (!h)
                        abort();
                p->handles = h;
                p->n_handles++;
        }
        p->handles[i] = (Handle){ data, len };
        p->n_open++;
        return (int)i;
}

static Handle *handle_get(Procfs *p, uint64_t fh)
{
        return fh < p->n_handles && p->handles[fh].data ? &p->handles[fh] : NULL;
}

/*
 * read() of a FOPEN_DIRECT_IO file comes to us whatever the file's size, but splice (sendfile,
 * and copy_file_range's fallback: busybox cat, `cat >file`) reads through the page cache up to the
 * inode's size, which a short read before may have cut below this content's length. A store of the
 * content's last byte, sent before the OPEN reply, raises the size to at least the content's length
 * (it never lowers it); the page-cache read then ends at our data's real end. Returns the
 * notification's length, 0 for empty content.
 */
static size_t store_last_byte(uint64_t node, const char *data, size_t len, Reply *rp)
{
        struct fuse_notify_store_out st = { .nodeid = node, .offset = len - 1, .size = 1 };
        struct fuse_out_header h = { .len = sizeof(h) + sizeof(st) + 1, .error = FUSE_NOTIFY_STORE };

        if (len == 0)
                return 0;
        memcpy(rp->buf, &h, sizeof(h));
        memcpy(rp->buf + sizeof(h), &st, sizeof(st));
        rp->buf[sizeof(h) + sizeof(st)] = (unsigned char)data[len - 1];
        return h.len;
}

static size_t do_open(Procfs *p, const struct fuse_in_header *in, const void *arg, size_t n, Reply *rp)
{
        struct fuse_open_in oi;
        struct fuse_open_out oo = {};
        int f = node_file(in->nodeid), r;
        char *data;
        size_t len;

        if (n < sizeof(oi))
                return reply_error(rp, in, -EINVAL);
        memcpy(&oi, arg, sizeof(oi));
        if (f < 0)
                return reply_error(rp, in, in->nodeid == FUSE_ROOT_ID ? -EISDIR : -ENOENT);
        if ((oi.flags & O_ACCMODE) != O_RDONLY || (oi.flags & O_TRUNC))
                return reply_error(rp, in, -EACCES);
        r = procfs_generate(p->src, (ProcfsFile)f, boottime_now(), &data, &len);
        if (r < 0)
                return reply_error(rp, in, r == -ENOENT ? -EIO : r);
        r = handle_add(p, data, len);
        if (r < 0) {
                free(data);
                return reply_error(rp, in, r);
        }
        oo.fh = (uint64_t)r;
        oo.open_flags = FOPEN_DIRECT_IO;
        n = store_last_byte(in->nodeid, data, len, rp);
        rp->buf += n;
        memcpy(body(rp), &oo, sizeof(oo));
        return n + reply_ok(rp, in, sizeof(oo));
}

static size_t do_read(Procfs *p, const struct fuse_in_header *in, const void *arg, size_t n, Reply *rp)
{
        struct fuse_read_in ri;
        Handle *h;
        size_t cnt;

        if (n < 24) /* fh, offset, size, read_flags: all the protocol had before 7.9 */
                return reply_error(rp, in, -EINVAL);
        memset(&ri, 0, sizeof(ri));
        memcpy(&ri, arg, n < sizeof(ri) ? n : sizeof(ri));
        h = handle_get(p, ri.fh);
        if (!h || node_file(in->nodeid) < 0)
                return reply_error(rp, in, -EBADF);
        if (ri.offset >= h->len)
                return reply_ok(rp, in, 0);
        cnt = h->len - (size_t)ri.offset;
        if (cnt > ri.size)
                cnt = ri.size;
        if (cnt > PROCFS_REPLY_MAX - sizeof(struct fuse_out_header))
                cnt = PROCFS_REPLY_MAX - sizeof(struct fuse_out_header);
        memcpy(body(rp), h->data + ri.offset, cnt);
        return reply_ok(rp, in, cnt);
}

static size_t do_release(Procfs *p, const struct fuse_in_header *in, const void *arg, size_t n, Reply *rp)
{
        struct fuse_release_in ri;
        Handle *h;

        if (n < sizeof(ri))
                return reply_error(rp, in, -EINVAL);
        memcpy(&ri, arg, sizeof(ri));
        h = handle_get(p, ri.fh);
        if (h) {
                h->data = (free(h->data), NULL);
                h->len = 0;
                p->n_open--;
        }
        return reply_ok(rp, in, 0);
}

static size_t do_opendir(const struct fuse_in_header *in, Reply *rp)
{
        struct fuse_open_out oo = {};

        if (in->nodeid != FUSE_ROOT_ID)
                return reply_error(rp, in, is_node(in->nodeid) ? -ENOTDIR : -ENOENT);
        memcpy(body(rp), &oo, sizeof(oo));
        return reply_ok(rp, in, sizeof(oo));
}

/* ".", ".." and the files, from the entry at the request's offset, as many as fit its size. */
static size_t do_readdir(const struct fuse_in_header *in, const void *arg, size_t n, Reply *rp)
{
        struct fuse_read_in ri;
        size_t len = 0, cap = PROCFS_REPLY_MAX - sizeof(struct fuse_out_header);

        if (n < 24)
                return reply_error(rp, in, -EINVAL);
        memset(&ri, 0, sizeof(ri));
        memcpy(&ri, arg, n < sizeof(ri) ? n : sizeof(ri));
        if (in->nodeid != FUSE_ROOT_ID)
                return reply_error(rp, in, -ENOTDIR);
        if (ri.size < cap)
                cap = ri.size;
        for (uint64_t i = ri.offset; i < 2 + _PROCFS_FILE_MAX; i++) {
                const char *name = i == 0 ? "." : i == 1 ? ".." : file_names[i - 2];
                struct fuse_dirent d = {
                        .ino = i < 2 ? FUSE_ROOT_ID : i,
                        .off = i + 1,
                        .namelen = (uint32_t)strlen(name),
                        .type = i < 2 ? 4 /* DT_DIR */ : 8 /* DT_REG */,
                };
                size_t size = FUSE_DIRENT_SIZE(&d);
                unsigned char *at = (unsigned char *)body(rp) + len;
                if (len + size > cap)
                        break;
                memset(at, 0, size);
                memcpy(at, &d, FUSE_NAME_OFFSET);
                memcpy(at + FUSE_NAME_OFFSET, name, d.namelen);
                len += size;
        }
        return reply_ok(rp, in, len);
}

static size_t do_statfs(const struct fuse_in_header *in, Reply *rp)
{
        struct fuse_statfs_out s = { .st = { .bsize = 4096, .frsize = 4096, .namelen = 255 } };

        memcpy(body(rp), &s, sizeof(s));
        return reply_ok(rp, in, sizeof(s));
}

size_t procfs_handle(Procfs *p, const void *req, size_t n, void *out)
{
        struct fuse_in_header in;
        const unsigned char *arg = (const unsigned char *)req + sizeof(in);
        Reply rp = { .buf = out };
        size_t n_arg;

        if (n < sizeof(in))
                return 0;
        memcpy(&in, req, sizeof(in));
        if (in.len != n)
                return reply_error(&rp, &in, -EINVAL);
        n_arg = n - sizeof(in);
        switch (in.opcode) {
        case FUSE_FORGET:
        case FUSE_BATCH_FORGET:
        case FUSE_INTERRUPT: /* every request is answered at once: nothing to interrupt */
                return 0;
        case FUSE_INIT:
                return do_init(p, &in, arg, n_arg, &rp);
        default:
                break;
        }
        if (p->minor == 0)
                return reply_error(&rp, &in, -EPROTO);
        switch (in.opcode) {
        case FUSE_LOOKUP:
                return do_lookup(p, &in, (const char *)arg, n_arg, &rp);
        case FUSE_GETATTR:
                return do_getattr(p, &in, &rp);
        case FUSE_OPEN:
                return do_open(p, &in, arg, n_arg, &rp);
        case FUSE_READ:
                return do_read(p, &in, arg, n_arg, &rp);
        case FUSE_RELEASE:
                return do_release(p, &in, arg, n_arg, &rp);
        case FUSE_OPENDIR:
                return do_opendir(&in, &rp);
        case FUSE_READDIR:
                return do_readdir(&in, arg, n_arg, &rp);
        case FUSE_RELEASEDIR:
                return reply_ok(&rp, &in, 0);
        case FUSE_STATFS:
                return do_statfs(&in, &rp);
        default:
                return reply_error(&rp, &in, -ENOSYS);
        }
}
