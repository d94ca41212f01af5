/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* containerfile.c: Containerfile instructions and stages (lexing: words.c; ignore files, COPY sources: ignore.c) */
#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/json.h"
#include "common/strv.h"
#include "containerfile.h"
#include "words.h"

static const char *const kind_names[_IMG_INSTR_MAX] = {
        [IMG_INSTR_RUN] = "RUN",         [IMG_INSTR_COPY] = "COPY",
        [IMG_INSTR_ADD] = "ADD",         [IMG_INSTR_ENV] = "ENV",
        [IMG_INSTR_ARG] = "ARG",         [IMG_INSTR_WORKDIR] = "WORKDIR",
        [IMG_INSTR_USER] = "USER",       [IMG_INSTR_CMD] = "CMD",
        [IMG_INSTR_ENTRYPOINT] = "ENTRYPOINT", [IMG_INSTR_EXPOSE] = "EXPOSE",
        [IMG_INSTR_LABEL] = "LABEL",     [IMG_INSTR_SHELL] = "SHELL",
        [IMG_INSTR_STOPSIGNAL] = "STOPSIGNAL", [IMG_INSTR_VOLUME] = "VOLUME",
        [IMG_INSTR_HEALTHCHECK] = "HEALTHCHECK", [IMG_INSTR_ONBUILD] = "ONBUILD",
        [IMG_INSTR_MAINTAINER] = "MAINTAINER",
};

const char *img_instr_kind_name(ImgInstrKind kind)
{
        return kind >= 0 && kind < _IMG_INSTR_MAX ? kind_names[kind] : "?";
}

/* ---- instruction helpers ---- */

/* Per stage, while its instructions are substituted in order. */
typedef struct StageState {
        const ImgContainerfile *cf;
        size_t index;
        char **env;   /* ENV so far */
        char **args;  /* ARGs declared in the stage */
        char **shell; /* SHELL in effect */
} StageState;

/* A "[...]" array of strings: 1 and *ret set; 0 if text is not one (shell form), as Docker decides. */
static int parse_json_array(const char *text, char ***ret)
{
        _cleanup_json_ json_t *j = NULL;
        _cleanup_strv_ char **v = NULL;
        size_t i;
        json_t *e;

        if (*text != '[')
                return 0;
        j = json_loadb(text, strlen(text), 0, NULL);
        if (!j || !json_is_array(j))
                return 0;
        json_array_foreach (j, i, e) {
                if (!json_is_string(e))
                        return 0;
                strv_push(&v, json_string_value(e));
        }
        *ret = v ? TAKE_PTR(v) : xnew0(char *, 1);
        return 1;
}

/* A leading "--name[=value]" flag of text: 1 with name/value (value NULL without '='), 0 if none. */
static int next_flag(const char **text, char **ret_name, char **ret_value)
{
        const char *p = *text, *end, *eq;

        if (strncmp(p, "--", 2) != 0)
                return 0;
        end = p;
        while (*end && !img_cf_is_blank(*end))
                end++;
        eq = memchr(p, '=', (size_t)(end - p));
        *ret_name = xstrndup(p + 2, (size_t)((eq ? eq : end) - (p + 2)));
        *ret_value = eq ? xstrndup(eq + 1, (size_t)(end - eq - 1)) : NULL;
        *text = img_cf_skip_blanks(end);
        return 1;
}

static bool looks_like_url(const char *s)
{
        const char *p = s;

        if (strncmp(s, "git@", 4) == 0)
                return true;
        if (!isalpha((unsigned char)*p))
                return false;
        while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
                p++;
        return strncmp(p, "://", 3) == 0;
}

/* The text of RUN/CMD/ENTRYPOINT/HEALTHCHECK CMD: exec or shell form, and the argv to run. */
static int parse_command(ImgInstr *in, const char *text, const StageState *st, Error **err)
{
        const char *what = img_instr_kind_name(in->kind);

        if (parse_json_array(text, &in->args)) {
                in->is_exec_form = true;
                if (!in->args[0] && in->kind == IMG_INSTR_RUN)
                        return img_cf_fail(err, in->line, "RUN needs a command");
                in->argv = strv_copy(in->args);
                return 0;
        }
        if (!*text)
                return img_cf_fail(err, in->line, "%s needs a command", what);
        strv_push(&in->args, text);
        in->argv = strv_copy(st->shell);
        strv_push(&in->argv, text);
        return 0;
}

static int parse_run(ImgInstr *in, const char *text, StageState *st, Error **err)
{
        _cleanup_free_ char *name = NULL, *value = NULL;

        if (next_flag(&text, &name, &value))
                return img_cf_fail(err, in->line, "RUN --%s is not supported", name);
        /* ARG values reach RUN's environment unless an ENV of the same name hides them. */
        for (size_t i = 0; st->args && st->args[i]; i++) {
                _cleanup_free_ char *key = NULL;
                const char *eq = strchr(st->args[i], '=');
                if (!eq)
                        continue;
                key = xstrndup(st->args[i], (size_t)(eq - st->args[i]));
                if (!strv_env_get(st->env, key))
                        strv_push(&in->build_env, st->args[i]);
        }
        return parse_command(in, text, st, err);
}

