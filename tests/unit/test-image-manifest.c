/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-image-manifest.c: indexes, manifests and configs: parsing, refusal with the field named, rebuilding */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/alloc.h"
#include "common/json.h"
#include "common/strv.h"
#include "image/manifest.h"

#define DA "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DB "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DC "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

#define DESC(type, digest, size) "{\"mediaType\":\"" type "\",\"digest\":\"" digest "\",\"size\":" #size
#define OCI_MANIFEST                                                                                     \
        "{\"schemaVersion\":2,\"mediaType\":\"" IMG_MEDIA_OCI_MANIFEST "\",\"config\":" DESC(            \
                IMG_MEDIA_OCI_CONFIG, DA, 100) "},\"layers\":[" DESC(IMG_MEDIA_OCI_LAYER_GZIP, DB, 2000) \
                "},"                                                                                     \
                DESC(IMG_MEDIA_OCI_LAYER_ZSTD, DC, 3000) ",\"annotations\":{\"k\":\"v\"}}],"             \
                "\"annotations\":{\"org.example\":\"kept\"}}"

static const char config_text[] =
        "{\"architecture\":\"arm64\",\"variant\":\"v8\",\"os\":\"linux\",\"created\":\"2024-01-02T03:04:05Z\","
        "\"config\":{\"Env\":[\"PATH=/usr/bin\",\"A=1\"],\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":null,"
        "\"WorkingDir\":\"/w\",\"User\":\"1000:1000\",\"StopSignal\":\"SIGTERM\","
        "\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{}},\"Labels\":{\"a\":\"b\",\"c\":\"d=e\"},"
        "\"Volumes\":{\"/data\":{}}},"
        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DA "\",\"" DB "\"]},"
        "\"history\":[{\"created_by\":\"ADD x\",\"created\":\"2024-01-01T00:00:00Z\"},"
        "{\"created_by\":\"ENV A=1\",\"empty_layer\":true,\"comment\":\"c\"}],"
        "\"unknown\":{\"kept\":[1,2,3]}}";

static const char index_text[] =
        "{\"schemaVersion\":2,\"mediaType\":\"" IMG_MEDIA_DOCKER_LIST "\",\"manifests\":["
        DESC(IMG_MEDIA_DOCKER_MANIFEST, DA, 10) ",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
        DESC(IMG_MEDIA_DOCKER_MANIFEST, DB, 11) ",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
        DESC(IMG_MEDIA_DOCKER_MANIFEST, DC, 12) ",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
        DESC(IMG_MEDIA_OCI_MANIFEST, DA, 13) ",\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}}"
        "]}";

static void test_manifest(void **state)
{
        _cleanup_(img_manifest_freep) ImgManifest *m = NULL;
        _cleanup_error_ Error *e = NULL;

        assert_int_equal(img_manifest_parse(OCI_MANIFEST, strlen(OCI_MANIFEST), &m, &e), 0);
        assert_string_equal(m->media_type, IMG_MEDIA_OCI_MANIFEST);
        assert_string_equal(m->config.digest, DA);
        assert_int_equal(m->config.size, 100);
        assert_int_equal(m->n_layers, 2);
        assert_string_equal(m->layers[1].digest, DC);
        assert_int_equal(m->layers[1].size, 3000);
        assert_string_equal(json_string_value(json_object_get(m->layers[1].annotations, "k")), "v");
        assert_int_equal(img_layer_compression(m->layers[0].media_type, &e), IMG_COMPRESSION_GZIP);
        assert_int_equal(img_layer_compression(m->layers[1].media_type, &e), IMG_COMPRESSION_ZSTD);
        m = img_manifest_free(m);

        /* Docker schema 2, and an OCI manifest that names no media type. */
        static const char docker[] = "{\"schemaVersion\":2,\"mediaType\":\"" IMG_MEDIA_DOCKER_MANIFEST "\","
                                     "\"config\":" DESC(IMG_MEDIA_DOCKER_CONFIG, DA, 1) "},"
                                     "\"layers\":[" DESC(IMG_MEDIA_DOCKER_LAYER, DB, 2) "}]}";
        assert_int_equal(img_manifest_parse(docker, strlen(docker), &m, &e), 0);
        assert_int_equal(img_layer_compression(m->layers[0].media_type, &e), IMG_COMPRESSION_GZIP);
        m = img_manifest_free(m);
        static const char bare[] = "{\"schemaVersion\":2,\"config\":" DESC("x", DA, 1) "},\"layers\":[]}";
        assert_int_equal(img_manifest_parse(bare, strlen(bare), &m, &e), 0);
        assert_null(m->media_type);
        assert_int_equal(m->n_layers, 0);
}

