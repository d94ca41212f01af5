/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* containerfile.h: Containerfile/Dockerfile parsing, ignore-file patterns, COPY source lookup */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include "common/error.h"

typedef enum ImgInstrKind {
        IMG_INSTR_RUN,
        IMG_INSTR_COPY,
        IMG_INSTR_ADD,
        IMG_INSTR_ENV,
        IMG_INSTR_ARG,
        IMG_INSTR_WORKDIR,
        IMG_INSTR_USER,
        IMG_INSTR_CMD,
        IMG_INSTR_ENTRYPOINT,
        IMG_INSTR_EXPOSE,
        IMG_INSTR_LABEL,
        IMG_INSTR_SHELL,
        IMG_INSTR_STOPSIGNAL,
        IMG_INSTR_VOLUME,
        IMG_INSTR_HEALTHCHECK,
        IMG_INSTR_ONBUILD,
        IMG_INSTR_MAINTAINER,
        _IMG_INSTR_MAX,
} ImgInstrKind;

/*
 * One instruction of a stage, after variable substitution. What args holds depends on the kind:
 *   RUN, CMD, ENTRYPOINT   the exec-form array, or one element: the shell-form text as written
 *   COPY, ADD              the sources (dest apart)
 *   ENV, LABEL             "KEY=value" pairs, in order
 *   ARG                    "NAME=value" (default or build arg) or "NAME" when it has no value
 *   WORKDIR, USER, STOPSIGNAL, MAINTAINER   one element
 *   EXPOSE                 "PORT/PROTO" (or "LOW-HIGH/PROTO"), the protocol defaulting to tcp
 *   VOLUME                 the paths
 *   SHELL                  the shell's argv
 *   HEALTHCHECK            "NONE", or the check's command as for CMD (options in opts)
 *   ONBUILD                one element: the trigger instruction's text, unparsed
 * HEALTHCHECK, ONBUILD and MAINTAINER are recorded, not acted on by the parser.
 */
typedef struct ImgInstr {
        ImgInstrKind kind;
        unsigned line;       /* first line of the instruction in the file, from 1 */
        char *raw;           /* the arguments as written, continuations joined: re-expanded by expand_stage */
        char **args;
        bool is_exec_form;   /* RUN, CMD, ENTRYPOINT, HEALTHCHECK: args came from a JSON array */
        char **argv;         /* same kinds: the command to run: args, or the SHELL in effect + the text */
        char *dest;          /* COPY, ADD: the destination as written (relative to WORKDIR if not absolute) */
        char *chown;         /* COPY, ADD: --chown=USER[:GROUP], else NULL */
        char *chmod;         /* COPY, ADD: --chmod=OCTAL, else NULL */
        char *from;          /* COPY: --from=STAGE|INDEX|IMAGE, else NULL */
        int from_stage;      /* COPY --from naming an earlier stage: its index; otherwise -1 */
        char **opts;         /* HEALTHCHECK: "--interval=30s"..., as given */
        char **build_env;    /* RUN: the ARG values in scope that no ENV hides, "K=V", for its environment */
        char *canonical;     /* a stable text of everything above that matters, for the build cache key */
} ImgInstr;

typedef struct ImgStage {
        unsigned line;     /* of its FROM */
        char *base;        /* the FROM image after substitution, or "scratch" */
        char *name;        /* AS name, lowercased, or NULL */
        char *platform;    /* FROM --platform, or NULL */
        int base_stage;    /* the earlier stage whose name base is, or -1 */
        ImgInstr *instrs;
        size_t n_instrs;
        char **env;        /* the ENV in effect at the end of the stage (base env + its ENV lines) */
} ImgStage;

typedef struct ImgContainerfile {
        ImgStage *stages;
        size_t n_stages;
        char **global_args; /* ARGs before the first FROM, as for ARG above: only FROM lines see them */
        char **build_args;  /* a copy of the build args given to parse */
        char escape;        /* '\\' or '`' (the "# escape=" directive) */
} ImgContainerfile;

