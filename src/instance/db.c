/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* db.c: the connection (schema, upgrades, transactions, durability) and the image, instance,
 * build cache and uid range records; db-network.c holds the network records */
#include <fcntl.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/strv.h"
#include "db-internal.h"

/* Up to this size the WAL stays as it is after a command that wrote: synced, not folded in. */
#define WAL_KEEP_BYTES (128 * 1024)
/* How long a statement waits for another hull's write lock. */
#define BUSY_TIMEOUT_MS 30000

/*
 * The schema, one step per version: the database's user_version says how many steps it has had.
 * A step is only ever appended, never edited, so every older database upgrades the same way.
 */
static const char *const schema_steps[] = {
        "CREATE TABLE images ("
        "  id TEXT PRIMARY KEY,"
        "  digest TEXT NOT NULL,"
        "  manifest_digest TEXT NOT NULL,"
        "  config_digest TEXT NOT NULL,"
        "  size INTEGER NOT NULL,"
        "  created INTEGER NOT NULL);"
        "CREATE TABLE tags ("
        "  name TEXT PRIMARY KEY,"
        "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE);"
        "CREATE INDEX tags_image ON tags(image_id);"
        "CREATE TABLE layers ("
        "  diff_id TEXT PRIMARY KEY,"
        "  blob_digest TEXT NOT NULL,"
        "  size INTEGER NOT NULL);"
        "CREATE TABLE image_layers ("
        "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
        "  position INTEGER NOT NULL,"
        "  diff_id TEXT NOT NULL REFERENCES layers(diff_id),"
        "  PRIMARY KEY (image_id, position));"
        "CREATE INDEX image_layers_diff ON image_layers(diff_id);"
        "CREATE TABLE instances ("
        "  id TEXT PRIMARY KEY,"
        "  name TEXT NOT NULL UNIQUE,"
        "  kind TEXT NOT NULL,"
        "  image_id TEXT REFERENCES images(id),"
        "  image_name TEXT NOT NULL,"
        "  options TEXT NOT NULL,"
        "  created INTEGER NOT NULL,"
        "  started INTEGER NOT NULL DEFAULT 0,"
        "  finished INTEGER NOT NULL DEFAULT 0,"
        "  exit_code INTEGER NOT NULL DEFAULT -1,"
        "  auto_remove INTEGER NOT NULL DEFAULT 0);",
        /* 2: the build cache: a step's key (its parent chain and instruction) to the layer it made. */
        "CREATE TABLE build_cache ("
        "  key TEXT PRIMARY KEY,"
        "  diff_id TEXT NOT NULL,"
        "  blob_digest TEXT NOT NULL,"
        "  size INTEGER NOT NULL,"
        "  media_type TEXT NOT NULL,"
        "  created INTEGER NOT NULL);",
        /* 3: networks, the address each instance leases on one, and the ports it publishes. Both go
         * with the instance's record (ON DELETE CASCADE), so removing it releases them at once; a
         * network with leases cannot be removed (the foreign key). */
        "CREATE TABLE networks ("
        "  name TEXT PRIMARY KEY,"
        "  bridge TEXT NOT NULL UNIQUE,"
        "  subnet TEXT NOT NULL,"
        "  created INTEGER NOT NULL);"
        "CREATE TABLE leases ("
        "  network TEXT NOT NULL REFERENCES networks(name),"
        "  host_offset INTEGER NOT NULL,"
        "  instance_id TEXT NOT NULL UNIQUE REFERENCES instances(id) ON DELETE CASCADE,"
        "  PRIMARY KEY (network, host_offset));"
        "CREATE TABLE ports ("
        "  instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,"
        "  host_ip TEXT NOT NULL,"
        "  host_port INTEGER NOT NULL,"
        "  proto TEXT NOT NULL,"
        "  ctr_port INTEGER NOT NULL,"
        "  PRIMARY KEY (host_ip, host_port, proto));"
        "CREATE INDEX ports_instance ON ports(instance_id);",
        /* 4: the uid/gid range of each instance with a user namespace of its own; it goes with the
         * instance's record, so removing the record frees the range. */
        "CREATE TABLE idmaps ("
        "  instance_id TEXT PRIMARY KEY REFERENCES instances(id) ON DELETE CASCADE,"
        "  uid_base INTEGER NOT NULL UNIQUE,"
        "  gid_base INTEGER NOT NULL UNIQUE,"
        "  count INTEGER NOT NULL);",
};

