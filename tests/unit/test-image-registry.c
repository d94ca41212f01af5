/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-image-registry.c: pull and push against real docker-registry processes on 127.0.0.1 (plain, TLS with
 * basic auth, a bearer-token proxy), images made here and published with skopeo; the streaming store writer;
 * the credentials file */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "common/alloc.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/process.h"
#include "common/strv.h"
#include "image/auth.h"
#include "image/registry.h"

#define USER "tester"
#define PASSWORD "s3cret"
#define N_LAYERS 3

/* A server this test started: killed at teardown, and by the kernel if the test dies first. */
typedef struct Server {
        pid_t pid;
        int port;
        char *log;
} Server;

/* An image made here: its manifest and blobs are in the OCI layout, then in the registry. */
typedef struct TestImage {
        char *manifest_digest;
        int64_t manifest_size;
        char *config_digest;
        char *layers[N_LAYERS];
        int64_t layer_sizes[N_LAYERS];
        size_t n_layers;
} TestImage;

typedef struct Fixture {
        char dir[64];
        char *cert; /* the TLS registry's self-signed certificate */
        Server plain; /* HTTP, anonymous */
        Server tls;   /* HTTPS with a self-signed certificate and htpasswd */
        Server proxy; /* bearer tokens in front of `plain` */
        TestImage img;
        TestImage amd64, arm64;
        char *index_digest;
        unsigned store_seq;
} Fixture;

static Fixture *fixture;

/* Runs a shell command, its output into the fixture's log; returns the exit status. */
_printf_(1, 2) static int sh(const char *fmt, ...)
{
        _cleanup_free_ char *cmd = NULL, *full = NULL;
        va_list ap;
        int status;

        va_start(ap, fmt);
        cmd = xvasprintf(fmt, ap);
        va_end(ap);
        full = xasprintf("(%s) >>%s/commands.log 2>&1", cmd, fixture->dir);
        status = system(full);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static char *path_in(const char *fmt, ...) _printf_(1, 2);
static char *path_in(const char *fmt, ...)
{
        _cleanup_free_ char *rel = NULL;
        va_list ap;

        va_start(ap, fmt);
        rel = xvasprintf(fmt, ap);
        va_end(ap);
        return xasprintf("%s/%s", fixture->dir, rel);
}

static void write_text(const char *path, const char *text)
{
        if (write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0644, NULL) < 0)
                fail_msg("write '%s'", path);
}

static char *digest_of_file(const char *path, int64_t *ret_size)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_(digest_freep) Digest *d = digest_new();
        size_t len = 0;

        if (read_file_at(AT_FDCWD, path, &buf, &len, NULL) < 0)
                return NULL;
        digest_update(d, buf, len);
        if (ret_size)
                *ret_size = (int64_t)len;
        return digest_finish(d);
}

static int free_port(void)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
        close(fd);
        return ntohs(a.sin_port);
}

/* Starts argv with its output in log; the kernel kills it if this process dies. */
static pid_t spawn(char *const argv[], const char *log)
{
        pid_t parent = getpid(), pid;
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                        _exit(127);
                dup2(fd, STDOUT_FILENO);
                dup2(fd, STDERR_FILENO);
                execvp(argv[0], argv);
                _exit(127);
        }
        close(fd);
        return pid;
}

/*
 * Waits until log holds needle, woken by inotify as the server writes it, or until the server
 * exits (its pidfd) or timeout_ms passes. Returns the text after needle up to the end of its line.
 */
