/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-instance-db.c: hull.db on real SQLite in a temporary root: schema, images, layers, instances, locking */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/strv.h"
#include "instance/db.h"
#include "net/addr.h"

/* How many schema steps db.c has: the user_version of a database it opened. */
#define SCHEMA_STEPS 4
#define LAYER_MEDIA_TYPE "application/vnd.oci.image.layer.v1.tar+gzip"

typedef struct Fixture {
        char root[64];
        InstDb *db;
        InstDb *db2;         /* a second connection to the same file, where a test opens one */
        pthread_t thread;    /* a writer on db2, where a test starts one */
        bool has_thread;
} Fixture;

static int setup(void **state)
{
        Fixture *f = xnew0(Fixture, 1);
        Error *e = NULL;

        snprintf(f->root, sizeof(f->root), "/tmp/hull-db-test.XXXXXX");
        if (!mkdtemp(f->root)) {
                free(f);
                return -1;
        }
        *state = f;
        if (inst_db_open(f->root, &f->db, &e) < 0) {
                print_error("open: %s\n", e->msg);
                error_free(e);
                return -1;
        }
        return 0;
}

static int teardown(void **state)
{
        Fixture *f = *state;

        /* Closing db first rolls back what it holds, so a writer blocked behind it can finish. */
        f->db = inst_db_close(f->db);
        if (f->has_thread)
                pthread_join(f->thread, NULL);
        f->db2 = inst_db_close(f->db2);
        rm_rf_at(AT_FDCWD, f->root, NULL);
        free(f);
        return 0;
}

/* ---- helpers ---- */

/* 64 hex characters: prefix, then zeros. */
static char *hex64(const char *prefix)
{
        char *s = xmalloc(65);

        memset(s, '0', 64);
        s[64] = '\0';
        memcpy(s, prefix, strlen(prefix));
        return s;
}

static char *sha(const char *prefix)
{
        _cleanup_free_ char *h = hex64(prefix);
        return xasprintf("sha256:%s", h);
}

/* Layer n: diff_id sha256:f<n>0..., its blob sha256:b<n>0... */
static char *diff_id(int n)
{
        char p[16];
        snprintf(p, sizeof(p), "f%d", n);
        return sha(p);
}

static char *blob_of(int n)
{
        char p[16];
        snprintf(p, sizeof(p), "b%d", n);
        return sha(p);
}

static void put_layer(InstDb *db, int n)
{
        _cleanup_free_ char *d = diff_id(n), *b = blob_of(n);
        _cleanup_error_ Error *e = NULL;

        assert_int_equal(inst_db_layer_put(db, d, b, 1000 + n, &e), 1);
        assert_null(e);
}

/*
 * Records the image whose id is hex64(p): digest sha256:d<p>0..., manifest digest sha256:e<p>0...,
 * config digest sha256:<id>, over layers (numbers as for diff_id(), ended by 0).
 */
static void put_image(InstDb *db, const char *p, int64_t created, const int *layers)
{
        _cleanup_free_ char *id = hex64(p), *dp = xasprintf("d%s", p), *ep = xasprintf("e%s", p);
        _cleanup_free_ char *digest = sha(dp), *manifest = sha(ep), *config = xasprintf("sha256:%s", id);
        _cleanup_strv_ char **v = xnew0(char *, 1);
        _cleanup_error_ Error *e = NULL;
        InstImage img = {
                .id = id,
                .digest = digest,
                .manifest_digest = manifest,
                .config_digest = config,
                .size = 4096,
                .created = created,
        };

        for (size_t i = 0; layers && layers[i]; i++)
                strv_consume(&v, diff_id(layers[i]));
        img.layers = v;
        if (inst_db_image_put(db, &img, &e) < 0)
                fail_msg("put image '%s': %s", p, e->msg);
}

static void set_tag(InstDb *db, const char *name, const char *p)
{
        _cleanup_free_ char *id = hex64(p);
        _cleanup_error_ Error *e = NULL;

        if (inst_db_tag_set(db, name, id, &e) < 0)
                fail_msg("tag '%s': %s", name, e->msg);
}

/* The image key finds: its id's prefix up to the first '0' is p. */
static InstImage *find_image(InstDb *db, const char *key, const char *p)
{
        _cleanup_(inst_image_freep) InstImage *img = NULL;
        _cleanup_free_ char *id = hex64(p);
        _cleanup_error_ Error *e = NULL;

        if (inst_db_image_find(db, key, &img, &e) < 0)
                fail_msg("find image '%s': %s", key, e->msg);
        assert_null(e);
        assert_string_equal(img->id, id);
        return TAKE_PTR(img);
}

