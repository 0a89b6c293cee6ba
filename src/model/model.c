/* model.c: opens a model file by mmap, validates it, and hands out tensors, metadata and stage weights. */
#include "model/model.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "model/gguf.h"
#include "model/gguf_keys.h"

struct bark_model {
    char *path;
    const uint8_t *map;
    size_t size;
    int mapped;              /* map came from mmap (else it belongs to the caller) */
    gguf_file g;
    bark_tensor *t;          /* sorted by name */
    char *names;             /* NUL-terminated copies of the tensor names */
    size_t n_t;
    int has_stage[BARK_STAGE_COUNT];
    bark_gpt_weights gpt[3];
    const char **vocab;
    uint32_t *vocab_len;
    size_t n_vocab;
    char **voices;
    size_t n_voices;
};

static const char *const stage_names[BARK_STAGE_COUNT] = {"semantic", "coarse", "fine", "codec"};

const char *bark_stage_name(bark_stage s) { return (unsigned)s < BARK_STAGE_COUNT ? stage_names[s] : "?"; }

static int cmp_tensor(const void *a, const void *b) {
    return strcmp(((const bark_tensor *)a)->name, ((const bark_tensor *)b)->name);
}

const bark_tensor *bark_model_find(const bark_model *m, const char *name) {
    bark_tensor key;
    key.name = name;
    return bsearch(&key, m->t, m->n_t, sizeof *m->t, cmp_tensor);
}

const bark_tensor *bark_model_findf(const bark_model *m, const char *fmt, ...) {
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return (n < 0 || (size_t)n >= sizeof name) ? NULL : bark_model_find(m, name);
}

const char *bark_model_path(const bark_model *m) { return m->path; }
size_t bark_model_file_size(const bark_model *m) { return m->size; }
size_t bark_model_tensor_count(const bark_model *m) { return m->n_t; }
size_t bark_model_voice_count(const bark_model *m) { return m->n_voices; }
const char *bark_model_voice_name(const bark_model *m, size_t i) { return i < m->n_voices ? m->voices[i] : NULL; }

int bark_model_has_voice(const bark_model *m, const char *name) {
    for (size_t i = 0; i < m->n_voices; i++)
        if (!strcmp(m->voices[i], name)) return 1;
    return 0;
}

int bark_model_has_stage(const bark_model *m, bark_stage s) {
    return (unsigned)s < BARK_STAGE_COUNT && m->has_stage[s];
}

size_t bark_model_vocab(const bark_model *m, const char *const **tok, const uint32_t **len) {
    *tok = m->vocab;
    *len = m->vocab_len;
    return m->n_vocab;
}

bark_status bark_model_tensor_info(const bark_model *m, size_t i, bark_tensor_info *out) {
    if (i >= m->n_t) return BARK_ERR_ARG;
    const bark_tensor *t = &m->t[i];
    out->name = t->name;
    out->type = bark_type_name(t->type);
    out->n_dims = t->n_dims;
    memcpy(out->ne, t->ne, sizeof out->ne);
    out->nbytes = t->nbytes;
    return BARK_OK;
}

/* ---- metadata ---- */

static const gguf_kv *need_kv(const bark_model *m, const char *key, bark_error *err) {
    const gguf_kv *kv = gguf_find_kv(&m->g, key);
    if (!kv) bark_fail(err, BARK_ERR_MISSING, "%s: metadata key '%s' is missing; re-convert the model", m->path, key);
    return kv;
}

static int is_int_type(uint32_t t) {
    return t <= GGUF_T_INT32 || t == GGUF_T_BOOL || t == GGUF_T_UINT64 || t == GGUF_T_INT64;
}

bark_status bark_model_get_u32(const bark_model *m, const char *key, uint32_t *out, bark_error *err) {
    const gguf_kv *kv = need_kv(m, key, err);
    if (!kv) return BARK_ERR_MISSING;
    const gguf_value *v = &kv->val;
    int sgn = v->type == GGUF_T_INT8 || v->type == GGUF_T_INT16 || v->type == GGUF_T_INT32 || v->type == GGUF_T_INT64;
    if (!is_int_type(v->type) || (sgn ? (v->v.i < 0 || v->v.i > (int64_t)UINT32_MAX) : v->v.u > UINT32_MAX))
        return bark_fail(err, BARK_ERR_FORMAT, "%s: metadata '%s' is not an unsigned 32-bit integer", m->path, key);
    *out = sgn ? (uint32_t)v->v.i : (uint32_t)v->v.u;
    return BARK_OK;
}