/* Maps an SQLite result code to an errno value, for the Error chain. */
static int sqlite_errno(int rc)
{
        switch (rc & 0xff) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return EBUSY;
        case SQLITE_CONSTRAINT:
                return EEXIST;
        case SQLITE_FULL:
                return ENOSPC;
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return EACCES;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return EBADMSG;
        case SQLITE_NOMEM:
                abort();
        default:
                return EIO;
        }
}

static int db_fail(InstDb *db, int rc, Error **err, const char *what)
{
        return error_setf(err, sqlite_errno(rc), "database: %s: %s", what, sqlite3_errmsg(db->h));
}

static int db_exec(InstDb *db, const char *sql, Error **err)
{
        char *msg = NULL;
        int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);

        if (rc != SQLITE_OK) {
                int r = error_setf(err, sqlite_errno(rc), "database: %s", msg ? msg : sqlite3_errstr(rc));
                sqlite3_free(msg);
                return r;
        }
        return 0;
}

void stmt_finalize(sqlite3_stmt **s)
{
        if (*s)
                sqlite3_finalize(*s);
}

int db_prepare(InstDb *db, sqlite3_stmt **ret, Error **err, const char *sql, const char *fmt, ...)
{
        sqlite3_stmt *s = NULL;
        va_list ap;
        int rc;

        rc = sqlite3_prepare_v2(db->h, sql, -1, &s, NULL);
        if (rc != SQLITE_OK)
                return db_fail(db, rc, err, "prepare");
        va_start(ap, fmt);
        for (int i = 0; fmt && fmt[i]; i++) {
                switch (fmt[i]) {
                case 't':
                        rc = sqlite3_bind_text(s, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
                        break;
                case 'i':
                        rc = sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
                        break;
                case 'd':
                        rc = sqlite3_bind_int(s, i + 1, va_arg(ap, int));
                        break;
                default:
                        abort();
                }
                if (rc != SQLITE_OK)
                        break;
        }
        va_end(ap);
        if (rc != SQLITE_OK) {
                sqlite3_finalize(s);
                return db_fail(db, rc, err, "bind");
        }
        *ret = s;
        return 0;
}

int db_run(InstDb *db, sqlite3_stmt *s, Error **err)
{
        int rc = sqlite3_step(s);

        if (rc != SQLITE_DONE)
                return db_fail(db, rc, err, "write");
        return sqlite3_changes(db->h);
}

int db_row(InstDb *db, sqlite3_stmt *s, Error **err)
{
        int rc = sqlite3_step(s);

        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE)
                return 0;
        return db_fail(db, rc, err, "read");
}

char *col_text(sqlite3_stmt *s, int i)
{
        const unsigned char *t = sqlite3_column_text(s, i);
        return t ? xstrdup((const char *)t) : NULL;
}

/* Runs a one-column text query and collects the column into a strv. */
static int db_strv(InstDb *db, sqlite3_stmt *s, char ***ret, Error **err)
{
        _cleanup_strv_ char **v = NULL;
        int r;

        while ((r = db_row(db, s, err)) > 0)
                strv_consume(&v, col_text(s, 0));
        if (r < 0)
                return r;
        if (!v)
                v = xnew0(char *, 1);
        *ret = TAKE_PTR(v);
        return 0;
}

/* PRAGMA user_version: how many schema steps the database has had. */
static int db_version(InstDb *db, int *ret, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int r;

        r = db_prepare(db, &s, err, "PRAGMA user_version", NULL);
        if (r >= 0)
                r = db_row(db, s, err);
        if (r < 0)
                return r;
        if (r == 0)
                return error_setf(err, EIO, "database: no user_version");
        *ret = sqlite3_column_int(s, 0);
        return 0;
}

