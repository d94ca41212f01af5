/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* disk.c: VM disks: ext4 base disks made from a tree by mkfs.ext4 -d, qcow2 overlays, sparse copies */
#include <fcntl.h>
#include <fts.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/fs.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/strv.h"
#include "copy.h"
#include "disk.h"

#define MIB (INT64_C(1) << 20)
/* What a tool's stderr may add to an error message. */
#define TOOL_STDERR_MAX 2048

/* Reads a child's stderr to its end, keeping its first TOOL_STDERR_MAX bytes. */
static void read_stderr(int fd, char *buf, size_t size)
{
        size_t len = 0;
        char scratch[4096];

        for (;;) {
                ssize_t n = read(fd, scratch, sizeof(scratch));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                if (len < size - 1) {
                        size_t take = (size_t)n < size - 1 - len ? (size_t)n : size - 1 - len;
                        memcpy(buf + len, scratch, take);
                        len += take;
                }
        }
        /* One line for the error chain: the tool's lines joined, trailing whitespace gone. */
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\r'))
                len--;
        buf[len] = 0;
        for (char *c = buf; *c; c++)
                if (*c == '\n' || *c == '\r')
                        *c = ' ';
}

/* Runs argv (argv[0] a name looked up by find_tool) with stdin and stdout on /dev/null; a failure carries
 * what the tool printed on stderr. ENOENT with package when the tool is missing. */
static int run_tool(char **argv, const char *package, Error **err)
{
        _cleanup_free_ char *tool = path_find(argv[0], "/usr/sbin:/sbin:/usr/bin:/bin");
        _cleanup_(pid_killp) pid_t pid = 0;
        _cleanup_close_ int rd = -EBADF;
        char msg[TOOL_STDERR_MAX];
        int pipefd[2], status;

        if (!tool)
                return error_setf(err, ENOENT, "'%s' not found (install %s)", argv[0], package);
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return error_set(err, errno, "run '%s': pipe", argv[0]);
        rd = pipefd[0];
        pid = fork();
        if (pid < 0) {
                int saved = errno;
                close(pipefd[1]);
                return error_set(err, saved, "run '%s': fork", argv[0]);
        }
        if (pid == 0) {
                int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0 ||
                    dup2(pipefd[1], STDERR_FILENO) < 0)
                        _exit(127);
                signal(SIGPIPE, SIG_DFL);
                execv(tool, argv);
                (void)!write(STDERR_FILENO, "exec failed", 11);
                _exit(127);
        }
        close(pipefd[1]);
        read_stderr(rd, msg, sizeof(msg));
        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR)
                        return error_set(err, errno, "wait for '%s'", argv[0]);
        }
        TAKE_PID(pid);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFSIGNALED(status))
                return error_setf(err, EIO, "'%s' killed by signal %d%s%s", argv[0], WTERMSIG(status),
                                  msg[0] ? ": " : "", msg);
        return error_setf(err, EIO, "'%s' failed with status %d%s%s", argv[0], WEXITSTATUS(status),
                          msg[0] ? ": " : "", msg);
}

/* What a tree takes, as du counts it (allocated blocks, each hard-linked inode once), and its inodes. */
static int measure_tree(const char *dir, int64_t *ret_bytes, int64_t *ret_inodes, Error **err)
{
        char *paths[] = { (char *)dir, NULL };
        int64_t bytes = 0, inodes = 0;
        FTS *fts;
        FTSENT *e;
        int r = 0;

        fts = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR | FTS_XDEV, NULL);
        if (!fts)
                return error_set(err, errno, "walk '%s'", dir);
        for (;;) {
                errno = 0;
                e = fts_read(fts);
                if (!e)
                        break;
                if (e->fts_info == FTS_DP)
                        continue;
                if (e->fts_info == FTS_ERR || e->fts_info == FTS_DNR || e->fts_info == FTS_NS) {
                        r = error_set(err, e->fts_errno, "walk '%s'", e->fts_path);
                        break;
                }
                /* A hard-linked file's blocks are shared among its names: each name counts its share. */
                bytes += (int64_t)e->fts_statp->st_blocks * 512 / (int64_t)(e->fts_statp->st_nlink ?: 1);
                inodes++;
        }
        if (r == 0 && !e && errno != 0)
                r = error_set(err, errno, "walk '%s'", dir);
        fts_close(fts);
        if (r < 0)
                return r;
        *ret_bytes = bytes;
        *ret_inodes = inodes;
        return 0;
}

/* A new file next to path (path.tmp-XXXXXX, mode 0644) for a result renamed into place; *ret_tmp its name. */
static int create_temp_next_to(const char *path, char **ret_tmp, Error **err)
{
        _cleanup_free_ char *tmp = xasprintf("%s.tmp-XXXXXX", path);
        int fd = mkostemp(tmp, O_CLOEXEC);

        if (fd < 0)
                return error_set(err, errno, "create a file next to '%s'", path);
        if (fchmod(fd, 0644) < 0) {
                int r = error_set(err, errno, "chmod '%s'", tmp);
                close(fd);
                unlink(tmp);
                return r;
        }
        *ret_tmp = TAKE_PTR(tmp);
        return fd;
}