static void test_bad_documents(void **state)
{
        static const struct {
                int kind; /* 0 manifest, 1 index, 2 config */
                const char *doc, *msg;
        } table[] = {
                { 0, "", "manifest: line 1" },
                { 0, "[]", "manifest: expected a JSON object" },
                { 0, "{\"schemaVersion\":1}", "manifest: schemaVersion: expected 2" },
                { 0, "{\"config\":{}}", "manifest: schemaVersion: missing" },
                { 0, "{\"schemaVersion\":2,\"mediaType\":\"" IMG_MEDIA_OCI_INDEX "\"}", "is not an image manifest" },
                { 0, "{\"schemaVersion\":2,\"layers\":[]}", "manifest: config: missing" },
                { 0, "{\"schemaVersion\":2,\"config\":" DESC("x", DA, 1) "}}", "manifest: layers: missing" },
                { 0, "{\"schemaVersion\":2,\"config\":" DESC("x", DA, 1) "},\"layers\":{}}", "layers: expected an array" },
                { 0, "{\"schemaVersion\":2,\"config\":" DESC("x", "sha256:x", 1) "},\"layers\":[]}",
                  "manifest: config.digest: digest 'sha256:x'" },
                { 0, "{\"schemaVersion\":2,\"config\":" DESC("x", DA, -1) "},\"layers\":[]}", "config.size: expected a non-negative" },
                { 0, "{\"schemaVersion\":2,\"config\":" DESC("x", DA, 1) "},\"layers\":[" DESC("x", DB, 1) "}, 3]}",
                  "manifest: layers[1]: expected an object" },
                { 0, "{\"schemaVersion\":2,\"config\":" DESC("x", DA, 1) "},\"layers\":[{\"digest\":\"" DB "\",\"size\":1}]}",
                  "manifest: layers[0].mediaType: missing" },
                { 0, "{\"schemaVersion\":2,\"config\":" DESC("x", DA, 1) "},\"layers\":[{\"mediaType\":1}]}",
                  "layers[0].mediaType: expected a string" },
                { 0, "{\"schemaVersion\":2,\"config\":" DESC("x", DA, 1) "},\"layers\":[" DESC("x", DB, 1) ",\"annotations\":{\"a\":1}}]}",
                  "layers[0].annotations.a: expected a string" },
                { 0, "{\"schemaVersion\":2,\"config\":" DESC("x", DA, 1) "},\"layers\":[" DESC("x", DB, "1") "}]}",
                  "layers[0].size: expected" },
                { 1, "{\"schemaVersion\":2}", "index: manifests: missing" },
                { 1, "{\"schemaVersion\":2,\"mediaType\":\"" IMG_MEDIA_OCI_MANIFEST "\",\"manifests\":[]}", "is not an image index" },
                { 1, "{\"schemaVersion\":2,\"manifests\":[" DESC("x", DA, 1) ",\"platform\":{\"os\":\"linux\"}}]}",
                  "index: manifests[0].platform.architecture: missing" },
                { 1, "{\"schemaVersion\":2,\"manifests\":[" DESC("x", DA, 1) ",\"platform\":[]}]}", "manifests[0].platform: expected an object" },
                { 2, "{\"os\":\"linux\"}", "config: architecture: missing" },
                { 2, "{\"os\":\"linux\",\"architecture\":\"amd64\"}", "config: rootfs: missing" },
                { 2, "{\"os\":\"linux\",\"architecture\":\"amd64\",\"rootfs\":{\"type\":\"x\",\"diff_ids\":[]}}",
                  "config: rootfs.type: expected 'layers'" },
                { 2, "{\"os\":\"linux\",\"architecture\":\"amd64\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"x\"]}}",
                  "config: rootfs.diff_ids[0]: digest 'x'" },
                { 2, "{\"os\":\"linux\",\"architecture\":\"amd64\",\"rootfs\":{\"type\":\"layers\"}}", "rootfs.diff_ids: missing" },
                { 2, "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{\"Env\":\"A=1\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
                  "config: config.Env: expected an array" },
                { 2, "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{\"Cmd\":[1]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
                  "config: config.Cmd[0]: expected a string" },
                { 2, "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{\"Labels\":{\"a\":2}},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
                  "config: config.Labels.a: expected a string" },
                { 2, "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{\"ExposedPorts\":[]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
                  "config.ExposedPorts: expected an object" },
                { 2, "{\"os\":\"linux\",\"architecture\":\"amd64\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"history\":[{\"empty_layer\":1}]}",
                  "config: history[0].empty_layer: expected a boolean" },
                { 2, "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":[],\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
                  "config: config: expected an object" },
        };

        for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
                _cleanup_error_ Error *e = NULL;
                size_t len = strlen(table[i].doc);
                int k;

                if (table[i].kind == 0) {
                        ImgManifest *m = NULL;
                        k = img_manifest_parse(table[i].doc, len, &m, &e);
                        assert_null(m);
                } else if (table[i].kind == 1) {
                        ImgIndex *x = NULL;
                        k = img_index_parse(table[i].doc, len, &x, &e);
                        assert_null(x);
                } else {
                        ImgConfig *c = NULL;
                        k = img_config_parse(table[i].doc, len, &c, &e);
                        assert_null(c);
                }
                if (k != -EBADMSG)
                        fail_msg("case %zu: got %d (%s)", i, k, e ? e->msg : "");
                if (!strstr(e->msg, table[i].msg))
                        fail_msg("case %zu: '%s' not in '%s'", i, table[i].msg, e->msg);
        }
}