bark_status bark_model_get_i32_array(const bark_model *m, const char *key, int32_t *out, size_t cap, size_t *n,
                                     bark_error *err) {
    const gguf_kv *kv = need_kv(m, key, err);
    if (!kv) return BARK_ERR_MISSING;
    const gguf_value *v = &kv->val;
    if (v->type != GGUF_T_ARRAY || !is_int_type(v->arr_type) || v->arr_type == GGUF_T_BOOL)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: metadata '%s' is not an integer array", m->path, key);
    *n = (size_t)v->arr_n;
    for (uint64_t i = 0; i < v->arr_n && i < cap; i++) {
        int64_t x = gguf_arr_int(v, i);
        if (x < INT32_MIN || x > INT32_MAX)
            return bark_fail(err, BARK_ERR_FORMAT, "%s: metadata '%s' holds a value out of range", m->path, key);
        out[i] = (int32_t)x;
    }
    return BARK_OK;
}

/* ---- validation of the GPT stages ---- */

static bark_status want(const bark_model *m, bark_tensor *dst, int optional, int n_dims, int64_t ne0, int64_t ne1,
                        int float_only_f32, bark_error *err, const char *fmt, ...) BARK_PRINTF(9, 10);

/* Finds a tensor by formatted name and checks its rank, shape and type (1-D tensors must be f32). */
static bark_status want(const bark_model *m, bark_tensor *dst, int optional, int n_dims, int64_t ne0, int64_t ne1,
                        int float_only_f32, bark_error *err, const char *fmt, ...) {
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    const bark_tensor *t = bark_model_find(m, name);
    memset(dst, 0, sizeof *dst);
    if (!t) {
        if (optional) return BARK_OK;
        return bark_fail(err, BARK_ERR_MISSING, "%s: tensor '%s' is missing", m->path, name);
    }
    int type_ok = float_only_f32 ? t->type == BARK_TYPE_F32
                                 : (t->type == BARK_TYPE_F32 || t->type == BARK_TYPE_F16 || t->type == BARK_TYPE_Q8_0 ||
                                    t->type == BARK_TYPE_Q4_0);
    if (!type_ok)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: tensor '%s' has type %s, expected %s", m->path, name,
                         bark_type_name(t->type), float_only_f32 ? "f32" : "f32, f16, q8_0 or q4_0");
    if (t->n_dims != n_dims || t->ne[0] != ne0 || (n_dims > 1 && t->ne[1] != ne1))
        return bark_fail(err, BARK_ERR_FORMAT, "%s: tensor '%s' has shape {%lld, %lld}, expected {%lld, %lld}", m->path,
                         name, (long long)t->ne[0], (long long)(t->n_dims > 1 ? t->ne[1] : 1), (long long)ne0,
                         (long long)(n_dims > 1 ? ne1 : 1));
    *dst = *t;
    return BARK_OK;
}