/* Finds the stage a COPY --from names: an earlier stage's name or index; -1 for an image. */
static int resolve_from_stage(ImgInstr *in, const StageState *st, Error **err)
{
        const char *f = in->from;
        char *end;

        in->from_stage = -1;
        if (!*f)
                return img_cf_fail(err, in->line, "COPY --from needs a stage or an image");
        if (isdigit((unsigned char)*f)) {
                unsigned long idx = strtoul(f, &end, 10);
                if (!*end) {
                        if (idx >= st->index)
                                return img_cf_fail(err, in->line, "COPY --from=%s: no such earlier stage", f);
                        in->from_stage = (int)idx;
                        return 0;
                }
        }
        for (size_t i = 0; i < st->index; i++)
                if (st->cf->stages[i].name && strcasecmp(st->cf->stages[i].name, f) == 0)
                        in->from_stage = (int)i;
        for (size_t i = st->index; i < st->cf->n_stages; i++)
                if (st->cf->stages[i].name && strcasecmp(st->cf->stages[i].name, f) == 0 && in->from_stage < 0)
                        return img_cf_fail(err, in->line, "COPY --from=%s: the stage is not an earlier one", f);
        return 0;
}

static int parse_copy_flag(ImgInstr *in, const char *name, const char *value, const ImgVars *vars, char escape,
                           Error **err)
{
        const char *what = img_instr_kind_name(in->kind);
        char **slot = NULL;

        if (strcmp(name, "chown") == 0)
                slot = &in->chown;
        else if (strcmp(name, "chmod") == 0)
                slot = &in->chmod;
        else if (strcmp(name, "from") == 0 && in->kind == IMG_INSTR_COPY)
                slot = &in->from;
        else
                return img_cf_fail(err, in->line, "%s --%s is not supported", what, name);
        if (!value)
                return img_cf_fail(err, in->line, "%s --%s needs a value", what, name);
        free(*slot);
        *slot = NULL;
        int r = img_lex_one(value, vars, escape, in->line, slot, err);
        if (r < 0)
                return r;
        if (slot == &in->chmod) {
                char *end;
                unsigned long mode = strtoul(in->chmod, &end, 8);
                if (!*in->chmod || *end || mode > 07777)
                        return img_cf_fail(err, in->line, "%s --chmod='%s': expected an octal mode", what, in->chmod);
        }
        if (slot == &in->chown && !*in->chown)
                return img_cf_fail(err, in->line, "%s --chown needs a user", what);
        return 0;
}

static int parse_copy(ImgInstr *in, const char *text, StageState *st, const ImgVars *vars, Error **err)
{
        const char *what = img_instr_kind_name(in->kind);
        char escape = st->cf->escape;
        char **words = NULL;
        size_t n;
        int r;

        for (;;) {
                _cleanup_free_ char *name = NULL, *value = NULL;
                if (!next_flag(&text, &name, &value))
                        break;
                r = parse_copy_flag(in, name, value, vars, escape, err);
                if (r < 0)
                        return r;
        }
        if (parse_json_array(text, &words)) {
                /* The exec form's elements are substituted too, each as one word. */
                for (size_t i = 0; words[i]; i++) {
                        char *w = NULL;
                        r = img_lex_one(words[i], vars, escape, in->line, &w, err);
                        if (r < 0) {
                                strv_free(words);
                                return r;
                        }
                        free(words[i]);
                        words[i] = w;
                }
        } else {
                r = img_lex_words(text, vars, escape, in->line, &words, err);
                if (r < 0)
                        return r;
        }
        in->args = words;
        n = strv_length(words);
        if (n < 2)
                return img_cf_fail(err, in->line, "%s needs a source and a destination", what);
        /* An empty dest (a variable not set yet) is the WORKDIR, as for Docker. */
        in->dest = words[n - 1];
        words[n - 1] = NULL;
        if (n > 2 && (!*in->dest || in->dest[strlen(in->dest) - 1] != '/'))
                return img_cf_fail(err, in->line, "%s with more than one source needs a destination ending in '/'", what);
        for (size_t i = 0; in->args[i]; i++) {
                _cleanup_free_ char *clean = NULL;
                const char *s = in->args[i];

                if (looks_like_url(s)) {
                        if (in->kind == IMG_INSTR_ADD)
                                return img_cf_fail(err, in->line, "ADD from a URL ('%s') is not supported: nothing is fetched from the network", s);
                        return img_cf_fail(err, in->line, "COPY source '%s' is a URL: COPY takes files of the build context", s);
                }
                if (!*s)
                        return img_cf_fail(err, in->line, "%s: empty source", what);
                while (*s == '/')
                        s++;
                if (!in->from && !img_context_clean_path(s, &clean))
                        return img_cf_fail(err, in->line, "%s source '%s': outside the build context", what, in->args[i]);
        }
        if (in->from)
                return resolve_from_stage(in, st, err);
        in->from_stage = -1;
        return 0;
}

