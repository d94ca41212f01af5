/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* migrate.c: live migration of a running VM from one hull to another over one TCP connection */
/*
 * The sender connects to the receiver and the two speak in JSON lines before QEMU takes the socket:
 *   sender:   {"hull_migrate": 1, "id", "name", "image_id", "image_name", "options", "spec", "base_size"}
 *   receiver: {"need_base": true|false}             (or {"error": "..."})
 *   sender:   the base disk's bytes, when needed
 *   receiver: {"ready": true}                        once its QEMU waits for the state (-incoming defer)
 * Then both pass the socket to their QEMU (getfd gives QEMU a copy of its own; fd: URI), and QEMU
 * migrates the VM's memory, devices and the top of its disk (block migration of the qcow2 overlay; the
 * base is the same on both sides). Once the receiver's guest runs under its own supervisor it writes
 * {"ok": true} on the socket it kept; only then does the sender remove its VM. On any failure before
 * that, the sender's VM is continued (QMP cont) where it was.
 *
 * A container (app or system) moves over the same connection and handshake, stopped: live migration
 * of its processes would need CRIU. migrate_container_send() and receive_container() below:
 *   sender:   {"hull_migrate": 1, "kind": "container"|"system", "id", "name", "image_id", "image_name",
 *              "options", "was_running"}
 *   receiver: {"need_image": true|false}            (or {"error": "..."}: a name in use, ...)
 *   sender:   {"image_size": N} and an oci-archive of the image (N bytes), when needed
 *   receiver: {"ready": true}                        once the image is there
 *   sender:   stops a running container, then sends its upper dir (storage/tree.c's stream)
 *   receiver: makes the instance (its own id, lease and bundle) over the received upper dir, starts it
 *             if it was running, then {"ok": true}; only then does the sender remove its copy. On a
 *             failure the sender's container stays, started again if it was running.
 */
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/strv.h"
#include "internal.h"
#include "images.h"
#include "storage/disk.h"
#include "storage/tree.h"
#include "copy.h"
#include "common/process.h"
#include "vm/agent.h"
#include "vm/qmp.h"
#include "vm_internal.h"

#define LINE_MAX_BYTES (1 << 20)
#define STEP_TIMEOUT_MS 60000
#define MIGRATE_TIMEOUT_MS 1800000

/* "tcp://HOST:PORT" */
static int parse_uri(const char *uri, char **ret_host, char **ret_port, Error **err)
{
        const char *hp, *colon;

        if (strncmp(uri, "tcp://", 6) != 0)
                return error_setf(err, EINVAL, "'%s': expected tcp://HOST:PORT", uri);
        hp = uri + 6;
        colon = strrchr(hp, ':');
        if (!colon || colon == hp || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
                return error_setf(err, EINVAL, "'%s': expected tcp://HOST:PORT", uri);
        *ret_host = xstrndup(hp, (size_t)(colon - hp));
        *ret_port = xstrdup(colon + 1);
        return 0;
}

static int tcp_socket(const char *uri, bool is_listen, Error **err)
{
        _cleanup_free_ char *host = NULL, *port = NULL;
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = is_listen ? AI_PASSIVE : 0 }, *ai = NULL;
        int fd = -1, r;

        r = parse_uri(uri, &host, &port, err);
        if (r < 0)
                return r;
        r = getaddrinfo(host, port, &hints, &ai);
        if (r != 0)
                return error_setf(err, EHOSTUNREACH, "'%s': %s", uri, gai_strerror(r));
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                r = error_set(err, errno, "socket");
                goto out;
        }
        if (is_listen) {
                int one = 1;
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0)
                        r = error_set(err, errno, "listen on '%s'", uri);
        } else if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
                r = error_set(err, errno, "connect to '%s'", uri);
        }
out:
        freeaddrinfo(ai);
        if (r < 0) {
                if (fd >= 0)
                        close(fd);
                return r;
        }
        return fd;
}