static int db_upgrade(InstDb *db, Error **err)
{
        int version = 0, r;

        /* The common case, a database that is up to date, takes no write lock. */
        r = db_version(db, &version, err);
        if (r < 0)
                return r;
        if (version == (int)ARRAY_SIZE(schema_steps))
                return 0;
        r = db_exec(db, "BEGIN IMMEDIATE", err);
        if (r < 0)
                return r;
        /* Again under the lock: another hull may have upgraded it meanwhile. */
        r = db_version(db, &version, err);
        if (r < 0) {
                db_exec(db, "ROLLBACK", NULL);
                return r;
        }
        if (version > (int)ARRAY_SIZE(schema_steps)) {
                db_exec(db, "ROLLBACK", NULL);
                return error_setf(err, EPROTONOSUPPORT,
                                  "database: schema version %d is newer than this hull knows (%zu)", version,
                                  ARRAY_SIZE(schema_steps));
        }
        for (int i = version; i < (int)ARRAY_SIZE(schema_steps); i++) {
                char pragma[64];

                r = db_exec(db, schema_steps[i], err);
                if (r < 0)
                        break;
                snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", i + 1);
                r = db_exec(db, pragma, err);
                if (r < 0)
                        break;
        }
        if (r < 0) {
                db_exec(db, "ROLLBACK", NULL);
                return error_wrap(err, r, "upgrade schema");
        }
        return db_exec(db, "COMMIT", err);
}

