/* voice_store.c: the user's voice library: a folder of NAME.npz prompts with NAME.json records; atomic changes. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "voices/voice_origin.h"

struct bark_voice_store {
    char *dir;
    char **names; /* sorted */
    size_t n;
};

bark_status bark_voice_name_check(const char *name, bark_error *err) {
    if (!name || !*name) return bark_fail(err, BARK_ERR_ARG, "a voice name cannot be empty");
    const size_t len = strlen(name);
    if (len > BARK_VOICE_NAME_MAX)
        return bark_fail(err, BARK_ERR_ARG, "voice name '%.40s...' is longer than %d characters", name,
                         BARK_VOICE_NAME_MAX);
    if (name[0] == '.' || name[0] == '-')
        return bark_fail(err, BARK_ERR_ARG, "voice name '%s' starts with '%c' (use letters, digits, '_', '.', '-')",
                         name, name[0]);
    for (size_t i = 0; i < len; i++) {
        const unsigned char c = (unsigned char)name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-')) {
            if (c == '/') return bark_fail(err, BARK_ERR_ARG, "voice name '%s' holds a '/': user voice names are flat "
                                           "(letters, digits, '_', '.', '-')", name);
            return bark_fail(err, BARK_ERR_ARG, "voice name '%.64s' holds character 0x%02x (use letters, digits, '_', "
                             "'.', '-')", c >= 0x20 && c < 0x7f ? name : "?", c);
        }
    }
    return BARK_OK;
}

/* dir/name + ext into a new string. */
static char *path_of(const bark_voice_store *s, const char *name, const char *ext) {
    const size_t n = strlen(s->dir) + strlen(name) + strlen(ext) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s%s", s->dir, name, ext);
    return p;
}

