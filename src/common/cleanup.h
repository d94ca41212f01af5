/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cleanup.h: scope-bound cleanup attributes and ownership transfer macros */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

/* DEFINE_CLEANUP_FUNC(Type *, type_free) gives type_freep() for _cleanup_(type_freep). */
#define DEFINE_CLEANUP_FUNC(type, func)                                                                  \
        static inline void func##p(type *p)                                                              \
        {                                                                                                \
                if (*p)                                                                                  \
                        *p = func(*p);                                                                   \
        }

static inline void freep(void *p)
{
        free(*(void **)p);
}

static inline void closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

/* Closes fd if it is one (errno kept) and returns -EBADF, for `fd = safe_close(fd);`. */
static inline int safe_close(int fd)
{
        closep(&fd);
        return -EBADF;
}

static inline void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}

/* Kills and reaps a child that was never handed over: the error path of a fork. */
void pid_killp(pid_t *pid);

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

#define TAKE_GENERIC(var, type, nullvalue)                                                               \
        ({                                                                                               \
                type *_pvar_ = &(var);                                                                   \
                type _var_ = *_pvar_;                                                                    \
                *_pvar_ = (nullvalue);                                                                   \
                _var_;                                                                                   \
        })
#define TAKE_PTR(p) TAKE_GENERIC(p, __typeof__(p), NULL)
#define TAKE_FD(fd) TAKE_GENERIC(fd, int, -EBADF)
#define TAKE_PID(pid) TAKE_GENERIC(pid, pid_t, 0)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define _unused_ __attribute__((unused))
#define _noreturn_ __attribute__((noreturn))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
