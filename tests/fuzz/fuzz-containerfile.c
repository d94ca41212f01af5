/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-containerfile.c: libFuzzer target for Containerfiles (parse, then re-expand) and ignore files */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "image/containerfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every string the parser produced, so a dangling or unterminated one shows under ASan. */
static size_t touch(char *const *v)
{
        size_t n = 0;
        for (size_t i = 0; v && v[i]; i++)
                n += strlen(v[i]);
        return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static char *const build_args[] = { "A=1", "TAG=x y", "EMPTY=", NULL };
        static char *const base_env[] = { "PATH=/usr/bin:/bin", "HOME=/root", "A=base", NULL };
        static const char *const paths[] = { "a", "a/b/c", ".git", "node_modules/x", "x.log", "docs/keep" };
        _cleanup_(img_containerfile_freep) ImgContainerfile *cf = NULL;
        _cleanup_(img_ignore_freep) ImgIgnore *ig = NULL;
        _cleanup_error_ Error *err = NULL;
        volatile size_t sink = 0;

        /* The parser takes a length, so the input needs no NUL and may hold NULs. */
        if (img_containerfile_parse((const char *)data, size, build_args, &cf, &err) >= 0) {
                for (size_t i = 0; i < cf->n_stages; i++) {
                        const ImgStage *s = &cf->stages[i];
                        (void)img_containerfile_expand_stage(cf, i, base_env, NULL);
                        sink += strlen(s->base) + touch(s->env);
                        for (size_t k = 0; k < s->n_instrs; k++)
                                sink += strlen(s->instrs[k].canonical) + touch(s->instrs[k].args) +
                                        touch(s->instrs[k].argv) + touch(s->instrs[k].build_env);
                }
        }
        /* The same bytes as an ignore file. */
        ig = img_ignore_parse((const char *)data, size);
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
                sink += img_ignore_match(ig, paths[i]);
        (void)sink;
        return 0;
}