static void test_media_types(void **state)
{
        static const char oci_index[] = "{\"schemaVersion\":2,\"manifests\":[]}";
        static const char oci_manifest[] = "{\"schemaVersion\":2,\"layers\":[]}";
        static const char typed[] = "{\"schemaVersion\":2,\"mediaType\":\"" IMG_MEDIA_DOCKER_MANIFEST "\"}";
        _cleanup_error_ Error *e = NULL;
        const char *t = NULL;

        assert_int_equal(img_document_media_type(typed, strlen(typed), NULL, &t, &e), 0);
        assert_string_equal(t, IMG_MEDIA_DOCKER_MANIFEST);
        assert_int_equal(img_document_media_type(oci_index, strlen(oci_index), NULL, &t, &e), 0);
        assert_string_equal(t, IMG_MEDIA_OCI_INDEX);
        assert_int_equal(img_document_media_type(oci_manifest, strlen(oci_manifest), NULL, &t, &e), 0);
        assert_string_equal(t, IMG_MEDIA_OCI_MANIFEST);
        /* Without a mediaType field, the Content-Type decides (parameters ignored). */
        assert_int_equal(img_document_media_type(oci_manifest, strlen(oci_manifest),
                                                 IMG_MEDIA_DOCKER_MANIFEST "; charset=utf-8", &t, &e), 0);
        assert_string_equal(t, IMG_MEDIA_DOCKER_MANIFEST);
        /* A document that says it is a manifest, served as an index. */
        assert_int_equal(img_document_media_type(typed, strlen(typed), IMG_MEDIA_OCI_INDEX, &t, &e), -EBADMSG);
        assert_non_null(strstr(e->msg, "disagrees"));
        e = error_free(e);
        assert_int_equal(img_document_media_type("{\"schemaVersion\":1,\"fsLayers\":[]}", 33, NULL, &t, &e),
                         -EOPNOTSUPP);
        e = error_free(e);
        assert_int_equal(img_document_media_type("{}", 2, "application/vnd.docker.distribution.manifest.v1+prettyjws",
                                                 &t, &e), -EOPNOTSUPP);
        e = error_free(e);
        assert_int_equal(img_document_media_type("{\"a\":1}", 7, "application/json", &t, &e), -EBADMSG);
        e = error_free(e);
        assert_int_equal(img_document_media_type("{\"mediaType\":\"text/html\"}", 25, NULL, &t, &e), -EBADMSG);
        assert_non_null(strstr(e->msg, "'text/html'"));
        e = error_free(e);

        assert_true(img_media_type_is_index(IMG_MEDIA_OCI_INDEX));
        assert_true(img_media_type_is_index(IMG_MEDIA_DOCKER_LIST));
        assert_false(img_media_type_is_index(IMG_MEDIA_OCI_MANIFEST));
        assert_false(img_media_type_is_index(NULL));
        assert_true(img_media_type_is_manifest(IMG_MEDIA_DOCKER_MANIFEST));
        assert_false(img_media_type_is_manifest(IMG_MEDIA_DOCKER_LIST));
        assert_int_equal(img_layer_compression(IMG_MEDIA_OCI_LAYER, &e), IMG_COMPRESSION_NONE);
        assert_int_equal(img_layer_compression("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", &e),
                         IMG_COMPRESSION_GZIP);
        assert_int_equal(img_layer_compression(IMG_MEDIA_DOCKER_FOREIGN_LAYER, &e), IMG_COMPRESSION_GZIP);
        assert_int_equal(img_layer_compression(IMG_MEDIA_OCI_CONFIG, &e), -EOPNOTSUPP);
        assert_non_null(strstr(e->msg, IMG_MEDIA_OCI_CONFIG));
}

