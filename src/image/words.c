/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* words.c: Containerfile words: quotes, escapes and $substitution, as Docker's shell-word lexer does them */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/strv.h"
#include "words.h"

/* Substitutions nest (${A:-${B:-...}}); past this depth the input is refused, not recursed on. */
#define MAX_NESTING 16

/* ---- a growing string ---- */

void img_buf_put(ImgBuf *b, const char *s, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                b->cap = (b->len + n + 1) * 2;
                b->s = xrealloc(b->s, b->cap);
        }
        memcpy(b->s + b->len, s, n);
        b->len += n;
        b->s[b->len] = 0;
}

void img_buf_putc(ImgBuf *b, char c)
{
        img_buf_put(b, &c, 1);
}

/* The string, never NULL; b is empty after. */
char *img_buf_steal(ImgBuf *b)
{
        char *s = b->s ? b->s : xstrdup("");
        *b = (ImgBuf){ 0 };
        return s;
}

void img_buf_done(ImgBuf *b)
{
        free(b->s);
        *b = (ImgBuf){ 0 };
}

int img_cf_fail(Error **err, unsigned line, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = xvasprintf(fmt, ap);
        va_end(ap);
        return error_setf(err, EINVAL, "Containerfile line %u: %s", line, msg);
}

bool img_cf_is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

const char *img_cf_skip_blanks(const char *s)
{
        while (img_cf_is_blank(*s))
                s++;
        return s;
}

/* ---- variables ---- */

const char *img_vars_get(const ImgVars *v, const char *name)
{
        const char *val = strv_env_get(v->env, name);
        return val ? val : strv_env_get(v->args, name);
}

/* ---- words: quotes, escapes and $substitution as Docker's shell-word lexer does them ---- */

typedef struct Lexer {
        const char *s;
        size_t i, n;
        char escape;
        const ImgVars *vars; /* NULL: no substitution, '$' is literal */
        unsigned line;
        int depth;
} Lexer;

static int lex_until(Lexer *lx, char stop, ImgBuf *out, Error **err);

static bool is_name_char(char c)
{
        return isalnum((unsigned char)c) || c == '_';
}

/* ${NAME...}: lx->i is just past the '{'. */
static int lex_braced(Lexer *lx, ImgBuf *out, Error **err)
{
        _cleanup_free_ char *name = NULL;
        ImgBuf word = { 0 };
        const char *val;
        char op = 0;
        bool has_colon = false;
        size_t start = lx->i;
        int r;

        while (lx->i < lx->n && is_name_char(lx->s[lx->i]))
                lx->i++;
        if (lx->i == start)
                return img_cf_fail(err, lx->line, "bad substitution '${%.*s'", (int)(lx->i - start), lx->s + start);
        name = xstrndup(lx->s + start, lx->i - start);
        if (lx->i >= lx->n)
                return img_cf_fail(err, lx->line, "missing '}' in '${%s'", name);
        val = img_vars_get(lx->vars, name);
        if (lx->s[lx->i] == '}') {
                lx->i++;
                if (val)
                        img_buf_put(out, val, strlen(val));
                return 0;
        }
        if (lx->s[lx->i] == ':') {
                has_colon = true;
                lx->i++;
        }
        if (lx->i < lx->n)
                op = lx->s[lx->i++];
        if (op != '-' && op != '+' && op != '?')
                return img_cf_fail(err, lx->line, "unsupported modifier '%c' in '${%s'", op ? op : ' ', name);
        if (++lx->depth > MAX_NESTING)
                return img_cf_fail(err, lx->line, "substitutions nested too deeply");
        r = lex_until(lx, '}', &word, err);
        lx->depth--;
        if (r < 0) {
                img_buf_done(&word);
                return r;
        }
        if (lx->i >= lx->n || lx->s[lx->i] != '}') {
                img_buf_done(&word);
                return img_cf_fail(err, lx->line, "missing '}' in '${%s'", name);
        }
        lx->i++;
        /* With the colon an empty value counts as unset, as in sh. */
        bool is_set = val && (!has_colon || *val);
        if (op == '-')
                val = is_set ? val : (word.s ? word.s : "");
        else if (op == '+')
                val = is_set ? (word.s ? word.s : "") : "";
        else if (!is_set) {
                r = img_cf_fail(err, lx->line, "variable '%s' is required%s%s", name, word.len ? ": " : "",
                         word.s ? word.s : "");
                img_buf_done(&word);
                return r;
        }
        img_buf_put(out, val, strlen(val));
        img_buf_done(&word);
        return 0;
}