/* KEY=VALUE words (substituted with what was in effect before the line), or the old "KEY VALUE". */
static int parse_pairs(ImgInstr *in, const char *text, const ImgVars *vars, char escape, Error **err)
{
        const char *what = img_instr_kind_name(in->kind);
        _cleanup_strv_ char **raw = NULL;
        const char *sp;
        int r;

        if (!*text)
                return img_cf_fail(err, in->line, "%s needs KEY=VALUE", what);
        /* Split without substitution first, to see which form this is. */
        r = img_lex_words(text, NULL, escape, in->line, &raw, err);
        if (r < 0)
                return r;
        if (raw[0] && !strchr(raw[0], '=')) {
                _cleanup_free_ char *key = NULL, *value = NULL, *key_raw = NULL;
                /* The old form: the first word is the key, all the rest the value. */
                sp = text;
                while (*sp && !img_cf_is_blank(*sp))
                        sp++;
                if (!*img_cf_skip_blanks(sp))
                        return img_cf_fail(err, in->line, "%s needs a value for '%s'", what, raw[0]);
                key_raw = xstrndup(text, (size_t)(sp - text));
                r = img_lex_one(key_raw, vars, escape, in->line, &key, err);
                if (r >= 0)
                        r = img_lex_one(img_cf_skip_blanks(sp), vars, escape, in->line, &value, err);
                if (r < 0)
                        return r;
                if (!*key)
                        return img_cf_fail(err, in->line, "%s needs a non-empty name", what);
                strv_consume(&in->args, xasprintf("%s=%s", key, value));
                return 0;
        }
        strv_free(raw);
        raw = NULL;
        r = img_lex_words(text, vars, escape, in->line, &raw, err);
        if (r < 0)
                return r;
        for (size_t i = 0; raw[i]; i++) {
                if (!strchr(raw[i], '='))
                        return img_cf_fail(err, in->line, "%s '%s': expected KEY=VALUE", what, raw[i]);
                if (raw[i][0] == '=')
                        return img_cf_fail(err, in->line, "%s needs a non-empty name", what);
                strv_push(&in->args, raw[i]);
        }
        return 0;
}

static int parse_arg(ImgInstr *in, const char *text, StageState *st, const ImgVars *vars, Error **err)
{
        _cleanup_strv_ char **words = NULL;
        int r;

        r = img_lex_words(text, vars, st->cf->escape, in->line, &words, err);
        if (r < 0)
                return r;
        if (!words[0])
                return img_cf_fail(err, in->line, "ARG needs a name");
        for (size_t i = 0; words[i]; i++) {
                _cleanup_free_ char *name = NULL;
                const char *eq = strchr(words[i], '='), *val;

                name = eq ? xstrndup(words[i], (size_t)(eq - words[i])) : xstrdup(words[i]);
                if (!*name)
                        return img_cf_fail(err, in->line, "ARG needs a non-empty name");
                /* A build arg wins; then the line's default; then a global ARG's value. */
                val = strv_env_get(st->cf->build_args, name);
                if (!val)
                        val = eq ? eq + 1 : NULL;
                if (!val && st->index != SIZE_MAX)
                        val = strv_env_get(st->cf->global_args, name);
                strv_consume(&in->args, val ? xasprintf("%s=%s", name, val) : xstrdup(name));
        }
        for (size_t i = 0; in->args[i]; i++) {
                if (strchr(in->args[i], '='))
                        strv_env_set(&st->args, in->args[i]);
                else if (!strv_env_get(st->args, in->args[i]))
                        strv_push(&st->args, in->args[i]);
        }
        return 0;
}

/* Ports: "80", "80/udp", "8000-8010/tcp". */
static bool port_valid(const char *p, char **ret)
{
        const char *slash = strchr(p, '/'), *proto = slash ? slash + 1 : "tcp";
        _cleanup_free_ char *num = slash ? xstrndup(p, (size_t)(slash - p)) : xstrdup(p);
        char *dash = strchr(num, '-'), *end;
        unsigned long lo, hi;

        if (strcasecmp(proto, "tcp") != 0 && strcasecmp(proto, "udp") != 0 && strcasecmp(proto, "sctp") != 0)
                return false;
        if (dash)
                *dash = 0;
        if (!isdigit((unsigned char)num[0]))
                return false;
        lo = strtoul(num, &end, 10);
        if (*end || lo == 0 || lo > 65535)
                return false;
        hi = lo;
        if (dash) {
                if (!isdigit((unsigned char)dash[1]))
                        return false;
                hi = strtoul(dash + 1, &end, 10);
                if (*end || hi < lo || hi > 65535)
                        return false;
        }
        *ret = hi != lo ? xasprintf("%lu-%lu/%s", lo, hi, proto) : xasprintf("%lu/%s", lo, proto);
        for (char *c = strrchr(*ret, '/'); *c; c++)
                *c = (char)tolower((unsigned char)*c);
        return true;
}