static bark_status read_hparams(const bark_model *m, const char *s, bark_gpt_hparams *hp, int fine, bark_error *err) {
    uint32_t v[6];
    static const char *const keys[6] = {"block_count", "head_count", "embedding_length", "context_length",
                                        "input_vocab_size", "output_vocab_size"};
    char key[96];
    for (int i = 0; i < 6; i++) {
        snprintf(key, sizeof key, KEY_STAGE_FMT, s, keys[i]);
        bark_status st = bark_model_get_u32(m, key, &v[i], err);
        if (st) return st;
    }
    memset(hp, 0, sizeof *hp);
    hp->n_layer = (int)v[0], hp->n_head = (int)v[1], hp->n_embd = (int)v[2], hp->block_size = (int)v[3];
    hp->input_vocab = (int)v[4], hp->output_vocab = (int)v[5];
    if (v[0] < 1 || v[0] > BARK_MAX_LAYERS || v[1] < 1 || v[1] > 256 || v[2] < 1 || v[2] > 16384 || v[2] % v[1] ||
        v[3] < 1 || v[3] > 65536 || v[4] < 1 || v[4] > (1u << 22) || v[5] < 1 || v[5] > (1u << 22))
        return bark_fail(err, BARK_ERR_FORMAT,
                         "%s: %s stage has impossible hyper-parameters (layers %u, heads %u, width %u, context %u, "
                         "vocab %u/%u)", m->path, s, v[0], v[1], v[2], v[3], v[4], v[5]);
    const gguf_kv *b = gguf_find_kv(&m->g, (snprintf(key, sizeof key, KEY_STAGE_FMT, s, "bias"), key));
    hp->has_bias = b && b->val.type == GGUF_T_BOOL && b->val.v.u;
    if (fine) {
        uint32_t tot, given;
        bark_status st;
        if ((st = bark_model_get_u32(m, KEY_FINE("n_codes_total"), &tot, err)) ||
            (st = bark_model_get_u32(m, KEY_FINE("n_codes_given"), &given, err)))
            return st;
        if (tot < 2 || tot > 8 || given < 1 || given >= tot)
            return bark_fail(err, BARK_ERR_FORMAT, "%s: fine stage has n_codes_total %u, n_codes_given %u", m->path,
                             tot, given);
        hp->n_codes_total = (int)tot, hp->n_codes_given = (int)given;
    }
    return BARK_OK;
}

static bark_status load_gpt(bark_model *m, bark_stage stage, bark_error *err) {
    const char *s = stage_names[stage];
    const int fine = stage == BARK_STAGE_FINE;
    bark_gpt_weights *w = &m->gpt[stage];
    bark_status st = read_hparams(m, s, &w->hp, fine, err);
    if (st) return st;
    const int64_t C = w->hp.n_embd, bias = !w->hp.has_bias;
    w->n_wte = fine ? w->hp.n_codes_total : 1;
    for (int k = 0; k < w->n_wte; k++) {
        st = fine ? want(m, &w->wte[k], 0, 2, C, w->hp.input_vocab, 0, err, "fine.wte.%d.weight", k)
                  : want(m, &w->wte[k], 0, 2, C, w->hp.input_vocab, 0, err, "%s.wte.weight", s);
        if (st) return st;
    }
    if ((st = want(m, &w->wpe, 0, 2, C, w->hp.block_size, 0, err, "%s.wpe.weight", s))) return st;
    st = want(m, &w->lnf_b, 1, 1, C, 1, 1, err, "%s.ln_f.bias", s);
    w->hp.ln_bias = w->lnf_b.data != NULL;
    for (int i = 0; i < w->hp.n_layer && !st; i++) {
        bark_gpt_layer *L = &w->layer[i];
        const int lnb = !w->hp.ln_bias;
        if ((st = want(m, &L->ln1_w, 0, 1, C, 1, 1, err, "%s.blk.%d.ln1.weight", s, i)) ||
            (st = want(m, &L->ln1_b, lnb, 1, C, 1, 1, err, "%s.blk.%d.ln1.bias", s, i)) ||
            (st = want(m, &L->ln2_w, 0, 1, C, 1, 1, err, "%s.blk.%d.ln2.weight", s, i)) ||
            (st = want(m, &L->ln2_b, lnb, 1, C, 1, 1, err, "%s.blk.%d.ln2.bias", s, i)) ||
            (st = want(m, &L->qkv_w, 0, 2, C, 3 * C, 0, err, "%s.blk.%d.attn_qkv.weight", s, i)) ||
            (st = want(m, &L->qkv_b, bias, 1, 3 * C, 1, 1, err, "%s.blk.%d.attn_qkv.bias", s, i)) ||
            (st = want(m, &L->out_w, 0, 2, C, C, 0, err, "%s.blk.%d.attn_out.weight", s, i)) ||
            (st = want(m, &L->out_b, bias, 1, C, 1, 1, err, "%s.blk.%d.attn_out.bias", s, i)) ||
            (st = want(m, &L->up_w, 0, 2, C, 4 * C, 0, err, "%s.blk.%d.mlp_up.weight", s, i)) ||
            (st = want(m, &L->up_b, bias, 1, 4 * C, 1, 1, err, "%s.blk.%d.mlp_up.bias", s, i)) ||
            (st = want(m, &L->down_w, 0, 2, 4 * C, C, 0, err, "%s.blk.%d.mlp_down.weight", s, i)) ||
            (st = want(m, &L->down_b, bias, 1, C, 1, 1, err, "%s.blk.%d.mlp_down.bias", s, i)))
            break;
    }
    if (st) return st;
    if ((st = want(m, &w->lnf_w, 0, 1, C, 1, 1, err, "%s.ln_f.weight", s))) return st;
    w->n_lm_head = fine ? w->hp.n_codes_total - w->hp.n_codes_given : 1;
    for (int j = 0; j < w->n_lm_head; j++) {
        if (!fine) {
            st = want(m, &w->lm_head[0], 0, 2, C, w->hp.output_vocab, 0, err, "%s.lm_head.weight", s);
        } else {
            st = want(m, &w->lm_head[j], 1, 2, C, w->hp.output_vocab, 0, err, "fine.lm_head.%d.weight", j);
            if (!st && !w->lm_head[j].data) { /* tied to the next codebook's input table */
                if (w->hp.output_vocab != w->hp.input_vocab)
                    return bark_fail(err, BARK_ERR_FORMAT, "%s: fine.lm_head.%d.weight is missing and cannot be tied "
                                     "(vocab sizes %d and %d differ)", m->path, j, w->hp.input_vocab, w->hp.output_vocab);
                w->lm_head[j] = w->wte[j + w->hp.n_codes_given];
            }
        }
        if (st) return st;
    }
    return BARK_OK;
}

