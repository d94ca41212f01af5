/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* error.h: the one error convention: -errno returns plus an Error chain of context */
#pragma once

#include "cleanup.h"

/* An error: a negative-free errno value and a message, outermost context first. */
typedef struct Error {
        int code;  /* positive errno value */
        char *msg; /* "fetch manifest: connection refused" */
} Error;

/*
 * Starts a chain: sets *err (when err is non-NULL and *err is still NULL) to the formatted message
 * followed by ": strerror(code)" and returns -code. code may be given positive or negative.
 */
int error_set(Error **err, int code, const char *fmt, ...) _printf_(3, 4);

/* Like error_set() but without appending strerror(): for failures whose message says it all. */
int error_setf(Error **err, int code, const char *fmt, ...) _printf_(3, 4);

/* Puts context in front of an existing message ("ctx: old") when r < 0; returns r unchanged. */
int error_wrap(Error **err, int r, const char *fmt, ...) _printf_(3, 4);

Error *error_free(Error *e);
DEFINE_CLEANUP_FUNC(Error *, error_free)
#define _cleanup_error_ _cleanup_(error_freep)

/* Drops the error in *err (err may be NULL): for a failure the caller has dealt with, such as an
 * "already exists" it tolerates, before it goes on or sets an error of its own. */
void error_clear(Error **err);

/* The message of *err, or strerror(-r) when no message was set. */
const char *error_message(const Error *e, int r);