int inst_db_open(const char *root, InstDb **ret, Error **err)
{
        _cleanup_(inst_db_closep) InstDb *db = xnew0(InstDb, 1);
        _cleanup_free_ char *path = xasprintf("%s/hull.db", root);
        int rc, r;

        db->wal_path = xasprintf("%s-wal", path);
        rc = sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
        if (rc != SQLITE_OK)
                return error_setf(err, sqlite_errno(rc), "open database '%s': %s", path,
                                  db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
        sqlite3_busy_timeout(db->h, BUSY_TIMEOUT_MS);
        /* Each hull command is a short-lived connection: checkpointing and deleting the WAL as the
         * last one closes would sync the database on every command. inst_db_close() checkpoints
         * only after writes (see there). */
        sqlite3_db_config(db->h, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
        /* WAL keeps readers off the writer's back; NORMAL syncs at checkpoints, which in WAL mode
         * still leaves a consistent database after a crash (only the newest commits may be lost). */
        r = db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", err);
        if (r < 0)
                return error_wrap(err, r, "open database '%s'", path);
        /* Root's alone, whatever the umask: the root directory may be passable by others (0711)
         * so that containers in user namespaces reach their root filesystems. SQLite gives the WAL
         * and shared-memory files the database's mode; older ones are fixed here too. */
        for (size_t i = 0; i < 3; i++) {
                static const char *const suffixes[] = { "", "-wal", "-shm" };
                _cleanup_free_ char *p = xasprintf("%s%s", path, suffixes[i]);
                struct stat st;

                /* Looked at first: a chmod writes the inode (a journal entry) even when it
                 * changes nothing, on every command. */
                if (stat(p, &st) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return error_set(err, errno, "stat '%s'", p);
                }
                if ((st.st_mode & 07777) != 0600 && chmod(p, 0600) < 0 && errno != ENOENT)
                        return error_set(err, errno, "chmod '%s'", p);
        }
        r = db_upgrade(db, err);
        if (r < 0)
                return error_wrap(err, r, "open database '%s'", path);
        *ret = TAKE_PTR(db);
        return 0;
}

InstDb *inst_db_close(InstDb *db)
{
        if (!db)
                return NULL;
        if (db->in_transaction)
                inst_db_rollback(db);
        /* What it wrote is durable once it has closed. */
        inst_db_checkpoint(db);
        sqlite3_close_v2(db->h);
        free(db->wal_path);
        free(db);
        return NULL;
}

void inst_db_checkpoint(InstDb *db)
{
        struct stat st;
        int changes;

        if (!db->h || db->in_transaction)
                return;
        changes = sqlite3_total_changes(db->h);
        if (changes == db->checkpointed_changes)
                return;
        /*
         * A small WAL is made durable where it is, with one sync. Folding it in costs two, and the
         * next writer two more as it starts the emptied WAL again (its header, its directory). But
         * the first connection to open after all have closed rebuilds the WAL's index by reading
         * all of it, which would grow to the 4 MiB of an automatic checkpoint: a larger one is
         * folded in and emptied, without waiting (if others are busy, one of them does it).
         */
        if (stat(db->wal_path, &st) == 0 && st.st_size <= WAL_KEEP_BYTES) {
                _cleanup_close_ int fd = open(db->wal_path, O_RDONLY | O_CLOEXEC);
                if (fd >= 0 && fdatasync(fd) == 0)
                        db->checkpointed_changes = changes;
                return;
        }
        sqlite3_busy_timeout(db->h, 0);
        if (sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) == SQLITE_OK)
                db->checkpointed_changes = changes;
        sqlite3_busy_timeout(db->h, BUSY_TIMEOUT_MS);
}

int inst_db_begin(InstDb *db, Error **err)
{
        int r = db_exec(db, "BEGIN IMMEDIATE", err);
        if (r >= 0)
                db->in_transaction = true;
        return r;
}

int inst_db_commit(InstDb *db, Error **err)
{
        int r = db_exec(db, "COMMIT", err);
        if (r >= 0)
                db->in_transaction = false;
        return r;
}

void inst_db_rollback(InstDb *db)
{
        if (!db->in_transaction)
                return;
        db_exec(db, "ROLLBACK", NULL);
        db->in_transaction = false;
}

int inst_db_end(InstDb *db, int r, Error **err)
{
        if (r >= 0)
                r = inst_db_commit(db, err);
        if (r < 0)
                inst_db_rollback(db);
        return r;
}

InstImage *inst_image_free(InstImage *i)
{
        if (!i)
                return NULL;
        free(i->id);
        free(i->digest);
        free(i->manifest_digest);
        free(i->config_digest);
        strv_free(i->layers);
        strv_free(i->names);
        free(i);
        return NULL;
}

int inst_db_image_put(InstDb *db, const InstImage *img, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL, *del = NULL;
        int r;

        r = db_prepare(db, &s, err,
                       "INSERT INTO images (id, digest, manifest_digest, config_digest, size, created) "
                       "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET digest = excluded.digest, "
                       "manifest_digest = excluded.manifest_digest, size = excluded.size",
                       "ttttii", img->id, img->digest, img->manifest_digest, img->config_digest, img->size,
                       img->created);
        if (r >= 0)
                r = db_run(db, s, err);
        if (r >= 0)
                r = db_prepare(db, &del, err, "DELETE FROM image_layers WHERE image_id = ?", "t", img->id);
        if (r >= 0)
                r = db_run(db, del, err);
        for (size_t i = 0; r >= 0 && img->layers && img->layers[i]; i++) {
                _cleanup_stmt_ sqlite3_stmt *ins = NULL;

                r = db_prepare(db, &ins, err, "INSERT INTO image_layers (image_id, position, diff_id) VALUES (?, ?, ?)",
                               "tit", img->id, (int64_t)i, img->layers[i]);
                if (r >= 0)
                        r = db_run(db, ins, err);
        }
        return r < 0 ? error_wrap(err, r, "record image '%.12s'", img->id) : 0;
}

/* Fills in an image's layers and names. */
static int image_fill(InstDb *db, InstImage *img, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *l = NULL, *n = NULL;
        int r;

        r = db_prepare(db, &l, err, "SELECT diff_id FROM image_layers WHERE image_id = ? ORDER BY position", "t",
                       img->id);
        if (r >= 0)
                r = db_strv(db, l, &img->layers, err);
        if (r >= 0)
                r = db_prepare(db, &n, err, "SELECT name FROM tags WHERE image_id = ? ORDER BY name", "t", img->id);
        if (r >= 0)
                r = db_strv(db, n, &img->names, err);
        return r;
}

#define IMAGE_COLUMNS "id, digest, manifest_digest, config_digest, size, created"

static InstImage *image_from_row(sqlite3_stmt *s)
{
        InstImage *img = xnew0(InstImage, 1);

        img->id = col_text(s, 0);
        img->digest = col_text(s, 1);
        img->manifest_digest = col_text(s, 2);
        img->config_digest = col_text(s, 3);
        img->size = sqlite3_column_int64(s, 4);
        img->created = sqlite3_column_int64(s, 5);
        return img;
}

/* Runs an image query expected to match at most one row (more: an ambiguous key). */
static int image_query_one(InstDb *db, sqlite3_stmt *s, const char *key, InstImage **ret, Error **err)
{
        _cleanup_(inst_image_freep) InstImage *img = NULL;
        int r;

        r = db_row(db, s, err);
        if (r <= 0)
                return r;
        img = image_from_row(s);
        r = db_row(db, s, err);
        if (r < 0)
                return r;
        if (r > 0)
                return error_setf(err, EINVAL, "image id prefix '%s' is ambiguous", key);
        r = image_fill(db, img, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(img);
        return 1;
}

int inst_db_image_find(InstDb *db, const char *key, InstImage **ret, Error **err)
{
        const char *hex = strncmp(key, "sha256:", 7) == 0 ? key + 7 : key;
        bool is_hex = strlen(hex) >= 3 && strlen(hex) <= 64 && strspn(hex, "0123456789abcdef") == strlen(hex);
        int r;

        {
                _cleanup_stmt_ sqlite3_stmt *s = NULL;
                r = db_prepare(db, &s, err,
                               "SELECT " IMAGE_COLUMNS " FROM images WHERE id IN "
                               "(SELECT image_id FROM tags WHERE name = ?) OR digest = ? OR manifest_digest = ?",
                               "ttt", key, key, key);
                if (r >= 0)
                        r = image_query_one(db, s, key, ret, err);
                if (r != 0)
                        return r;
        }
        if (is_hex) {
                _cleanup_stmt_ sqlite3_stmt *s = NULL;
                _cleanup_free_ char *pattern = xasprintf("%s*", hex);
                r = db_prepare(db, &s, err, "SELECT " IMAGE_COLUMNS " FROM images WHERE id GLOB ?", "t", pattern);
                if (r >= 0)
                        r = image_query_one(db, s, key, ret, err);
                if (r != 0)
                        return r;
        }
        return error_setf(err, ENOENT, "image '%s' not known", key);
}

int inst_db_image_list(InstDb *db, InstImage ***ret, size_t *ret_n, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        InstImage **v = NULL;
        size_t n = 0;
        int r;

        r = db_prepare(db, &s, err, "SELECT " IMAGE_COLUMNS " FROM images ORDER BY created DESC, id", NULL);
        while (r >= 0 && (r = db_row(db, s, err)) > 0) {
                InstImage **slot = xappend(v, n);
                *slot = image_from_row(s);
                r = image_fill(db, *slot, err);
        }
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        inst_image_free(v[i]);
                free(v);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int db_write(InstDb *db, Error **err, const char *sql, const char *fmt, ...)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        const char *a[4] = {};
        va_list ap;
        int r;

        va_start(ap, fmt);
        for (size_t i = 0; fmt[i] && i < ARRAY_SIZE(a); i++)
                a[i] = va_arg(ap, const char *);
        va_end(ap);
        r = db_prepare(db, &s, err, sql, fmt, a[0], a[1], a[2], a[3]);
        if (r < 0)
                return r;
        return db_run(db, s, err);
}

int inst_db_image_remove(InstDb *db, const char *id, Error **err)
{
        return db_write(db, err, "DELETE FROM images WHERE id = ?", "t", id);
}

int inst_db_tag_set(InstDb *db, const char *name, const char *id, Error **err)
{
        return db_write(db, err,
                        "INSERT INTO tags (name, image_id) VALUES (?, ?) "
                        "ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id",
                        "tt", name, id);
}

int inst_db_tag_remove(InstDb *db, const char *name, Error **err)
{
        int r = db_write(db, err, "DELETE FROM tags WHERE name = ?", "t", name);
        if (r == 0)
                return error_setf(err, ENOENT, "no image named '%s'", name);
        return r;
}

/* Runs a query whose single row holds one integer. */
static int db_count(InstDb *db, Error **err, const char *sql, const char *arg)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int r;

        r = db_prepare(db, &s, err, sql, "t", arg);
        if (r >= 0)
                r = db_row(db, s, err);
        if (r <= 0)
                return r;
        return sqlite3_column_int(s, 0);
}

int inst_db_image_users(InstDb *db, const char *id, Error **err)
{
        return db_count(db, err, "SELECT count(*) FROM instances WHERE image_id = ?", id);
}

int inst_db_layer_put(InstDb *db, const char *diff_id, const char *blob_digest, int64_t size, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int r;

        r = db_prepare(db, &s, err,
                       "INSERT INTO layers (diff_id, blob_digest, size) VALUES (?, ?, ?) "
                       "ON CONFLICT(diff_id) DO NOTHING",
                       "tti", diff_id, blob_digest, size);
        if (r >= 0)
                r = db_run(db, s, err);
        return r;
}

int inst_db_layer_has(InstDb *db, const char *diff_id, Error **err)
{
        return db_count(db, err, "SELECT count(*) FROM layers WHERE diff_id = ?", diff_id);
}

int inst_db_layers_take_unused(InstDb *db, char ***ret, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        _cleanup_strv_ char **v = NULL;
        int r;

        r = db_prepare(db, &s, err,
                       "SELECT diff_id FROM layers WHERE diff_id NOT IN (SELECT diff_id FROM image_layers)", NULL);
        if (r >= 0)
                r = db_strv(db, s, &v, err);
        for (size_t i = 0; r >= 0 && v[i]; i++)
                r = db_write(db, err, "DELETE FROM layers WHERE diff_id = ?", "t", v[i]);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(v);
        return 0;
}

int inst_db_blobs_in_use(InstDb *db, char ***ret, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int r;

        r = db_prepare(db, &s, err,
                       "SELECT digest FROM images UNION SELECT manifest_digest FROM images "
                       "UNION SELECT config_digest FROM images UNION SELECT blob_digest FROM layers "
                       "UNION SELECT blob_digest FROM build_cache",
                       NULL);
        if (r < 0)
                return r;
        return db_strv(db, s, ret, err);
}

int inst_db_layers_all(InstDb *db, char ***ret, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int r;

        r = db_prepare(db, &s, err, "SELECT diff_id FROM layers UNION SELECT diff_id FROM build_cache", NULL);
        if (r < 0)
                return r;
        return db_strv(db, s, ret, err);
}

static const char *const kind_names[] = {
        [INST_KIND_CONTAINER] = "container",
        [INST_KIND_SYSTEM] = "system",
        [INST_KIND_VM] = "vm",
};

const char *inst_kind_name(InstKind k)
{
        return k < ARRAY_SIZE(kind_names) ? kind_names[k] : "unknown";
}

static InstKind kind_from_name(const char *s)
{
        for (size_t i = 0; i < ARRAY_SIZE(kind_names); i++)
                if (s && strcmp(s, kind_names[i]) == 0)
                        return (InstKind)i;
        return INST_KIND_CONTAINER;
}

InstRecord *inst_record_free(InstRecord *r)
{
        if (!r)
                return NULL;
        free(r->id);
        free(r->name);
        free(r->image_id);
        free(r->image_name);
        free(r->options);
        free(r);
        return NULL;
}

int inst_db_instance_add(InstDb *db, const InstRecord *rec, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int r;

        r = db_prepare(db, &s, err,
                       "INSERT INTO instances (id, name, kind, image_id, image_name, options, created, "
                       "auto_remove) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       "ttttttid", rec->id, rec->name, inst_kind_name(rec->kind), rec->image_id, rec->image_name,
                       rec->options, rec->created, (int)rec->is_auto_remove);
        if (r < 0)
                return r;
        r = db_run(db, s, err);
        if (r == -EEXIST) {
                /* The constraint's own words name the column; the value itself says more. Only the
                 * UNIQUE name is a name in use: an image that is not recorded fails the foreign key. */
                int ext = sqlite3_extended_errcode(db->h);

                if (ext != SQLITE_CONSTRAINT_UNIQUE && ext != SQLITE_CONSTRAINT_FOREIGNKEY)
                        return r;
                error_clear(err);
                if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
                        return error_setf(err, ENOENT, "image '%.12s' is not recorded", rec->image_id);
                return error_setf(err, EEXIST, "the name '%s' is already in use", rec->name);
        }
        return r;
}

#define INSTANCE_COLUMNS \
        "id, name, kind, image_id, image_name, options, created, started, finished, exit_code, auto_remove"

static InstRecord *record_from_row(sqlite3_stmt *s)
{
        InstRecord *rec = xnew0(InstRecord, 1);

        rec->id = col_text(s, 0);
        rec->name = col_text(s, 1);
        rec->kind = kind_from_name((const char *)sqlite3_column_text(s, 2));
        rec->image_id = col_text(s, 3);
        rec->image_name = col_text(s, 4);
        rec->options = col_text(s, 5);
        rec->created = sqlite3_column_int64(s, 6);
        rec->started = sqlite3_column_int64(s, 7);
        rec->finished = sqlite3_column_int64(s, 8);
        rec->exit_code = sqlite3_column_int(s, 9);
        rec->is_auto_remove = sqlite3_column_int(s, 10) != 0;
        return rec;
}

int inst_db_instance_find(InstDb *db, const char *key, InstRecord **ret, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        _cleanup_(inst_record_freep) InstRecord *rec = NULL;
        _cleanup_free_ char *pattern = xasprintf("%s*", key);
        bool is_prefix_ok = strlen(key) >= 3 && strspn(key, "0123456789abcdef") == strlen(key);
        int r;

        /* A name wins over an id prefix that happens to look the same. */
        r = db_prepare(db, &s, err,
                       "SELECT " INSTANCE_COLUMNS " FROM instances WHERE name = ? OR id = ? "
                       "ORDER BY name = ? DESC",
                       "ttt", key, key, key);
        if (r >= 0)
                r = db_row(db, s, err);
        if (r < 0)
                return r;
        if (r > 0) {
                *ret = record_from_row(s);
                return 0;
        }
        if (is_prefix_ok) {
                _cleanup_stmt_ sqlite3_stmt *p = NULL;
                r = db_prepare(db, &p, err, "SELECT " INSTANCE_COLUMNS " FROM instances WHERE id GLOB ?", "t",
                               pattern);
                if (r >= 0)
                        r = db_row(db, p, err);
                if (r < 0)
                        return r;
                if (r > 0) {
                        rec = record_from_row(p);
                        r = db_row(db, p, err);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                return error_setf(err, EINVAL, "instance id prefix '%s' is ambiguous", key);
                        *ret = TAKE_PTR(rec);
                        return 0;
                }
        }
        return error_setf(err, ENOENT, "no such instance '%s'", key);
}

int inst_db_instance_list(InstDb *db, InstRecord ***ret, size_t *ret_n, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        InstRecord **v = NULL;
        size_t n = 0;
        int r;

        r = db_prepare(db, &s, err, "SELECT " INSTANCE_COLUMNS " FROM instances ORDER BY created DESC, name", NULL);
        while (r >= 0 && (r = db_row(db, s, err)) > 0) {
                InstRecord **slot = xappend(v, n);
                *slot = record_from_row(s);
        }
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        inst_record_free(v[i]);
                free(v);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int inst_db_instance_set_run(InstDb *db, const char *id, int64_t started, int64_t finished, int exit_code,
                             Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int r;

        r = db_prepare(db, &s, err, "UPDATE instances SET started = ?, finished = ?, exit_code = ? WHERE id = ?",
                       "iidt", started, finished, exit_code, id);
        if (r < 0)
                return r;
        return db_run(db, s, err);
}

int inst_db_instance_remove(InstDb *db, const char *id, Error **err)
{
        return db_write(db, err, "DELETE FROM instances WHERE id = ?", "t", id);
}

int inst_db_cache_get(InstDb *db, const char *key, InstCacheEntry *ret, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int r;

        r = db_prepare(db, &s, err, "SELECT diff_id, blob_digest, size, media_type FROM build_cache WHERE key = ?",
                       "t", key);
        if (r >= 0)
                r = db_row(db, s, err);
        if (r <= 0)
                return r;
        *ret = (InstCacheEntry){ col_text(s, 0), col_text(s, 1), sqlite3_column_int64(s, 2), col_text(s, 3) };
        return 1;
}

int inst_db_cache_put(InstDb *db, const char *key, const InstCacheEntry *e, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int r;

        r = db_prepare(db, &s, err,
                       "INSERT OR REPLACE INTO build_cache (key, diff_id, blob_digest, size, media_type, created) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       "tttiti", key, e->diff_id, e->blob_digest, e->size, e->media_type, (int64_t)time(NULL));
        if (r < 0)
                return r;
        return db_run(db, s, err);
}

void inst_cache_entry_done(InstCacheEntry *e)
{
        free(e->diff_id);
        free(e->blob_digest);
        free(e->media_type);
        *e = (InstCacheEntry){};
}

int inst_db_cache_clear(InstDb *db, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int r = db_prepare(db, &s, err, "DELETE FROM build_cache", NULL);

        return r < 0 ? r : db_run(db, s, err);
}

int inst_db_idmap_alloc(InstDb *db, const char *instance_id, const InstIdmapPool *pool, uint32_t count,
                        InstIdmap *ret, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        uint64_t slots, want = 0;
        int r;

        if (count == 0 || count > INST_IDMAP_SLOT)
                return error_setf(err, EINVAL, "uid range of %u ids: not 1 to %u", count, INST_IDMAP_SLOT);
        slots = (pool->uid_count < pool->gid_count ? pool->uid_count : pool->gid_count) / INST_IDMAP_SLOT;
        /* The lowest free slot: walk the taken ones (slot numbers, in order) until the first gap.
         * uid and gid bases move together, so the uid's slot names both. */
        r = db_prepare(db, &s, err,
                       "SELECT (uid_base - ?) / ? FROM idmaps WHERE uid_base >= ? AND uid_base < ? ORDER BY uid_base",
                       "iiii", (int64_t)pool->uid_start, (int64_t)INST_IDMAP_SLOT, (int64_t)pool->uid_start,
                       (int64_t)(pool->uid_start + slots * INST_IDMAP_SLOT));
        while (r >= 0 && (r = db_row(db, s, err)) > 0) {
                int64_t taken = sqlite3_column_int64(s, 0);
                if (taken > (int64_t)want)
                        break;
                if (taken == (int64_t)want)
                        want++;
        }
        if (r < 0)
                return r;
        if (want >= slots)
                return error_setf(err, ENOSPC, "no free uid range: the %llu ranges of the pool are in use",
                                  (unsigned long long)slots);
        sqlite3_finalize(TAKE_PTR(s));
        ret->uid_base = (uint32_t)(pool->uid_start + want * INST_IDMAP_SLOT);
        ret->gid_base = (uint32_t)(pool->gid_start + want * INST_IDMAP_SLOT);
        ret->count = count;
        r = db_prepare(db, &s, err, "INSERT INTO idmaps (instance_id, uid_base, gid_base, count) VALUES (?, ?, ?, ?)",
                       "tiii", instance_id, (int64_t)ret->uid_base, (int64_t)ret->gid_base, (int64_t)count);
        if (r >= 0)
                r = db_run(db, s, err);
        if (r < 0) {
                *ret = (InstIdmap){};
                return r;
        }
        return 0;
}

int inst_db_idmap_find(InstDb *db, const char *instance_id, InstIdmap *ret, Error **err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int r;

        r = db_prepare(db, &s, err, "SELECT uid_base, gid_base, count FROM idmaps WHERE instance_id = ?", "t",
                       instance_id);
        if (r >= 0)
                r = db_row(db, s, err);
        if (r <= 0)
                return r;
        *ret = (InstIdmap){ (uint32_t)sqlite3_column_int64(s, 0), (uint32_t)sqlite3_column_int64(s, 1),
                            (uint32_t)sqlite3_column_int64(s, 2) };
        return 1;
}