bark_status bark_model_gpt(const bark_model *m, bark_stage s, const bark_gpt_weights **out, bark_error *err) {
    if (s > BARK_STAGE_FINE) return bark_fail(err, BARK_ERR_ARG, "stage %d is not a GPT stage", (int)s);
    if (!m->has_stage[s])
        return bark_fail(err, BARK_ERR_MISSING, "%s: the model file has no %s stage; convert a complete Bark model",
                         m->path, stage_names[s]);
    *out = &m->gpt[s];
    return BARK_OK;
}

bark_status bark_model_gpt_hparams(const bark_model *m, bark_stage s, bark_gpt_hparams *out, bark_error *err) {
    const bark_gpt_weights *w = NULL;
    bark_status st = bark_model_gpt(m, s, &w, err);
    if (!st) *out = w->hp;
    return st;
}

/* ---- tables built at open: tensors by name, vocab, voices ---- */

static bark_status build_tensors(bark_model *m, bark_error *err) {
    size_t total = 0;
    for (uint64_t i = 0; i < m->g.n_tensors; i++) total += (size_t)m->g.tensors[i].name.n + 1;
    m->n_t = (size_t)m->g.n_tensors;
    m->t = calloc(m->n_t ? m->n_t : 1, sizeof *m->t);
    m->names = malloc(total ? total : 1);
    if (!m->t || !m->names) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", m->path);
    char *p = m->names;
    for (size_t i = 0; i < m->n_t; i++) {
        const gguf_tensor_info *ti = &m->g.tensors[i];
        if (memchr(ti->name.p, 0, (size_t)ti->name.n))
            return bark_fail(err, BARK_ERR_FORMAT, "%s: a tensor name contains a NUL byte", m->path);
        memcpy(p, ti->name.p, (size_t)ti->name.n);
        p[ti->name.n] = '\0';
        bark_tensor *t = &m->t[i];
        t->name = p;
        t->type = ti->type;
        t->n_dims = (int)ti->n_dims;
        memcpy(t->ne, ti->ne, sizeof t->ne);
        t->data = ti->data;
        t->nbytes = (size_t)ti->nbytes;
        p += ti->name.n + 1;
    }
    qsort(m->t, m->n_t, sizeof *m->t, cmp_tensor);
    return BARK_OK;
}