static void assert_image_error(InstDb *db, const char *key, int code, const char *in_msg)
{
        _cleanup_(inst_image_freep) InstImage *img = NULL;
        _cleanup_error_ Error *e = NULL;

        assert_int_equal(inst_db_image_find(db, key, &img, &e), -code);
        assert_null(img);
        assert_non_null(e);
        assert_int_equal(e->code, code);
        if (!strstr(e->msg, in_msg))
                fail_msg("find image '%s': '%s' does not say '%s'", key, e->msg, in_msg);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The strings of v, sorted, comma-separated: sets compare as strings. */
static char *sorted_csv(char *const *v)
{
        _cleanup_strv_ char **copy = strv_copy(v);
        _cleanup_free_ char *out = xstrdup("");
        size_t n = strv_length(copy);

        if (n > 0)
                qsort(copy, n, sizeof(char *), cmp_str);
        for (size_t i = 0; i < n; i++) {
                char *next = xasprintf("%s%s%s", out, i ? "," : "", copy[i]);
                free(out);
                out = next;
        }
        return TAKE_PTR(out);
}

/* Consumes the strings given (malloc'd, NULL-ended) into a strv. */
static char **strv_take(char *first, ...)
{
        char **v = xnew0(char *, 1);
        va_list ap;

        va_start(ap, first);
        for (char *s = first; s; s = va_arg(ap, char *))
                strv_consume(&v, s);
        va_end(ap);
        return v;
}

static void assert_strv_set(char *const *got, char *const *want)
{
        _cleanup_free_ char *g = sorted_csv(got), *w = sorted_csv(want);
        assert_string_equal(g, w);
}

/* One integer from a query on hull.db through a connection of its own. */
static int64_t raw_int(const char *root, const char *sql)
{
        _cleanup_free_ char *path = xasprintf("%s/hull.db", root);
        sqlite3 *h = NULL;
        sqlite3_stmt *s = NULL;
        int64_t v;

        assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        v = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        sqlite3_close(h);
        return v;
}

static char *raw_text(const char *root, const char *sql)
{
        _cleanup_free_ char *path = xasprintf("%s/hull.db", root);
        sqlite3 *h = NULL;
        sqlite3_stmt *s = NULL;
        char *v;

        assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        v = xstrdup((const char *)sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
        sqlite3_close(h);
        return v;
}

static void raw_exec(const char *root, const char *sql)
{
        _cleanup_free_ char *path = xasprintf("%s/hull.db", root);
        sqlite3 *h = NULL;
        char *msg = NULL;

        assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
                fail_msg("%s: %s", sql, msg);
        sqlite3_close(h);
}

static void reopen(Fixture *f)
{
        _cleanup_error_ Error *e = NULL;

        f->db = inst_db_close(f->db);
        if (inst_db_open(f->root, &f->db, &e) < 0)
                fail_msg("reopen: %s", e->msg);
}

/* ---- schema ---- */

static void test_open_schema(void **state)
{
        Fixture *f = *state;
        _cleanup_(inst_image_freep) InstImage *img = NULL;
        _cleanup_free_ char *mode = NULL;
        _cleanup_error_ Error *e = NULL;
        InstDb *db = NULL;
        const int layers[] = { 1, 0 };

        assert_int_equal(raw_int(f->root, "PRAGMA user_version"), SCHEMA_STEPS);
        mode = raw_text(f->root, "PRAGMA journal_mode");
        assert_string_equal(mode, "wal");
        assert_int_equal(raw_int(f->root, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                                          "('images', 'tags', 'layers', 'image_layers', 'instances', "
                                          "'build_cache', 'networks', 'leases', 'ports', 'idmaps')"),
                         10);

        /* Reopening runs no step twice and keeps the records. */
        put_layer(f->db, 1);
        put_image(f->db, "abc1", 100, layers);
        set_tag(f->db, "docker.io/library/a:1", "abc1");
        reopen(f);
        assert_int_equal(raw_int(f->root, "PRAGMA user_version"), SCHEMA_STEPS);
        img = find_image(f->db, "docker.io/library/a:1", "abc1");
        assert_int_equal(strv_length(img->layers), 1);
        img = inst_image_free(img);

        /* A database of the first version gets the steps after it, its records kept. */
        f->db = inst_db_close(f->db);
        raw_exec(f->root, "DROP TABLE build_cache; DROP TABLE ports; DROP TABLE leases; DROP TABLE networks; "
                            "DROP TABLE idmaps; PRAGMA user_version = 1");
        reopen(f);
        assert_int_equal(raw_int(f->root, "PRAGMA user_version"), SCHEMA_STEPS);
        assert_int_equal(raw_int(f->root, "SELECT count(*) FROM sqlite_master WHERE name = 'build_cache'"), 1);
        img = find_image(f->db, "docker.io/library/a:1", "abc1");
        img = inst_image_free(img);

        /* One from a newer hull is refused, not downgraded. */
        f->db = inst_db_close(f->db);
        raw_exec(f->root, "PRAGMA user_version = 99");
        assert_int_equal(inst_db_open(f->root, &db, &e), -EPROTONOSUPPORT);
        assert_null(db);
        assert_non_null(strstr(e->msg, "schema version 99"));
        assert_int_equal(raw_int(f->root, "PRAGMA user_version"), 99);
        e = error_free(e);

        /* No directory, no database. */
        assert_true(inst_db_open("/nonexistent/hull-db-test", &db, &e) < 0);
        assert_null(db);
        assert_non_null(strstr(e->msg, "'/nonexistent/hull-db-test/hull.db'"));
}

/* ---- images ---- */

static void test_image_find(void **state)
{
        Fixture *f = *state;
        _cleanup_(inst_image_freep) InstImage *img = NULL;
        _cleanup_free_ char *id = hex64("abc1"), *full = xasprintf("sha256:%s", id);
        _cleanup_free_ char *digest = sha("dabc1"), *manifest = sha("eabc1"), *def_id = hex64("def");
        _cleanup_strv_ char **layers = strv_take(diff_id(1), diff_id(2), NULL);
        const int a_layers[] = { 1, 2, 0 }, b_layers[] = { 2, 0 };

        put_layer(f->db, 1);
        put_layer(f->db, 2);
        put_image(f->db, "abc1", 100, a_layers);
        put_image(f->db, "abc2", 200, b_layers);
        put_image(f->db, "def", 300, NULL);
        set_tag(f->db, "docker.io/library/a:1", "abc1");
        set_tag(f->db, "docker.io/library/a:latest", "abc1");

        /* By name: the whole record, layers bottom first, names sorted. */
        img = find_image(f->db, "docker.io/library/a:1", "abc1");
        assert_string_equal(img->digest, digest);
        assert_string_equal(img->manifest_digest, manifest);
        assert_string_equal(img->config_digest, full);
        assert_int_equal(img->size, 4096);
        assert_int_equal(img->created, 100);
        assert_int_equal(strv_length(img->layers), 2);
        assert_string_equal(img->layers[0], layers[0]);
        assert_string_equal(img->layers[1], layers[1]);
        assert_int_equal(strv_length(img->names), 2);
        assert_string_equal(img->names[0], "docker.io/library/a:1");
        assert_string_equal(img->names[1], "docker.io/library/a:latest");
        img = inst_image_free(img);

        /* An image without layers or names has empty lists, not NULL. */
        img = find_image(f->db, def_id, "def");
        assert_non_null(img->layers);
        assert_null(img->layers[0]);
        assert_non_null(img->names);
        assert_null(img->names[0]);
        img = inst_image_free(img);

        img = find_image(f->db, id, "abc1");
        img = inst_image_free(img);
        img = find_image(f->db, full, "abc1");
        img = inst_image_free(img);
        img = find_image(f->db, "abc1", "abc1");
        img = inst_image_free(img);
        img = find_image(f->db, "sha256:abc1", "abc1");
        img = inst_image_free(img);
        img = find_image(f->db, digest, "abc1");
        img = inst_image_free(img);
        img = find_image(f->db, manifest, "abc1");
        img = inst_image_free(img);

        assert_image_error(f->db, "abc", EINVAL, "'abc' is ambiguous");
        assert_image_error(f->db, "sha256:abc", EINVAL, "ambiguous");
        assert_image_error(f->db, "abd", ENOENT, "image 'abd' not known");
        assert_image_error(f->db, "ab", ENOENT, "'ab'");                  /* too short for a prefix */
        assert_image_error(f->db, "ABC1", ENOENT, "'ABC1'");              /* ids are lowercase */
        assert_image_error(f->db, "docker.io/library/a:2", ENOENT, "a:2");
        assert_image_error(f->db, "a*", ENOENT, "'a*'");                  /* no glob from the key */

        /* A name wins over an id prefix it looks like. */
        set_tag(f->db, "abc", "def");
        img = find_image(f->db, "abc", "def");
}

static void test_tags(void **state)
{
        Fixture *f = *state;
        _cleanup_(inst_image_freep) InstImage *a = NULL, *b = NULL;
        _cleanup_free_ char *a_id = hex64("abc1");
        _cleanup_error_ Error *e = NULL;

        put_image(f->db, "abc1", 100, NULL);
        put_image(f->db, "abc2", 200, NULL);
        set_tag(f->db, "x:1", "abc1");
        set_tag(f->db, "x:2", "abc1");

        /* Setting a name that exists moves it. */
        set_tag(f->db, "x:1", "abc2");
        a = find_image(f->db, a_id, "abc1");
        b = find_image(f->db, "x:1", "abc2");
        assert_int_equal(strv_length(a->names), 1);
        assert_string_equal(a->names[0], "x:2");
        assert_int_equal(strv_length(b->names), 1);
        assert_string_equal(b->names[0], "x:1");

        assert_int_equal(inst_db_tag_remove(f->db, "x:1", &e), 1);
        assert_null(e);
        assert_image_error(f->db, "x:1", ENOENT, "'x:1'");
        assert_int_equal(inst_db_tag_remove(f->db, "x:1", &e), -ENOENT);
        assert_non_null(strstr(e->msg, "no image named 'x:1'"));
        e = error_free(e);

        /* Removing an image removes its names; a second remove changes nothing. */
        assert_int_equal(inst_db_image_remove(f->db, a_id, &e), 1);
        assert_int_equal(inst_db_image_remove(f->db, a_id, &e), 0);
        assert_null(e);
        assert_image_error(f->db, "x:2", ENOENT, "'x:2'");
        assert_int_equal(inst_db_tag_remove(f->db, "x:2", &e), -ENOENT);
}

static void test_image_put_and_list(void **state)
{
        Fixture *f = *state;
        _cleanup_(inst_image_freep) InstImage *img = NULL;
        _cleanup_free_ char *id = hex64("abc1"), *old_digest = sha("dabc1"), *l2 = diff_id(2);
        _cleanup_error_ Error *e = NULL;
        InstImage **v = NULL;
        size_t n = 99;
        const int layers[] = { 1, 2, 0 };
        static const char *const order[] = { "a", "c", "b", "d" };

        assert_int_equal(inst_db_image_list(f->db, &v, &n, &e), 0);
        assert_int_equal(n, 0);
        free(v);

        put_layer(f->db, 1);
        put_layer(f->db, 2);
        /* c before a: the order of the ties must come from the ids, not from the insertion. */
        put_image(f->db, "b", 100, NULL);
        put_image(f->db, "c", 300, NULL);
        put_image(f->db, "d", 50, NULL);
        put_image(f->db, "a", 300, layers);
        set_tag(f->db, "t:a", "a");

        /* Newest first; images made in the same second in id order. */
        assert_int_equal(inst_db_image_list(f->db, &v, &n, &e), 0);
        assert_int_equal(n, 4);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *want = hex64(order[i]);
                assert_string_equal(v[i]->id, want);
        }
        assert_int_equal(strv_length(v[0]->layers), 2);
        assert_int_equal(strv_length(v[0]->names), 1);
        for (size_t i = 0; i < n; i++)
                inst_image_free(v[i]);
        free(v);

        /* Putting an id again replaces the record and its layer list, and leaves its names alone. */
        {
                _cleanup_free_ char *digest = sha("99"), *manifest = sha("98"), *config = xasprintf("sha256:%s", id);
                char *new_layers[] = { l2, NULL };
                InstImage again = {
                        .id = id,
                        .digest = digest,
                        .manifest_digest = manifest,
                        .config_digest = config,
                        .size = 7,
                        .created = 300,
                        .layers = new_layers,
                };
                put_image(f->db, "abc1", 100, layers);
                set_tag(f->db, "t:abc1", "abc1");
                assert_int_equal(inst_db_image_put(f->db, &again, &e), 0);
                img = find_image(f->db, "t:abc1", "abc1");
                assert_string_equal(img->digest, digest);
                assert_string_equal(img->manifest_digest, manifest);
                assert_int_equal(img->size, 7);
                assert_int_equal(strv_length(img->layers), 1);
                assert_string_equal(img->layers[0], l2);
                assert_int_equal(strv_length(img->names), 1);
                assert_image_error(f->db, old_digest, ENOENT, "not known");
        }
}

/* ---- layers, blobs and the build cache ---- */

static void test_layers_unused(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *a = hex64("a"), *b = hex64("b");
        _cleanup_strv_ char **taken = NULL, **all = NULL, **blobs = NULL, **want = NULL;
        _cleanup_free_ char *l3 = diff_id(3), *b3 = blob_of(3), *l1 = diff_id(1), *other = sha("77");
        _cleanup_error_ Error *e = NULL;
        const int a_layers[] = { 1, 2, 0 }, b_layers[] = { 2, 3, 0 };
        InstCacheEntry cached = { l3, b3, 1003, (char *)LAYER_MEDIA_TYPE };

        put_layer(f->db, 1);
        put_layer(f->db, 2);
        put_layer(f->db, 3);
        /* Idempotent: a second put of a diff_id changes nothing, even with another blob. */
        assert_int_equal(inst_db_layer_put(f->db, l1, other, 5, &e), 0);
        assert_int_equal(inst_db_layer_has(f->db, l1, &e), 1);
        assert_int_equal(inst_db_layer_has(f->db, other, &e), 0);
        assert_null(e);

        put_image(f->db, "a", 100, a_layers);
        put_image(f->db, "b", 200, b_layers);
        assert_int_equal(inst_db_layers_take_unused(f->db, &taken, &e), 0);
        assert_non_null(taken);
        assert_null(taken[0]);
        taken = strv_free(taken);

        /* Without a, layer 1 is unused; layer 2 is b's too. */
        assert_int_equal(inst_db_image_remove(f->db, a, &e), 1);
        assert_int_equal(inst_db_layers_take_unused(f->db, &taken, &e), 0);
        want = strv_take(diff_id(1), NULL);
        assert_strv_set(taken, want);
        want = strv_free(want);
        taken = strv_free(taken);
        assert_int_equal(inst_db_layer_has(f->db, l1, &e), 0);
        assert_int_equal(inst_db_layers_take_unused(f->db, &taken, &e), 0);
        assert_null(taken[0]);
        taken = strv_free(taken);

        /* The build cache names layer 3: once b is gone its record goes, but the layer and its blob
         * stay named in layers_all and blobs_in_use, so collection keeps them for the next build. */
        assert_int_equal(inst_db_cache_put(f->db, "step", &cached, &e), 1);
        assert_int_equal(inst_db_image_remove(f->db, b, &e), 1);
        assert_int_equal(inst_db_layers_take_unused(f->db, &taken, &e), 0);
        want = strv_take(diff_id(2), diff_id(3), NULL);
        assert_strv_set(taken, want);
        want = strv_free(want);
        assert_int_equal(inst_db_layer_has(f->db, l3, &e), 0);
        assert_int_equal(inst_db_layers_all(f->db, &all, &e), 0);
        want = strv_take(diff_id(3), NULL);
        assert_strv_set(all, want);
        want = strv_free(want);
        all = strv_free(all);
        assert_int_equal(inst_db_blobs_in_use(f->db, &blobs, &e), 0);
        want = strv_take(blob_of(3), NULL);
        assert_strv_set(blobs, want);
        want = strv_free(want);
        blobs = strv_free(blobs);

        /* Once the cache forgets it, nothing names it. */
        assert_int_equal(inst_db_cache_clear(f->db, &e), 1);
        assert_int_equal(inst_db_layers_all(f->db, &all, &e), 0);
        assert_null(all[0]);
        assert_int_equal(inst_db_blobs_in_use(f->db, &blobs, &e), 0);
        assert_null(blobs[0]);
        assert_null(e);
}

static void test_blobs_in_use(void **state)
{
        Fixture *f = *state;
        _cleanup_strv_ char **blobs = NULL, **all = NULL, **want = NULL;
        _cleanup_free_ char *l9 = diff_id(9), *b9 = blob_of(9), *a = hex64("a"), *b = hex64("b");
        _cleanup_error_ Error *e = NULL;
        const int a_layers[] = { 1, 2, 0 }, b_layers[] = { 2, 0 };
        InstCacheEntry cached = { l9, b9, 9, (char *)LAYER_MEDIA_TYPE };

        put_layer(f->db, 1);
        put_layer(f->db, 2);
        put_layer(f->db, 4); /* a layer no image uses still has a record, so its blob is named */
        put_image(f->db, "a", 100, a_layers);
        put_image(f->db, "b", 200, b_layers);
        assert_int_equal(inst_db_cache_put(f->db, "k", &cached, &e), 1);

        /* Each digest once: the images' own three, every layer blob, the cache's blob. */
        assert_int_equal(inst_db_blobs_in_use(f->db, &blobs, &e), 0);
        want = strv_take(sha("da"), sha("ea"), xasprintf("sha256:%s", a), sha("db"), sha("eb"),
                         xasprintf("sha256:%s", b), blob_of(1), blob_of(2), blob_of(4), blob_of(9), NULL);
        assert_int_equal(strv_length(blobs), strv_length(want));
        assert_strv_set(blobs, want);
        want = strv_free(want);

        assert_int_equal(inst_db_layers_all(f->db, &all, &e), 0);
        want = strv_take(diff_id(1), diff_id(2), diff_id(4), diff_id(9), NULL);
        assert_strv_set(all, want);
        assert_null(e);
}

static void test_build_cache(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *l1 = diff_id(1), *b1 = blob_of(1), *l2 = diff_id(2), *b2 = blob_of(2);
        _cleanup_error_ Error *e = NULL;
        InstCacheEntry got = {};
        InstCacheEntry first = { l1, b1, 11, (char *)LAYER_MEDIA_TYPE };
        InstCacheEntry second = { l2, b2, 22, (char *)"application/vnd.oci.image.layer.v1.tar" };

        assert_int_equal(inst_db_cache_get(f->db, "k1", &got, &e), 0);
        assert_null(got.diff_id);

        assert_int_equal(inst_db_cache_put(f->db, "k1", &first, &e), 1);
        assert_int_equal(inst_db_cache_get(f->db, "k1", &got, &e), 1);
        assert_string_equal(got.diff_id, l1);
        assert_string_equal(got.blob_digest, b1);
        assert_int_equal(got.size, 11);
        assert_string_equal(got.media_type, LAYER_MEDIA_TYPE);
        inst_cache_entry_done(&got);
        assert_null(got.diff_id);

        /* The same key again: the newer step's layer replaces the older. */
        assert_int_equal(inst_db_cache_put(f->db, "k1", &second, &e), 1);
        assert_int_equal(inst_db_cache_put(f->db, "k2", &first, &e), 1);
        assert_int_equal(inst_db_cache_get(f->db, "k1", &got, &e), 1);
        assert_string_equal(got.diff_id, l2);
        assert_int_equal(got.size, 22);
        assert_string_equal(got.media_type, "application/vnd.oci.image.layer.v1.tar");
        inst_cache_entry_done(&got);

        assert_int_equal(inst_db_cache_clear(f->db, &e), 2);
        assert_int_equal(inst_db_cache_get(f->db, "k1", &got, &e), 0);
        assert_int_equal(inst_db_cache_get(f->db, "k2", &got, &e), 0);
        assert_int_equal(inst_db_cache_clear(f->db, &e), 0);
        assert_null(e);
}

/* ---- instances ---- */

static void add_instance(InstDb *db, const char *id_prefix, const char *name, const char *image_p, int64_t created)
{
        _cleanup_free_ char *id = hex64(id_prefix), *image_id = hex64(image_p);
        _cleanup_error_ Error *e = NULL;
        InstRecord rec = {
                .id = id,
                .name = (char *)name,
                .kind = INST_KIND_CONTAINER,
                .image_id = image_id,
                .image_name = (char *)"docker.io/library/a:1",
                .options = (char *)"{}",
                .created = created,
                .exit_code = -1,
        };

        if (inst_db_instance_add(db, &rec, &e) < 0)
                fail_msg("add instance '%s': %s", name, e->msg);
}

static InstRecord *find_instance(InstDb *db, const char *key, const char *name)
{
        _cleanup_(inst_record_freep) InstRecord *rec = NULL;
        _cleanup_error_ Error *e = NULL;

        if (inst_db_instance_find(db, key, &rec, &e) < 0)
                fail_msg("find instance '%s': %s", key, e->msg);
        assert_null(e);
        assert_string_equal(rec->name, name);
        return TAKE_PTR(rec);
}

static void assert_instance_error(InstDb *db, const char *key, int code, const char *in_msg)
{
        _cleanup_(inst_record_freep) InstRecord *rec = NULL;
        _cleanup_error_ Error *e = NULL;

        assert_int_equal(inst_db_instance_find(db, key, &rec, &e), -code);
        assert_null(rec);
        assert_int_equal(e->code, code);
        if (!strstr(e->msg, in_msg))
                fail_msg("find instance '%s': '%s' does not say '%s'", key, e->msg, in_msg);
}

static void test_instances(void **state)
{
        Fixture *f = *state;
        _cleanup_(inst_record_freep) InstRecord *rec = NULL;
        _cleanup_free_ char *web_id = hex64("0123ab"), *vm_id = hex64("0123cd"), *a_id = hex64("a");
        _cleanup_free_ char *b_id = hex64("b"), *hex_eee = hex64("eee");
        _cleanup_error_ Error *e = NULL;
        InstRecord **v = NULL;
        size_t n = 0;
        InstRecord vm = {
                .id = vm_id,
                .name = (char *)"db",
                .kind = INST_KIND_VM,
                .image_id = a_id,
                .image_name = (char *)"a",
                .options = (char *)"{\"memory\":\"256M\"}",
                .created = 300,
                .is_auto_remove = true,
        };

        put_image(f->db, "a", 100, NULL);
        put_image(f->db, "b", 100, NULL);
        assert_int_equal(inst_db_image_users(f->db, a_id, &e), 0);

        add_instance(f->db, "0123ab", "web", "a", 100);
        assert_int_equal(inst_db_instance_add(f->db, &vm, &e), 1);
        add_instance(f->db, "fff", "0123cd", "b", 300);

        /* A fresh record: never started, no exit code; what was given comes back. */
        rec = find_instance(f->db, "web", "web");
        assert_string_equal(rec->id, web_id);
        assert_int_equal(rec->kind, INST_KIND_CONTAINER);
        assert_string_equal(rec->image_id, a_id);
        assert_string_equal(rec->image_name, "docker.io/library/a:1");
        assert_string_equal(rec->options, "{}");
        assert_int_equal(rec->created, 100);
        assert_int_equal(rec->started, 0);
        assert_int_equal(rec->finished, 0);
        assert_int_equal(rec->exit_code, -1);
        assert_false(rec->is_auto_remove);
        rec = inst_record_free(rec);
        rec = find_instance(f->db, vm_id, "db");
        assert_int_equal(rec->kind, INST_KIND_VM);
        assert_string_equal(inst_kind_name(rec->kind), "vm");
        assert_string_equal(rec->options, "{\"memory\":\"256M\"}");
        assert_true(rec->is_auto_remove);
        rec = inst_record_free(rec);

        /* An id prefix of at least 3 characters; a name that looks like one wins. */
        rec = find_instance(f->db, "0123a", "web");
        rec = inst_record_free(rec);
        rec = find_instance(f->db, "0123c", "db");
        rec = inst_record_free(rec);
        rec = find_instance(f->db, "0123cd", "0123cd");
        rec = inst_record_free(rec);
        assert_instance_error(f->db, "0123", EINVAL, "'0123' is ambiguous");
        /* A name wins over another instance's full id too. */
        add_instance(f->db, "eee", web_id, "b", 50);
        rec = find_instance(f->db, web_id, web_id);
        assert_string_equal(rec->id, hex_eee);
        rec = inst_record_free(rec);
        assert_int_equal(inst_db_instance_remove(f->db, hex_eee, &e), 1);
        assert_instance_error(f->db, "01", ENOENT, "no such instance '01'");
        assert_instance_error(f->db, "nope", ENOENT, "no such instance 'nope'");
        assert_instance_error(f->db, "0*", ENOENT, "'0*'");

        /* A name is taken once; the message names it. */
        {
                _cleanup_free_ char *other_id = hex64("abcdef");
                InstRecord dup = { .id = other_id, .name = (char *)"web", .image_id = a_id,
                                   .image_name = (char *)"a", .options = (char *)"{}" };
                assert_int_equal(inst_db_instance_add(f->db, &dup, &e), -EEXIST);
                assert_non_null(strstr(e->msg, "'web'"));
                e = error_free(e);
        }

        /* An instance names a recorded image: one that is not is refused, and not as a name in use. */
        {
                _cleanup_free_ char *other_id = hex64("abcd01"), *ghost_id = hex64("9999");
                InstRecord orphan = { .id = other_id, .name = (char *)"orphan", .image_id = ghost_id,
                                      .image_name = (char *)"ghost", .options = (char *)"{}" };
                assert_int_equal(inst_db_instance_add(f->db, &orphan, &e), -ENOENT);
                assert_non_null(strstr(e->msg, "image '999900000000' is not recorded"));
                e = error_free(e);
                assert_instance_error(f->db, "orphan", ENOENT, "'orphan'");
        }
        /* Nor is a taken id a name in use. */
        {
                InstRecord same_id = { .id = web_id, .name = (char *)"other", .image_id = a_id,
                                       .image_name = (char *)"a", .options = (char *)"{}" };
                assert_int_equal(inst_db_instance_add(f->db, &same_id, &e), -EEXIST);
                assert_null(strstr(e->msg, "'other'"));
                assert_non_null(strstr(e->msg, "instances.id"));
                e = error_free(e);
        }

        assert_int_equal(inst_db_image_users(f->db, a_id, &e), 2);
        assert_int_equal(inst_db_image_users(f->db, b_id, &e), 1);
        /* An image in use stays: its record cannot go from under an instance. */
        assert_true(inst_db_image_remove(f->db, b_id, &e) < 0);
        e = error_free(e);
        inst_image_free(find_image(f->db, b_id, "b"));

        /* Newest first, then by name. */
        assert_int_equal(inst_db_instance_list(f->db, &v, &n, &e), 0);
        assert_int_equal(n, 3);
        assert_string_equal(v[0]->name, "0123cd");
        assert_string_equal(v[1]->name, "db");
        assert_string_equal(v[2]->name, "web");
        for (size_t i = 0; i < n; i++)
                inst_record_free(v[i]);
        free(v);

        assert_int_equal(inst_db_instance_set_run(f->db, web_id, 1000, 1010, 3, &e), 1);
        assert_int_equal(inst_db_instance_set_run(f->db, b_id, 1, 2, 0, &e), 0); /* no such instance id */
        rec = find_instance(f->db, "web", "web");
        assert_int_equal(rec->started, 1000);
        assert_int_equal(rec->finished, 1010);
        assert_int_equal(rec->exit_code, 3);
        rec = inst_record_free(rec);

        assert_int_equal(inst_db_instance_remove(f->db, web_id, &e), 1);
        assert_int_equal(inst_db_instance_remove(f->db, web_id, &e), 0);
        assert_instance_error(f->db, "web", ENOENT, "'web'");
        assert_int_equal(inst_db_image_users(f->db, a_id, &e), 1);
        assert_null(e);
}

/* ---- transactions and two connections ---- */

/* Networks, leases and ports: lowest free offsets, no address twice, released with the instance. */
static void test_networks(void **state)
{
        Fixture *f = *state;
        _cleanup_(inst_network_record_freep) InstNetwork *found = NULL;
        _cleanup_free_ char *a_id = hex64("a1"), *b_id = hex64("b1"), *c_id = hex64("c1");
        _cleanup_error_ Error *e = NULL;
        InstNetwork net = { .name = (char *)"front", .bridge = (char *)"hull1", .created = 7 };
        InstNetwork **nets = NULL;
        InstLease *leases = NULL, lease = {};
        InstPort *ports = NULL;
        size_t n = 0;
        uint32_t off = 0;
        NetPortMap m = { .host_port = 8080, .ctr_port = 80, .proto = IPPROTO_TCP };

        assert_int_equal(net_prefix_parse("10.91.0.0/29", &net.subnet, &e), 0);
        assert_int_equal(inst_db_network_add(f->db, &net, &e), 1);
        assert_int_equal(inst_db_network_add(f->db, &net, &e), -EEXIST);
        assert_string_equal(e->msg, "network 'front' already exists");
        e = error_free(e);
        assert_int_equal(inst_db_network_find(f->db, "front", &found, &e), 0);
        assert_string_equal(found->bridge, "hull1");
        assert_int_equal(found->subnet.len, 29);
        assert_int_equal(inst_db_network_find(f->db, "back", &found, &e), -ENOENT);
        assert_string_equal(e->msg, "no such network 'back'");
        e = error_free(e);

        put_image(f->db, "a", 100, NULL);
        add_instance(f->db, "a1", "one", "a", 1);
        add_instance(f->db, "b1", "two", "a", 2);
        add_instance(f->db, "c1", "three", "a", 3);
        /* Offsets 2..4 of a /29: lowest first, then ENOSPC. */
        assert_int_equal(inst_db_lease_alloc(f->db, "front", a_id, 2, 4, &off, &e), 0);
        assert_int_equal(off, 2);
        assert_int_equal(inst_db_lease_alloc(f->db, "front", b_id, 2, 4, &off, &e), 0);
        assert_int_equal(off, 3);
        /* One lease per instance. */
        assert_int_equal(inst_db_lease_alloc(f->db, "front", a_id, 2, 4, &off, &e), -EEXIST);
        e = error_free(e);
        /* A lease on a network that does not exist fails the foreign key. */
        assert_true(inst_db_lease_alloc(f->db, "back", c_id, 2, 4, &off, &e) < 0);
        e = error_free(e);
        /* The network cannot go while leased. */
        assert_int_equal(inst_db_network_remove(f->db, "front", &e), -EBUSY);
        e = error_free(e);
        /* Removing an instance releases its lease (and the gap is taken first). */
        assert_int_equal(inst_db_instance_remove(f->db, a_id, &e), 1);
        assert_int_equal(inst_db_lease_alloc(f->db, "front", c_id, 2, 4, &off, &e), 0);
        assert_int_equal(off, 2);
        assert_int_equal(inst_db_lease_list(f->db, "front", &leases, &n, &e), 0);
        assert_int_equal(n, 2);
        assert_string_equal(leases[0].instance_name, "three");
        assert_int_equal(leases[0].host_offset, 2);
        assert_string_equal(leases[1].instance_name, "two");
        inst_leases_free(leases, n);
        assert_int_equal(inst_db_lease_find(f->db, b_id, &lease, &e), 1);
        assert_string_equal(lease.network, "front");
        assert_int_equal(lease.host_offset, 3);
        inst_lease_done(&lease);
        assert_int_equal(inst_db_lease_find(f->db, a_id, &lease, &e), 0);

        /* Ports: the same host IP, port and protocol only once; udp is another port. */
        assert_int_equal(inst_db_port_add(f->db, b_id, &m, &e), 1);
        assert_int_equal(inst_db_port_add(f->db, c_id, &m, &e), -EEXIST);
        e = error_free(e);
        m.proto = IPPROTO_UDP;
        assert_int_equal(inst_db_port_add(f->db, c_id, &m, &e), 1);
        assert_int_equal(inst_db_port_list(f->db, b_id, &ports, &n, &e), 0);
        assert_int_equal(n, 1);
        assert_int_equal(ports[0].map.host_port, 8080);
        assert_int_equal(ports[0].map.ctr_port, 80);
        assert_int_equal(ports[0].map.proto, IPPROTO_TCP);
        assert_int_equal(ports[0].map.host_ip.s_addr, INADDR_ANY);
        assert_string_equal(ports[0].network, "front");
        assert_int_equal(ports[0].host_offset, 3);
        inst_ports_free(ports, n);
        assert_int_equal(inst_db_instance_remove(f->db, b_id, &e), 1);
        assert_int_equal(inst_db_instance_remove(f->db, c_id, &e), 1);
        assert_int_equal(inst_db_port_list(f->db, NULL, &ports, &n, &e), 0);
        assert_int_equal(n, 0);
        inst_ports_free(ports, n);
        assert_int_equal(inst_db_network_remove(f->db, "front", &e), 1);
        assert_int_equal(inst_db_network_list(f->db, &nets, &n, &e), 0);
        assert_int_equal(n, 0);
        inst_networks_free(nets, n);
}

/* uid/gid ranges: the lowest free slot of the pool, one per instance, freed with the instance. */
static void test_idmaps(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *a_id = hex64("a1"), *b_id = hex64("b1"), *c_id = hex64("c1"), *d_id = hex64("d1");
        _cleanup_error_ Error *e = NULL;
        /* Three slots of uids, and gids elsewhere; the odd tail of the pool is no slot. */
        InstIdmapPool pool = { 1000000, 3 * 65536 + 100, 2000000, 3 * 65536 + 7 };
        InstIdmap m = {}, found = {};

        put_image(f->db, "a", 100, NULL);
        add_instance(f->db, "a1", "one", "a", 1);
        add_instance(f->db, "b1", "two", "a", 2);
        add_instance(f->db, "c1", "three", "a", 3);
        add_instance(f->db, "d1", "four", "a", 4);
        assert_int_equal(inst_db_idmap_find(f->db, a_id, &found, &e), 0);

        assert_int_equal(inst_db_begin(f->db, &e), 0);
        assert_int_equal(inst_db_idmap_alloc(f->db, a_id, &pool, 65536, &m, &e), 0);
        assert_int_equal(inst_db_commit(f->db, &e), 0);
        assert_int_equal(m.uid_base, 1000000);
        assert_int_equal(m.gid_base, 2000000);
        assert_int_equal(m.count, 65536);
        assert_int_equal(inst_db_idmap_alloc(f->db, b_id, &pool, 65536, &m, &e), 0);
        assert_int_equal(m.uid_base, 1000000 + 65536);
        assert_int_equal(m.gid_base, 2000000 + 65536);
        /* One range per instance. */
        assert_true(inst_db_idmap_alloc(f->db, a_id, &pool, 65536, &m, &e) < 0);
        e = error_free(e);
        assert_int_equal(inst_db_idmap_alloc(f->db, c_id, &pool, 65536, &m, &e), 0);
        assert_int_equal(m.uid_base, 1000000 + 2 * 65536);

        /* Exhausted: ENOSPC, saying how many ranges there are, and nothing recorded. */
        assert_int_equal(inst_db_idmap_alloc(f->db, d_id, &pool, 65536, &m, &e), -ENOSPC);
        assert_string_equal(e->msg, "no free uid range: the 3 ranges of the pool are in use");
        e = error_free(e);
        assert_int_equal(inst_db_idmap_find(f->db, d_id, &found, &e), 0);
        assert_int_equal(raw_int(f->root, "SELECT count(*) FROM idmaps"), 3);
        /* A count beyond a slot is refused. */
        assert_int_equal(inst_db_idmap_alloc(f->db, d_id, &pool, 65537, &m, &e), -EINVAL);
        e = error_free(e);

        /* Removing an instance frees its range, and the gap is taken first. */
        assert_int_equal(inst_db_idmap_find(f->db, b_id, &found, &e), 1);
        assert_int_equal(found.uid_base, 1000000 + 65536);
        assert_int_equal(found.gid_base, 2000000 + 65536);
        assert_int_equal(found.count, 65536);
        assert_int_equal(inst_db_instance_remove(f->db, b_id, &e), 1);
        assert_int_equal(inst_db_idmap_find(f->db, b_id, &found, &e), 0);
        assert_int_equal(inst_db_idmap_alloc(f->db, d_id, &pool, 65536, &m, &e), 0);
        assert_int_equal(m.uid_base, 1000000 + 65536);

        /* A rolled-back allocation leaves no range; one for an instance not recorded fails. */
        assert_int_equal(inst_db_instance_remove(f->db, d_id, &e), 1);
        add_instance(f->db, "d1", "four", "a", 4);
        assert_int_equal(inst_db_begin(f->db, &e), 0);
        assert_int_equal(inst_db_idmap_alloc(f->db, d_id, &pool, 65536, &m, &e), 0);
        inst_db_rollback(f->db);
        assert_int_equal(inst_db_idmap_find(f->db, d_id, &found, &e), 0);
        assert_true(inst_db_idmap_alloc(f->db, b_id, &pool, 65536, &m, &e) < 0);
        e = error_free(e);
        assert_int_equal(raw_int(f->root, "SELECT count(*) FROM idmaps"), 2);
}

static void test_transactions(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *l1 = diff_id(1), *q = hex64("ee");
        _cleanup_error_ Error *e = NULL;
        InstImage **v = NULL;
        size_t n = 99;
        const int layers[] = { 1, 0 };

        /* Everything a rolled-back transaction wrote is gone. */
        assert_int_equal(inst_db_begin(f->db, &e), 0);
        put_layer(f->db, 1);
        put_image(f->db, "a", 100, layers);
        set_tag(f->db, "t:a", "a");
        add_instance(f->db, "0123", "web", "a", 100);
        inst_db_rollback(f->db);
        assert_image_error(f->db, "t:a", ENOENT, "'t:a'");
        assert_int_equal(inst_db_layer_has(f->db, l1, &e), 0);
        assert_int_equal(inst_db_image_list(f->db, &v, &n, &e), 0);
        assert_int_equal(n, 0);
        free(v);
        assert_instance_error(f->db, "web", ENOENT, "'web'");
        inst_db_rollback(f->db); /* none open: nothing happens */

        /* A committed one stays, across a reopen. */
        assert_int_equal(inst_db_begin(f->db, &e), 0);
        put_layer(f->db, 1);
        put_image(f->db, "a", 100, layers);
        set_tag(f->db, "t:a", "a");
        assert_int_equal(inst_db_commit(f->db, &e), 0);
        reopen(f);
        inst_image_free(find_image(f->db, "t:a", "a"));

        /* Closing with a transaction open rolls it back. */
        assert_int_equal(inst_db_begin(f->db, &e), 0);
        put_image(f->db, "ee", 100, NULL);
        reopen(f);
        assert_image_error(f->db, q, ENOENT, "not known");

        /* A commit without a begin is an error, not a crash. */
        assert_true(inst_db_commit(f->db, &e) < 0);
        assert_non_null(e);
}

static void test_two_connections(void **state)
{
        Fixture *f = *state;
        _cleanup_(inst_image_freep) InstImage *img = NULL;
        _cleanup_free_ char *x = hex64("cc");
        _cleanup_error_ Error *e = NULL;
        InstImage **v = NULL;
        size_t n = 0;

        if (inst_db_open(f->root, &f->db2, &e) < 0)
                fail_msg("second open: %s", e->msg);

        /* Each sees what the other committed. */
        put_image(f->db, "a", 100, NULL);
        img = find_image(f->db2, "sha256:a00", "a");
        img = inst_image_free(img);
        set_tag(f->db2, "t:a", "a");
        img = find_image(f->db, "t:a", "a");
        img = inst_image_free(img);

        /* While one writes, the other reads what was committed before, without waiting (WAL). */
        assert_int_equal(inst_db_begin(f->db, &e), 0);
        put_image(f->db, "cc", 200, NULL);
        assert_image_error(f->db2, x, ENOENT, "not known");
        assert_int_equal(inst_db_image_list(f->db2, &v, &n, &e), 0);
        assert_int_equal(n, 1);
        inst_image_free(v[0]);
        free(v);
        assert_int_equal(inst_db_commit(f->db, &e), 0);
        img = find_image(f->db2, x, "cc");
        assert_null(e);
}

/* A writer on the second connection: begins, reads, writes, commits, and says what it saw. */
typedef struct Writer {
        InstDb *db;
        const char *key; /* an image the first connection commits while this one waits */
        atomic_bool has_begun;
        int begin_r, find_r, commit_r;
} Writer;

static void *writer_main(void *userdata)
{
        Writer *w = userdata;
        InstImage *img = NULL;

        /* No cmocka asserts here: they long-jump, and only the main thread may. */
        w->begin_r = inst_db_begin(w->db, NULL);
        atomic_store(&w->has_begun, true);
        if (w->begin_r < 0)
                return NULL;
        w->find_r = inst_db_image_find(w->db, w->key, &img, NULL);
        inst_image_free(img);
        w->commit_r = inst_db_commit(w->db, NULL);
        return NULL;
}

static void test_begin_immediate_serialises(void **state)
{
        Fixture *f = *state;
        _cleanup_(inst_image_freep) InstImage *img = NULL;
        _cleanup_error_ Error *e = NULL;
        Writer w = { .key = "t:late", .find_r = 1, .commit_r = 1 };
        const struct timespec pause = { .tv_sec = 0, .tv_nsec = 300 * 1000 * 1000 };
        bool had_begun_early;

        if (inst_db_open(f->root, &f->db2, &e) < 0)
                fail_msg("second open: %s", e->msg);
        w.db = f->db2;

        /* The first connection holds the write lock; the writer's BEGIN IMMEDIATE must wait for it. */
        assert_int_equal(inst_db_begin(f->db, &e), 0);
        put_image(f->db, "dd", 100, NULL);
        set_tag(f->db, "t:late", "dd");
        assert_int_equal(pthread_create(&f->thread, NULL, writer_main, &w), 0);
        f->has_thread = true;
        /* However long this pause, a writer that waits cannot have begun: the check cannot fail by
         * timing. A shorter pause only makes a writer that wrongly did not wait less likely caught. */
        nanosleep(&pause, NULL);
        had_begun_early = atomic_load(&w.has_begun);
        assert_int_equal(inst_db_commit(f->db, &e), 0);
        assert_int_equal(pthread_join(f->thread, NULL), 0);
        f->has_thread = false;

        assert_false(had_begun_early);
        assert_int_equal(w.begin_r, 0);
        /* Its transaction started after the other's commit, so it saw that commit. */
        assert_true(w.find_r >= 0);
        assert_int_equal(w.commit_r, 0);

        /* The writer's commit let go of the lock: the first connection can write again. */
        assert_int_equal(inst_db_begin(f->db, &e), 0);
        assert_int_equal(inst_db_commit(f->db, &e), 0);
        img = find_image(f->db, "t:late", "dd");
        assert_null(e);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_open_schema, setup, teardown),
                cmocka_unit_test_setup_teardown(test_image_find, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tags, setup, teardown),
                cmocka_unit_test_setup_teardown(test_image_put_and_list, setup, teardown),
                cmocka_unit_test_setup_teardown(test_layers_unused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_blobs_in_use, setup, teardown),
                cmocka_unit_test_setup_teardown(test_build_cache, setup, teardown),
                cmocka_unit_test_setup_teardown(test_instances, setup, teardown),
                cmocka_unit_test_setup_teardown(test_networks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_idmaps, setup, teardown),
                cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
                cmocka_unit_test_setup_teardown(test_two_connections, setup, teardown),
                cmocka_unit_test_setup_teardown(test_begin_immediate_serialises, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
