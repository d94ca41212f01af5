/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* clone.c: how the runtime makes its processes: clone3 into a cgroup, with or without our memory */
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

/* AddressSanitizer does not follow a child onto a stack it did not make (it warns at every noreturn
 * call there): sanitized builds clone as before. */
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define HAVE_CLONE3_RUN 1
#endif

#ifdef HAVE_CLONE3_RUN
/*
 * clone3 whose child runs fn(arg) on the given stack and never returns here: with CLONE_VM the
 * child shares our memory, so it must not come back through this function's frame. It calls fn
 * with a fresh frame pointer and exits with 127 should fn return. Returns like clone3 in the parent.
 */
static pid_t clone3_run(struct clone_args *args, void (*fn)(void *), void *arg)
{
        register void (*fn_reg)(void *) __asm__("r12") = fn;
        register void *arg_reg __asm__("r13") = arg;
        long ret;

        __asm__ volatile("syscall\n\t"
                         "testq %%rax, %%rax\n\t"
                         "jnz 1f\n\t"
                         "xorl %%ebp, %%ebp\n\t"
                         "movq %%r13, %%rdi\n\t"
                         "callq *%%r12\n\t"
                         "movl $127, %%edi\n\t"
                         "movl %[exit], %%eax\n\t"
                         "syscall\n\t"
                         "ud2\n"
                         "1:"
                         : "=a"(ret)
                         : "0"((long)SYS_clone3), "D"(args), "S"(sizeof(*args)), "r"(fn_reg), "r"(arg_reg),
                           [exit] "i"(SYS_exit)
                         : "rcx", "r11", "memory");
        if (ret < 0) {
                errno = (int)-ret;
                return -1;
        }
        return (pid_t)ret;
}
#endif

/* clone3 as args says; with fn, the child runs fn(arg) (clone3_run) instead of returning 0. */
static pid_t clone3_call(struct clone_args *args, void (*fn)(void *), void *arg)
{
#ifdef HAVE_CLONE3_RUN
        if (fn)
                return clone3_run(args, fn, arg);
#endif
        return (pid_t)syscall(SYS_clone3, args, sizeof(*args));
}

/*
 * clone3_call() into cgroup_fd's cgroup (CLONE_INTO_CGROUP) when it is >= 0, retried without it if
 * the kernel refuses (an older kernel, a cgroup in threaded mode): the child then enters by itself.
 * *ret_is_in_cgroup says which, and is set before the child exists so it can read it.
 */
static pid_t clone3_into_cgroup(struct clone_args *args, int cgroup_fd, bool *ret_is_in_cgroup,
                                void (*fn)(void *), void *arg)
{
        pid_t pid;

        *ret_is_in_cgroup = cgroup_fd >= 0;
        if (cgroup_fd >= 0) {
                args->flags |= CLONE_INTO_CGROUP;
                args->cgroup = (uint64_t)cgroup_fd;
        }
        pid = clone3_call(args, fn, arg);
        if (pid < 0 && cgroup_fd >= 0) {
                *ret_is_in_cgroup = false;
                args->flags &= ~(uint64_t)CLONE_INTO_CGROUP;
                args->cgroup = 0;
                pid = clone3_call(args, fn, arg);
        }
        return pid;
}

pid_t rt_clone(uint64_t flags, int cgroup_fd, int *ret_pidfd, bool *ret_is_in_cgroup)
{
        struct clone_args args = {
                .flags = flags,
                /* CLONE_PARENT children inherit our exit signal; clone3 refuses one given with it. */
                .exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD,
        };

        if (ret_pidfd) {
                args.flags |= CLONE_PIDFD;
                args.pidfd = (uint64_t)(uintptr_t)ret_pidfd;
        }
        return clone3_into_cgroup(&args, cgroup_fd, ret_is_in_cgroup, NULL, NULL);
}

pid_t rt_clone_vfork(int cgroup_fd, bool *ret_is_in_cgroup, void (*fn)(void *), void *arg)
{
#ifdef HAVE_CLONE3_RUN
        /* What fn may need: the runtime's code paths up to an exec, error messages included. */
        const size_t stack_size = 256 * 1024;
        void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        struct clone_args args = {
                .flags = CLONE_VM | CLONE_VFORK,
                .exit_signal = SIGCHLD,
                .stack = (uint64_t)(uintptr_t)stack,
                .stack_size = stack_size,
        };
        pid_t pid;
        int saved;

        if (stack == MAP_FAILED)
                return -1;
        pid = clone3_into_cgroup(&args, cgroup_fd, ret_is_in_cgroup, fn, arg);
        /* CLONE_VFORK: the child has exec'd or exited by now, and is off the stack. */
        saved = errno;
        munmap(stack, stack_size);
        errno = saved;
        return pid;
#else
        errno = EOPNOTSUPP;
        return -1;
#endif
}
