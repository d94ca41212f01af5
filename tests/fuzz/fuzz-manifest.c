/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-manifest.c: libFuzzer target for registry documents: index, manifest and config parsers, and rebuilding */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "image/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the builders make of a parsed document must parse again. */
static void rebuild(json_t *j, int (*parse)(const char *, size_t, void **, Error **), void (*free_fn)(void *))
{
        _cleanup_free_ char *text = json_dump_compact(j);
        void *again = NULL;

        if (parse(text, strlen(text), &again, NULL) < 0)
                abort();
        free_fn(again);
}

static int parse_index(const char *b, size_t n, void **ret, Error **err)
{
        return img_index_parse(b, n, (ImgIndex **)ret, err);
}
static int parse_manifest(const char *b, size_t n, void **ret, Error **err)
{
        return img_manifest_parse(b, n, (ImgManifest **)ret, err);
}
static int parse_config(const char *b, size_t n, void **ret, Error **err)
{
        return img_config_parse(b, n, (ImgConfig **)ret, err);
}
static void free_index(void *p)
{
        img_index_free(p);
}
static void free_manifest(void *p)
{
        img_manifest_free(p);
}
static void free_config(void *p)
{
        img_config_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *buf = (const char *)data, *type = NULL;
        _cleanup_(img_index_freep) ImgIndex *index = NULL;
        _cleanup_(img_manifest_freep) ImgManifest *m = NULL;
        _cleanup_(img_config_freep) ImgConfig *c = NULL;
        _cleanup_error_ Error *err = NULL;
        json_t *j = NULL;

        /* Bytes as a registry sends them: no NUL terminator, maybe NULs inside. */
        (void)img_document_media_type(buf, size, NULL, &type, &err);
        err = error_free(err);
        if (img_index_parse(buf, size, &index, &err) == 0) {
                const ImgDescriptor *d;
                (void)img_index_select(index, "linux/arm64/v8", &d, NULL);
                if (img_index_to_json(index, &j, NULL) < 0)
                        abort();
                rebuild(j, parse_index, free_index);
                j = json_decref_null(j);
        }
        err = error_free(err);
        if (img_manifest_parse(buf, size, &m, &err) == 0) {
                for (size_t i = 0; i < m->n_layers; i++)
                        (void)img_layer_compression(m->layers[i].media_type, NULL);
                if (img_manifest_to_json(m, &j, NULL) < 0)
                        abort();
                rebuild(j, parse_manifest, free_manifest);
                j = json_decref_null(j);
        }
        err = error_free(err);
        if (img_config_parse(buf, size, &c, &err) == 0) {
                if (img_config_to_json(c, &j, NULL) < 0)
                        abort();
                rebuild(j, parse_config, free_config);
                j = json_decref_null(j);
        }
        return 0;
}