/* At a '$': a substitution, or a literal '$' when no name follows. */
static int lex_dollar(Lexer *lx, ImgBuf *out, Error **err)
{
        size_t start;
        char c;

        lx->i++;
        if (!lx->vars || lx->i >= lx->n) {
                img_buf_putc(out, '$');
                return 0;
        }
        c = lx->s[lx->i];
        if (c == '{') {
                lx->i++;
                return lex_braced(lx, out, err);
        }
        start = lx->i;
        if (isdigit((unsigned char)c)) {
                lx->i++; /* $1: a positional parameter, always empty here */
        } else if (isalpha((unsigned char)c) || c == '_') {
                while (lx->i < lx->n && is_name_char(lx->s[lx->i]))
                        lx->i++;
        } else {
                img_buf_putc(out, '$');
                return 0;
        }
        _cleanup_free_ char *name = xstrndup(lx->s + start, lx->i - start);
        const char *val = img_vars_get(lx->vars, name);
        if (val)
                img_buf_put(out, val, strlen(val));
        return 0;
}

static int lex_double_quoted(Lexer *lx, ImgBuf *out, Error **err)
{
        lx->i++;
        while (lx->i < lx->n) {
                char c = lx->s[lx->i];
                if (c == '"') {
                        lx->i++;
                        return 0;
                }
                if (c == lx->escape && lx->i + 1 < lx->n) {
                        char next = lx->s[lx->i + 1];
                        /* Only these lose their escape inside double quotes, as in sh. */
                        if (next == '"' || next == '$' || next == lx->escape) {
                                img_buf_putc(out, next);
                                lx->i += 2;
                                continue;
                        }
                }
                if (c == '$') {
                        int r = lex_dollar(lx, out, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                img_buf_putc(out, c);
                lx->i++;
        }
        return img_cf_fail(err, lx->line, "unterminated double quote");
}

/* Lexes one word up to stop (0: the end; ' ': unquoted white space) into out, quotes removed. */
static int lex_until(Lexer *lx, char stop, ImgBuf *out, Error **err)
{
        while (lx->i < lx->n) {
                char c = lx->s[lx->i];
                int r;

                if (stop == ' ' ? img_cf_is_blank(c) : c == stop && stop)
                        return 0;
                if (c == lx->escape) {
                        if (lx->i + 1 < lx->n) {
                                img_buf_putc(out, lx->s[lx->i + 1]);
                                lx->i += 2;
                        } else {
                                img_buf_putc(out, c);
                                lx->i++;
                        }
                } else if (c == '\'') {
                        const char *end = memchr(lx->s + lx->i + 1, '\'', lx->n - lx->i - 1);
                        if (!end)
                                return img_cf_fail(err, lx->line, "unterminated single quote");
                        img_buf_put(out, lx->s + lx->i + 1, (size_t)(end - (lx->s + lx->i + 1)));
                        lx->i = (size_t)(end - lx->s) + 1;
                } else if (c == '"') {
                        r = lex_double_quoted(lx, out, err);
                        if (r < 0)
                                return r;
                } else if (c == '$') {
                        r = lex_dollar(lx, out, err);
                        if (r < 0)
                                return r;
                } else {
                        img_buf_putc(out, c);
                        lx->i++;
                }
        }
        return 0;
}

/* Splits s into words at unquoted white space; each word is unquoted and substituted (vars may
 * be NULL). A value that expands to spaces stays one word. */
int img_lex_words(const char *s, const ImgVars *vars, char escape, unsigned line, char ***ret, Error **err)
{
        _cleanup_strv_ char **words = NULL;
        Lexer lx = { .s = s, .n = strlen(s), .escape = escape, .vars = vars, .line = line };

        for (;;) {
                ImgBuf w = { 0 };
                int r;

                while (lx.i < lx.n && img_cf_is_blank(lx.s[lx.i]))
                        lx.i++;
                if (lx.i >= lx.n)
                        break;
                r = lex_until(&lx, ' ', &w, err);
                if (r < 0) {
                        img_buf_done(&w);
                        return r;
                }
                strv_consume(&words, img_buf_steal(&w));
        }
        *ret = words ? TAKE_PTR(words) : xnew0(char *, 1);
        return 0;
}

/* The whole of s as one word (white space kept), unquoted and substituted. */
int img_lex_one(const char *s, const ImgVars *vars, char escape, unsigned line, char **ret, Error **err)
{
        Lexer lx = { .s = s, .n = strlen(s), .escape = escape, .vars = vars, .line = line };
        ImgBuf w = { 0 };
        int r = lex_until(&lx, 0, &w, err);

        if (r < 0) {
                img_buf_done(&w);
                return r;
        }
        *ret = img_buf_steal(&w);
        return 0;
}