static char *wait_for_log(pid_t pid, const char *log, const char *needle, int timeout_ms)
{
        _cleanup_close_ int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        _cleanup_close_ int pidfd = pidfd_open_pid(pid);
        int64_t left = timeout_ms;

        assert_true(in >= 0);
        assert_true(pidfd >= 0);
        assert_true(inotify_add_watch(in, log, IN_MODIFY) >= 0);
        while (left > 0) {
                _cleanup_free_ char *text = NULL;
                struct pollfd p[2] = { { .fd = in, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
                struct timespec t0, t1;
                char drain[4096];
                const char *hit;

                if (read_file_at(AT_FDCWD, log, &text, NULL, NULL) == 0 && (hit = strstr(text, needle))) {
                        hit += strlen(needle);
                        return xstrndup(hit, strcspn(hit, "\r\n\""));
                }
                clock_gettime(CLOCK_MONOTONIC, &t0);
                if (poll(p, 2, (int)left) < 0 && errno != EINTR)
                        break;
                if (p[1].revents)
                        fail_msg("'%s' exited before '%s' appeared in %s", log, needle, log);
                while (read(in, drain, sizeof(drain)) > 0)
                        ;
                clock_gettime(CLOCK_MONOTONIC, &t1);
                left -= (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        }
        fail_msg("no '%s' in %s after %d ms", needle, log, timeout_ms);
        return NULL;
}

static void server_stop(Server *s)
{
        if (s->pid > 0) {
                kill(s->pid, SIGKILL);
                while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                s->pid = 0;
        }
        s->log = mfree(s->log);
}

/* A docker-registry on a free port, storage in the fixture's directory. */
static void registry_start(const char *name, bool is_tls, Server *ret)
{
        _cleanup_free_ char *dir = path_in("reg-%s", name), *config = NULL, *yml = NULL, *tls = NULL,
                            *auth = NULL;
        char *argv[] = { (char *)"docker-registry", (char *)"serve", NULL, NULL };
        _cleanup_free_ char *listening = NULL;

        assert_int_equal(mkdir_p(dir, 0755, NULL), 0);
        ret->port = free_port();
        if (is_tls) {
                tls = xasprintf("  tls:\n    certificate: %s\n    key: %s/key.pem\n", fixture->cert, fixture->dir);
                auth = xasprintf("auth:\n  htpasswd:\n    realm: hull-test\n    path: %s/htpasswd\n", fixture->dir);
        }
        yml = xasprintf("version: 0.1\nlog:\n  level: info\n"
                        "storage:\n  filesystem:\n    rootdirectory: %s/data\n  delete:\n    enabled: true\n"
                        "http:\n  addr: 127.0.0.1:%d\n  secret: hull-test\n%s%s",
                        dir, ret->port, tls ? tls : "", auth ? auth : "");
        config = xasprintf("%s/config.yml", dir);
        write_text(config, yml);
        argv[2] = config;
        ret->log = xasprintf("%s/registry.log", dir);
        ret->pid = spawn(argv, ret->log);
        listening = wait_for_log(ret->pid, ret->log, "listening on ", 20000);
}

/* A token server and proxy in front of the plain registry: 401 with a Bearer challenge unless the
 * request carries a token it issued; tokens for push scopes only with the right basic credentials.
 * /corrupt/<digest> makes it flip the last byte of that blob or manifest from then on, /force/<status>
 * makes it answer every registry request with that status; /open-ping lets GET /v2/ through without a
 * token, so that the first challenge comes from a repository request; /clear stops all three. */
static const char proxy_py[] =
        "import base64, http.client, http.server, json, secrets, sys, urllib.parse\n"
        "upstream = int(sys.argv[1])\n"
        "tokens, corrupt, stats, force, opened = set(), set(), {'tokens': 0, 'challenges': 0}, [], []\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    protocol_version = 'HTTP/1.1'\n"
        "    def log_message(self, *a):\n"
        "        pass\n"
        "    def reply(self, code, body=b'', headers=()):\n"
        "        self.send_response(code)\n"
        "        for k, v in headers:\n"
        "            self.send_header(k, v)\n"
        "        self.send_header('Content-Length', str(len(body)))\n"
        "        self.end_headers()\n"
        "        if self.command != 'HEAD':\n"
        "            self.wfile.write(body)\n"
        "    def token(self):\n"
        "        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)\n"
        "        scopes = ' '.join(q.get('scope', []))\n"
        "        auth = self.headers.get('Authorization', '')\n"
        "        good = auth == 'Basic ' + base64.b64encode(b'" USER ":" PASSWORD "').decode()\n"
        "        if (auth and not good) or ('push' in scopes and not good) or (q.get('account') and not good):\n"
        "            return self.reply(401, b'{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"bad credentials\"}]}')\n"
        "        t = secrets.token_hex(16)\n"
        "        tokens.add(t)\n"
        "        stats['tokens'] += 1\n"
        "        self.reply(200, json.dumps({'token': t, 'expires_in': 300}).encode(), [('Content-Type', 'application/json')])\n"
        "    def handle_any(self):\n"
        "        n = int(self.headers.get('Content-Length') or 0)\n"
        "        body = self.rfile.read(n) if n else None\n"
        "        if self.path.startswith('/token'):\n"
        "            return self.token()\n"
        "        if self.path.startswith('/corrupt/'):\n"
        "            corrupt.add(self.path[9:])\n"
        "            return self.reply(200)\n"
        "        if self.path.startswith('/force/'):\n"
        "            force.append(int(self.path[7:]))\n"
        "            return self.reply(200)\n"
        "        if self.path == '/open-ping':\n"
        "            opened.append(1)\n"
        "            return self.reply(200)\n"
        "        if self.path == '/clear':\n"
        "            corrupt.clear()\n"
        "            force.clear()\n"
        "            opened.clear()\n"
        "            return self.reply(200)\n"
        "        if self.path == '/stats':\n"
        "            return self.reply(200, json.dumps(stats).encode())\n"
        "        auth = self.headers.get('Authorization', '')\n"
        "        if opened and self.path == '/v2/':\n"
        "            return self.reply(200, b'{}')\n"
        "        if not (auth.startswith('Bearer ') and auth[7:] in tokens):\n"
        "            stats['challenges'] += 1\n"
        "            h = 'Bearer realm=\"http://127.0.0.1:%d/token\",service=\"hull-test\"' % self.server.server_address[1]\n"
        "            return self.reply(401, b'{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"token required\"}]}',\n"
        "                              [('WWW-Authenticate', h), ('Content-Type', 'application/json')])\n"
        "        if force:\n"
        "            return self.reply(force[-1], b'{\"errors\":[{\"code\":\"X\",\"message\":\"forced failure\"}]}')\n"
        "        headers = {k: v for k, v in self.headers.items() if k.lower() not in ('authorization', 'connection')}\n"
        "        c = http.client.HTTPConnection('127.0.0.1', upstream)\n"
        "        c.request(self.command, self.path, body=body, headers=headers)\n"
        "        r = c.getresponse()\n"
        "        data = r.read()\n"
        "        if self.command == 'GET' and self.path.rsplit('/', 1)[-1] in corrupt and data:\n"
        "            data = data[:-1] + bytes([data[-1] ^ 1])\n"
        "        self.send_response(r.status)\n"
        "        for k, v in r.getheaders():\n"
        "            if k.lower() not in ('content-length', 'transfer-encoding', 'connection'):\n"
        "                self.send_header(k, v)\n"
        "        self.send_header('Content-Length', r.getheader('Content-Length', '0') if self.command == 'HEAD' else str(len(data)))\n"
        "        self.end_headers()\n"
        "        if self.command != 'HEAD':\n"
        "            self.wfile.write(data)\n"
        "    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any\n"
        "s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)\n"
        "s.daemon_threads = True\n"
        "print('PORT %d' % s.server_address[1], flush=True)\n"
        "s.serve_forever()\n";

static void proxy_start(Server *ret)
{
        _cleanup_free_ char *script = path_in("proxy.py"), *port = xasprintf("%d", fixture->plain.port);
        _cleanup_free_ char *line = NULL;
        char *argv[] = { (char *)"python3", script, port, NULL };

        write_text(script, proxy_py);
        ret->log = path_in("proxy.log");
        ret->pid = spawn(argv, ret->log);
        line = wait_for_log(ret->pid, ret->log, "PORT ", 20000);
        ret->port = atoi(line);
}

/* GET http://127.0.0.1:<proxy>/<path> with curl(1): the proxy's own control endpoints. */
static char *proxy_get(const char *path)
{
        _cleanup_free_ char *out = path_in("proxy-answer");
        char *text = NULL;

        assert_int_equal(sh("curl -sf http://127.0.0.1:%d%s -o %s", fixture->proxy.port, path, out), 0);
        assert_int_equal(read_file_at(AT_FDCWD, out, &text, NULL, NULL), 0);
        return text;
}

static int proxy_stat(const char *key)
{
        _cleanup_free_ char *text = proxy_get("/stats");
        _cleanup_json_ json_t *j = NULL;

        assert_int_equal(json_parse(text, strlen(text), "stats", &j, NULL), 0);
        return (int)json_integer_value(json_object_get(j, key));
}

/* Pseudo-random bytes, which gzip cannot shrink much: layers of a real size. */
static void write_noise(const char *path, size_t n, unsigned seed)
{
        _cleanup_free_ char *buf = xmalloc(n);
        uint32_t x = seed * 2654435761u + 1;

        for (size_t i = 0; i < n; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                buf[i] = (char)x;
        }
        assert_int_equal(write_file_atomic_at(AT_FDCWD, path, buf, n, 0644, NULL), 0);
}

/* A gzip layer with one file of noise: stored in oci, its digest, size and diff_id returned. */
static void make_layer(ImgStore *oci, const char *name, size_t bytes, unsigned seed, char **ret_digest,
                       int64_t *ret_size, char **ret_diff_id)
{
        _cleanup_free_ char *src = path_in("src-%s", name), *file = NULL, *tar = path_in("%s.tar", name),
                            *gz = path_in("%s.tar.gz", name);
        _cleanup_close_ int fd = -EBADF;

        assert_int_equal(mkdir_p(src, 0755, NULL), 0);
        file = xasprintf("%s/%s.bin", src, name);
        write_noise(file, bytes, seed);
        assert_int_equal(sh("tar --sort=name --mtime=@0 --owner=0 --group=0 -C %s -cf %s . && gzip -n -c %s > %s",
                            src, tar, tar, gz),
                         0);
        *ret_diff_id = digest_of_file(tar, NULL);
        fd = open(gz, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(img_store_put_fd(oci, fd, NULL, -1, ret_digest, NULL), 0);
        free(digest_of_file(gz, ret_size));
}

static char *put_json(ImgStore *oci, json_t *j, int64_t *ret_size)
{
        _cleanup_free_ char *text = json_dump_compact(j);
        char *digest = NULL;

        assert_int_equal(img_store_put_buf(oci, text, strlen(text), NULL, &digest, NULL), 0);
        *ret_size = (int64_t)strlen(text);
        return digest;
}

/* An image of n layers for arch, built with the manifest module's builders. */
static void make_image(ImgStore *oci, const char *name, const char *arch, size_t n, size_t bytes, TestImage *ret)
{
        ImgDescriptor layers[N_LAYERS] = {};
        char *diff_ids[N_LAYERS + 1] = {};
        char *env[] = { (char *)"PATH=/usr/bin:/bin", (char *)"IMAGE=" "test", NULL };
        char *cmd[] = { (char *)"/bin/sh", NULL };
        ImgConfig config = { .platform = { .os = (char *)"linux", .architecture = (char *)arch },
                             .env = env, .cmd = cmd, .diff_ids = diff_ids };
        ImgManifest m = { .layers = layers, .n_layers = n };
        _cleanup_json_ json_t *jc = NULL, *jm = NULL;
        int64_t size;

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *lname = xasprintf("%s-%zu", name, i);
                make_layer(oci, lname, bytes + i * 1000, (unsigned)(i + 1) * (unsigned)strlen(name) + arch[1],
                           &ret->layers[i], &ret->layer_sizes[i], &diff_ids[i]);
                layers[i] = (ImgDescriptor){ .media_type = (char *)IMG_MEDIA_OCI_LAYER_GZIP,
                                             .digest = ret->layers[i], .size = ret->layer_sizes[i] };
        }
        ret->n_layers = n;
        assert_int_equal(img_config_to_json(&config, &jc, NULL), 0);
        ret->config_digest = put_json(oci, jc, &size);
        m.config = (ImgDescriptor){ .media_type = (char *)IMG_MEDIA_OCI_CONFIG, .digest = ret->config_digest, .size = size };
        assert_int_equal(img_manifest_to_json(&m, &jm, NULL), 0);
        ret->manifest_digest = put_json(oci, jm, &ret->manifest_size);
        for (size_t i = 0; i < n; i++)
                free(diff_ids[i]);
}

static void test_image_done(TestImage *t)
{
        free(t->manifest_digest);
        free(t->config_digest);
        for (size_t i = 0; i < t->n_layers; i++)
                free(t->layers[i]);
}

/* The OCI layout: index.json naming the single image "img" and the two-platform index "multi". */
static void make_layout(ImgStore *oci, const char *dir)
{
        ImgDescriptor entries[2] = {
                { .media_type = (char *)IMG_MEDIA_OCI_MANIFEST, .digest = fixture->amd64.manifest_digest,
                  .size = fixture->amd64.manifest_size, .has_platform = true,
                  .platform = { .os = (char *)"linux", .architecture = (char *)"amd64" } },
                { .media_type = (char *)IMG_MEDIA_OCI_MANIFEST, .digest = fixture->arm64.manifest_digest,
                  .size = fixture->arm64.manifest_size, .has_platform = true,
                  .platform = { .os = (char *)"linux", .architecture = (char *)"arm64", .variant = (char *)"v8" } },
        };
        ImgIndex multi = { .manifests = entries, .n_manifests = 2 };
        _cleanup_json_ json_t *jx = NULL, *img_ann = json_pack("{s:s}", "org.opencontainers.image.ref.name", "img"),
                              *multi_ann = json_pack("{s:s}", "org.opencontainers.image.ref.name", "multi");
        _cleanup_json_ json_t *top = NULL;
        _cleanup_free_ char *index_path = xasprintf("%s/index.json", dir), *text = NULL;
        int64_t index_size;

        assert_int_equal(img_index_to_json(&multi, &jx, NULL), 0);
        fixture->index_digest = put_json(oci, jx, &index_size);
        ImgDescriptor layout[2] = {
                { .media_type = (char *)IMG_MEDIA_OCI_MANIFEST, .digest = fixture->img.manifest_digest,
                  .size = fixture->img.manifest_size, .annotations = img_ann },
                { .media_type = (char *)IMG_MEDIA_OCI_INDEX, .digest = fixture->index_digest, .size = index_size,
                  .annotations = multi_ann },
        };
        ImgIndex li = { .manifests = layout, .n_manifests = 2 };
        assert_int_equal(img_index_to_json(&li, &top, NULL), 0);
        text = json_dump_compact(top);
        write_text(index_path, text);
}

static bool have_tools(const char **why)
{
        if (access("/usr/bin/docker-registry", X_OK) < 0)
                *why = "docker-registry is not installed (apt-get install docker-registry)";
        else if (system("command -v skopeo >/dev/null 2>&1") != 0)
                *why = "skopeo is not installed (apt-get install skopeo)";
        else if (system("command -v python3 >/dev/null && command -v openssl >/dev/null && command -v htpasswd "
                        ">/dev/null && command -v curl >/dev/null") != 0)
                *why = "python3, openssl, htpasswd (apache2-utils) and curl are needed";
        else
                return true;
        return false;
}

static int group_teardown(void **state)
{
        Fixture *f = fixture;

        if (!f)
                return 0;
        server_stop(&f->proxy);
        server_stop(&f->tls);
        server_stop(&f->plain);
        test_image_done(&f->img);
        test_image_done(&f->amd64);
        test_image_done(&f->arm64);
        free(f->index_digest);
        free(f->cert);
        if (!getenv("HULL_TEST_KEEP"))
                rm_rf_at(AT_FDCWD, f->dir, NULL);
        free(f);
        fixture = NULL;
        return 0;
}

static int group_setup(void **state)
{
        _cleanup_(img_store_freep) ImgStore *oci = NULL;
        _cleanup_free_ char *layout = NULL;

        fixture = xnew0(Fixture, 1);
        snprintf(fixture->dir, sizeof(fixture->dir), "/tmp/hull-registry-test.XXXXXX");
        if (!mkdtemp(fixture->dir))
                return -1;
        fixture->cert = path_in("cert.pem");
        if (sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 "
               "-addext subjectAltName=IP:127.0.0.1 -keyout %s/key.pem -out %s && htpasswd -Bbn %s %s > %s/htpasswd",
               fixture->dir, fixture->cert, USER, PASSWORD, fixture->dir) != 0)
                return group_teardown(state), -1;
        registry_start("plain", false, &fixture->plain);
        registry_start("tls", true, &fixture->tls);
        proxy_start(&fixture->proxy);

        layout = path_in("oci");
        if (img_store_open(layout, &oci, NULL) < 0)
                return -1;
        make_image(oci, "img", "amd64", N_LAYERS, 300000, &fixture->img);
        make_image(oci, "amd", "amd64", 1, 20000, &fixture->amd64);
        make_image(oci, "arm", "arm64", 1, 30000, &fixture->arm64);
        make_layout(oci, layout);
        if (sh("skopeo --insecure-policy copy --dest-tls-verify=false oci:%s:img docker://127.0.0.1:%d/test/img:1",
               layout, fixture->plain.port) != 0 ||
            sh("skopeo --insecure-policy copy --all --dest-tls-verify=false oci:%s:multi "
               "docker://127.0.0.1:%d/test/multi:1",
               layout, fixture->plain.port) != 0)
                fail_msg("skopeo copy failed: see %s/commands.log", fixture->dir);
        return 0;
}

static ImgStore *new_store(void)
{
        _cleanup_free_ char *root = path_in("store-%u", fixture->store_seq++);
        ImgStore *s = NULL;

        assert_int_equal(img_store_open(root, &s, NULL), 0);
        return s;
}

static ImgReference *ref_of(int port, const char *rest)
{
        _cleanup_free_ char *s = xasprintf("127.0.0.1:%d/%s", port, rest);
        ImgReference *r = NULL;

        assert_int_equal(img_reference_parse(s, &r, NULL), 0);
        return r;
}

/* Every regular file in the store's blobs/sha256 must hash to its name. */
static size_t check_store_blobs(ImgStore *s, unsigned seq)
{
        _cleanup_free_ char *dir = path_in("store-%u/blobs/sha256", seq);
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        assert_non_null(d);
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *digest = NULL, *want = NULL;
                if (de->d_name[0] == '.')
                        continue;
                path = xasprintf("%s/%s", dir, de->d_name);
                digest = digest_of_file(path, NULL);
                want = xasprintf("sha256:%s", de->d_name);
                assert_string_equal(digest, want);
                n++;
        }
        closedir(d);
        return n;
}

#define ASSERT_ERROR(call, code, ...)                                                                    \
        do {                                                                                             \
                _cleanup_error_ Error *_e = NULL;                                                        \
                Error **perr = &_e;                                                                      \
                int _r = (call);                                                                         \
                const char *_want[] = { __VA_ARGS__ };                                                   \
                if (_r != -(code))                                                                       \
                        fail_msg("%s: got %d (%s), expected %d", #call, _r, _e ? _e->msg : "", -(code)); \
                if (getenv("HULL_TEST_VERBOSE"))                                                         \
                        printf("# %s\n", _e->msg);                                                     \
                for (size_t _i = 0; _i < ARRAY_SIZE(_want); _i++)                                        \
                        if (!strstr(_e->msg, _want[_i]))                                                 \
                                fail_msg("'%s' not in '%s'", _want[_i], _e->msg);                       \
        } while (0)

typedef struct Progress {
        pid_t tid;
        size_t calls;
        uint64_t done[8], total[8];
        bool is_thread_ok, is_monotonic;
} Progress;

static void on_progress(void *userdata, size_t index, uint64_t done, uint64_t total)
{
        Progress *p = userdata;

        p->calls++;
        if (gettid() != p->tid)
                p->is_thread_ok = false;
        assert_true(index < ARRAY_SIZE(p->done));
        if (done < p->done[index] || done > total)
                p->is_monotonic = false;
        p->done[index] = done;
        p->total[index] = total;
}

static void test_pull(void **state)
{
        _cleanup_(img_store_freep) ImgStore *s = new_store();
        _cleanup_(img_reference_freep) ImgReference *ref = ref_of(fixture->plain.port, "test/img:1");
        _cleanup_(img_pull_result_done) ImgPullResult res = {};
        _cleanup_error_ Error *e = NULL;
        Progress prog = { .tid = gettid(), .is_thread_ok = true, .is_monotonic = true };
        ImgPullOptions o = { .progress = on_progress, .userdata = &prog, .max_parallel = 2 };
        uint64_t layer_bytes = 0;
        unsigned seq = fixture->store_seq - 1;

        if (img_registry_pull(s, ref, &o, &res, &e) < 0)
                fail_msg("%s", e->msg);
        assert_string_equal(res.digest, fixture->img.manifest_digest);
        assert_string_equal(res.manifest_digest, fixture->img.manifest_digest);
        assert_string_equal(res.media_type, IMG_MEDIA_OCI_MANIFEST);
        assert_int_equal(res.manifest->n_layers, N_LAYERS);
        assert_string_equal(res.manifest->config.digest, fixture->img.config_digest);
        assert_string_equal(res.config->platform.architecture, "amd64");
        assert_string_equal(strv_env_get(res.config->env, "IMAGE"), "test");
        assert_true(img_store_has(s, fixture->img.manifest_digest));
        assert_true(img_store_has(s, fixture->img.config_digest));
        for (size_t i = 0; i < N_LAYERS; i++) {
                assert_true(img_store_has(s, fixture->img.layers[i]));
                layer_bytes += (uint64_t)fixture->img.layer_sizes[i];
                /* Each layer's progress ended at its size. */
                assert_int_equal(prog.done[i], fixture->img.layer_sizes[i]);
                assert_int_equal(prog.total[i], fixture->img.layer_sizes[i]);
        }
        assert_true(prog.is_thread_ok);
        assert_true(prog.is_monotonic);
        assert_true(prog.calls >= N_LAYERS);
        assert_int_equal(check_store_blobs(s, seq), 2 + N_LAYERS);
        assert_int_equal(res.blobs_fetched, 1 + N_LAYERS);
        assert_int_equal(res.blobs_skipped, 0);
        assert_true(res.bytes_fetched > layer_bytes);

        /* Again: nothing but the manifest is asked for. */
        img_pull_result_done(&res);
        memset(&prog.done, 0, sizeof(prog.done));
        if (img_registry_pull(s, ref, &o, &res, &e) < 0)
                fail_msg("%s", e->msg);
        assert_int_equal(res.blobs_fetched, 0);
        assert_int_equal(res.bytes_fetched, 0);
        assert_int_equal(res.blobs_skipped, 1 + N_LAYERS);
        assert_int_equal(prog.done[2], fixture->img.layer_sizes[2]);

        /* By digest, from a fresh reference: the same, and the manifest comes from the store. */
        img_pull_result_done(&res);
        ImgReference *by_digest = img_reference_new(ref->registry, ref->repository, NULL, fixture->img.manifest_digest);
        int k = img_registry_pull(s, by_digest, NULL, &res, &e);
        img_reference_free(by_digest);
        if (k < 0)
                fail_msg("%s", e->msg);
        assert_string_equal(res.digest, fixture->img.manifest_digest);
        assert_int_equal(res.blobs_fetched, 0);
}

static void test_pull_index(void **state)
{
        _cleanup_(img_store_freep) ImgStore *s = new_store();
        _cleanup_(img_reference_freep) ImgReference *ref = ref_of(fixture->plain.port, "test/multi:1");
        _cleanup_(img_pull_result_done) ImgPullResult res = {};
        _cleanup_error_ Error *e = NULL;
        ImgPullOptions arm = { .platform = "linux/arm64" };

        if (img_registry_pull(s, ref, &arm, &res, &e) < 0)
                fail_msg("%s", e->msg);
        assert_string_equal(res.digest, fixture->index_digest);
        assert_string_equal(res.media_type, IMG_MEDIA_OCI_INDEX);
        assert_string_equal(res.manifest_digest, fixture->arm64.manifest_digest);
        assert_string_equal(res.config->platform.architecture, "arm64");
        assert_true(img_store_has(s, fixture->index_digest));
        assert_true(img_store_has(s, fixture->arm64.layers[0]));
        assert_false(img_store_has(s, fixture->amd64.layers[0]));
        assert_false(img_store_has(s, fixture->amd64.manifest_digest));

        /* The default platform is linux/amd64. */
        img_pull_result_done(&res);
        if (img_registry_pull(s, ref, NULL, &res, &e) < 0)
                fail_msg("%s", e->msg);
        assert_string_equal(res.manifest_digest, fixture->amd64.manifest_digest);
        assert_true(img_store_has(s, fixture->amd64.layers[0]));

        ImgPullOptions none = { .platform = "linux/s390x" };
        ASSERT_ERROR(img_registry_pull(s, ref, &none, &res, perr), ENOENT, "'linux/s390x'",
                     "linux/amd64, linux/arm64/v8");
}

static void test_not_found(void **state)
{
        _cleanup_(img_store_freep) ImgStore *s = new_store();
        _cleanup_(img_reference_freep) ImgReference *tag = ref_of(fixture->plain.port, "test/img:nope");
        _cleanup_(img_reference_freep) ImgReference *repo = ref_of(fixture->plain.port, "test/nothing:1");
        _cleanup_(img_reference_freep) ImgReference *dig = ref_of(
                fixture->plain.port, "test/img@sha256:0000000000000000000000000000000000000000000000000000000000000000");
        _cleanup_free_ char *want = xasprintf("fetch manifest '127.0.0.1:%d/test/img:nope': not found",
                                              fixture->plain.port);
        ImgPullResult res = {};

        ASSERT_ERROR(img_registry_pull(s, tag, NULL, &res, perr), ENOENT, want, "manifest unknown");
        ASSERT_ERROR(img_registry_pull(s, repo, NULL, &res, perr), ENOENT, "test/nothing:1", "not found");
        ASSERT_ERROR(img_registry_pull(s, dig, NULL, &res, perr), ENOENT, "not found");
        assert_null(res.digest);
}

static void test_down(void **state)
{
        _cleanup_(img_store_freep) ImgStore *s = new_store();
        int port = free_port();
        _cleanup_(img_reference_freep) ImgReference *ref = ref_of(port, "test/img:1");
        _cleanup_free_ char *want = xasprintf("fetch manifest '127.0.0.1:%d/test/img:1'", port);
        ImgPullResult res = {};

        ASSERT_ERROR(img_registry_pull(s, ref, NULL, &res, perr), ECONNREFUSED, want, "onnection refused");
}

/* The digest of what `skopeo inspect --raw` says is in the registry under ref. */
static char *remote_digest(int port, const char *ref)
{
        _cleanup_free_ char *out = path_in("inspect.json");

        assert_int_equal(sh("skopeo inspect --raw --tls-verify=false docker://127.0.0.1:%d/%s > %s", port, ref, out), 0);
        return digest_of_file(out, NULL);
}

static void test_push(void **state)
{
        _cleanup_(img_store_freep) ImgStore *s = new_store();
        _cleanup_(img_reference_freep) ImgReference *src = ref_of(fixture->plain.port, "test/img:1");
        _cleanup_(img_reference_freep) ImgReference *copy = ref_of(fixture->plain.port, "test/copy:1");
        _cleanup_(img_reference_freep) ImgReference *mounted = ref_of(fixture->plain.port, "test/mounted:1");
        _cleanup_(img_reference_freep) ImgReference *multi = ref_of(fixture->plain.port, "test/multi:1");
        _cleanup_(img_reference_freep) ImgReference *multi2 = ref_of(fixture->plain.port, "test/multi2:2");
        _cleanup_(img_pull_result_done) ImgPullResult res = {};
        _cleanup_error_ Error *e = NULL;
        _cleanup_free_ char *d1 = NULL, *d2 = NULL, *d3 = NULL;
        char *from[] = { (char *)"test/nothing", (char *)"test/img", NULL };
        Progress prog = { .tid = gettid(), .is_thread_ok = true, .is_monotonic = true };
        ImgPushOptions plain = { .progress = on_progress, .userdata = &prog };
        ImgPushOptions with_mount = { .mount_from = from };
        ImgPushResult pr = {};

        if (img_registry_pull(s, src, NULL, &res, &e) < 0)
                fail_msg("%s", e->msg);
        /* Uploaded: the blobs are in the registry, but not linked to this repository. */
        if (img_registry_push(s, copy, res.digest, &plain, &pr, &e) < 0)
                fail_msg("%s", e->msg);
        assert_int_equal(pr.blobs_uploaded, 1 + N_LAYERS);
        assert_int_equal(pr.blobs_mounted, 0);
        assert_true(pr.bytes_uploaded > 0);
        assert_true(prog.is_thread_ok);
        assert_int_equal(prog.done[N_LAYERS], prog.total[N_LAYERS]);
        assert_int_equal(prog.done[0], fixture->img.layer_sizes[0]);
        d1 = remote_digest(fixture->plain.port, "test/copy:1");
        assert_string_equal(d1, fixture->img.manifest_digest);

        /* Mounted from test/img (after test/nothing, which does not have them), not uploaded. */
        pr = (ImgPushResult){};
        if (img_registry_push(s, mounted, res.digest, &with_mount, &pr, &e) < 0)
                fail_msg("%s", e->msg);
        assert_int_equal(pr.blobs_mounted, 1 + N_LAYERS);
        assert_int_equal(pr.blobs_uploaded, 0);
        assert_int_equal(pr.bytes_uploaded, 0);
        d2 = remote_digest(fixture->plain.port, "test/mounted:1");
        assert_string_equal(d2, fixture->img.manifest_digest);

        /* Again: every blob is there already. */
        pr = (ImgPushResult){};
        if (img_registry_push(s, mounted, res.digest, &with_mount, &pr, &e) < 0)
                fail_msg("%s", e->msg);
        assert_int_equal(pr.blobs_skipped, 1 + N_LAYERS);

        /* An index, with both of its images in the store. */
        ImgPullOptions arm = { .platform = "linux/arm64" };
        img_pull_result_done(&res);
        assert_int_equal(img_registry_pull(s, multi, &arm, &res, &e), 0);
        img_pull_result_done(&res);
        assert_int_equal(img_registry_pull(s, multi, NULL, &res, &e), 0);
        pr = (ImgPushResult){};
        if (img_registry_push(s, multi2, fixture->index_digest, NULL, &pr, &e) < 0)
                fail_msg("%s", e->msg);
        d3 = remote_digest(fixture->plain.port, "test/multi2:2");
        assert_string_equal(d3, fixture->index_digest);
        assert_int_equal(pr.blobs_uploaded, 4);

        ASSERT_ERROR(img_registry_push(s, copy, "sha256:1111111111111111111111111111111111111111111111111111111111111111",
                                       NULL, &pr, perr),
                     ENOENT, "not in the store");
}

static void test_basic_auth_tls(void **state)
{
        _cleanup_(img_store_freep) ImgStore *s = new_store(), *t = NULL;
        _cleanup_(img_reference_freep) ImgReference *src = ref_of(fixture->plain.port, "test/img:1");
        _cleanup_(img_reference_freep) ImgReference *dst = ref_of(fixture->tls.port, "secure/img:1");
        _cleanup_(img_pull_result_done) ImgPullResult res = {};
        _cleanup_free_ char *auth = path_in("auth.json"), *registry = xasprintf("127.0.0.1:%d", fixture->tls.port);
        _cleanup_error_ Error *e = NULL;
        ImgPushOptions wrong = { .remote = { .username = USER, .password = "wrong" } };
        ImgPushOptions right = { .remote = { .username = USER, .password = PASSWORD } };
        ImgPullOptions anonymous = {};
        ImgPullOptions by_file = { .remote.auth_file = auth };
        ImgPullOptions verify = { .remote = { .auth_file = auth, .tls_verify = IMG_TLS_VERIFY_YES } };
        ImgPullOptions with_ca = { .remote = { .auth_file = auth, .tls_verify = IMG_TLS_VERIFY_YES, .ca_file = fixture->cert } };
        ImgPullOptions no_verify = { .remote = { .auth_file = auth, .tls_verify = IMG_TLS_VERIFY_NO } };
        ImgPushResult pr = {};

        assert_int_equal(img_registry_pull(s, src, NULL, &res, &e), 0);
        ASSERT_ERROR(img_registry_push(s, dst, res.digest, &wrong, &pr, perr), EACCES, "unauthorized");
        if (img_registry_push(s, dst, res.digest, &right, &pr, &e) < 0)
                fail_msg("%s", e->msg);
        assert_int_equal(pr.blobs_uploaded, 1 + N_LAYERS);

        /* Login: checked against the registry, then recorded; pulls take it from the file. */
        ASSERT_ERROR(img_registry_check_login(registry, USER, "wrong", NULL, perr), EACCES, "unauthorized");
        assert_int_equal(img_registry_check_login(registry, USER, PASSWORD, NULL, &e), 0);
        assert_int_equal(img_auth_login(auth, registry, USER, PASSWORD, &e), 0);

        t = new_store();
        img_pull_result_done(&res);
        ASSERT_ERROR(img_registry_pull(t, dst, &anonymous, &res, perr), EACCES, "secure/img:1", "unauthorized");
        /* TLS verification demanded: the self-signed certificate is refused, unless it is the CA given. */
        ASSERT_ERROR(img_registry_pull(t, dst, &verify, &res, perr), EPROTO, "TLS", "certificate");
        if (img_registry_pull(t, dst, &with_ca, &res, &e) < 0)
                fail_msg("%s", e->msg);
        img_pull_result_done(&res);
        assert_int_equal(img_registry_pull(t, dst, &no_verify, &res, &e), 0);
        img_pull_result_done(&res);
        /* Loopback: insecure by default, so HTTPS without verification. */
        if (img_registry_pull(t, dst, &by_file, &res, &e) < 0)
                fail_msg("%s", e->msg);
        assert_string_equal(res.digest, fixture->img.manifest_digest);
        assert_int_equal(img_auth_logout(auth, registry, &e), 0);
        img_pull_result_done(&res);
        ASSERT_ERROR(img_registry_pull(t, dst, &by_file, &res, perr), EACCES, "unauthorized");
}

static void test_bearer(void **state)
{
        _cleanup_(img_store_freep) ImgStore *s = new_store();
        _cleanup_(img_reference_freep) ImgReference *ref = ref_of(fixture->proxy.port, "test/img:1");
        _cleanup_(img_reference_freep) ImgReference *dst = ref_of(fixture->proxy.port, "test/bearer:1");
        _cleanup_(img_pull_result_done) ImgPullResult res = {};
        _cleanup_free_ char *registry = xasprintf("127.0.0.1:%d", fixture->proxy.port), *d = NULL;
        _cleanup_error_ Error *e = NULL;
        ImgPushOptions anonymous = {};
        char *from[] = { (char *)"test/img", NULL };
        ImgPushOptions right = { .remote = { .username = USER, .password = PASSWORD }, .mount_from = from };
        ImgPushResult pr = {};
        int tokens = proxy_stat("tokens"), challenges, k;

        if (img_registry_pull(s, ref, NULL, &res, &e) < 0)
                fail_msg("%s", e->msg);
        assert_string_equal(res.digest, fixture->img.manifest_digest);
        assert_int_equal(res.blobs_fetched, 1 + N_LAYERS);
        /* One token for the repository's pull scope served every request of the pull. */
        assert_int_equal(proxy_stat("tokens"), tokens + 1);

        ASSERT_ERROR(img_registry_push(s, dst, res.digest, &anonymous, &pr, perr), EACCES, "get a token",
                     "bad credentials");
        if (img_registry_push(s, dst, res.digest, &right, &pr, &e) < 0)
                fail_msg("%s", e->msg);
        assert_int_equal(pr.blobs_mounted, 1 + N_LAYERS);
        d = remote_digest(fixture->plain.port, "test/bearer:1");
        assert_string_equal(d, fixture->img.manifest_digest);

        ASSERT_ERROR(img_registry_check_login(registry, USER, "wrong", NULL, perr), EACCES, "bad credentials");
        assert_int_equal(img_registry_check_login(registry, USER, PASSWORD, NULL, &e), 0);

        /* /v2/ open to all: the challenge comes with the first manifest request, which is answered and sent
         * again. */
        img_pull_result_done(&res);
        free(proxy_get("/open-ping"));
        challenges = proxy_stat("challenges");
        k = img_registry_pull(s, ref, NULL, &res, &e);
        free(proxy_get("/clear"));
        if (k < 0)
                fail_msg("%s", e->msg);
        assert_int_equal(proxy_stat("challenges"), challenges + 1);
        assert_string_equal(res.digest, fixture->img.manifest_digest);
}

/* What a misbehaving registry gets: a corrupted layer or manifest, errors of each kind. */
static void test_faults(void **state)
{
        _cleanup_(img_store_freep) ImgStore *s = new_store();
        _cleanup_(img_reference_freep) ImgReference *ref = ref_of(fixture->proxy.port, "test/img:1");
        _cleanup_(img_reference_freep) ImgReference *by_digest = img_reference_new(
                ref->registry, ref->repository, NULL, fixture->img.manifest_digest);
        _cleanup_free_ char *layer = xasprintf("/corrupt/%s", fixture->img.layers[1]);
        _cleanup_free_ char *manifest = xasprintf("/corrupt/%s", fixture->img.manifest_digest);
        unsigned seq = fixture->store_seq - 1;
        ImgPullResult res = {};
        static const struct {
                const char *status;
                int code;
                const char *msg;
        } forced[] = {
                { "/force/503", EIO, "server error (HTTP 503): forced failure" },
                { "/force/429", EIO, "too many requests" },
                { "/force/403", EACCES, "denied" },
                { "/force/404", ENOENT, "not found" },
                { "/force/400", EPROTO, "unexpected HTTP status 400" },
        };

        free(proxy_get(layer));
        ASSERT_ERROR(img_registry_pull(s, ref, NULL, &res, perr), EBADMSG, "fetch layer", fixture->img.layers[1],
                     "digest");
        free(proxy_get("/clear"));
        assert_false(img_store_has(s, fixture->img.layers[1]));
        /* What is there is whole and verified: manifest and config, maybe other layers. */
        assert_true(check_store_blobs(s, seq) >= 2);
        assert_true(img_store_has(s, fixture->img.config_digest));

        /* A manifest pulled by digest must have that digest. */
        assert_int_equal(img_store_remove(s, fixture->img.manifest_digest, NULL), 0);
        free(proxy_get(manifest));
        ASSERT_ERROR(img_registry_pull(s, by_digest, NULL, &res, perr), EBADMSG, "fetch manifest",
                     fixture->img.manifest_digest);
        free(proxy_get("/clear"));
        assert_false(img_store_has(s, fixture->img.manifest_digest));

        for (size_t i = 0; i < ARRAY_SIZE(forced); i++) {
                free(proxy_get(forced[i].status));
                ASSERT_ERROR(img_registry_pull(s, ref, NULL, &res, perr), forced[i].code, "test/img:1",
                             forced[i].msg);
                free(proxy_get("/clear"));
        }
        assert_null(res.digest);
}

/* The streaming writer: nothing visible before commit, nothing left by a refused blob. */
static void test_writer(void **state)
{
        char root[] = "/tmp/hull-writer-test.XXXXXX";
        _cleanup_(img_store_freep) ImgStore *s = NULL;
        _cleanup_(img_store_writer_freep) ImgStoreWriter *w = NULL;
        _cleanup_error_ Error *e = NULL;
        const char *hello = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

        assert_non_null(mkdtemp(root));
        assert_int_equal(img_store_open(root, &s, &e), 0);
        assert_int_equal(img_store_writer_new(s, hello, 5, &w, &e), 0);
        assert_int_equal(img_store_writer_write(w, "hel", 3, &e), 0);
        assert_false(img_store_has(s, hello));
        assert_int_equal(img_store_writer_write(w, "lo", 2, &e), 0);
        assert_int_equal(img_store_writer_size(w), 5);
        assert_int_equal(img_store_writer_commit(w, &e), 0);
        assert_true(img_store_has(s, hello));
        assert_int_equal(img_store_writer_commit(w, &e), -EALREADY);
        e = error_free(e);
        w = img_store_writer_free(w);
        assert_int_equal(img_store_remove(s, hello, &e), 0);

        /* Too long, too short, wrong content. */
        assert_int_equal(img_store_writer_new(s, hello, 5, &w, &e), 0);
        assert_int_equal(img_store_writer_write(w, "hello!", 6, &e), -EBADMSG);
        e = error_free(e);
        w = img_store_writer_free(w);
        assert_int_equal(img_store_writer_new(s, hello, 5, &w, &e), 0);
        assert_int_equal(img_store_writer_write(w, "hell", 4, &e), 0);
        assert_int_equal(img_store_writer_commit(w, &e), -EBADMSG);
        assert_non_null(strstr(e->msg, "4 bytes, expected 5"));
        e = error_free(e);
        w = img_store_writer_free(w);
        assert_int_equal(img_store_writer_new(s, hello, -1, &w, &e), 0);
        assert_int_equal(img_store_writer_write(w, "hellO", 5, &e), 0);
        assert_int_equal(img_store_writer_commit(w, &e), -EBADMSG);
        assert_non_null(strstr(e->msg, hello));
        e = error_free(e);
        w = img_store_writer_free(w);
        assert_false(img_store_has(s, hello));
        assert_int_equal(img_store_writer_new(s, "sha256:nothex", 5, &w, &e), -EINVAL);
        assert_null(w);
        rm_rf_at(AT_FDCWD, root, NULL);
}

/* The credentials file: Docker's format, rewritten atomically with mode 0600, other keys kept. */
static void test_auth_file(void **state)
{
        char dir[] = "/tmp/hull-auth-test.XXXXXX";
        _cleanup_free_ char *path = NULL, *user = NULL, *password = NULL, *text = NULL;
        _cleanup_error_ Error *e = NULL;
        _cleanup_json_ json_t *j = NULL;
        struct stat st;

        assert_non_null(mkdtemp(dir));
        path = xasprintf("%s/auth.json", dir);
        assert_int_equal(img_auth_lookup(path, "quay.io", &user, &password, &e), 0);
        write_text(path, "{\"credHelpers\":{\"x.io\":\"helper\"},\"auths\":{\"https://index.docker.io/v1/\":"
                         "{\"auth\":\"aHViOnB3OmQ=\"},\"old.io\":{\"username\":\"u\",\"password\":\"p\"}}}");
        /* Docker Hub under its legacy key; the password may hold ':'. */
        assert_int_equal(img_auth_lookup(path, "docker.io", &user, &password, &e), 1);
        assert_string_equal(user, "hub");
        assert_string_equal(password, "pw:d");
        user = mfree(user);
        password = mfree(password);
        assert_int_equal(img_auth_lookup(path, "old.io", &user, &password, &e), 1);
        assert_string_equal(user, "u");
        user = mfree(user);
        password = mfree(password);

        assert_int_equal(img_auth_login(path, "localhost:5000", "me", "p\xc3\xa4ss", &e), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(img_auth_lookup(path, "localhost:5000", &user, &password, &e), 1);
        assert_string_equal(user, "me");
        assert_string_equal(password, "p\xc3\xa4ss");
        user = mfree(user);
        password = mfree(password);
        assert_int_equal(read_file_at(AT_FDCWD, path, &text, NULL, &e), 0);
        assert_int_equal(json_parse(text, strlen(text), "auth", &j, &e), 0);
        assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(j, "auths"),
                                                                                "localhost:5000"), "auth")),
                            "bWU6cMOkc3M=");
        assert_non_null(json_object_get(j, "credHelpers"));

        /* Logging in again replaces; logging out of docker.io removes its legacy key. */
        assert_int_equal(img_auth_login(path, "localhost:5000", "me2", "x", &e), 0);
        assert_int_equal(img_auth_lookup(path, "localhost:5000", &user, &password, &e), 1);
        assert_string_equal(user, "me2");
        assert_int_equal(img_auth_logout(path, "docker.io", &e), 0);
        assert_int_equal(img_auth_logout(path, "docker.io", &e), -ENOENT);
        assert_non_null(strstr(e->msg, "not logged in to 'docker.io'"));
        e = error_free(e);
        assert_int_equal(img_auth_login(path, "x.io", "a:b", "x", &e), -EINVAL);
        e = error_free(e);
        write_text(path, "{\"auths\":{\"bad.io\":{\"auth\":\"!!!\"}}}");
        assert_int_equal(img_auth_lookup(path, "bad.io", &user, &password, &e), -EBADMSG);
        e = error_free(e);
        write_text(path, "[]");
        assert_int_equal(img_auth_login(path, "x.io", "a", "b", &e), -EBADMSG);
        rm_rf_at(AT_FDCWD, dir, NULL);
}

int main(void)
{
        const struct CMUnitTest local[] = {
                cmocka_unit_test(test_writer),
                cmocka_unit_test(test_auth_file),
        };
        const struct CMUnitTest remote[] = {
                cmocka_unit_test(test_pull),         cmocka_unit_test(test_pull_index),
                cmocka_unit_test(test_not_found),    cmocka_unit_test(test_down),
                cmocka_unit_test(test_push),         cmocka_unit_test(test_basic_auth_tls),
                cmocka_unit_test(test_bearer),       cmocka_unit_test(test_faults),
        };
        const char *why = NULL;
        int failed;

        failed = cmocka_run_group_tests_name("local", local, NULL, NULL);
        if (!have_tools(&why)) {
                printf("# skip: %s\n", why);
                return failed ? 1 : 77;
        }
        failed += cmocka_run_group_tests_name("registry", remote, group_setup, group_teardown);
        /* Also when a failed group setup kept cmocka from calling the teardown. */
        group_teardown(NULL);
        return failed ? 1 : 0;
}