static void test_index_select(void **state)
{
        _cleanup_(img_index_freep) ImgIndex *x = NULL;
        _cleanup_error_ Error *e = NULL;
        const ImgDescriptor *d = NULL;
        static const struct {
                const char *platform, *digest;
                int64_t size;
        } table[] = {
                { "linux/amd64", DA, 10 },   { "linux/x86_64", DA, 10 },   { "linux/arm64", DB, 11 },
                { "linux/arm64/v8", DB, 11 }, { "linux/aarch64", DB, 11 }, { "linux/arm/v7", DC, 12 },
                { "linux/arm", DC, 12 },
        };

        assert_int_equal(img_index_parse(index_text, strlen(index_text), &x, &e), 0);
        assert_string_equal(x->media_type, IMG_MEDIA_DOCKER_LIST);
        assert_int_equal(x->n_manifests, 4);
        assert_true(x->manifests[1].has_platform);
        assert_string_equal(x->manifests[1].platform.variant, "v8");
        for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
                if (img_index_select(x, table[i].platform, &d, &e) < 0)
                        fail_msg("'%s': %s", table[i].platform, e->msg);
                assert_string_equal(d->digest, table[i].digest);
                assert_int_equal(d->size, table[i].size);
        }
        assert_int_equal(img_index_select(x, "linux/arm/v6", &d, &e), -ENOENT);
        assert_non_null(strstr(e->msg, "'linux/arm/v6'"));
        assert_non_null(strstr(e->msg, "linux/amd64, linux/arm64/v8, linux/arm/v7, unknown/unknown"));
        e = error_free(e);
        assert_int_equal(img_index_select(x, "windows/amd64", &d, &e), -ENOENT);
        e = error_free(e);
        assert_int_equal(img_index_select(x, "linux", &d, &e), -EINVAL);
        e = error_free(e);
        assert_int_equal(img_index_select(x, "linux/amd64/v1/x", &d, &e), -EINVAL);
        e = error_free(e);
        assert_int_equal(img_index_select(x, "/amd64", &d, &e), -EINVAL);
}

