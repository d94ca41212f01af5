/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-storage-shift.c: owners of a real tree shifted in place and into a copy (as root), and an
 * overlay over idmapped layers */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "storage/overlay.h"
#include "storage/shift.h"
#include "storage/tree.h"

#define BASE 1000000u
#define RANGE 65536u

static char dir[64];

static char *path_in(const char *name)
{
        return xasprintf("%s/%s", dir, name);
}

static void make_file(const char *root, const char *name, const char *text, mode_t mode, uid_t uid, gid_t gid)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", root, name);
        assert_int_equal(write_file_atomic_at(AT_FDCWD, p, text, strlen(text), 0600, NULL), 0);
        assert_int_equal(lchown(p, uid, gid), 0);
        assert_int_equal(chmod(p, mode), 0);
}

static struct stat lstat_in(const char *root, const char *name)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", root, name);
        struct stat st;
        assert_int_equal(lstat(p, &st), 0);
        return st;
}

static void assert_owner(const char *root, const char *name, uid_t uid, gid_t gid)
{
        struct stat st = lstat_in(root, name);
        if (st.st_uid != uid || st.st_gid != gid)
                fail_msg("%s/%s: owner %u:%u, expected %u:%u", root, name, st.st_uid, st.st_gid, uid, gid);
}

/* A v2 file capability xattr granting CAP_NET_BIND_SERVICE (10), effective. */
static void set_caps_v2(const char *path)
{
        uint32_t v2[5] = { htole32(0x02000001u), htole32(1u << 10), htole32(0), 0, 0 };
        assert_int_equal(setxattr(path, "security.capability", v2, sizeof(v2), 0), 0);
}

/*
 * The tree every test shifts, below root: owners inside and outside the range, a setuid file, file
 * capabilities, a symlink pointing out of the tree, a hard link, a fifo, an overlayfs whiteout and
 * an opaque directory.
 */