static int parse_expose(ImgInstr *in, const char *text, const ImgVars *vars, char escape, Error **err)
{
        _cleanup_strv_ char **words = NULL;
        int r = img_lex_words(text, vars, escape, in->line, &words, err);

        if (r < 0)
                return r;
        if (!words[0])
                return img_cf_fail(err, in->line, "EXPOSE needs a port");
        for (size_t i = 0; words[i]; i++) {
                /* A variable may hold several ports: "EXPOSE $PORTS". */
                _cleanup_free_ char *copy = xstrdup(words[i]);
                char *save = NULL;
                for (char *w = strtok_r(copy, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
                        char *port = NULL;
                        if (!port_valid(w, &port))
                                return img_cf_fail(err, in->line, "EXPOSE '%s': expected PORT[/tcp|udp|sctp]", w);
                        strv_consume(&in->args, port);
                }
        }
        if (!in->args)
                return img_cf_fail(err, in->line, "EXPOSE needs a port");
        return 0;
}

/* WORKDIR, USER, STOPSIGNAL: one substituted value. */
static int parse_single(ImgInstr *in, const char *text, const ImgVars *vars, char escape, Error **err)
{
        const char *what = img_instr_kind_name(in->kind);
        char *v = NULL;
        int r = img_lex_one(text, vars, escape, in->line, &v, err);

        if (r < 0)
                return r;
        strv_consume(&in->args, v);
        /* The text is checked, not its value: a variable the base image sets may be empty here
         * until expand_stage(), and an empty WORKDIR or USER is what Docker accepts too. */
        if (!*text)
                return img_cf_fail(err, in->line, "%s needs a value", what);
        if (in->kind == IMG_INSTR_STOPSIGNAL && *v) {
                const char *p = v;
                while (isalnum((unsigned char)*p) || *p == '+' || *p == '-')
                        p++;
                if (*p)
                        return img_cf_fail(err, in->line, "STOPSIGNAL '%s': expected a signal name or number", v);
        }
        return 0;
}

static int parse_volume(ImgInstr *in, const char *text, const ImgVars *vars, char escape, Error **err)
{
        char **words = NULL;
        int r;

        if (!parse_json_array(text, &words)) {
                r = img_lex_words(text, vars, escape, in->line, &words, err);
                if (r < 0)
                        return r;
        }
        in->args = words;
        if (!words[0])
                return img_cf_fail(err, in->line, "VOLUME needs a path");
        for (size_t i = 0; words[i]; i++)
                if (!*words[i])
                        return img_cf_fail(err, in->line, "VOLUME: empty path");
        return 0;
}

static int parse_shell(ImgInstr *in, const char *text, StageState *st, Error **err)
{
        if (!parse_json_array(text, &in->args))
                return img_cf_fail(err, in->line, "SHELL needs a JSON array, e.g. [\"/bin/sh\", \"-c\"]");
        if (!in->args[0])
                return img_cf_fail(err, in->line, "SHELL needs at least one element");
        strv_free(st->shell);
        st->shell = strv_copy(in->args);
        return 0;
}

static const char *const health_opts[] = { "interval", "timeout", "start-period", "start-interval", "retries" };

static int parse_healthcheck(ImgInstr *in, const char *text, const StageState *st, Error **err)
{
        const char *word;
        size_t wlen;

        for (;;) {
                _cleanup_free_ char *name = NULL, *value = NULL;
                bool is_known = false;

                if (!next_flag(&text, &name, &value))
                        break;
                for (size_t i = 0; i < ARRAY_SIZE(health_opts); i++)
                        is_known = is_known || strcmp(name, health_opts[i]) == 0;
                if (!is_known)
                        return img_cf_fail(err, in->line, "HEALTHCHECK --%s is not an option", name);
                if (!value || !*value)
                        return img_cf_fail(err, in->line, "HEALTHCHECK --%s needs a value", name);
                strv_consume(&in->opts, xasprintf("--%s=%s", name, value));
        }
        word = text;
        wlen = 0;
        while (word[wlen] && !img_cf_is_blank(word[wlen]))
                wlen++;
        if (wlen == 4 && strncasecmp(word, "NONE", 4) == 0 && !*img_cf_skip_blanks(word + 4)) {
                if (in->opts)
                        return img_cf_fail(err, in->line, "HEALTHCHECK NONE takes no options");
                strv_push(&in->args, "NONE");
                return 0;
        }
        if (wlen != 3 || strncasecmp(word, "CMD", 3) != 0)
                return img_cf_fail(err, in->line, "HEALTHCHECK needs NONE or CMD followed by a command");
        return parse_command(in, img_cf_skip_blanks(word + 3), st, err);
}

static ImgInstrKind kind_of(const char *word, size_t len);

static int parse_onbuild(ImgInstr *in, const char *text, Error **err)
{
        size_t wlen = 0;
        int k;

        while (text[wlen] && !img_cf_is_blank(text[wlen]))
                wlen++;
        if (!wlen)
                return img_cf_fail(err, in->line, "ONBUILD needs an instruction");
        k = (int)kind_of(text, wlen);
        if (wlen == 4 && strncasecmp(text, "FROM", 4) == 0)
                return img_cf_fail(err, in->line, "ONBUILD FROM is not allowed");
        if (k == IMG_INSTR_ONBUILD || k == IMG_INSTR_MAINTAINER)
                return img_cf_fail(err, in->line, "ONBUILD %s is not allowed", img_instr_kind_name((ImgInstrKind)k));
        if (k < 0)
                return img_cf_fail(err, in->line, "ONBUILD: unknown instruction '%.*s'", (int)wlen, text);
        strv_push(&in->args, text);
        return 0;
}

/* ---- canonical text ---- */

/* A JSON string literal of s; bytes that are not printable ASCII as \u00XX, so any input is fine. */
static void put_quoted(ImgBuf *b, const char *s)
{
        img_buf_putc(b, '"');
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                char esc[8];
                if (c == '"' || c == '\\') {
                        img_buf_putc(b, '\\');
                        img_buf_putc(b, (char)c);
                } else if (c < 0x20 || c >= 0x7f) {
                        snprintf(esc, sizeof(esc), "\\u%04x", c);
                        img_buf_put(b, esc, strlen(esc));
                } else {
                        img_buf_putc(b, (char)c);
                }
        }
        img_buf_putc(b, '"');
}

