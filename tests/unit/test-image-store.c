/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-image-store.c: digests, and the blob store's verification on write, in a temporary root */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/digest.h"
#include "common/fs.h"
#include "image/store.h"

#define HELLO_DIGEST "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
#define EMPTY_DIGEST "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct Fixture {
        char root[64];
        ImgStore *s;
} Fixture;

static int setup(void **state)
{
        Fixture *f = xnew0(Fixture, 1);
        Error *e = NULL;

        snprintf(f->root, sizeof(f->root), "/tmp/hull-store-test.XXXXXX");
        if (!mkdtemp(f->root))
                return -1;
        if (img_store_open(f->root, &f->s, &e) < 0)
                return -1;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        Fixture *f = *state;
        img_store_free(f->s);
        rm_rf_at(AT_FDCWD, f->root, NULL);
        free(f);
        return 0;
}

/* Entries in blobs/sha256, to see that a refused blob left nothing. */
static int count_blobs(const Fixture *f)
{
        char path[128];
        DIR *d;
        struct dirent *de;
        int n = 0;

        snprintf(path, sizeof(path), "%s/blobs/sha256", f->root);
        d = opendir(path);
        assert_non_null(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

static void test_digest(void **state)
{
        _cleanup_(digest_freep) Digest *d = digest_new();
        _cleanup_free_ char *hex = NULL;
        Error *e = NULL;

        digest_update(d, "he", 2);
        digest_update(d, "llo", 3);
        hex = digest_finish(d);
        assert_string_equal(hex, HELLO_DIGEST);
        assert_int_equal(digest_check(HELLO_DIGEST, &e), 0);
        assert_int_equal(digest_check("sha512:abcd", &e), -EOPNOTSUPP);
        assert_non_null(strstr(e->msg, "sha512:abcd"));
        e = error_free(e);
        assert_int_equal(digest_check("sha256:ABCD", &e), -EINVAL);
        e = error_free(e);
        assert_int_equal(digest_check("2cf24dba", &e), -EINVAL);
        e = error_free(e);
        assert_int_equal(digest_check("sha256:../../etc/passwd0000000000000000000000000000000000000000000000", &e),
                         -EINVAL);
        error_free(e);
}

static void test_put_and_read(void **state)
{
        Fixture *f = *state;
        _cleanup_free_ char *digest = NULL;
        _cleanup_free_ char *content = NULL;
        _cleanup_close_ int fd = -EBADF;
        Error *e = NULL;
        char path[128];

        snprintf(path, sizeof(path), "%s/oci-layout", f->root);
        assert_int_equal(access(path, F_OK), 0);
        assert_int_equal(img_store_put_buf(f->s, "hello", 5, HELLO_DIGEST, &digest, &e), 0);
        assert_string_equal(digest, HELLO_DIGEST);
        assert_true(img_store_has(f->s, HELLO_DIGEST));
        assert_false(img_store_has(f->s, EMPTY_DIGEST));
        assert_int_equal(img_store_open_blob(f->s, HELLO_DIGEST, &fd, &e), 0);
        assert_int_equal(fd_read_all(fd, &content, NULL, &e), 0);
        assert_string_equal(content, "hello");
        /* Storing it again is fine, and changes nothing. */
        assert_int_equal(img_store_put_buf(f->s, "hello", 5, HELLO_DIGEST, NULL, &e), 0);
        assert_int_equal(count_blobs(f), 1);
        /* Without an expected digest the computed one names it. */
        assert_int_equal(img_store_put_buf(f->s, "", 0, NULL, NULL, &e), 0);
        assert_true(img_store_has(f->s, EMPTY_DIGEST));
        assert_int_equal(img_store_remove(f->s, EMPTY_DIGEST, &e), 0);
        assert_false(img_store_has(f->s, EMPTY_DIGEST));
        assert_int_equal(img_store_remove(f->s, EMPTY_DIGEST, &e), 0);
}

static void test_mismatch_leaves_nothing(void **state)
{
        Fixture *f = *state;
        Error *e = NULL;
        int pipefd[2];

        assert_int_equal(img_store_put_buf(f->s, "hellO", 5, HELLO_DIGEST, NULL, &e), -EBADMSG);
        assert_non_null(strstr(e->msg, HELLO_DIGEST));
        e = error_free(e);
        assert_int_equal(count_blobs(f), 0);
        assert_false(img_store_has(f->s, HELLO_DIGEST));

        /* A stream longer, or shorter, than announced. */
        assert_int_equal(pipe(pipefd), 0);
        assert_int_equal(write(pipefd[1], "hello!", 6), 6);
        close(pipefd[1]);
        assert_int_equal(img_store_put_fd(f->s, pipefd[0], HELLO_DIGEST, 5, NULL, &e), -EBADMSG);
        close(pipefd[0]);
        e = error_free(e);
        assert_int_equal(pipe(pipefd), 0);
        assert_int_equal(write(pipefd[1], "hell", 4), 4);
        close(pipefd[1]);
        assert_int_equal(img_store_put_fd(f->s, pipefd[0], NULL, 5, NULL, &e), -EBADMSG);
        close(pipefd[0]);
        e = error_free(e);
        assert_int_equal(count_blobs(f), 0);

        /* A malformed digest is refused before anything is written. */
        assert_int_equal(img_store_put_buf(f->s, "hello", 5, "sha256:nothex", NULL, &e), -EINVAL);
        e = error_free(e);
        assert_int_equal(img_store_open_blob(f->s, HELLO_DIGEST, &pipefd[0], &e), -ENOENT);
        assert_non_null(strstr(e->msg, "not in the store"));
        error_free(e);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_digest),
                cmocka_unit_test_setup_teardown(test_put_and_read, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mismatch_leaves_nothing, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