/* Reads one JSON line within timeout_ms. */
static int read_msg(int fd, int timeout_ms, json_t **ret, Error **err)
{
        _cleanup_free_ char *buf = xmalloc(LINE_MAX_BYTES);
        size_t n = 0;

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int k = poll(&p, 1, timeout_ms);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k == 0)
                        return error_setf(err, ETIMEDOUT, "the other side did not answer");
                ssize_t got = read(fd, buf + n, 1);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got < 0)
                        return error_set(err, errno, "read");
                if (got == 0)
                        return error_setf(err, EPIPE, "the other side closed the connection");
                if (buf[n] == '\n')
                        break;
                if (++n == LINE_MAX_BYTES)
                        return error_setf(err, EBADMSG, "a message longer than %d bytes", LINE_MAX_BYTES);
        }
        return json_parse(buf, n, "migration message", ret, err);
}

static int send_msg(int fd, json_t *msg, Error **err)
{
        _cleanup_free_ char *text = json_dumps(msg, JSON_COMPACT);
        _cleanup_free_ char *line = xasprintf("%s\n", text);

        json_decref(msg);
        if (fd_write_all(fd, line, strlen(line)) < 0)
                return error_set(err, errno, "send");
        return 0;
}

/* A message that says how the other side failed, as an error. */
static int check_reply(json_t *m, const char *key, Error **err)
{
        const char *e = json_string_value(json_object_get(m, "error"));

        if (e)
                return error_setf(err, EIO, "the receiving hull: %s", e);
        if (!json_object_get(m, key))
                return error_setf(err, EPROTO, "unexpected migration message");
        return 0;
}

static int copy_bytes(int in, int out, int64_t n, bool is_sparse_out, Error **err)
{
        _cleanup_free_ char *buf = xmalloc(1 << 20);
        static const char zero[4096];

        while (n > 0) {
                size_t want = n < (1 << 20) ? (size_t)n : (1 << 20);
                ssize_t got = read(in, buf, want);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got <= 0)
                        return got < 0 ? error_set(err, errno, "read") : error_setf(err, EPIPE, "short transfer");
                /* All-zero 4 KiB blocks of the base disk become holes. */
                for (ssize_t off = 0; off < got;) {
                        size_t chunk = (size_t)(got - off) < sizeof(zero) ? (size_t)(got - off) : sizeof(zero);
                        if (is_sparse_out && chunk == sizeof(zero) && memcmp(buf + off, zero, chunk) == 0) {
                                if (lseek(out, (off_t)chunk, SEEK_CUR) < 0)
                                        return error_set(err, errno, "seek");
                        } else if (fd_write_all(out, buf + off, chunk) < 0) {
                                return error_set(err, errno, "write");
                        }
                        off += (ssize_t)chunk;
                }
                n -= got;
        }
        return 0;
}

/* Sends the image of rec as an oci-archive: {"image_size": N}, then its bytes. */
static int send_image(InstContext *c, const InstRecord *rec, int sock, int64_t *ret_bytes, Error **err)
{
        _cleanup_free_ char *dir = xasprintf("%s/migrate-out.%d", c->root, (int)getpid()),
                            *path = xasprintf("%s/image.tar", dir);
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        rm_rf_at(AT_FDCWD, dir, NULL);
        r = mkdir_p(dir, 0700, err);
        if (r >= 0)
                r = inst_image_export(c, rec->image_id, "oci-archive", path, err);
        if (r >= 0) {
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0 || fstat(fd, &st) < 0)
                        r = error_set(err, errno, "open '%s'", path);
        }
        if (r >= 0)
                r = send_msg(sock, json_pack("{s:I}", "image_size", (json_int_t)st.st_size), err);
        if (r >= 0)
                r = copy_bytes(fd, sock, st.st_size, false, err);
        if (r >= 0)
                *ret_bytes = st.st_size;
        rm_rf_at(AT_FDCWD, dir, NULL);
        return r < 0 ? error_wrap(err, r, "send image '%s'", rec->image_name) : 0;
}

/* A container to another hull: stopped (if it ran), sent with its image when the other side lacks it,
 * started there; removed here once the other side confirms. */