static void put_field(ImgBuf *b, const char *key, const char *s, char *const *v)
{
        if (!s && !v)
                return;
        img_buf_putc(b, ' ');
        img_buf_put(b, key, strlen(key));
        img_buf_putc(b, '=');
        if (s) {
                put_quoted(b, s);
                return;
        }
        img_buf_putc(b, '[');
        for (size_t i = 0; v[i]; i++) {
                if (i)
                        img_buf_putc(b, ',');
                put_quoted(b, v[i]);
        }
        img_buf_putc(b, ']');
}

/* "KIND key=value...": every field that changes what the instruction does, in a fixed order,
 * each value quoted so that no two different instructions give the same text. */
static char *canonical_text(const ImgInstr *in)
{
        ImgBuf b = { 0 };

        img_buf_put(&b, img_instr_kind_name(in->kind), strlen(img_instr_kind_name(in->kind)));
        if (in->is_exec_form)
                img_buf_put(&b, " exec", 5);
        put_field(&b, "args", NULL, in->args);
        put_field(&b, "argv", NULL, in->argv);
        put_field(&b, "dest", in->dest, NULL);
        put_field(&b, "chown", in->chown, NULL);
        put_field(&b, "chmod", in->chmod, NULL);
        put_field(&b, "from", in->from, NULL);
        put_field(&b, "opts", NULL, in->opts);
        put_field(&b, "env", NULL, in->build_env);
        return img_buf_steal(&b);
}

/* ---- instructions and stages ---- */

static void instr_clear(ImgInstr *in)
{
        in->args = strv_free(in->args);
        in->argv = strv_free(in->argv);
        in->opts = strv_free(in->opts);
        in->build_env = strv_free(in->build_env);
        in->dest = mfree(in->dest);
        in->chown = mfree(in->chown);
        in->chmod = mfree(in->chmod);
        in->from = mfree(in->from);
        in->canonical = mfree(in->canonical);
        in->is_exec_form = false;
        in->from_stage = -1;
}