static bark_status build_vocab(bark_model *m, bark_error *err) {
    const gguf_kv *kv = gguf_find_kv(&m->g, KEY_TOKENIZER_TOKENS);
    if (!kv) return BARK_OK; /* checked by the stage that needs it */
    if (kv->val.type != GGUF_T_ARRAY || kv->val.arr_type != GGUF_T_STRING)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: " KEY_TOKENIZER_TOKENS " is not a string array", m->path);
    m->n_vocab = (size_t)kv->val.arr_n;
    m->vocab = malloc(sizeof *m->vocab * (m->n_vocab ? m->n_vocab : 1));
    m->vocab_len = malloc(sizeof *m->vocab_len * (m->n_vocab ? m->n_vocab : 1));
    if (!m->vocab || !m->vocab_len) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", m->path);
    const uint8_t *p = kv->val.arr_data;
    for (size_t i = 0; i < m->n_vocab; i++) {
        gguf_str s = gguf_str_next(&p);
        if (s.n > 1024) return bark_fail(err, BARK_ERR_FORMAT, "%s: vocabulary token %zu is %llu bytes long", m->path, i,
                                         (unsigned long long)s.n);
        m->vocab[i] = s.p;
        m->vocab_len[i] = (uint32_t)s.n;
    }
    return BARK_OK;
}

static bark_status check_voice_tensor(const bark_model *m, const char *voice, const char *part, int64_t rows,
                                      bark_error *err) {
    const bark_tensor *t = bark_model_findf(m, "voice.%s.%s", voice, part);
    if (!t) return bark_fail(err, BARK_ERR_MISSING, "%s: voice '%s' has no %s tensor", m->path, voice, part);
    if (t->type != BARK_TYPE_I32 || (rows ? (t->n_dims != 2 || t->ne[1] != rows) : t->n_dims != 1))
        return bark_fail(err, BARK_ERR_FORMAT, "%s: voice '%s' %s tensor has the wrong type or shape", m->path, voice,
                         part);
    return BARK_OK;
}

static bark_status build_voices(bark_model *m, bark_error *err) {
    const gguf_kv *kv = gguf_find_kv(&m->g, KEY_VOICES);
    if (!kv) return BARK_OK;
    if (kv->val.type != GGUF_T_ARRAY || kv->val.arr_type != GGUF_T_STRING || kv->val.arr_n > 100000)
        return bark_fail(err, BARK_ERR_FORMAT, "%s: " KEY_VOICES " is not a string array", m->path);
    m->voices = calloc((size_t)kv->val.arr_n + 1, sizeof *m->voices);
    if (!m->voices) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", m->path);
    const uint8_t *p = kv->val.arr_data;
    for (uint64_t i = 0; i < kv->val.arr_n; i++) {
        gguf_str s = gguf_str_next(&p);
        if (s.n == 0 || s.n > 128 || memchr(s.p, 0, (size_t)s.n))
            return bark_fail(err, BARK_ERR_FORMAT, "%s: voice name %llu is empty, too long or has a NUL byte", m->path,
                             (unsigned long long)i);
        char *name = malloc((size_t)s.n + 1);
        if (!name) return bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", m->path);
        memcpy(name, s.p, (size_t)s.n);
        name[s.n] = '\0';
        m->voices[m->n_voices++] = name;
        bark_status st;
        if ((st = check_voice_tensor(m, name, "semantic", 0, err)) || (st = check_voice_tensor(m, name, "coarse", 2, err)) ||
            (st = check_voice_tensor(m, name, "fine", 8, err)))
            return st;
    }
    return BARK_OK;
}

static bark_status map_file(bark_model *m, bark_error *err) {
    int fd = open(m->path, O_RDONLY);
    if (fd < 0)
        return bark_fail(err, BARK_ERR_IO, "%s: cannot open model: %s%s", m->path, strerror(errno),
                         errno == ENOENT ? " (get one with models/download.sh, or set BARK_MODEL)" : "");
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return bark_fail(err, BARK_ERR_IO, "%s: not a regular file", m->path);
    }
    if (sb.st_size < 24) {
        close(fd);
        return bark_fail(err, BARK_ERR_FORMAT, "%s: %lld bytes is too small for a GGUF model file", m->path,
                         (long long)sb.st_size);
    }
    /* the kernel's default readahead: the forward passes read weight matrices front to back (MADV_RANDOM, used
     * before, faulted a cold file in page by page: the first prefill took 1.1 s instead of 0.28 s) */
    void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return bark_fail(err, BARK_ERR_IO, "%s: cannot map: %s", m->path, strerror(errno));
    m->map = p;
    m->size = (size_t)sb.st_size;
    m->mapped = 1;
    return BARK_OK;
}

/* Refuses the layout of bark.c 0.2 and earlier (keys outside bark.*, q8_0 marked as file type 8) rather than
 * reading it half right. */
