/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* words.h: what the Containerfile parser and the ignore-file reader share: a growing string, blanks,
 * line-numbered errors, and Docker's shell-word lexing with $substitution */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include "common/error.h"

/* A growing NUL-terminated string; the zero value is empty. */
typedef struct ImgBuf {
        char *s;
        size_t len, cap;
} ImgBuf;

void img_buf_put(ImgBuf *b, const char *s, size_t n);
void img_buf_putc(ImgBuf *b, char c);
/* The string, never NULL; b is empty after. */
char *img_buf_steal(ImgBuf *b);
void img_buf_done(ImgBuf *b);

/* EINVAL with "Containerfile line N: <message>". */
int img_cf_fail(Error **err, unsigned line, const char *fmt, ...) _printf_(3, 4);

bool img_cf_is_blank(char c);
const char *img_cf_skip_blanks(const char *s);

/* What a substitution sees: ENV first (it hides an ARG of the same name), then ARG values. */
typedef struct ImgVars {
        char *const *env;  /* "K=V" */
        char *const *args; /* "K=V", or "K" for an ARG without a value (unset) */
} ImgVars;

const char *img_vars_get(const ImgVars *v, const char *name);

/* Splits s into words at unquoted white space; each word is unquoted and substituted (vars may be
 * NULL: '$' is then literal). A value that expands to spaces stays one word. */
int img_lex_words(const char *s, const ImgVars *vars, char escape, unsigned line, char ***ret, Error **err);
/* The whole of s as one word (white space kept), unquoted and substituted. */
int img_lex_one(const char *s, const ImgVars *vars, char escape, unsigned line, char **ret, Error **err);