static void make_tree(const char *root, const char *outside)
{
        _cleanup_free_ char *sub = xasprintf("%s/etc", root), *deep = xasprintf("%s/etc/deep", root),
                            *sym = xasprintf("%s/escape", root), *hard = xasprintf("%s/etc/hard", root),
                            *orig = xasprintf("%s/etc/passwd", root), *fifo = xasprintf("%s/fifo", root),
                            *wh = xasprintf("%s/etc/gone", root), *cap = xasprintf("%s/ping", root);

        assert_int_equal(mkdir(root, 0755), 0);
        assert_int_equal(mkdir(sub, 02775), 0);
        assert_int_equal(chown(sub, 0, 50), 0);
        assert_int_equal(chmod(sub, 02775), 0);
        assert_int_equal(mkdir(deep, 0700), 0);
        assert_int_equal(chown(deep, 1000, 1000), 0);
        assert_int_equal(lsetxattr(deep, "trusted.overlay.opaque", "y", 1, 0), 0);
        make_file(root, "etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0644, 0, 0);
        make_file(root, "etc/deep/own", "mine\n", 0600, 1000, 1000);
        make_file(root, "suid", "#!/bin/sh\n", 04755, 0, 0);
        make_file(root, "far", "far\n", 0644, 70000, 80000);
        make_file(root, "ping", "\x7f" "ELF", 0755, 0, 0);
        set_caps_v2(cap);
        assert_int_equal(symlink(outside, sym), 0);
        assert_int_equal(link(orig, hard), 0);
        assert_int_equal(mkfifo(fifo, 0620), 0);
        assert_int_equal(chmod(fifo, 0620), 0);
        assert_int_equal(mknod(wh, S_IFCHR | 0, makedev(0, 0)), 0);
        assert_int_equal(utimensat(AT_FDCWD, orig, (struct timespec[]){ { 1000, 0 }, { 2000, 0 } }, 0), 0);
}

/* What make_tree's entries look like once shifted from 0 to BASE. */
static void check_shifted(const char *root, const char *outside)
{
        uint32_t caps[6] = {};
        _cleanup_free_ char *cap = xasprintf("%s/ping", root), *deep = xasprintf("%s/etc/deep", root);
        char opaque[4] = {};
        struct stat st;

        assert_owner(root, ".", BASE, BASE);
        assert_owner(root, "etc", BASE, BASE + 50);
        assert_owner(root, "etc/deep", BASE + 1000, BASE + 1000);
        assert_owner(root, "etc/deep/own", BASE + 1000, BASE + 1000);
        assert_owner(root, "etc/passwd", BASE, BASE);
        assert_owner(root, "etc/hard", BASE, BASE);
        assert_owner(root, "escape", BASE, BASE);
        assert_owner(root, "fifo", BASE, BASE);
        assert_owner(root, "etc/gone", BASE, BASE + 50); /* made in a setgid directory */
        /* Ids the range cannot show become its overflow id. */
        assert_owner(root, "far", BASE + 65534, BASE + 65534);
        /* The symlink was not followed. */
        assert_int_equal(stat(outside, &st), 0);
        assert_int_equal(st.st_uid, 0);
        /* The setuid and setgid bits survive chown. */
        assert_int_equal(lstat_in(root, "suid").st_mode & 07777, 04755);
        assert_int_equal(lstat_in(root, "etc").st_mode & 07777, 02775);
        assert_int_equal(lstat_in(root, "fifo").st_mode & 07777, 0620);
        assert_true(S_ISFIFO(lstat_in(root, "fifo").st_mode));
        st = lstat_in(root, "etc/gone");
        assert_true(S_ISCHR(st.st_mode));
        assert_int_equal(st.st_rdev, makedev(0, 0));
        /* Capabilities are kept, now version 3 with the shifted root id. */
        assert_int_equal(getxattr(cap, "security.capability", caps, sizeof(caps)), 24);
        assert_int_equal(le32toh(caps[0]), 0x03000001u);
        assert_int_equal(le32toh(caps[1]), 1u << 10);
        assert_int_equal(le32toh(caps[5]), BASE);
        assert_int_equal(lgetxattr(deep, "trusted.overlay.opaque", opaque, sizeof(opaque)), 1);
        assert_int_equal(opaque[0], 'y');
        st = lstat_in(root, "etc/passwd");
        assert_int_equal(st.st_nlink, 2);
        assert_int_equal(st.st_ino, lstat_in(root, "etc/hard").st_ino);
}

static void test_shift_id(void **state)
{
        (void)state;
        assert_int_equal(stor_shift_id(0, 0, BASE, RANGE), BASE);
        assert_int_equal(stor_shift_id(65535, 0, BASE, RANGE), BASE + 65535);
        assert_int_equal(stor_shift_id(65536, 0, BASE, RANGE), BASE + 65534);
        /* Back again, as a re-shift of a copy does. */
        assert_int_equal(stor_shift_id(BASE + 7, BASE, 0, RANGE), 7);
        assert_int_equal(stor_shift_id(3, BASE, 0, RANGE), 65534);
        assert_int_equal(stor_shift_id(9, 0, 100, 4), 103);
}

static void test_shift_in_place(void **state)
{
        _cleanup_free_ char *root = path_in("tree"), *outside = path_in("outside");
        _cleanup_error_ Error *e = NULL;
        _cleanup_close_ int fd = -EBADF;
        (void)state;

        make_file(dir, "outside", "host\n", 0600, 0, 0);
        make_tree(root, outside);
        fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        if (stor_shift_tree(fd, 0, BASE, RANGE, &e) < 0)
                fail_msg("shift: %s", e->msg);
        check_shifted(root, outside);

        /* And back: every id returns, the capabilities' root id with them. */
        if (stor_shift_tree(fd, BASE, 0, RANGE, &e) < 0)
                fail_msg("shift back: %s", e->msg);
        assert_owner(root, ".", 0, 0);
        assert_owner(root, "etc/deep/own", 1000, 1000);
        assert_owner(root, "etc/passwd", 0, 0);
        assert_int_equal(lstat_in(root, "suid").st_mode & 07777, 04755);

        assert_int_equal(stor_shift_tree(fd, 0, BASE, 0, &e), -EINVAL);
        e = error_free(e);
}

static void test_shift_copy(void **state)
{
        _cleanup_free_ char *root = path_in("src"), *copy = path_in("copy"), *outside = path_in("outside2"),
                            *text = NULL, *passwd = xasprintf("%s/etc/passwd", copy);
        _cleanup_error_ Error *e = NULL;
        _cleanup_close_ int dst = -EBADF;
        struct stat st;
        (void)state;

        make_file(dir, "outside2", "host\n", 0600, 0, 0);
        make_tree(root, outside);
        /* The fallback for layers the kernel cannot idmap: a copy, then its owners shifted. */
        if (stor_tree_copy(root, copy, &e) < 0)
                fail_msg("copy: %s", e->msg);
        dst = open(copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dst >= 0);
        StorShift sh = { 0, BASE, 0, BASE, RANGE };
        if (stor_shift_tree_ids(dst, &sh, &e) < 0)
                fail_msg("shift: %s", e->msg);
        check_shifted(copy, outside);
        assert_int_equal(lstat_in(copy, ".").st_mode & 07777, 0755);
        assert_int_equal(read_file_at(AT_FDCWD, passwd, &text, NULL, NULL), 0);
        assert_string_equal(text, "root:x:0:0::/root:/bin/sh\n");
        st = lstat_in(copy, "etc/passwd");
        assert_int_equal(st.st_mtim.tv_sec, 2000);
        /* The source is untouched. */
        assert_owner(root, ".", 0, 0);
        assert_owner(root, "etc/deep/own", 1000, 1000);
        assert_int_equal(lstat_in(root, "suid").st_mode & 07777, 04755);
}

/* An overlay over an idmapped layer: the image's root files show as BASE, new files land in the
 * upper dir owned by BASE. Skips where the kernel cannot idmap the layer's file system. */
static void test_overlay_idmapped(void **state)
{
        _cleanup_free_ char *layers = path_in("layers"), *upper = path_in("upper"), *work = path_in("work"),
                            *target = path_in("merged"), *stage = path_in("stage"), *fresh = NULL;
        char *names[] = { (char *)"l1", NULL };
        StorIdmap map = { BASE, BASE + 7, RANGE };
        _cleanup_error_ Error *e = NULL;
        int r;
        (void)state;

        assert_int_equal(mkdir(layers, 0700), 0);
        {
                _cleanup_free_ char *l1 = xasprintf("%s/l1", layers);
                assert_int_equal(mkdir(l1, 0755), 0);
                make_file(l1, "file", "x\n", 0644, 0, 0);
        }
        r = stor_overlay_mount_idmapped(layers, names, &map, stage, upper, work, target, &e);
        if (r == -EOPNOTSUPP)
                skip();
        if (r < 0)
                fail_msg("mount: %s", e->msg);
        assert_owner(target, "file", BASE, BASE + 7);
        assert_owner(upper, ".", BASE, BASE + 7);
        make_file(target, "new", "y\n", 0644, BASE + 5, BASE + 12);
        fresh = xasprintf("%s/new", upper);
        assert_owner(upper, "new", BASE + 5, BASE + 12);
        /* The staged idmapped layer is gone again; the layer itself is unchanged. */
        assert_int_equal(access(stage, F_OK), -1);
        assert_owner(layers, "l1/file", 0, 0);
        assert_int_equal(stor_overlay_umount(target, &e), 0);
        assert_false(stor_overlay_is_mounted(target));

        /* What a crash between attaching and detaching would leave: the layer mounted in the stage
         * dir, twice. Clearing detaches it and removes nothing of the layer. */
        {
                _cleanup_free_ char *l1 = xasprintf("%s/l1", layers), *s0 = xasprintf("%s/0", stage);
                assert_int_equal(mkdir(stage, 0700), 0);
                assert_int_equal(mkdir(s0, 0700), 0);
                assert_int_equal(mount(l1, s0, NULL, MS_BIND, NULL), 0);
                assert_int_equal(mount(l1, s0, NULL, MS_BIND, NULL), 0);
                assert_int_equal(stor_overlay_stage_clear(stage, &e), 0);
                assert_int_equal(access(stage, F_OK), -1);
                assert_owner(layers, "l1/file", 0, 0);
                assert_int_equal(stor_overlay_stage_clear(stage, &e), 0);
        }
}

static int setup(void **state)
{
        (void)state;
        snprintf(dir, sizeof(dir), "/var/tmp/hull-shift-XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
        _cleanup_free_ char *merged = path_in("merged");
        (void)state;
        umount2(merged, MNT_DETACH);
        return rm_rf_at(AT_FDCWD, dir, NULL) < 0 ? -1 : 0;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_shift_id),
                cmocka_unit_test_setup_teardown(test_shift_in_place, setup, teardown),
                cmocka_unit_test_setup_teardown(test_shift_copy, setup, teardown),
                cmocka_unit_test_setup_teardown(test_overlay_idmapped, setup, teardown),
        };

        if (geteuid() != 0) {
                fprintf(stderr, "skip: shifting owners needs root\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