static void test_config_round_trip(void **state)
{
        _cleanup_(img_config_freep) ImgConfig *c = NULL, *again = NULL;
        _cleanup_(img_manifest_freep) ImgManifest *m = NULL;
        _cleanup_error_ Error *e = NULL;
        _cleanup_json_ json_t *j = NULL;
        _cleanup_free_ char *text = NULL;

        assert_int_equal(img_config_parse(config_text, strlen(config_text), &c, &e), 0);
        assert_string_equal(c->platform.os, "linux");
        assert_string_equal(c->platform.architecture, "arm64");
        assert_string_equal(c->platform.variant, "v8");
        assert_string_equal(c->created, "2024-01-02T03:04:05Z");
        assert_int_equal(strv_length(c->env), 2);
        assert_string_equal(strv_env_get(c->env, "PATH"), "/usr/bin");
        assert_string_equal(c->entrypoint[1], "-c");
        assert_null(c->cmd);
        assert_string_equal(c->working_dir, "/w");
        assert_string_equal(c->user, "1000:1000");
        assert_string_equal(c->stop_signal, "SIGTERM");
        assert_true(strv_contains(c->exposed_ports, "80/tcp"));
        assert_true(strv_contains(c->exposed_ports, "53/udp"));
        assert_true(strv_contains(c->labels, "c=d=e"));
        assert_int_equal(strv_length(c->diff_ids), 2);
        assert_int_equal(c->n_history, 2);
        assert_true(c->history[1].empty_layer);
        assert_string_equal(c->history[1].comment, "c");

        /* Changed, rebuilt and parsed again: the change is there, unknown fields survived. */
        strv_env_set(&c->env, "B=2");
        c->cmd = strv_free(c->cmd);
        strv_push(&c->cmd, "echo");
        c->working_dir = mfree(c->working_dir);
        assert_int_equal(img_config_to_json(c, &j, &e), 0);
        text = json_dump_compact(j);
        assert_int_equal(img_config_parse(text, strlen(text), &again, &e), 0);
        assert_string_equal(strv_env_get(again->env, "B"), "2");
        assert_string_equal(again->cmd[0], "echo");
        assert_null(again->working_dir);
        assert_true(strv_contains(again->labels, "a=b"));
        assert_true(strv_contains(again->exposed_ports, "80/tcp"));
        assert_int_equal(again->n_history, 2);
        assert_true(again->history[1].empty_layer);
        assert_non_null(json_object_get(json_object_get(again->json, "unknown"), "kept"));
        assert_non_null(json_object_get(json_object_get(json_object_get(again->json, "config"), "Volumes"), "/data"));

        /* The helper for the caller's check: 2 diff_ids, 2 layers. */
        assert_int_equal(img_manifest_parse(OCI_MANIFEST, strlen(OCI_MANIFEST), &m, &e), 0);
        assert_int_equal(img_manifest_check_config(m, again, &e), 0);
        strv_push(&again->diff_ids, DC);
        assert_int_equal(img_manifest_check_config(m, again, &e), -EBADMSG);
        assert_non_null(strstr(e->msg, "2 layers but its config 3 diff_ids"));
}

