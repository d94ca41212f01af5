/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* alloc.h: allocation that aborts on exhaustion, so no caller plumbs -ENOMEM */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include "cleanup.h"

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);
char *xvasprintf(const char *fmt, va_list ap) _printf_(1, 0);

/* free() that returns NULL, for "p = mfree(p);". */
static inline void *mfree(void *p)
{
        free(p);
        return NULL;
}

#define xnew(type, n) ((type *)xcalloc((n), sizeof(type)))
#define xnew0(type, n) ((type *)xcalloc((n), sizeof(type)))

/* Grows *array (of *n elements) by one zeroed element and returns a pointer to it. */
#define xappend(array, n)                                                                                \
        ({                                                                                               \
                (array) = xrealloc((array), ((n) + 1) * sizeof(*(array)));                               \
                memset(&(array)[(n)], 0, sizeof(*(array)));                                              \
                &(array)[(n)++];                                                                         \
        })