static bark_status check_layout(const bark_model *m, bark_error *err) {
    static const char *const old[] = KEY_OLD_NAMESPACES;
    char why[64] = "";
    for (uint64_t i = 0; i < m->g.n_kv && !why[0]; i++) {
        gguf_str k = m->g.kv[i].key;
        for (size_t j = 0; j < sizeof old / sizeof *old && !why[0]; j++)
            if (k.n > strlen(old[j]) && !memcmp(k.p, old[j], strlen(old[j])))
                snprintf(why, sizeof why, "key '%.*s'", (int)(k.n < 40 ? k.n : 40), k.p);
    }
    const gguf_kv *ft = gguf_find_kv(&m->g, KEY_FILE_TYPE);
    if (!why[0] && ft && ft->val.type == GGUF_T_UINT32 && ft->val.v.u == FTYPE_OLD_Q8_0)
        snprintf(why, sizeof why, KEY_FILE_TYPE " %u", FTYPE_OLD_Q8_0);
    if (!why[0]) return BARK_OK;
    return bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: written by bark.c 0.1 (older metadata) (%s); convert it again with "
                     "`bark convert` or models/download.sh", m->path, why);
}

/* Everything after the bytes are in memory: header, tensor table, stages, vocab, voices. */
static bark_status init_from_map(bark_model *m, bark_error *err) {
    bark_status st = gguf_parse(&m->g, m->map, m->size, m->path, err);
    if (!st) {
        const gguf_kv *arch = gguf_find_kv(&m->g, KEY_ARCHITECTURE);
        if (!arch || arch->val.type != GGUF_T_STRING || !gguf_str_eq(arch->val.v.s, KEY_ARCH_NAME))
            st = bark_fail(err, BARK_ERR_UNSUPPORTED, "%s: general.architecture is not 'bark'; this GGUF file is not a "
                           "Bark model (convert one with `bark convert`)", m->path);
    }
    if (!st) st = check_layout(m, err);
    if (!st) st = build_tensors(m, err);
    if (!st) st = build_vocab(m, err);
    for (int s = BARK_STAGE_SEMANTIC; s <= BARK_STAGE_FINE && !st; s++) {
        char key[64];
        snprintf(key, sizeof key, KEY_STAGE_FMT, stage_names[s], "block_count");
        if (gguf_find_kv(&m->g, key)) {
            st = load_gpt(m, (bark_stage)s, err);
            m->has_stage[s] = !st;
        }
    }
    if (!st) m->has_stage[BARK_STAGE_CODEC] = gguf_find_kv(&m->g, KEY_ENCODEC("sample_rate")) != NULL;
    if (!st) st = build_voices(m, err);
    return st;
}

static bark_model *model_new(const char *label, bark_error *err) {
    bark_model *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(label))) {
        free(m);
        bark_fail(err, BARK_ERR_NOMEM, "%s: out of memory", label);
        return NULL;
    }
    return m;
}

bark_status bark_model_from_buffer(const uint8_t *buf, size_t len, const char *label, bark_model **out,
                                   bark_error *err) {
    *out = NULL;
    bark_model *m = model_new(label, err);
    if (!m) return BARK_ERR_NOMEM;
    m->map = buf;
    m->size = len;
    bark_status st = init_from_map(m, err);
    if (st) {
        bark_model_close(m);
        return st;
    }
    *out = m;
    return BARK_OK;
}

bark_status bark_model_open(const char *path, bark_model **out, bark_error *err) {
    *out = NULL;
    if (!path) return bark_fail(err, BARK_ERR_ARG, "no model path given");
    bark_model *m = model_new(path, err);
    if (!m) return BARK_ERR_NOMEM;
    bark_status st = map_file(m, err);
    if (!st) st = init_from_map(m, err);
    if (st) {
        bark_model_close(m);
        return st;
    }
    *out = m;
    return BARK_OK;
}

void bark_model_close(bark_model *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n_voices; i++) free(m->voices[i]);
    free(m->voices);
    free(m->vocab);
    free(m->vocab_len);
    free(m->t);
    free(m->names);
    gguf_release(&m->g);
    if (m->mapped) munmap((void *)m->map, m->size);
    free(m->path);
    free(m);
}