static void free_names(bark_voice_store *s) {
    for (size_t i = 0; i < s->n; i++) free(s->names[i]);
    free(s->names);
    s->names = NULL;
    s->n = 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The folder's NAME.npz files with valid names (temporaries start with '.' and are left out). */
static bark_status scan(bark_voice_store *s, bark_error *err) {
    free_names(s);
    DIR *d = opendir(s->dir);
    if (!d) {
        if (errno == ENOENT) return BARK_OK;
        return bark_fail(err, BARK_ERR_IO, "%s: cannot list the voices: %s", s->dir, strerror(errno));
    }
    size_t cap = 0;
    bark_status st = BARK_OK;
    const struct dirent *e;
    while (!st && (e = readdir(d))) {
        const size_t l = strlen(e->d_name);
        if (!bark_voice_is_npz_path(e->d_name) || l - 4 > BARK_VOICE_NAME_MAX) continue;
        char name[BARK_VOICE_NAME_MAX + 1];
        memcpy(name, e->d_name, l - 4);
        name[l - 4] = '\0';
        if (bark_voice_name_check(name, NULL)) continue;
        if (s->n == cap) {
            char **g = realloc(s->names, (cap = cap ? 2 * cap : 16) * sizeof *g);
            if (!g) {
                st = bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory listing the voices", s->dir);
                break;
            }
            s->names = g;
        }
        if (!(s->names[s->n] = strdup(name))) st = bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", s->dir);
        else s->n++;
    }
    closedir(d);
    if (s->n) qsort(s->names, s->n, sizeof *s->names, by_name);
    return st;
}

/* mkdir -p with mode 0700 for what it makes. */
static bark_status make_dirs(const char *dir, bark_error *err) {
    char *p = strdup(dir);
    if (!p) return bark_fail(err, BARK_ERR_NOMEM, "out of memory");
    bark_status st = BARK_OK;
    for (char *q = p + 1;; q++) {
        const char c = *q;
        if (c != '/' && c != '\0') continue;
        *q = '\0';
        if (mkdir(p, 0700) && errno != EEXIST) {
            st = bark_fail(err, BARK_ERR_IO, "%s: cannot make the voices folder: %s", p, strerror(errno));
            break;
        }
        *q = c;
        if (!c) break;
    }
    free(p);
    return st;
}

bark_status bark_voice_store_open(const char *dir, int create, bark_voice_store **out, bark_error *err) {
    *out = NULL;
    if (!dir || !*dir) return bark_fail(err, BARK_ERR_ARG, "no voices folder given");
    bark_voice_store *s = calloc(1, sizeof *s);
    if (!s || !(s->dir = strdup(dir))) {
        free(s);
        return bark_fail(err, BARK_ERR_NOMEM, "out of memory");
    }
    for (size_t l = strlen(s->dir); l > 1 && s->dir[l - 1] == '/'; l--) s->dir[l - 1] = '\0';
    struct stat sb;
    bark_status st = create ? make_dirs(s->dir, err) : BARK_OK;
    if (!st && stat(s->dir, &sb) == 0 && !S_ISDIR(sb.st_mode))
        st = bark_fail(err, BARK_ERR_ARG, "%s: the voices folder is not a folder", s->dir);
    if (!st) st = scan(s, err);
    if (st) bark_voice_store_close(s);
    else *out = s;
    return st;
}

void bark_voice_store_close(bark_voice_store *s) {
    if (!s) return;
    free_names(s);
    free(s->dir);
    free(s);
}

const char *bark_voice_store_dir(const bark_voice_store *s) { return s->dir; }
size_t bark_voice_store_count(const bark_voice_store *s) { return s->n; }
const char *bark_voice_store_name(const bark_voice_store *s, size_t i) { return i < s->n ? s->names[i] : NULL; }

int bark_voice_store_has(const bark_voice_store *s, const char *name) {
    return name && s->n && bsearch(&name, s->names, s->n, sizeof *s->names, by_name) != NULL;
}

/* Fails unless name is valid and stored. */
static bark_status need(const bark_voice_store *s, const char *name, bark_error *err) {
    bark_status st = bark_voice_name_check(name, err);
    if (st) return st;
    if (!bark_voice_store_has(s, name))
        return bark_fail(err, BARK_ERR_MISSING, "no user voice '%s' in %s", name, s->dir);
    return BARK_OK;
}

bark_status bark_voice_store_origin(const bark_voice_store *s, const char *name, bark_voice_origin *out,
                                    bark_error *err) {
    memset(out, 0, sizeof *out);
    bark_status st = need(s, name, err);
    if (st) return st;
    char *p = path_of(s, name, ".json");
    if (!p) return bark_fail(err, BARK_ERR_NOMEM, "out of memory");
    st = voice_origin_read(p, out, err);
    if (st == BARK_ERR_MISSING) st = BARK_OK; /* stored by hand: no record */
    free(p);
    return st;
}

bark_status bark_voice_store_load(const bark_voice_store *s, const char *name, bark_voice *out, bark_error *err) {
    memset(out, 0, sizeof *out);
    bark_status st = need(s, name, err);
    if (st) return st;
    char *p = path_of(s, name, ".npz");
    if (!p) return bark_fail(err, BARK_ERR_NOMEM, "out of memory");
    st = bark_voice_load_npz(p, out, err);
    free(p);
    return st;
}

bark_status bark_voice_store_export(const bark_voice_store *s, const char *name, const char *path, bark_error *err) {
    bark_voice v;
    bark_status st = bark_voice_store_load(s, name, &v, err);
    if (!st) st = bark_voice_save_npz(&v, path, err);
    bark_voice_free(&v);
    return st;
}

/* A fresh hidden name in the folder for a file being prepared ("<dir>/.add-XXXXXX"), reserved empty. */
static char *reserve_temp(const bark_voice_store *s, bark_error *err) {
    char *t = path_of(s, ".add-XXXXXX", "");
    if (!t) {
        bark_fail(err, BARK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    const int fd = mkstemp(t);
    if (fd < 0) {
        bark_fail(err, BARK_ERR_IO, "%s: cannot write in the voices folder: %s", s->dir, strerror(errno));
        free(t);
        return NULL;
    }
    close(fd);
    return t;
}

bark_status bark_voice_store_add(bark_voice_store *s, const char *name, const bark_voice *v,
                                 const bark_voice_origin *origin, int replace, bark_error *err) {
    bark_status st = bark_voice_name_check(name, err);
    if (st) return st;
    if (!replace && bark_voice_store_has(s, name))
        return bark_fail(err, BARK_ERR_ARG, "a user voice '%s' exists already in %s (remove it first)", name, s->dir);
    if ((st = make_dirs(s->dir, err))) return st;
    bark_voice_origin o;
    if (origin) o = *origin;
    else memset(&o, 0, sizeof o);
    if (!o.created[0]) voice_origin_now(o.created);
    char *npz = path_of(s, name, ".npz"), *rec = path_of(s, name, ".json"), *tmp_npz = NULL, *tmp_rec = NULL;
    if (!npz || !rec) st = bark_fail(err, BARK_ERR_NOMEM, "out of memory");
    if (!st && !(tmp_npz = reserve_temp(s, err))) st = err ? err->status : BARK_ERR_IO;
    if (!st && !(tmp_rec = reserve_temp(s, err))) st = err ? err->status : BARK_ERR_IO;
    if (!st) st = bark_voice_save_npz(v, tmp_npz, err);
    if (!st) st = voice_origin_write(tmp_rec, name, &o, err);
    /* the .npz claims the name (link fails if another add got there first), then the record follows it */
    if (!st && (replace ? rename(tmp_npz, npz) : link(tmp_npz, npz)))
        st = errno == EEXIST ? bark_fail(err, BARK_ERR_ARG, "a user voice '%s' exists already in %s", name, s->dir)
                             : bark_fail(err, BARK_ERR_IO, "%s: %s", npz, strerror(errno));
    if (!st && rename(tmp_rec, rec)) {
        st = bark_fail(err, BARK_ERR_IO, "%s: %s", rec, strerror(errno));
        if (!replace) unlink(npz);
    }
    if (tmp_npz) unlink(tmp_npz);
    if (tmp_rec) unlink(tmp_rec);
    free(npz), free(rec), free(tmp_npz), free(tmp_rec);
    const bark_status sc = scan(s, st ? NULL : err);
    return st ? st : sc;
}

bark_status bark_voice_store_remove(bark_voice_store *s, const char *name, bark_error *err) {
    bark_status st = need(s, name, err);
    if (st) return st;
    char *npz = path_of(s, name, ".npz"), *rec = path_of(s, name, ".json");
    if (!npz || !rec) st = bark_fail(err, BARK_ERR_NOMEM, "out of memory");
    else if (unlink(npz) && errno != ENOENT) st = bark_fail(err, BARK_ERR_IO, "%s: %s", npz, strerror(errno));
    else if (unlink(rec) && errno != ENOENT) st = bark_fail(err, BARK_ERR_IO, "%s: %s", rec, strerror(errno));
    free(npz), free(rec);
    const bark_status sc = scan(s, st ? NULL : err);
    return st ? st : sc;
}
