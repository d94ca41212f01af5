/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* seccomp.c: linux.seccomp compiled through libseccomp, loaded by the container process */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>

/* libseccomp's: this works because src/runtime is not on the include path (meson.build sets
 * implicit_include_directories: false), where runtime/seccomp.h would shadow it. */
#include <seccomp.h>
#ifndef SCMP_VER_MAJOR
#error "<seccomp.h> is not libseccomp's: is src/runtime on the include path?"
#endif

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/strv.h"
#include "runtime/seccomp.h"

/* SCMP_FLTATR_CTL_WAITKILL (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) arrived in libseccomp 2.6. */
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)
#define HAVE_SCMP_WAITKILL 1
#else
#define HAVE_SCMP_WAITKILL 0
#endif

/* Above this many rules libseccomp's binary tree beats its linear list (runc's threshold). */
#define OPTIMIZE_MIN_RULES 32

struct RtSeccomp {
        scmp_filter_ctx ctx; /* NULL when the program came from the cache */
        char *listener_path;
        char *listener_metadata;
        bool has_notify; /* a SCMP_ACT_NOTIFY rule made it into the filter */
        struct sock_filter *prog; /* the compiled program, when compiled ahead of the load */
        size_t n_prog;
        unsigned kernel_flags; /* SECCOMP_FILTER_FLAG_* for a load of prog */
};

/* Compiled programs larger than this are not real ones (the kernel's limit is 4096 instructions). */
#define PROG_MAX_INSNS 4096

typedef struct Action {
        const char *name;
        uint32_t value;
        bool has_data; /* ERRNO and TRACE carry errnoRet in their low 16 bits */
        uint32_t max_data;
} Action;

