/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* seccomp-profile.c: hull's default seccomp allowlist for application containers, built from C tables */
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <stddef.h>

#include "common/cleanup.h"
#include "instance/seccomp-profile.h"

/*
 * The allowlist: what ordinary programs (shells, coreutils, package managers, interpreters, threaded
 * glibc and static musl binaries) call. Left out on purpose, so that they fail with EPERM: what
 * changes the host or the kernel (modules, reboot, clock, swap, accounting), what takes another
 * process's descriptors (pidfd_getfd), what builds new mounts or namespaces, and the large attack
 * surfaces containers do not need (bpf, perf, userfaultfd, io_uring, modify_ldt). Most of these come
 * back with the capability they need (cap_groups below); the keyrings never do, as they are not
 * namespaced. Names this libseccomp or architecture does not know are skipped by the runtime, so the
 * list may name syscalls of every architecture and of newer kernels.
 */
static const char *const base_syscalls[] = {
        /* tracing the container's own processes (strace, gdb): since Linux 4.8 a tracer can no longer
         * use ptrace to slip past the tracee's seccomp filter, so Docker allows these by default too;
         * the kernel's own checks (same uid, Yama) still apply. */
        "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
        /* files: data */
        "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
        "open", "openat", "openat2", "creat", "close", "close_range", "lseek", "_llseek", "dup", "dup2", "dup3",
        "pipe", "pipe2", "fcntl", "fcntl64", "ioctl", "flock", "fsync", "fdatasync", "sync", "syncfs",
        "sync_file_range", "sync_file_range2", "truncate", "truncate64", "ftruncate", "ftruncate64",
        "fallocate", "sendfile", "sendfile64", "splice", "tee", "vmsplice", "copy_file_range", "readahead",
        "fadvise64", "fadvise64_64", "cachestat",
        /* files: names and metadata */
        "stat", "stat64", "fstat", "fstat64", "lstat", "lstat64", "newfstatat", "fstatat64", "statx", "statfs",
        "statfs64", "fstatfs", "fstatfs64", "access", "faccessat", "faccessat2", "readlink", "readlinkat",
        "getdents", "getdents64", "getcwd", "chdir", "fchdir", "mkdir", "mkdirat", "rmdir", "rename",
        "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat", "unlink", "unlinkat", "chmod",
        "fchmod", "fchmodat", "fchmodat2", "chown", "chown32", "fchown", "fchown32", "fchownat", "lchown",
        "lchown32", "umask", "utime", "utimes", "utimensat", "utimensat_time64", "futimesat", "mknod",
        "mknodat", "getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr", "fsetxattr", "listxattr",
        "llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr", "inotify_init",
        "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
        /* memory */
        "brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise", "mlock", "mlock2", "munlock",
        "mlockall", "munlockall", "mincore", "msync", "membarrier", "memfd_create", "pkey_alloc", "pkey_free",
        "pkey_mprotect", "remap_file_pages", "map_shadow_stack", "mseal", "process_mrelease",
        /* processes and threads (clone is conditional, below) */
        "execve", "execveat", "exit", "exit_group", "fork", "vfork", "wait4", "waitid", "waitpid", "kill",
        "tkill", "tgkill", "pidfd_open", "pidfd_send_signal", "set_tid_address", "set_robust_list",
        "get_robust_list", "futex", "futex_time64", "futex_waitv", "futex_wake", "futex_wait", "futex_requeue",
        "rseq", "restart_syscall", "arch_prctl", "set_thread_area", "get_thread_area", "prctl", "capget",
        "capset", "getcpu", "sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getparam",
        "sched_setparam", "sched_getscheduler", "sched_setscheduler", "sched_get_priority_max",
        "sched_get_priority_min", "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_getattr",
        "sched_setattr", "getpriority", "setpriority", "ioprio_get", "ioprio_set", "getrlimit", "setrlimit",
        "ugetrlimit", "prlimit64", "getrusage", "times", "seccomp", "landlock_create_ruleset",
        "landlock_add_rule", "landlock_restrict_self",
        /* signals */
        "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending", "rt_sigtimedwait",
        "rt_sigtimedwait_time64", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaction", "sigprocmask",
        "sigreturn", "sigsuspend", "sigpending", "signal", "sigaltstack", "signalfd", "signalfd4", "pause",
        "alarm",
        /* credentials (the kernel checks CAP_SETUID and friends) */
        "getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp", "getsid", "setsid", "getuid",
        "getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid", "getegid32", "setuid", "setuid32",
        "setgid", "setgid32", "setreuid", "setreuid32", "setregid", "setregid32", "setresuid", "setresuid32",
        "setresgid", "setresgid32", "getresuid", "getresuid32", "getresgid", "getresgid32", "setfsuid",
        "setfsuid32", "setfsgid", "setfsgid32", "getgroups", "getgroups32", "setgroups", "setgroups32",
        /* time (reading it; setting it needs CAP_SYS_TIME, below) */
        "clock_gettime", "clock_gettime64", "clock_getres", "clock_getres_time64", "clock_nanosleep",
        "clock_nanosleep_time64", "gettimeofday", "time", "nanosleep", "adjtimex", "timer_create",
        "timer_delete", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
        "timer_getoverrun", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
        "timerfd_settime64", "getitimer", "setitimer",
        /* waiting on many fds */
        "select", "_newselect", "pselect6", "pselect6_time64", "poll", "ppoll", "ppoll_time64",
        "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_wait", "epoll_wait_old",
        "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "io_setup", "io_destroy", "io_getevents",
        "io_pgetevents", "io_pgetevents_time64", "io_submit", "io_cancel",
        /* sockets (socket itself is conditional, below) */
        "socketpair", "bind", "connect", "listen", "accept", "accept4", "getsockname", "getpeername", "sendto",
        "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "recvmmsg_time64", "setsockopt",
        "getsockopt", "shutdown", "socketcall",
        /* System V and POSIX IPC, private to the IPC namespace */
        "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semtimedop", "semtimedop_time64", "semctl",
        "shmget", "shmat", "shmdt", "shmctl", "ipc", "mq_open", "mq_unlink", "mq_timedsend",
        "mq_timedsend_time64", "mq_timedreceive", "mq_timedreceive_time64", "mq_notify", "mq_getsetattr",
        /* the system as the UTS namespace shows it */
        "uname", "olduname", "oldolduname", "sysinfo", "getrandom", "sethostname", "setdomainname",
#if defined(__arm__) || defined(__aarch64__)
        "arm_fadvise64_64", "arm_sync_file_range", "breakpoint", "cacheflush", "set_tls",
#endif
#if defined(__s390__) || defined(__s390x__)
        "s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr",
#endif
        NULL
};

