/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* error.c: building error chains */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"

_printf_(4, 0) static int set(Error **err, int code, bool with_errno, const char *fmt, va_list ap)
{
        _cleanup_free_ char *what = NULL;

        if (code < 0)
                code = -code;
        if (code == 0)
                code = EIO;
        if (!err || *err)
                return -code;
        what = xvasprintf(fmt, ap);
        *err = xnew0(Error, 1);
        (*err)->code = code;
        (*err)->msg = with_errno ? xasprintf("%s: %s", what, strerror(code)) : TAKE_PTR(what);
        return -code;
}

int error_set(Error **err, int code, const char *fmt, ...)
{
        va_list ap;
        int r;
        va_start(ap, fmt);
        r = set(err, code, true, fmt, ap);
        va_end(ap);
        return r;
}

int error_setf(Error **err, int code, const char *fmt, ...)
{
        va_list ap;
        int r;
        va_start(ap, fmt);
        r = set(err, code, false, fmt, ap);
        va_end(ap);
        return r;
}

int error_wrap(Error **err, int r, const char *fmt, ...)
{
        _cleanup_free_ char *ctx = NULL;
        va_list ap;
        char *m;

        if (!err || r >= 0)
                return r;
        va_start(ap, fmt);
        ctx = xvasprintf(fmt, ap);
        va_end(ap);
        if (!*err) {
                *err = xnew0(Error, 1);
                (*err)->code = r < 0 ? -r : EIO;
                (*err)->msg = xasprintf("%s: %s", ctx, strerror((*err)->code));
                return r;
        }
        m = xasprintf("%s: %s", ctx, (*err)->msg);
        free((*err)->msg);
        (*err)->msg = m;
        return r;
}

Error *error_free(Error *e)
{
        if (e) {
                free(e->msg);
                free(e);
        }
        return NULL;
}

void error_clear(Error **err)
{
        if (err)
                *err = error_free(*err);
}

const char *error_message(const Error *e, int r)
{
        if (e && e->msg)
                return e->msg;
        return strerror(r < 0 ? -r : r);
}