static int parse_instr(ImgInstr *in, StageState *st, Error **err)
{
        const ImgVars vars = { .env = st->env, .args = st->args };
        char escape = st->cf->escape;
        const char *text = in->raw;
        int r;

        instr_clear(in);
        switch (in->kind) {
        case IMG_INSTR_RUN:
                r = parse_run(in, text, st, err);
                break;
        case IMG_INSTR_CMD:
        case IMG_INSTR_ENTRYPOINT:
                r = parse_command(in, text, st, err);
                break;
        case IMG_INSTR_COPY:
        case IMG_INSTR_ADD:
                r = parse_copy(in, text, st, &vars, err);
                break;
        case IMG_INSTR_ENV:
        case IMG_INSTR_LABEL:
                r = parse_pairs(in, text, &vars, escape, err);
                /* Applied after the whole line is substituted: ENV A=1 B=$A sees the old A. */
                for (size_t i = 0; r >= 0 && in->kind == IMG_INSTR_ENV && in->args && in->args[i]; i++)
                        strv_env_set(&st->env, in->args[i]);
                break;
        case IMG_INSTR_ARG:
                r = parse_arg(in, text, st, &vars, err);
                break;
        case IMG_INSTR_WORKDIR:
        case IMG_INSTR_USER:
        case IMG_INSTR_STOPSIGNAL:
                r = parse_single(in, text, &vars, escape, err);
                break;
        case IMG_INSTR_EXPOSE:
                r = parse_expose(in, text, &vars, escape, err);
                break;
        case IMG_INSTR_VOLUME:
                r = parse_volume(in, text, &vars, escape, err);
                break;
        case IMG_INSTR_SHELL:
                r = parse_shell(in, text, st, err);
                break;
        case IMG_INSTR_HEALTHCHECK:
                r = parse_healthcheck(in, text, st, err);
                break;
        case IMG_INSTR_ONBUILD:
                r = parse_onbuild(in, text, err);
                break;
        case IMG_INSTR_MAINTAINER:
                r = *text ? 0 : img_cf_fail(err, in->line, "MAINTAINER needs a name");
                if (r >= 0)
                        strv_push(&in->args, text);
                break;
        default:
                r = img_cf_fail(err, in->line, "unknown instruction");
        }
        if (r < 0)
                return r;
        in->canonical = canonical_text(in);
        return 0;
}

int img_containerfile_expand_stage(ImgContainerfile *cf, size_t i, char *const *base_env, Error **err)
{
        ImgStage *stage;
        StageState st = { .cf = cf, .index = i };
        int r = 0;

        if (i >= cf->n_stages)
                return error_setf(err, EINVAL, "no stage %zu", i);
        stage = &cf->stages[i];
        st.env = strv_copy(base_env);
        strv_push(&st.shell, "/bin/sh");
        strv_push(&st.shell, "-c");
        for (size_t k = 0; k < stage->n_instrs && r >= 0; k++)
                r = parse_instr(&stage->instrs[k], &st, err);
        strv_free(st.args);
        strv_free(st.shell);
        if (r < 0) {
                strv_free(st.env);
                return r;
        }
        strv_free(stage->env);
        stage->env = st.env;
        return 0;
}

static void stage_done(ImgStage *s)
{
        for (size_t i = 0; i < s->n_instrs; i++) {
                instr_clear(&s->instrs[i]);
                free(s->instrs[i].raw);
        }
        free(s->instrs);
        free(s->base);
        free(s->name);
        free(s->platform);
        strv_free(s->env);
}

ImgContainerfile *img_containerfile_free(ImgContainerfile *cf)
{
        if (!cf)
                return NULL;
        for (size_t i = 0; i < cf->n_stages; i++)
                stage_done(&cf->stages[i]);
        free(cf->stages);
        strv_free(cf->global_args);
        strv_free(cf->build_args);
        free(cf);
        return NULL;
}

static ImgInstrKind kind_of(const char *word, size_t len)
{
        for (int k = 0; k < _IMG_INSTR_MAX; k++)
                if (strlen(kind_names[k]) == len && strncasecmp(word, kind_names[k], len) == 0)
                        return (ImgInstrKind)k;
        return (ImgInstrKind)-1;
}

static bool stage_name_valid(const char *n)
{
        if (!isalpha((unsigned char)*n))
                return false;
        for (; *n; n++)
                if (!isalnum((unsigned char)*n) && *n != '.' && *n != '_' && *n != '-')
                        return false;
        return true;
}