static int migrate_container_send(InstContext *c, InstRecord *rec, const char *uri, json_t **ret, Error **err)
{
        _cleanup_free_ char *upper = inst_path(c, rec->id, "upper");
        _cleanup_json_ json_t *m = NULL;
        _cleanup_close_ int sock = -EBADF;
        struct sigaction ign = { .sa_handler = SIG_IGN }, old;
        bool was_running = false, is_stopped = false;
        int64_t t0 = monotonic_ms(), image_bytes = 0;
        InstIdmap map = {};
        InstState state;
        int r;

        r = inst_state(c, rec, &state, NULL, err);
        if (r < 0)
                return r;
        was_running = state == INST_STATE_RUNNING || state == INST_STATE_PAUSED;
        if (was_running && rec->is_auto_remove)
                return error_setf(err, EBUSY, "migrate '%s': it runs with --rm, and stopping it removes it",
                                  rec->name);
        sock = tcp_socket(uri, false, err);
        if (sock < 0)
                return error_wrap(err, sock, "migrate '%s'", rec->name);
        /* A receiver that gives up mid-way must not kill us with SIGPIPE: its message says why. */
        sigaction(SIGPIPE, &ign, &old);
        /* The uid/gid range its files are owned under here: the receiver moves them to its own. */
        r = inst_db_idmap_find(c->db, rec->id, &map, err);
        if (r >= 0)
                r = send_msg(sock,
                             json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:{s:I, s:I}}", "hull_migrate", 1,
                                       "kind", inst_kind_name(rec->kind), "id", rec->id, "name", rec->name,
                                       "image_id", rec->image_id, "image_name", rec->image_name, "options",
                                       rec->options, "was_running", was_running, "idmap", "uid_base",
                                       (json_int_t)map.uid_base, "gid_base", (json_int_t)map.gid_base),
                             err);
        if (r >= 0)
                r = read_msg(sock, STEP_TIMEOUT_MS, &m, err);
        if (r >= 0)
                r = check_reply(m, "need_image", err);
        if (r >= 0 && json_is_true(json_object_get(m, "need_image")))
                r = send_image(c, rec, sock, &image_bytes, err);
        m = json_decref_null(m);
        if (r >= 0)
                r = read_msg(sock, MIGRATE_TIMEOUT_MS, &m, err);
        if (r >= 0)
                r = check_reply(m, "ready", err);
        m = json_decref_null(m);
        if (r >= 0 && was_running) {
                r = inst_stop(c, rec, -1, err);
                is_stopped = r >= 0;
        }
        if (r >= 0)
                r = stor_tree_send(upper, sock, err);
        /* A failed send may have a reason from the other side waiting: that one says more. */
        if (r >= 0 || r == -EPIPE || r == -ECONNRESET) {
                _cleanup_error_ Error *e = NULL;
                int k = read_msg(sock, MIGRATE_TIMEOUT_MS, &m, &e);
                if (k >= 0)
                        k = check_reply(m, "ok", &e);
                if (k < 0) {
                        error_free(err ? TAKE_PTR(*err) : NULL);
                        r = error_setf(err, -k, "%s", error_message(e, k));
                }
        }
        sigaction(SIGPIPE, &old, NULL);
        if (r < 0) {
                if (is_stopped) {
                        _cleanup_error_ Error *e = NULL;
                        int k = inst_start_detached(c, rec, &e);
                        if (k < 0)
                                log_warn("'%s': start it again: %s, ignoring", rec->name, error_message(e, k));
                }
                return error_wrap(err, r, "migrate '%s' (it stays here%s)", rec->name,
                                  was_running ? ", running" : "");
        }
        r = inst_remove(c, rec, true, err);
        if (r < 0)
                return error_wrap(err, r, "migrated '%s', but removing it here", rec->name);
        if (ret)
                *ret = json_pack("{s:b, s:I, s:I}", "was_running", was_running, "total_ms",
                                 (json_int_t)(monotonic_ms() - t0), "image_bytes", (json_int_t)image_bytes);
        return 0;
}