/* What a capability beyond Docker's default set unlocks, as Docker's profile does. */
static const char *const sys_admin_syscalls[] = {
        "mount", "umount", "umount2", "mount_setattr", "move_mount", "open_tree", "fsopen", "fsconfig",
        "fsmount", "fspick", "pivot_root", "unshare", "setns", "clone", "clone3", "quotactl", "quotactl_fd",
        "lookup_dcookie", "fanotify_init", "fanotify_mark", "name_to_handle_at", "swapon", "swapoff", "bpf",
        "perf_event_open", NULL
};
static const char *const sys_ptrace_syscalls[] = { "pidfd_getfd", "process_madvise", NULL };
static const char *const sys_chroot_syscalls[] = { "chroot", NULL };
static const char *const sys_module_syscalls[] = { "init_module", "finit_module", "delete_module", NULL };
static const char *const sys_time_syscalls[] = {
        "settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime", "clock_adjtime64", NULL
};
static const char *const sys_boot_syscalls[] = { "reboot", "kexec_load", "kexec_file_load", NULL };
static const char *const sys_nice_syscalls[] = {
        "get_mempolicy", "set_mempolicy", "set_mempolicy_home_node", "mbind", "move_pages", "migrate_pages",
        NULL
};
static const char *const sys_rawio_syscalls[] = { "iopl", "ioperm", "pciconfig_read", "pciconfig_write",
                                                  "pciconfig_iobase", NULL };
static const char *const sys_pacct_syscalls[] = { "acct", NULL };
static const char *const syslog_syscalls[] = { "syslog", NULL };
static const char *const sys_tty_config_syscalls[] = { "vhangup", NULL };
static const char *const dac_read_search_syscalls[] = { "open_by_handle_at", NULL };
static const char *const bpf_syscalls[] = { "bpf", NULL };
static const char *const perfmon_syscalls[] = { "perf_event_open", NULL };

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static const struct {
        int cap;
        const char *const *names;
} cap_groups[] = {
        { CAP_SYS_ADMIN, sys_admin_syscalls },
        { CAP_SYS_PTRACE, sys_ptrace_syscalls },
        { CAP_SYS_CHROOT, sys_chroot_syscalls },
        { CAP_SYS_MODULE, sys_module_syscalls },
        { CAP_SYS_TIME, sys_time_syscalls },
        { CAP_SYS_BOOT, sys_boot_syscalls },
        { CAP_SYS_NICE, sys_nice_syscalls },
        { CAP_SYS_RAWIO, sys_rawio_syscalls },
        { CAP_SYS_PACCT, sys_pacct_syscalls },
        { CAP_SYSLOG, syslog_syscalls },
        { CAP_SYS_TTY_CONFIG, sys_tty_config_syscalls },
        { CAP_DAC_READ_SEARCH, dac_read_search_syscalls },
        { CAP_BPF, bpf_syscalls },
        { CAP_PERFMON, perfmon_syscalls },
};