static const Action actions[] = {
        { "SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD, false, 0 },
        { "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false, 0 },
        { "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false, 0 },
        { "SCMP_ACT_TRAP", SCMP_ACT_TRAP, false, 0 },
        /* libseccomp refuses errno values >= MAX_ERRNO (4095), which the kernel would clamp. */
        { "SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true, 4094 },
        { "SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true, 0xffff },
        { "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false, 0 },
        { "SCMP_ACT_LOG", SCMP_ACT_LOG, false, 0 },
        { "SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, false, 0 },
};

static const struct {
        const char *name;
        enum scmp_compare op;
} operators[] = {
        { "SCMP_CMP_NE", SCMP_CMP_NE },         { "SCMP_CMP_LT", SCMP_CMP_LT },
        { "SCMP_CMP_LE", SCMP_CMP_LE },         { "SCMP_CMP_EQ", SCMP_CMP_EQ },
        { "SCMP_CMP_GE", SCMP_CMP_GE },         { "SCMP_CMP_GT", SCMP_CMP_GT },
        { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

#define ARCH(n) { #n, n }
static const struct {
        const char *name;
        uint32_t token;
} archs[] = {
        ARCH(SCMP_ARCH_X86),        ARCH(SCMP_ARCH_X86_64),    ARCH(SCMP_ARCH_X32),
        ARCH(SCMP_ARCH_ARM),        ARCH(SCMP_ARCH_AARCH64),   ARCH(SCMP_ARCH_MIPS),
        ARCH(SCMP_ARCH_MIPS64),     ARCH(SCMP_ARCH_MIPS64N32), ARCH(SCMP_ARCH_MIPSEL),
        ARCH(SCMP_ARCH_MIPSEL64),   ARCH(SCMP_ARCH_MIPSEL64N32), ARCH(SCMP_ARCH_PPC),
        ARCH(SCMP_ARCH_PPC64),      ARCH(SCMP_ARCH_PPC64LE),   ARCH(SCMP_ARCH_S390),
        ARCH(SCMP_ARCH_S390X),      ARCH(SCMP_ARCH_PARISC),    ARCH(SCMP_ARCH_PARISC64),
        ARCH(SCMP_ARCH_RISCV64),
#ifdef SCMP_ARCH_LOONGARCH64
        ARCH(SCMP_ARCH_LOONGARCH64),
#endif
#ifdef SCMP_ARCH_M68K
        ARCH(SCMP_ARCH_M68K),
#endif
#ifdef SCMP_ARCH_SH
        ARCH(SCMP_ARCH_SH),
#endif
#ifdef SCMP_ARCH_SHEB
        ARCH(SCMP_ARCH_SHEB),
#endif
};
#undef ARCH

typedef struct Flag {
        const char *name;
        bool has_attr; /* false: known to the spec, but this libseccomp cannot set it */
        enum scmp_filter_attr attr;
        unsigned api_level; /* seccomp_api_get() level at which libseccomp and the kernel support it */
} Flag;

static const Flag flags[] = {
        { "SECCOMP_FILTER_FLAG_TSYNC", true, SCMP_FLTATR_CTL_TSYNC, 2 },
        { "SECCOMP_FILTER_FLAG_LOG", true, SCMP_FLTATR_CTL_LOG, 3 },
        { "SECCOMP_FILTER_FLAG_SPEC_ALLOW", true, SCMP_FLTATR_CTL_SSB, 4 },
#if HAVE_SCMP_WAITKILL
        { "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", true, SCMP_FLTATR_CTL_WAITKILL, 7 },
#else
        { "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", false, _SCMP_FLTATR_MIN, 0 },
#endif
};

RtSeccomp *rt_seccomp_free(RtSeccomp *s)
{
        if (!s)
                return NULL;
        if (s->ctx)
                seccomp_release(s->ctx);
        free(s->prog);
        free(s->listener_path);
        free(s->listener_metadata);
        free(s);
        return NULL;
}

const char *rt_seccomp_listener_path(const RtSeccomp *s)
{
        return s ? s->listener_path : NULL;
}

static const Action *action_lookup(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(actions); i++)
                if (strcmp(actions[i].name, name) == 0)
                        return &actions[i];
        return NULL;
}

static int arch_lookup(const char *name, uint32_t *ret)
{
        for (size_t i = 0; i < ARRAY_SIZE(archs); i++)
                if (strcmp(archs[i].name, name) == 0) {
                        *ret = archs[i].token;
                        return 0;
                }
        return -ENOENT;
}

static int operator_lookup(const char *name, enum scmp_compare *ret)
{
        for (size_t i = 0; i < ARRAY_SIZE(operators); i++)
                if (strcmp(operators[i].name, name) == 0) {
                        *ret = operators[i].op;
                        return 0;
                }
        return -ENOENT;
}

static const Flag *flag_lookup(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
                if (strcmp(flags[i].name, name) == 0)
                        return &flags[i];
        return NULL;
}

/*
 * Reads obj[action_key] and obj[errno_key] into a libseccomp action. errnoRet defaults to EPERM and,
 * as the runtime-spec requires, is an error on actions that cannot carry it.
 */
static int parse_action(const json_t *obj, const char *action_key, const char *errno_key, const char *where,
                        uint32_t *ret, Error **err)
{
        const Action *a;
        const char *name;
        int64_t data = EPERM;
        int r;

        r = json_get_string(obj, action_key, where, &name, err);
        if (r < 0)
                return r;
        if (r == 0)
                return error_setf(err, EINVAL, "%s.%s: required", where, action_key);
        a = action_lookup(name);
        if (!a)
                return error_setf(err, EINVAL, "%s.%s: unknown action '%s'", where, action_key, name);

        r = json_get_int_range(obj, errno_key, where, 0, a->has_data ? a->max_data : INT64_MAX, &data, err);
        if (r < 0)
                return r;
        if (r > 0 && !a->has_data)
                return error_setf(err, EINVAL,
                                  "%s.%s: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not '%s'", where,
                                  errno_key, name);
        *ret = a->has_data ? a->value | (uint32_t)data : a->value;
        return 0;
}

static int add_architectures(RtSeccomp *s, const json_t *json, const char *where, Error **err)
{
        _cleanup_strv_ char **names = NULL;
        int r;

        r = json_get_strv(json, "architectures", where, &names, err);
        if (r <= 0)
                return r;
        for (size_t i = 0; names[i]; i++) {
                uint32_t token;

                if (arch_lookup(names[i], &token) < 0)
                        return error_setf(err, EINVAL, "%s.architectures[%zu]: unknown architecture '%s'",
                                          where, i, names[i]);
                /* seccomp_init() already added the native architecture. */
                r = seccomp_arch_add(s->ctx, token);
                if (r < 0 && r != -EEXIST)
                        return error_set(err, r, "%s.architectures[%zu]: add '%s'", where, i, names[i]);
        }
        return 0;
}

static int set_flags(RtSeccomp *s, const json_t *json, const char *where, Error **err)
{
        _cleanup_strv_ char **names = NULL;
        int r;

        r = json_get_strv(json, "flags", where, &names, err);
        if (r <= 0)
                return r;
        for (size_t i = 0; names[i]; i++) {
                const Flag *f = flag_lookup(names[i]);

                if (!f)
                        return error_setf(err, EINVAL, "%s.flags[%zu]: unknown flag '%s'", where, i,
                                          names[i]);
                if (!f->has_attr)
                        return error_setf(err, EOPNOTSUPP, "%s.flags[%zu]: '%s' needs libseccomp >= 2.6",
                                          where, i, names[i]);
                /* libseccomp checks here that both it and the kernel support the flag. */
                r = seccomp_attr_set(s->ctx, f->attr, 1);
                if (r < 0)
                        return error_set(err, r, "%s.flags[%zu]: set '%s'", where, i, names[i]);
        }
        return 0;
}

static int parse_arg(const json_t *arg, const char *where, struct scmp_arg_cmp *ret, Error **err)
{
        const char *op_name;
        int64_t index = 0;
        uint64_t value = 0, value_two = 0;
        enum scmp_compare op;
        int r;

        if (!json_is_object(arg))
                return error_setf(err, EINVAL, "%s: expected an object", where);
        /* index and value default to 0 like runc's (Go's) decoding; op has no meaningful default. */
        r = json_get_int_range(arg, "index", where, 0, 5, &index, err);
        if (r < 0)
                return r;
        r = json_get_uint64(arg, "value", where, &value, err);
        if (r < 0)
                return r;
        r = json_get_uint64(arg, "valueTwo", where, &value_two, err);
        if (r < 0)
                return r;
        r = json_get_string(arg, "op", where, &op_name, err);
        if (r < 0)
                return r;
        if (r == 0)
                return error_setf(err, EINVAL, "%s.op: required", where);
        if (operator_lookup(op_name, &op) < 0)
                return error_setf(err, EINVAL, "%s.op: unknown operator '%s'", where, op_name);

        /* For SCMP_CMP_MASKED_EQ value is the mask and valueTwo the datum, as in libseccomp. */
        *ret = (struct scmp_arg_cmp){
                .arg = (unsigned)index, .op = op, .datum_a = value, .datum_b = value_two
        };
        return 0;
}

/*
 * Parses syscalls[i].args. libseccomp ANDs the conditions of one rule but cannot AND two on the same
 * argument; then, as runc does, *ret_is_or is set and every condition becomes a rule of its own (OR).
 */
static int parse_args(const json_t *entry, const char *where, struct scmp_arg_cmp **ret, size_t *ret_n,
                      bool *ret_is_or, Error **err)
{
        _cleanup_free_ struct scmp_arg_cmp *cmps = NULL;
        unsigned counts[6] = { 0 };
        bool is_or = false;
        json_t *args, *arg;
        size_t i;
        int r;

        r = json_get_array(entry, "args", where, &args, err);
        if (r <= 0)
                return r;
        cmps = xnew0(struct scmp_arg_cmp, json_array_size(args) + 1);
        json_array_foreach (args, i, arg) {
                _cleanup_free_ char *w = xasprintf("%s.args[%zu]", where, i);

                r = parse_arg(arg, w, &cmps[i], err);
                if (r < 0)
                        return r;
                if (++counts[cmps[i].arg] > 1)
                        is_or = true;
        }
        *ret = TAKE_PTR(cmps);
        *ret_n = json_array_size(args);
        *ret_is_or = is_or;
        return 0;
}

/* Adds the rules of one syscall name; returns how many rules were added (0: unknown syscall). */
static int add_rules(RtSeccomp *s, const char *name, uint32_t action, const struct scmp_arg_cmp *cmps,
                     size_t n_cmps, bool is_or, const char *where, Error **err)
{
        int nr, r;

        nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR) {
                /* Profiles name syscalls newer (or older) than this libseccomp: runc skips them too. */
                log_debug("%s: unknown syscall '%s', skipped", where, name);
                return 0;
        }
        /* Not the _exact variants: libseccomp may then rewrite for socketcall/ipc multiplexers and
         * skip architectures that lack the syscall. */
        r = 0;
        if (!is_or)
                r = seccomp_rule_add_array(s->ctx, action, nr, (unsigned)n_cmps, cmps);
        for (size_t i = 0; is_or && i < n_cmps && r >= 0; i++)
                r = seccomp_rule_add_array(s->ctx, action, nr, 1, &cmps[i]);
        if (r < 0)
                return error_set(err, r, "%s: add rule for '%s'", where, name);
        return is_or ? (int)n_cmps : 1;
}

static int add_syscall(RtSeccomp *s, const json_t *entry, const char *where, uint32_t default_action,
                       size_t *n_rules, Error **err)
{
        _cleanup_strv_ char **names = NULL;
        _cleanup_free_ struct scmp_arg_cmp *cmps = NULL;
        size_t n_cmps = 0;
        bool is_or = false;
        uint32_t action;
        int r;

        if (!json_is_object(entry))
                return error_setf(err, EINVAL, "%s: expected an object", where);
        r = json_get_strv(entry, "names", where, &names, err);
        if (r < 0)
                return r;
        if (!names || !names[0])
                return error_setf(err, EINVAL, "%s.names: expected at least one syscall name", where);
        for (size_t i = 0; names[i]; i++)
                if (!names[i][0])
                        return error_setf(err, EINVAL, "%s.names[%zu]: empty syscall name", where, i);
        r = parse_action(entry, "action", "errnoRet", where, &action, err);
        if (r < 0)
                return r;
        r = parse_args(entry, where, &cmps, &n_cmps, &is_or, err);
        if (r < 0)
                return r;

        /* libseccomp refuses (EACCES) a rule whose action is the default one; it would be a no-op. */
        if (action == default_action)
                return 0;
        for (size_t i = 0; names[i]; i++) {
                r = add_rules(s, names[i], action, cmps, n_cmps, is_or, where, err);
                if (r < 0)
                        return r;
                *n_rules += r;
                if (r > 0 && action == SCMP_ACT_NOTIFY)
                        s->has_notify = true;
        }
        return 0;
}

static int add_syscalls(RtSeccomp *s, const json_t *json, const char *where, uint32_t default_action,
                        Error **err)
{
        json_t *syscalls, *entry;
        size_t i, n_rules = 0;
        int r;

        r = json_get_array(json, "syscalls", where, &syscalls, err);
        if (r <= 0)
                return r;
        json_array_foreach (syscalls, i, entry) {
                _cleanup_free_ char *w = xasprintf("%s.syscalls[%zu]", where, i);

                r = add_syscall(s, entry, w, default_action, &n_rules, err);
                if (r < 0)
                        return r;
        }
        /* libseccomp <= 2.5.4 misbehaves with the binary tree and no rules, hence counting real ones. */
        if (n_rules > OPTIMIZE_MIN_RULES) {
                r = seccomp_attr_set(s->ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
                if (r < 0)
                        log_debug("seccomp binary tree optimization unavailable: %s, ignoring", strerror(-r));
        }
        return 0;
}

static int parse_listener(RtSeccomp *s, const json_t *json, const char *where, Error **err)
{
        const char *path = NULL, *metadata = NULL;
        int r;

        r = json_get_string(json, "listenerPath", where, &path, err);
        if (r < 0)
                return r;
        r = json_get_string(json, "listenerMetadata", where, &metadata, err);
        if (r < 0)
                return r;
        if (path && !path[0])
                path = NULL;
        s->listener_path = path ? xstrdup(path) : NULL;
        s->listener_metadata = metadata ? xstrdup(metadata) : NULL;
        return 0;
}

static int new_filter(uint32_t default_action, const char *where, RtSeccomp **ret, Error **err)
{
        _cleanup_(rt_seccomp_freep) RtSeccomp *s = xnew0(RtSeccomp, 1);
        int r;

        s->ctx = seccomp_init(default_action);
        if (!s->ctx)
                return error_setf(err, EINVAL, "%s.defaultAction: not supported by libseccomp or the kernel",
                                  where);
        /* The caller decides on no_new_privs (libseccomp would set it on load by default). */
        r = seccomp_attr_set(s->ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r < 0)
                return error_set(err, r, "%s: clear the no_new_privs attribute", where);
        /* Kernel errnos from seccomp_load() rather than libseccomp's blanket ECANCELED. */
        r = seccomp_attr_set(s->ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
        if (r < 0)
                log_debug("libseccomp cannot return raw errnos: %s, ignoring", strerror(-r));
        *ret = TAKE_PTR(s);
        return 0;
}

static int prepare_filter(const json_t *json, const char *where, RtSeccomp **ret, Error **err)
{
        _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;
        uint32_t default_action;
        int r;

        if (!json_is_object(json))
                return error_setf(err, EINVAL, "%s: expected an object", where);

        r = parse_action(json, "defaultAction", "defaultErrnoRet", where, &default_action, err);
        if (r < 0)
                return r;
        /* As runc: the runtime's own syscalls between load and execve (and handing the listener fd
         * over) would wait on a listener that does not have the fd yet. */
        if (default_action == SCMP_ACT_NOTIFY)
                return error_setf(err, EINVAL,
                                  "%s.defaultAction: SCMP_ACT_NOTIFY cannot be the default action", where);
        r = new_filter(default_action, where, &s, err);
        if (r < 0)
                return r;
        r = add_architectures(s, json, where, err);
        if (r < 0)
                return r;
        r = set_flags(s, json, where, err);
        if (r < 0)
                return r;
        r = parse_listener(s, json, where, err);
        if (r < 0)
                return r;
        r = add_syscalls(s, json, where, default_action, err);
        if (r < 0)
                return r;
        if (s->has_notify && !s->listener_path)
                return error_setf(err, EINVAL, "%s.listenerPath: required by SCMP_ACT_NOTIFY rules", where);

        *ret = TAKE_PTR(s);
        return 0;
}

/* The kernel flags the profile's "flags" ask for, for loading a compiled program ourselves. */
static unsigned kernel_flags_of(const json_t *json)
{
        static const struct {
                const char *name;
                unsigned flag;
        } map[] = {
                { "SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC },
                { "SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG },
                { "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW },
        };
        json_t *v;
        size_t i;
        unsigned bits = 0;

        json_array_foreach (json_object_get(json, "flags"), i, v)
                for (size_t k = 0; k < ARRAY_SIZE(map); k++)
                        if (json_is_string(v) && strcmp(json_string_value(v), map[k].name) == 0)
                                bits |= map[k].flag;
        return bits;
}

/*
 * A profile's cache key: its canonical JSON, libseccomp's version and the native arch. The file
 * holds the key, a NUL and the program, and is used only when its key matches byte for byte, so
 * its name needs no cryptographic hash: FNV-1a spares hull exec the start of libcrypto (a third of
 * its instructions), and two profiles whose names collide only take turns in the file.
 */
static char *cache_key(const json_t *json)
{
        _cleanup_free_ char *text = json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS);
        const struct scmp_version *v = seccomp_version();

        if (!text)
                abort(); /* only allocation fails here */
        return xasprintf("%s\n%u.%u.%u\n%u", text, v->major, v->minor, v->micro, seccomp_arch_native());
}

static char *cache_name(const char *key)
{
        uint64_t h = UINT64_C(14695981039346656037);

        for (const unsigned char *p = (const unsigned char *)key; *p; p++)
                h = (h ^ *p) * UINT64_C(1099511628211);
        return xasprintf("%016" PRIx64 ".prog", h);
}

/* Compiles the filter to BPF now (libseccomp writes it to an fd), so the load needs no compiling. */
static int compile(RtSeccomp *s, Error **err)
{
        _cleanup_close_ int fd = memfd_create("seccomp", MFD_CLOEXEC);
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r;

        if (fd < 0)
                return error_set(err, errno, "memfd");
        r = seccomp_export_bpf(s->ctx, fd);
        if (r < 0)
                return error_set(err, r, "compile seccomp filter");
        if (lseek(fd, 0, SEEK_SET) < 0)
                return error_set(err, errno, "rewind seccomp program");
        r = fd_read_all(fd, &buf, &len, err);
        if (r < 0)
                return r;
        if (len == 0 || len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > PROG_MAX_INSNS)
                return error_setf(err, EBADMSG, "compiled seccomp filter of %zu bytes", len);
        s->n_prog = len / sizeof(struct sock_filter);
        s->prog = (struct sock_filter *)TAKE_PTR(buf);
        return 0;
}

/* The program cached under key, or -ENOENT. */
static int cache_read(int cache_fd, const char *name, const char *key, RtSeccomp **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t len, klen = strlen(key) + 1;
        RtSeccomp *s;

        if (read_file_at(cache_fd, name, &buf, &len, NULL) < 0)
                return -ENOENT;
        if (len <= klen || memcmp(buf, key, klen) != 0)
                return -ENOENT;
        len -= klen;
        if (len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > PROG_MAX_INSNS)
                return -ENOENT;
        s = xnew0(RtSeccomp, 1);
        s->n_prog = len / sizeof(struct sock_filter);
        s->prog = xmalloc(len);
        memcpy(s->prog, buf + klen, len);
        *ret = s;
        return 0;
}

static int cache_write(int cache_fd, const char *name, const char *key, const RtSeccomp *s)
{
        size_t klen = strlen(key) + 1, plen = s->n_prog * sizeof(struct sock_filter);
        _cleanup_free_ char *buf = xmalloc(klen + plen);

        memcpy(buf, key, klen);
        memcpy(buf + klen, s->prog, plen);
        return write_file_atomic_at(cache_fd, name, buf, klen + plen, 0600, NULL);
}

int rt_seccomp_prepare(const json_t *json, const char *where, int cache_fd, RtSeccomp **ret, Error **err)
{
        _cleanup_(rt_seccomp_freep) RtSeccomp *s = NULL;
        _cleanup_free_ char *key = NULL, *name = NULL;
        int r;

        if (!where)
                where = "linux.seccomp";
        if (!json || json_is_null(json)) {
                *ret = NULL;
                return 0;
        }
        if (!json_is_object(json))
                return error_setf(err, EINVAL, "%s: expected an object", where);
        /*
         * Compiling a profile as large as Docker's takes libseccomp longer than the rest of a
         * container's start. A profile compiles to the same program every time (for one libseccomp
         * and architecture), and only profiles that compiled (so were valid) are cached.
         */
        if (cache_fd >= 0) {
                key = cache_key(json);
                name = cache_name(key);
                if (cache_read(cache_fd, name, key, &s) >= 0) {
                        s->kernel_flags = kernel_flags_of(json);
                        *ret = TAKE_PTR(s);
                        return 0;
                }
        }
        r = prepare_filter(json, where, &s, err);
        if (r < 0)
                return r;
        /* With notify rules the listener fd comes from libseccomp's own load. */
        if (cache_fd >= 0 && !s->has_notify && compile(s, NULL) >= 0) {
                s->kernel_flags = kernel_flags_of(json);
                if (cache_write(cache_fd, name, key, s) < 0)
                        log_debug("cache seccomp program '%s' failed, ignoring", name);
        }
        *ret = TAKE_PTR(s);
        return 0;
}

int rt_seccomp_load(RtSeccomp *s, int *ret_notify_fd, Error **err)
{
        int fd, r;

        if (ret_notify_fd)
                *ret_notify_fd = -EBADF;
        if (s->prog) {
                struct sock_fprog prog = { .len = (unsigned short)s->n_prog, .filter = s->prog };
                if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, s->kernel_flags, &prog) < 0)
                        return error_set(err, errno, "load seccomp filter");
                return 0;
        }
        r = seccomp_load(s->ctx);
        if (r < 0)
                return error_set(err, r, "load seccomp filter");
        if (!s->has_notify)
                return 0;

        fd = seccomp_notify_fd(s->ctx);
        if (fd < 0)
                return error_set(err, fd, "get seccomp notify fd");
        /* seccomp.h promises O_CLOEXEC. Linux already makes the listener so; this only guards
         * against a kernel that does not, and a profile that denies fcntl (the filter is in force
         * now) is no error: the kernel's flags stay, and the caller closes the fd before execve
         * anyway, since a container must not hold the listener of its own filter. */
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                log_debug("set FD_CLOEXEC on seccomp notify fd: %m, ignoring");
        if (ret_notify_fd)
                *ret_notify_fd = fd;
        else
                close(fd);
        return 0;
}

/* Connects to path, through /proc/self/fd/N/basename when it does not fit in sun_path. */
static int listener_connect(const char *path, Error **err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF, dir_fd = -EBADF;
        _cleanup_free_ char *dir = NULL, *proxy = NULL;
        const char *target = path;
        socklen_t sa_len;
        size_t len;

        if (strlen(path) >= sizeof(sa.sun_path)) {
                const char *slash = strrchr(path, '/');

                if (!slash || !slash[1])
                        return error_setf(err, ENAMETOOLONG, "listener socket '%s': path too long", path);
                dir = slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
                dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (dir_fd < 0)
                        return error_set(err, errno, "open listener directory '%s'", dir);
                proxy = xasprintf("/proc/self/fd/%d/%s", dir_fd, slash + 1);
                target = proxy;
        }
        len = strlen(target);
        if (len >= sizeof(sa.sun_path))
                return error_setf(err, ENAMETOOLONG, "listener socket '%s': name too long", path);
        memcpy(sa.sun_path, target, len + 1);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return error_set(err, errno, "listener socket");
        sa_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
        while (connect(fd, (struct sockaddr *)&sa, sa_len) < 0)
                if (errno != EINTR)
                        return error_set(err, errno, "connect to listener '%s'", path);
        return TAKE_FD(fd);
}

/* Sends buf with fd attached to the first chunk (SCM_RIGHTS), then the rest of buf if any. */
static int send_with_fd(int sock, const char *buf, size_t len, int fd, Error **err)
{
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = { 0 };
        struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                             .msg_controllen = sizeof(control.buf) };
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        ssize_t n;

        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
        do
                n = sendmsg(sock, &mh, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return error_set(err, errno, "send to seccomp listener");

        for (size_t off = (size_t)n; off < len; off += (size_t)n) {
                n = send(sock, buf + off, len - off, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        n = 0;
                else if (n < 0)
                        return error_set(err, errno, "send to seccomp listener");
        }
        return 0;
}

/* The runtime-spec "containerProcessState" document. */
static int process_state_new(const RtSeccomp *s, const char *state_json, json_t **ret, Error **err)
{
        _cleanup_json_ json_t *state = NULL;
        json_t *msg;
        int64_t pid;
        int r;

        r = json_parse(state_json, strlen(state_json), "container state", &state, err);
        if (r < 0)
                return r;
        r = json_get_int_range(state, "pid", "state", 1, INT32_MAX, &pid, err);
        if (r < 0)
                return r;
        if (r == 0)
                return error_setf(err, EINVAL, "state.pid: required");

        msg = json_object();
        json_object_set_new(msg, "ociVersion", json_string("1.1.0"));
        json_object_set_new(msg, "fds", json_pack("[s]", "seccompFd"));
        json_object_set_new(msg, "pid", json_integer(pid));
        if (s->listener_metadata)
                json_object_set_new(msg, "metadata", json_string(s->listener_metadata));
        json_object_set_new(msg, "state", TAKE_PTR(state));
        *ret = msg;
        return 0;
}

int rt_seccomp_send_listener(const RtSeccomp *s, int notify_fd, const char *state_json, Error **err)
{
        _cleanup_json_ json_t *msg = NULL;
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int sock = -EBADF;
        int r;

        if (!s->listener_path)
                return error_setf(err, EINVAL, "seccomp listenerPath is not set");
        r = process_state_new(s, state_json, &msg, err);
        if (r < 0)
                return error_wrap(err, r, "seccomp listener");
        buf = json_dump_compact(msg);

        sock = listener_connect(s->listener_path, err);
        if (sock < 0)
                return sock;
        return send_with_fd(sock, buf, strlen(buf), notify_fd, err);
}

json_t *rt_seccomp_features(void)
{
        json_t *f = json_object(), *a;
        /* Probes the kernel too: a flag is supported when libseccomp can set it and the kernel takes it. */
        unsigned api = (unsigned)seccomp_api_get();

        json_object_set_new(f, "enabled", json_true());
        a = json_array();
        for (size_t i = 0; i < ARRAY_SIZE(actions); i++)
                json_array_append_new(a, json_string(actions[i].name));
        json_object_set_new(f, "actions", a);
        a = json_array();
        for (size_t i = 0; i < ARRAY_SIZE(operators); i++)
                json_array_append_new(a, json_string(operators[i].name));
        json_object_set_new(f, "operators", a);
        a = json_array();
        for (size_t i = 0; i < ARRAY_SIZE(archs); i++)
                json_array_append_new(a, json_string(archs[i].name));
        json_object_set_new(f, "archs", a);
        a = json_array();
        for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
                json_array_append_new(a, json_string(flags[i].name));
        json_object_set_new(f, "knownFlags", a);
        a = json_array();
        for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
                if (flags[i].has_attr && api >= flags[i].api_level)
                        json_array_append_new(a, json_string(flags[i].name));
        json_object_set_new(f, "supportedFlags", a);
        return f;
}