/* Takes {"image_size": N} and N bytes of an oci-archive, and imports it; it must hold image_id. */
static int receive_image(InstContext *c, int sock, const char *image_id, Error **err)
{
        _cleanup_free_ char *dir = xasprintf("%s/migrate-in.%d", c->root, (int)getpid()),
                            *path = xasprintf("%s/image.tar", dir);
        _cleanup_(inst_image_freep) InstImage *img = NULL;
        _cleanup_json_ json_t *m = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_strv_ char **ids = NULL;
        json_int_t size = -1;
        int r;

        r = read_msg(sock, STEP_TIMEOUT_MS, &m, err);
        if (r < 0)
                return r;
        if (json_unpack(m, "{s:I}", "image_size", &size) < 0 || size < 0)
                return error_setf(err, EPROTO, "no image size");
        rm_rf_at(AT_FDCWD, dir, NULL);
        r = mkdir_p(dir, 0700, err);
        if (r < 0)
                return r;
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                r = error_set(err, errno, "open '%s'", path);
        if (r >= 0)
                r = copy_bytes(sock, fd, size, false, err);
        fd = safe_close(fd);
        if (r >= 0)
                r = inst_image_import(c, path, NULL, &ids, err);
        rm_rf_at(AT_FDCWD, dir, NULL);
        if (r >= 0 && inst_db_image_find(c->db, image_id, &img, NULL) < 0)
                r = error_setf(err, EBADMSG, "the image sent is not '%.12s'", image_id);
        return r < 0 ? error_wrap(err, r, "image") : 0;
}

/* A received container's upper dir: the tree stream on the socket. */
static int fill_from_socket(const char *upper, void *data, Error **err)
{
        return stor_tree_receive(*(int *)data, upper, err);
}

/* The receiving side of migrate_container_send(), after its first message m. */
static int receive_container(InstContext *c, int sock, json_t *m, char **ret_name, Error **err)
{
        _cleanup_(inst_record_freep) InstRecord *rec = NULL, *other = NULL;
        _cleanup_(inst_run_options_done) InstRunOptions o = {};
        _cleanup_(inst_net_attach_done) InstNetAttach att = {};
        _cleanup_(inst_image_freep) InstImage *img = NULL;
        _cleanup_json_ json_t *opts = NULL;
        const char *id = NULL, *name = NULL, *image_id = NULL, *image_name = NULL, *options = NULL, *kind = NULL;
        int was_running = 0;
        json_int_t uid_base = 0, gid_base = 0;
        InstIdmap from_map;
        bool need_image;
        int r;

        if (json_unpack(m, "{s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "kind", &kind, "id", &id, "name", &name,
                        "image_id", &image_id, "image_name", &image_name, "options", &options, "was_running",
                        &was_running) < 0 ||
            json_unpack(m, "{s?{s:I, s:I}}", "idmap", "uid_base", &uid_base, "gid_base", &gid_base) < 0 || uid_base < 0 ||
            uid_base > UINT32_MAX - INST_IDMAP_SLOT || gid_base < 0 || gid_base > UINT32_MAX - INST_IDMAP_SLOT ||
            (strcmp(kind, "container") != 0 && strcmp(kind, "system") != 0) || !*image_id ||
            strspn(image_id, "0123456789abcdef") != strlen(image_id))
                return error_setf(err, EPROTO, "not a hull container migration");
        from_map = (InstIdmap){ (uint32_t)uid_base, (uint32_t)gid_base, INST_IDMAP_SLOT };
        r = inst_check_name(name, err);
        if (r < 0)
                return r;
        if (inst_db_instance_find(c->db, name, &other, NULL) != -ENOENT)
                return error_setf(err, EEXIST, "the name '%s' is in use here", name);
        r = json_parse(options, strlen(options), "options", &opts, err);
        if (r >= 0)
                r = inst_run_options_from_json(opts, &o, err);
        if (r < 0)
                return r;
        need_image = inst_db_image_find(c->db, image_id, &img, NULL) < 0;
        r = send_msg(sock, json_pack("{s:b}", "need_image", need_image), err);
        if (r >= 0 && need_image)
                r = receive_image(c, sock, image_id, err);
        if (r >= 0 && need_image)
                r = inst_db_image_find(c->db, image_id, &img, err);
        if (r >= 0)
                r = send_msg(sock, json_pack("{s:b}", "ready", 1), err);
        if (r < 0)
                return r;
        /* An id of its own, and a lease of its own on the network of the same name here. */
        rec = inst_copy_record(strcmp(kind, "system") == 0 ? INST_KIND_SYSTEM : INST_KIND_CONTAINER, name, img,
                               image_name, options, o.is_auto_remove);
        r = inst_add_record(c, rec, &o, &att, err);
        if (r < 0)
                return r;
        r = inst_copy_make_files(c, rec, img, &o, &att, &from_map, fill_from_socket, &sock, err);
        if (r >= 0)
                r = inst_net_members_changed(c, att.network, o.ports && o.ports[0], err);
        if (r >= 0 && was_running)
                r = inst_start_detached(c, rec, err);
        if (r < 0) {
                if (inst_remove(c, rec, true, NULL) < 0) {
                        inst_driver_container.remove_files(c, rec->id, NULL);
                        inst_db_instance_remove(c->db, rec->id, NULL);
                }
                return r;
        }
        *ret_name = xstrdup(rec->name);
        return 0;
}