static void test_build(void **state)
{
        _cleanup_(img_manifest_freep) ImgManifest *m = NULL;
        _cleanup_(img_index_freep) ImgIndex *x = NULL;
        _cleanup_(img_config_freep) ImgConfig *c = NULL;
        _cleanup_json_ json_t *jm = NULL, *jx = NULL, *jc = NULL;
        _cleanup_free_ char *tm = NULL, *tx = NULL, *tc = NULL;
        _cleanup_error_ Error *e = NULL;
        ImgDescriptor layer = { .media_type = (char *)IMG_MEDIA_OCI_LAYER_GZIP, .digest = (char *)DB, .size = 5 };
        ImgDescriptor entry = { .media_type = (char *)IMG_MEDIA_OCI_MANIFEST,
                                .digest = (char *)DC,
                                .size = 7,
                                .has_platform = true,
                                .platform = { .os = (char *)"linux", .architecture = (char *)"amd64" } };
        ImgManifest nm = { .config = { .media_type = (char *)IMG_MEDIA_OCI_CONFIG, .digest = (char *)DA, .size = 3 },
                           .layers = &layer,
                           .n_layers = 1 };
        ImgIndex nx = { .manifests = &entry, .n_manifests = 1 };
        ImgConfig nc = { .platform = { .os = (char *)"linux", .architecture = (char *)"amd64" } };
        const ImgDescriptor *d;

        /* From scratch: the OCI media types and the required fields are filled in. */
        assert_int_equal(img_manifest_to_json(&nm, &jm, &e), 0);
        tm = json_dump_compact(jm);
        assert_int_equal(img_manifest_parse(tm, strlen(tm), &m, &e), 0);
        assert_string_equal(m->media_type, IMG_MEDIA_OCI_MANIFEST);
        assert_string_equal(m->layers[0].digest, DB);
        assert_int_equal(img_index_to_json(&nx, &jx, &e), 0);
        tx = json_dump_compact(jx);
        assert_int_equal(img_index_parse(tx, strlen(tx), &x, &e), 0);
        assert_int_equal(img_index_select(x, "linux/amd64", &d, &e), 0);
        assert_string_equal(d->digest, DC);
        assert_int_equal(img_config_to_json(&nc, &jc, &e), 0);
        tc = json_dump_compact(jc);
        assert_int_equal(img_config_parse(tc, strlen(tc), &c, &e), 0);
        assert_int_equal(strv_length(c->diff_ids), 0);

        /* A parsed manifest rebuilt as it is gives the same document, annotations included. */
        m = img_manifest_free(m);
        jm = json_decref_null(jm);
        assert_int_equal(img_manifest_parse(OCI_MANIFEST, strlen(OCI_MANIFEST), &m, &e), 0);
        assert_int_equal(img_manifest_to_json(m, &jm, &e), 0);
        assert_true(json_equal(jm, m->json));

        /* Not UTF-8: refused with the field named. */
        ImgConfig bad = { .platform = { .os = (char *)"linux", .architecture = (char *)"amd64" },
                          .env = (char *[]){ (char *)"A=\xff", NULL } };
        jc = json_decref_null(jc);
        assert_int_equal(img_config_to_json(&bad, &jc, &e), -EINVAL);
        assert_non_null(strstr(e->msg, "Env[0]"));
        assert_null(jc);
}

static void test_platform(void **state)
{
        _cleanup_(img_platform_done) ImgPlatform p = {};
        _cleanup_free_ char *s = NULL;
        _cleanup_error_ Error *e = NULL;

        assert_int_equal(img_platform_parse("linux/arm64/v8", &p, &e), 0);
        assert_string_equal(p.os, "linux");
        assert_string_equal(p.architecture, "arm64");
        assert_string_equal(p.variant, "v8");
        s = img_platform_to_string(&p);
        assert_string_equal(s, "linux/arm64/v8");
        img_platform_done(&p);
        assert_int_equal(img_platform_parse("linux/", &p, &e), -EINVAL);
        assert_non_null(strstr(e->msg, "platform 'linux/'"));
        e = error_free(e);
        assert_int_equal(img_platform_parse("linux/amd64/", &p, &e), -EINVAL);
        e = error_free(e);
        assert_int_equal(img_platform_parse("linux//x", &p, &e), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_manifest),     cmocka_unit_test(test_bad_documents),
                cmocka_unit_test(test_media_types),  cmocka_unit_test(test_index_select),
                cmocka_unit_test(test_config_round_trip), cmocka_unit_test(test_build),
                cmocka_unit_test(test_platform),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
