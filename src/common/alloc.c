/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* alloc.c: allocation that aborts on exhaustion */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

static _noreturn_ void oom(void)
{
        static const char msg[] = "hull: out of memory\n";
        if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
                /* nothing left to report with */
        }
        abort();
}

void *xmalloc(size_t n)
{
        void *p = malloc(n ? n : 1);
        if (!p)
                oom();
        return p;
}

void *xcalloc(size_t n, size_t size)
{
        void *p = calloc(n ? n : 1, size ? size : 1);
        if (!p)
                oom();
        return p;
}

void *xrealloc(void *p, size_t n)
{
        p = realloc(p, n ? n : 1);
        if (!p)
                oom();
        return p;
}

char *xstrdup(const char *s)
{
        char *p;
        if (!s)
                return NULL;
        p = strdup(s);
        if (!p)
                oom();
        return p;
}

char *xstrndup(const char *s, size_t n)
{
        char *p = strndup(s, n);
        if (!p)
                oom();
        return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
        char *p;
        if (vasprintf(&p, fmt, ap) < 0)
                oom();
        return p;
}

char *xasprintf(const char *fmt, ...)
{
        va_list ap;
        char *p;
        va_start(ap, fmt);
        p = xvasprintf(fmt, ap);
        va_end(ap);
        return p;
}