int inst_migrate_send(InstContext *c, InstRecord *rec, const char *uri, json_t **ret, Error **err)
{
        _cleanup_free_ char *base = NULL, *spec_path = inst_path(c, rec->id, "vm.json"), *spec_text = NULL;
        _cleanup_(vm_qmp_freep) VmQmp *q = NULL;
        _cleanup_json_ json_t *m = NULL, *info = NULL, *spec = NULL;
        _cleanup_close_ int sock = -EBADF, base_fd = -EBADF, ports_lock = -EBADF;
        bool need_base = false;
        struct stat st;
        InstState state;
        size_t len;
        int r;

        if (rec->kind != INST_KIND_VM)
                return migrate_container_send(c, rec, uri, ret, err);
        r = inst_state(c, rec, &state, NULL, err);
        if (r < 0)
                return r;
        if (state != INST_STATE_RUNNING)
                return error_setf(err, EINVAL, "'%s' is %s, not running", rec->name, inst_state_name(state));
        /* The receiver's QEMU is made with the agent ports vm.json counts: none may be added till the end. */
        ports_lock = inst_vm_lock_ports(c, rec->id, err);
        if (ports_lock < 0)
                return ports_lock;
        r = read_file_at(AT_FDCWD, spec_path, &spec_text, &len, err);
        if (r >= 0)
                r = json_parse(spec_text, len, "vm.json", &spec, err);
        if (r < 0)
                return r;
        base = inst_vm_base_path(c, rec->image_id);
        base_fd = open(base, O_RDONLY | O_CLOEXEC);
        if (base_fd < 0 || fstat(base_fd, &st) < 0)
                return error_set(err, errno, "open '%s'", base);
        r = inst_qmp_open(c, rec, &q, err);
        if (r < 0)
                return r;
        sock = tcp_socket(uri, false, err);
        if (sock < 0)
                return sock;
        r = send_msg(sock,
                     json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:O, s:I}", "hull_migrate", 1, "id", rec->id, "name",
                               rec->name, "image_id", rec->image_id, "image_name", rec->image_name, "options",
                               rec->options, "spec", spec, "base_size", (json_int_t)st.st_size),
                     err);
        if (r >= 0)
                r = read_msg(sock, STEP_TIMEOUT_MS, &m, err);
        if (r >= 0)
                r = check_reply(m, "need_base", err);
        if (r < 0)
                return error_wrap(err, r, "migrate '%s'", rec->name);
        need_base = json_is_true(json_object_get(m, "need_base"));
        m = json_decref_null(m);
        if (need_base) {
                r = copy_bytes(base_fd, sock, st.st_size, false, err);
                if (r < 0)
                        return error_wrap(err, r, "migrate '%s': send its base disk", rec->name);
        }
        r = read_msg(sock, MIGRATE_TIMEOUT_MS, &m, err);
        if (r >= 0)
                r = check_reply(m, "ready", err);
        if (r < 0)
                return error_wrap(err, r, "migrate '%s'", rec->name);
        m = json_decref_null(m);

        /* QEMU gets a copy of the socket (getfd); ours stays for the other side's confirmation. */
        r = inst_qmp_migrate_out(q, sock, true, MIGRATE_TIMEOUT_MS, &info, err);
        /* The guest is paused here now; it runs on the other side once that side confirms. */
        if (r >= 0)
                r = read_msg(sock, MIGRATE_TIMEOUT_MS, &m, err);
        if (r >= 0)
                r = check_reply(m, "ok", err);
        if (r < 0) {
                vm_qmp_execute(q, "cont", NULL, STEP_TIMEOUT_MS, NULL, NULL);
                return error_wrap(err, r, "migrate '%s' (it goes on running here)", rec->name);
        }
        q = vm_qmp_free(q);
        ports_lock = safe_close(ports_lock);
        r = inst_remove(c, rec, true, err);
        if (r < 0)
                return error_wrap(err, r, "migrated '%s', but removing it here", rec->name);
        if (ret)
                *ret = json_pack("{s:I, s:I, s:I}", "total_ms",
                                 (json_int_t)json_integer_value(json_object_get(info, "total-time")), "downtime_ms",
                                 (json_int_t)json_integer_value(json_object_get(info, "downtime")), "transferred",
                                 (json_int_t)json_integer_value(
                                         json_object_get(json_object_get(info, "ram"), "transferred")));
        return 0;
}