/* personality(2) values that only choose how uname and 32-bit compat behave: PER_LINUX, PER_LINUX32,
 * their UNAME26 variants, and 0xffffffff, which queries. */
static const uint64_t personalities[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff };

/* clone(2) flags that make namespaces. CLONE_NEWTIME is missing on purpose: its bit is part of the
 * exit signal in clone's flags word, so only unshare and clone3 can ask for it. */
#define CLONE_NS_FLAGS                                                                                   \
        ((uint64_t)(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |        \
                    CLONE_NEWPID | CLONE_NEWNET))

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static const char *const architectures[] = {
#if defined(__x86_64__) || defined(__i386__)
        "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
#elif defined(__aarch64__) || defined(__arm__)
        "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM",
#elif defined(__s390x__) || defined(__s390__)
        "SCMP_ARCH_S390X", "SCMP_ARCH_S390",
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        "SCMP_ARCH_PPC64LE",
#elif defined(__riscv) && __riscv_xlen == 64
        "SCMP_ARCH_RISCV64",
#endif
        /* Elsewhere the list stays empty: the filter then covers the native architecture alone. */
        NULL
};

/* clone's flags are its first argument, except on s390, where the stack comes first. */
#if defined(__s390x__) || defined(__s390__)
#define CLONE_FLAGS_ARG 1
#else
#define CLONE_FLAGS_ARG 0
#endif

static bool has_cap(uint64_t caps, int cap)
{
        return cap >= 0 && cap < 64 && (caps & (1ULL << cap));
}

static json_t *names_array(const char *const *names)
{
        json_t *a = json_array();

        for (size_t i = 0; names[i]; i++)
                json_array_append_new(a, json_string(names[i]));
        return a;
}

static json_t *rule(json_t *names, const char *action)
{
        return json_pack("{s:o, s:s}", "names", names, "action", action);
}

/* One rule allowing name when argument index compares to value (op), with value_two for masks. */
static json_t *arg_rule(const char *name, unsigned index, const char *op, uint64_t value, uint64_t value_two)
{
        json_t *r = rule(json_pack("[s]", name), "SCMP_ACT_ALLOW");
        json_t *arg = json_pack("{s:i, s:I, s:s}", "index", (int)index, "value", (json_int_t)value, "op", op);

        if (value_two)
                json_object_set_new(arg, "valueTwo", json_integer((json_int_t)value_two));
        json_object_set_new(r, "args", json_pack("[o]", arg));
        return r;
}

json_t *inst_seccomp_profile(uint64_t caps)
{
        json_t *syscalls = json_array(), *r;

        json_array_append_new(syscalls, rule(names_array(base_syscalls), "SCMP_ACT_ALLOW"));
        for (size_t i = 0; i < ARRAY_SIZE(personalities); i++)
                json_array_append_new(syscalls, arg_rule("personality", 0, "SCMP_CMP_EQ", personalities[i], 0));
        /* vsock reaches the hypervisor, not the container's network namespace. */
        json_array_append_new(syscalls, arg_rule("socket", 0, "SCMP_CMP_NE", AF_VSOCK, 0));

        if (!has_cap(caps, CAP_SYS_ADMIN)) {
                /* Threads and fork, but no namespaces: (flags & CLONE_NS_FLAGS) == 0. */
                json_array_append_new(syscalls, arg_rule("clone", CLONE_FLAGS_ARG, "SCMP_CMP_MASKED_EQ",
                                                         CLONE_NS_FLAGS, 0));
                /* clone3 passes its flags in memory, where seccomp cannot look: ENOSYS makes glibc
                 * and musl fall back to clone, which the rule above checks. */
                r = rule(json_pack("[s]", "clone3"), "SCMP_ACT_ERRNO");
                json_object_set_new(r, "errnoRet", json_integer(ENOSYS));
                json_array_append_new(syscalls, r);
        }
        for (size_t i = 0; i < ARRAY_SIZE(cap_groups); i++)
                if (has_cap(caps, cap_groups[i].cap))
                        json_array_append_new(syscalls,
                                              rule(names_array(cap_groups[i].names), "SCMP_ACT_ALLOW"));

        return json_pack("{s:s, s:i, s:o, s:o}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet", EPERM,
                         "architectures", names_array(architectures), "syscalls", syscalls);
}