/*
 * Parses a Containerfile of len bytes (no NUL needed). build_args ("K=V", may be NULL) override
 * ARG defaults. Variables are substituted as Docker does (ENV values, ARG, WORKDIR, COPY/ADD
 * paths and --chown/--chmod/--from, USER, EXPOSE, LABEL, FROM, STOPSIGNAL, VOLUME); RUN, CMD,
 * ENTRYPOINT are left to the shell. A stage built FROM an image starts from an empty environment
 * here: once the base image's config is known, img_containerfile_expand_stage() redoes it.
 * Errors are EINVAL, "Containerfile line N: ...". *ret is owned by the caller.
 */
int img_containerfile_parse(const char *text, size_t len, char *const *build_args, ImgContainerfile **ret,
                            Error **err);

/*
 * Substitutes stage i's instructions again, starting from base_env ("K=V", the base image's
 * config Env): `ENV PATH=/x:$PATH` needs it. Rebuilds args/argv/canonical... of every instruction
 * of the stage and stage->env. A stage FROM an earlier stage already starts from that stage's env,
 * so this is for stages FROM an image; later stages built on this one are not redone.
 */
int img_containerfile_expand_stage(ImgContainerfile *cf, size_t i, char *const *base_env, Error **err);

ImgContainerfile *img_containerfile_free(ImgContainerfile *cf);
DEFINE_CLEANUP_FUNC(ImgContainerfile *, img_containerfile_free)

/* "RUN", "COPY", ... */
const char *img_instr_kind_name(ImgInstrKind kind);

/* ---- the build context (ignore.c) ---- */

/* Patterns of a .containerignore/.dockerignore: Go filepath.Match globs per path component,
 * "**" for any number of components, "!" for exceptions; the last matching line decides. */
typedef struct ImgIgnore ImgIgnore;

/* Parses ignore-file text: one pattern a line, '#' comments and blank lines skipped, each pattern
 * cleaned like a path (leading '/', "./" and "a/.." dropped). A pattern that climbs out of the
 * context ("../x") matches nothing and is dropped. Never fails. */
ImgIgnore *img_ignore_parse(const char *text, size_t len);
/* Reads context_fd's .containerignore, else its .dockerignore; with neither, an empty set. */
int img_ignore_load(int context_fd, ImgIgnore **ret, Error **err);
/* True if path (relative to the context, '/'-separated) or one of its parent directories is
 * excluded. ig may be NULL (nothing is). */
bool img_ignore_match(const ImgIgnore *ig, const char *path);
/* img_ignore_match() in the shape of ImgDiffOptions.is_skipped, with the ImgIgnore as userdata. */
bool img_ignore_is_skipped(const char *path, void *ig);
/* True if any pattern is an exception: an excluded directory may then still hold included files. */
bool img_ignore_has_exceptions(const ImgIgnore *ig);
ImgIgnore *img_ignore_free(ImgIgnore *ig);
DEFINE_CLEANUP_FUNC(ImgIgnore *, img_ignore_free)

/* Lexically cleans a '/'-separated path relative to the context ("." and "a/.." dropped, "" for the
 * context itself) into *ret, owned by the caller. False, *ret untouched, if it climbs above its start. */
bool img_context_clean_path(const char *path, char **ret);

/*
 * Expands one COPY/ADD source inside the build context context_fd: src is relative to the context
 * (a leading '/' too) and may hold globs in any component. *ret_paths gets the matching paths,
 * cleaned, relative to the context ("." for the context itself), sorted, none excluded by ig.
 * Refused with EINVAL: a source that climbs out ("../x") or whose path leads out through a
 * symlink. ENOENT when nothing matches. Blocks on the file system only.
 */
int img_context_resolve(int context_fd, const char *src, const ImgIgnore *ig, char ***ret_paths, Error **err);