/* The receiving side's part, on the accepted socket; its failure is also told to the sender. */
static int receive_one(InstContext *c, int sock, char **ret_name, Error **err)
{
        _cleanup_(inst_record_freep) InstRecord *rec = xnew0(InstRecord, 1);
        _cleanup_(inst_run_options_done) InstRunOptions o = {};
        _cleanup_(inst_net_attach_done) InstNetAttach att = {};
        _cleanup_(inst_vm_spec_done) InstVmSpec s = {};
        _cleanup_(inst_image_freep) InstImage *img = NULL;
        _cleanup_(vm_qmp_freep) VmQmp *q = NULL;
        _cleanup_json_ json_t *m = NULL, *opts = NULL;
        _cleanup_free_ char *base = NULL, *base_dir = xasprintf("%s/vm/base", c->root), *dir = NULL, *disk = NULL,
                            *spec_path = NULL, *spec_text = NULL, *tmp = NULL;
        const char *id = NULL, *name = NULL, *image_id = NULL, *image_name = NULL, *options = NULL;
        json_int_t base_size = 0;
        bool is_added = false;
        pid_t pid = 0;
        int r;

        r = read_msg(sock, STEP_TIMEOUT_MS, &m, err);
        if (r < 0)
                return r;
        if (json_object_get(m, "kind"))
                return receive_container(c, sock, m, ret_name, err);
        if (json_unpack(m, "{s:s, s:s, s:s, s:s, s:s, s:I}", "id", &id, "name", &name, "image_id", &image_id,
                        "image_name", &image_name, "options", &options, "base_size", &base_size) < 0 ||
            strspn(image_id, "0123456789abcdef") != strlen(image_id) || strlen(id) != 64 ||
            strspn(id, "0123456789abcdef") != 64)
                return error_setf(err, EPROTO, "not a hull migration");
        r = inst_check_name(name, err);
        if (r < 0)
                return r;
        /* An id of its own: two roots on one host must not share a cgroup or a tap name. */
        rec->id = inst_random_hex(32);
        rec->name = xstrdup(name);
        rec->kind = INST_KIND_VM;
        rec->image_id = inst_db_image_find(c->db, image_id, &img, NULL) >= 0 ? xstrdup(img->id) : NULL;
        rec->image_name = xstrdup(image_name);
        rec->options = xstrdup(options);
        rec->created = time(NULL);
        rec->exit_code = -1;
        r = json_parse(options, strlen(options), "options", &opts, err);
        if (r >= 0)
                r = inst_run_options_from_json(opts, &o, err);
        if (r < 0)
                return r;
        base = inst_vm_base_path(c, image_id);
        r = mkdir_p(base_dir, 0700, err);
        if (r < 0)
                return r;
        r = send_msg(sock, json_pack("{s:b}", "need_base", access(base, F_OK) < 0), err);
        if (r < 0)
                return r;
        if (access(base, F_OK) < 0) {
                _cleanup_close_ int fd = -EBADF;
                tmp = xasprintf("%s.%d.tmp", base, (int)getpid());
                fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0)
                        return error_set(err, errno, "open '%s'", tmp);
                r = copy_bytes(sock, fd, base_size, true, err);
                if (r >= 0 && ftruncate(fd, (off_t)base_size) < 0)
                        r = error_set(err, errno, "truncate '%s'", tmp);
                if (r >= 0 && rename(tmp, base) < 0)
                        r = error_set(err, errno, "rename '%s'", tmp);
                if (r < 0) {
                        unlink(tmp);
                        return error_wrap(err, r, "base disk");
                }
        }
        r = inst_add_record(c, rec, &o, &att, err);
        if (r < 0)
                return r;
        is_added = true;
        dir = inst_dir(c, rec->id);
        disk = inst_path(c, rec->id, "disk.qcow2");
        spec_path = inst_path(c, rec->id, "vm.json");
        spec_text = json_dumps(json_object_get(m, "spec"), JSON_INDENT(2));
        r = mkdir_p(dir, 0700, err);
        if (r >= 0)
                r = stor_disk_make_overlay(base, disk, err);
        if (r >= 0)
                r = write_file_atomic_at(AT_FDCWD, spec_path, spec_text, strlen(spec_text), 0600, err);
        if (r >= 0)
                r = inst_vm_spec_load(c, rec->id, &s, err);
        if (r >= 0)
                r = inst_write_etc_files(c, rec->id, s.hostname, &att, NULL, err);
        if (r >= 0)
                r = inst_net_members_changed(c, att.network, o.ports && o.ports[0], err);
        if (r >= 0)
                r = inst_mark_started(c, rec, err);
        if (r >= 0)
                r = inst_vm_boot(c, rec, &s, true, &pid, err);
        if (r >= 0)
                r = inst_qmp_open(c, rec, &q, err);
        if (r >= 0)
                r = send_msg(sock, json_pack("{s:b}", "ready", 1), err);
        if (r >= 0)
                r = inst_qmp_migrate_in(c, rec->id, q, sock, true, MIGRATE_TIMEOUT_MS, err);
        q = vm_qmp_free(q);
        if (r >= 0)
                r = inst_vm_start_supervised(c, rec, true, err);
        if (r >= 0 && att.network) {
                /* The guest keeps the address it had there; it takes its lease here. */
                InstVmNet net = {};
                _cleanup_(vm_agent_freep) VmAgent *a = NULL;
                _cleanup_error_ Error *e = NULL;
                _cleanup_close_ int lock = -EBADF;
                int k = inst_net_vm_address(c, rec, &net, &e);
                if (k >= 0)
                        k = inst_vm_session(c, rec, STEP_TIMEOUT_MS, &lock, &a, &e);
                if (k >= 0)
                        k = vm_agent_netconf(a, net.addr, net.gw, net.mtu, &e);
                if (k < 0)
                        log_warn("'%s': its address on this side: %s, ignoring", rec->name, error_message(e, k));
        }
        if (r < 0) {
                if (pid > 0)
                        kill(pid, SIGKILL);
                if (is_added)
                        inst_remove(c, rec, true, NULL);
                return r;
        }
        *ret_name = xstrdup(rec->name);
        return 0;
}

int inst_migrate_receive(InstContext *c, const char *uri, char **ret_name, Error **err)
{
        _cleanup_close_ int lfd = -EBADF, sock = -EBADF;
        int r;

        lfd = tcp_socket(uri, true, err);
        if (lfd < 0)
                return lfd;
        do
                sock = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        while (sock < 0 && errno == EINTR);
        if (sock < 0)
                return error_set(err, errno, "accept on '%s'", uri);
        lfd = safe_close(lfd);
        r = receive_one(c, sock, ret_name, err);
        if (r < 0) {
                send_msg(sock, json_pack("{s:s}", "error", error_message(err ? *err : NULL, r)), NULL);
                return error_wrap(err, r, "receive");
        }
        return send_msg(sock, json_pack("{s:b}", "ok", 1), err);
}