/* FROM [--platform=P] IMAGE [AS NAME], substituted with the global ARGs only. */
static int parse_from(ImgContainerfile *cf, unsigned line, const char *text, Error **err)
{
        const ImgVars vars = { .args = cf->global_args };
        _cleanup_strv_ char **words = NULL;
        _cleanup_free_ char *platform = NULL;
        ImgStage *s;
        size_t n;
        int r;

        for (;;) {
                _cleanup_free_ char *name = NULL, *value = NULL;
                if (!next_flag(&text, &name, &value))
                        break;
                if (strcmp(name, "platform") != 0 || !value)
                        return img_cf_fail(err, line, "FROM --%s is not supported", name);
                free(platform);
                platform = NULL;
                r = img_lex_one(value, &vars, cf->escape, line, &platform, err);
                if (r < 0)
                        return r;
        }
        r = img_lex_words(text, &vars, cf->escape, line, &words, err);
        if (r < 0)
                return r;
        n = strv_length(words);
        if (n == 0 || !*words[0])
                return img_cf_fail(err, line, "FROM needs an image");
        if (n != 1 && (n != 3 || strcasecmp(words[1], "AS") != 0))
                return img_cf_fail(err, line, "FROM takes IMAGE [AS NAME]");
        s = xappend(cf->stages, cf->n_stages);
        s->line = line;
        s->base = xstrdup(words[0]);
        s->platform = TAKE_PTR(platform);
        s->base_stage = -1;
        for (size_t i = 0; i + 1 < cf->n_stages; i++)
                if (cf->stages[i].name && strcasecmp(cf->stages[i].name, s->base) == 0)
                        s->base_stage = (int)i;
        if (n == 3) {
                for (char *c = words[2]; *c; c++)
                        *c = (char)tolower((unsigned char)*c);
                if (!stage_name_valid(words[2]))
                        return img_cf_fail(err, line, "stage name '%s': expected a letter then letters, digits, '.', '_', '-'",
                                    words[2]);
                for (size_t i = 0; i + 1 < cf->n_stages; i++)
                        if (cf->stages[i].name && strcmp(cf->stages[i].name, words[2]) == 0)
                                return img_cf_fail(err, line, "stage name '%s' is used twice", words[2]);
                s->name = xstrdup(words[2]);
        }
        return 0;
}

/* ARG before the first FROM: only FROM lines see it. */
static int parse_global_arg(ImgContainerfile *cf, unsigned line, const char *text, Error **err)
{
        StageState st = { .cf = cf, .index = SIZE_MAX, .args = cf->global_args };
        ImgInstr in = { .kind = IMG_INSTR_ARG, .line = line, .from_stage = -1 };
        const ImgVars vars = { .args = cf->global_args };
        int r;

        r = parse_arg(&in, text, &st, &vars, err);
        cf->global_args = st.args;
        instr_clear(&in);
        return r;
}

/* ---- lines ---- */

typedef struct Reader {
        const char *p, *end;
        unsigned line;
} Reader;

/* The next physical line, without its "\n" or "\r\n"; false at the end. */
static bool next_line(Reader *rd, const char **ret, size_t *ret_len)
{
        const char *nl;
        size_t len;

        if (rd->p >= rd->end)
                return false;
        nl = memchr(rd->p, '\n', (size_t)(rd->end - rd->p));
        len = nl ? (size_t)(nl - rd->p) : (size_t)(rd->end - rd->p);
        *ret = rd->p;
        rd->p += len + (nl ? 1 : 0);
        if (len > 0 && (*ret)[len - 1] == '\r')
                len--;
        *ret_len = len;
        rd->line++;
        return true;
}

/* "# key=value" at the top of the file: 1 with key (lowercased) and value; 0 if not one. */
static int directive(const char *l, size_t len, char **ret_key, char **ret_value)
{
        const char *p = l, *end = l + len, *k, *v, *ve;

        if (p >= end || *p++ != '#')
                return 0;
        while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        k = p;
        while (p < end && isalnum((unsigned char)*p))
                p++;
        if (p == k || !isalpha((unsigned char)*k))
                return 0;
        *ret_key = xstrndup(k, (size_t)(p - k));
        while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        if (p >= end || *p++ != '=') {
                *ret_key = mfree(*ret_key);
                return 0;
        }
        while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        v = p;
        ve = end;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
        for (char *c = *ret_key; *c; c++)
                *c = (char)tolower((unsigned char)*c);
        *ret_value = xstrndup(v, (size_t)(ve - v));
        return 1;
}

/* Parser directives: only before anything else (a comment, a blank line, an instruction). */
static int read_directives(Reader *rd, ImgContainerfile *cf, Error **err)
{
        bool seen_escape = false;

        for (;;) {
                _cleanup_free_ char *key = NULL, *value = NULL;
                Reader save = *rd;
                const char *l;
                size_t len;

                if (!next_line(rd, &l, &len))
                        return 0;
                if (!directive(l, len, &key, &value)) {
                        *rd = save;
                        return 0;
                }
                if (strcmp(key, "escape") == 0) {
                        if (seen_escape)
                                return img_cf_fail(err, rd->line, "only one escape directive is allowed");
                        if (strcmp(value, "\\") != 0 && strcmp(value, "`") != 0)
                                return img_cf_fail(err, rd->line, "escape directive '%s': expected '\\' or '`'", value);
                        cf->escape = value[0];
                        seen_escape = true;
                } else if (strcmp(key, "syntax") != 0 && strcmp(key, "check") != 0) {
                        /* An unknown directive is a comment, and ends the directives. */
                        return 0;
                }
        }
}