/* Renames tmp to path, or removes tmp when r says the work failed; returns r or the rename's error. */
static int finish_temp(char *tmp, const char *path, int r, Error **err)
{
        if (r >= 0 && rename(tmp, path) < 0)
                r = error_set(err, errno, "rename '%s' to '%s'", tmp, path);
        if (r < 0 && unlink(tmp) < 0 && errno != ENOENT)
                log_warn("remove '%s': %s, ignoring", tmp, strerror(errno));
        return r;
}

int stor_disk_make_base(const char *src_dir, const char *out_path, int64_t min_size, Error **err)
{
        _cleanup_free_ char *tmp = NULL, *inodes_arg = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_strv_ char **argv = NULL;
        int64_t used = 0, inodes = 0, size;
        struct stat st;
        int r;

        if (stat(src_dir, &st) < 0)
                return error_set(err, errno, "base disk from '%s'", src_dir);
        if (!S_ISDIR(st.st_mode))
                return error_setf(err, ENOTDIR, "base disk from '%s': not a directory", src_dir);
        r = measure_tree(src_dir, &used, &inodes, err);
        if (r < 0)
                return error_wrap(err, r, "base disk from '%s'", src_dir);

        /* Room to write as much again, and 256 MiB for a system's first steps (logs, packages). The
         * inodes count a block each: a tree of many small files needs the room for its metadata. */
        used += inodes * 4096;
        size = 2 * used + 256 * MIB;
        if (size < min_size)
                size = min_size;
        size = (size + MIB - 1) / MIB * MIB;

        fd = create_temp_next_to(out_path, &tmp, err);
        if (fd < 0)
                return fd;
        /* Sparse: mkfs writes only the metadata. */
        if (ftruncate(fd, size) < 0)
                return finish_temp(tmp, out_path, error_set(err, errno, "size '%s'", tmp), err);
        close(TAKE_FD(fd));

        strv_push(&argv, "mkfs.ext4");
        strv_push(&argv, "-q");
        strv_push(&argv, "-F");
        /* Not the "small" profile mke2fs picks below 512 MiB (1 KiB blocks): a root disk grows. */
        strv_push(&argv, "-T");
        strv_push(&argv, "default");
        strv_push(&argv, "-L");
        strv_push(&argv, "hull-root");
        /* Inode tables and the journal are zeroed by the guest's kernel later, not here: a fresh
         * mkfs stays fast whatever the size. */
        strv_push(&argv, "-E");
        strv_push(&argv, "root_owner=0:0,lazy_itable_init=1,lazy_journal_init=1");
        if (2 * inodes + 1024 > size / 16384) {
                inodes_arg = xasprintf("%" PRId64, 2 * inodes + 1024);
                strv_push(&argv, "-N");
                strv_push(&argv, inodes_arg);
        }
        strv_push(&argv, "-d");
        strv_push(&argv, src_dir);
        strv_push(&argv, tmp);
        r = run_tool(argv, "e2fsprogs", err);
        if (r < 0)
                r = error_wrap(err, r, "base disk from '%s'", src_dir);
        log_debug("disk: '%s' from '%s': %" PRId64 " MiB for %" PRId64 " bytes in %" PRId64 " inodes",
                  out_path, src_dir, size / MIB, used, inodes);
        return finish_temp(tmp, out_path, r, err);
}

int stor_disk_make_overlay(const char *base, const char *out_path, Error **err)
{
        _cleanup_free_ char *abs_base = realpath(base, NULL), *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        /* The overlay names its base by path: an absolute one, whatever the current directory is later. */
        if (!abs_base)
                return error_set(err, errno, "overlay on '%s'", base);
        fd = create_temp_next_to(out_path, &tmp, err);
        if (fd < 0)
                return fd;
        close(TAKE_FD(fd));
        char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", abs_base, tmp, NULL };
        r = run_tool(argv, "qemu-utils", err);
        if (r < 0)
                r = error_wrap(err, r, "overlay on '%s'", base);
        return finish_temp(tmp, out_path, r, err);
}

int stor_disk_copy(const char *src, const char *dst, Error **err)
{
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        _cleanup_free_ char *tmp = NULL;
        struct stat st;
        int r = 0;

        in = open(src, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return error_set(err, errno, "copy '%s'", src);
        if (fstat(in, &st) < 0)
                return error_set(err, errno, "stat '%s'", src);
        if (!S_ISREG(st.st_mode))
                return error_setf(err, EINVAL, "copy '%s': not a regular file", src);
        out = create_temp_next_to(dst, &tmp, err);
        if (out < 0)
                return out;

        /* Sharing the extents (btrfs, XFS) is instant and takes no room. */
        if (ioctl(out, FICLONE, in) < 0) {
                r = stor_copy_sparse(in, out, st.st_size);
                if (r >= 0 && ftruncate(out, st.st_size) < 0)
                        r = -errno;
                if (r < 0)
                        r = error_set(err, r, "copy '%s' to '%s'", src, dst);
        }
        if (r >= 0 && fchmod(out, st.st_mode & 07777) < 0)
                r = error_set(err, errno, "chmod '%s'", tmp);
        if (r >= 0 && fsync(out) < 0)
                r = error_set(err, errno, "sync '%s'", tmp);
        return finish_temp(tmp, dst, r, err);
}