/* True if the line (without trailing blanks) ends in the escape char: it continues on the next. */
static bool continues(const char *l, size_t *len, char escape)
{
        size_t n = *len;

        while (n > 0 && (l[n - 1] == ' ' || l[n - 1] == '\t'))
                n--;
        if (n == 0 || l[n - 1] != escape)
                return false;
        *len = n - 1;
        return true;
}

static bool is_comment_or_blank(const char *l, size_t len)
{
        size_t i = 0;

        while (i < len && img_cf_is_blank(l[i]))
                i++;
        return i == len || l[i] == '#';
}

/* Reads one instruction: continuation lines joined (comments and blank lines among them skipped).
 * false at the end of the text. */
static bool next_instruction(Reader *rd, char escape, ImgBuf *out, unsigned *ret_line)
{
        const char *l;
        size_t len;

        do {
                if (!next_line(rd, &l, &len))
                        return false;
        } while (is_comment_or_blank(l, len));
        *ret_line = rd->line;
        while (len > 0 && img_cf_is_blank(*l))
                l++, len--;
        for (;;) {
                bool is_cont = continues(l, &len, escape);
                img_buf_put(out, l, len);
                if (!is_cont)
                        break;
                do {
                        if (!next_line(rd, &l, &len))
                                return true;
                } while (is_comment_or_blank(l, len));
        }
        return true;
}

static int add_instruction(ImgContainerfile *cf, unsigned line, const char *text, Error **err)
{
        const char *rest = text;
        ImgInstrKind kind;
        ImgStage *s;
        ImgInstr *in;
        size_t wlen, tlen;

        while (*rest && !img_cf_is_blank(*rest))
                rest++;
        wlen = (size_t)(rest - text);
        rest = img_cf_skip_blanks(rest);
        tlen = strlen(rest);
        while (tlen > 0 && img_cf_is_blank(rest[tlen - 1]))
                tlen--;
        if (wlen == 4 && strncasecmp(text, "FROM", 4) == 0) {
                _cleanup_free_ char *t = xstrndup(rest, tlen);
                return parse_from(cf, line, t, err);
        }
        kind = kind_of(text, wlen);
        if ((int)kind < 0)
                return img_cf_fail(err, line, "unknown instruction '%.*s'", (int)(wlen > 40 ? 40 : wlen), text);
        if (cf->n_stages == 0) {
                _cleanup_free_ char *t = xstrndup(rest, tlen);
                if (kind != IMG_INSTR_ARG)
                        return img_cf_fail(err, line, "%s before the first FROM", img_instr_kind_name(kind));
                return parse_global_arg(cf, line, t, err);
        }
        if (kind == IMG_INSTR_RUN || kind == IMG_INSTR_COPY || kind == IMG_INSTR_ADD) {
                /* Checked now, before the heredoc's body lines are taken for instructions. */
                const char *p = rest;
                while (strncmp(p, "--", 2) == 0) {
                        while (*p && !img_cf_is_blank(*p))
                                p++;
                        p = img_cf_skip_blanks(p);
                }
                if (strncmp(p, "<<", 2) == 0)
                        return img_cf_fail(err, line, "%s: heredocs are not supported", img_instr_kind_name(kind));
        }
        s = &cf->stages[cf->n_stages - 1];
        in = xappend(s->instrs, s->n_instrs);
        in->kind = kind;
        in->line = line;
        in->raw = xstrndup(rest, tlen);
        in->from_stage = -1;
        return 0;
}

int img_containerfile_parse(const char *text, size_t len, char *const *build_args, ImgContainerfile **ret,
                            Error **err)
{
        _cleanup_(img_containerfile_freep) ImgContainerfile *cf = xnew0(ImgContainerfile, 1);
        Reader rd = { .p = text, .end = text + len };
        const char *nul;
        int r;

        cf->escape = '\\';
        cf->build_args = strv_copy(build_args);
        nul = memchr(text, 0, len);
        if (nul) {
                unsigned line = 1;
                for (const char *c = text; c < nul; c++)
                        line += *c == '\n';
                return img_cf_fail(err, line, "NUL byte in the text");
        }
        if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
                rd.p += 3;
        r = read_directives(&rd, cf, err);
        if (r < 0)
                return r;
        for (;;) {
                ImgBuf b = { 0 };
                unsigned line;

                if (!next_instruction(&rd, cf->escape, &b, &line)) {
                        img_buf_done(&b);
                        break;
                }
                r = add_instruction(cf, line, b.s ? b.s : "", err);
                img_buf_done(&b);
                if (r < 0)
                        return r;
        }
        if (cf->n_stages == 0)
                return error_setf(err, EINVAL, "Containerfile: no FROM instruction");
        for (size_t i = 0; i < cf->n_stages; i++) {
                int base = cf->stages[i].base_stage;
                r = img_containerfile_expand_stage(cf, i, base >= 0 ? cf->stages[base].env : NULL, err);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(cf);
        return 0;
}
