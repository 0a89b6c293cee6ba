/* json.c: a strict recursive-descent JSON parser (depth-limited) building a small read-only tree. */
#include "formats/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct json_node {
    json_type type;
    int is_int;          /* numbers: the literal was an integer that fits int64 */
    int64_t i;
    double d;            /* numbers; also 1/0 for booleans */
    char *s;             /* strings */
    size_t slen;
    json_node **items;   /* array items or object values */
    char **keys;         /* object keys */
    size_t n, cap;
};

typedef struct parser {
    const char *p, *end, *start;
    bark_error *err;
} parser;

static bark_status fail_at(parser *ps, const char *at, bark_status st, const char *what) {
    size_t line = 1, col = 1;
    for (const char *q = ps->start; q < at && q < ps->end; q++) {
        if (*q == '\n') { line++; col = 1; } else col++;
    }
    return bark_fail(ps->err, st, "JSON line %zu column %zu: %s", line, col, what);
}

static void skip_ws(parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) ps->p++;
}

void json_free(json_node *v) {
    if (!v) return;
    for (size_t i = 0; i < v->n; i++) {
        json_free(v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->s);
    free(v);
}

static json_node *new_node(json_type t) {
    json_node *v = calloc(1, sizeof *v);
    if (v) v->type = t;
    return v;
}

static int put_utf8(char *out, size_t *o, uint32_t cp) {
    if (cp < 0x80) { out[(*o)++] = (char)cp; }
    else if (cp < 0x800) { out[(*o)++] = (char)(0xC0 | (cp >> 6)); out[(*o)++] = (char)(0x80 | (cp & 0x3F)); }
    else if (cp < 0x10000) {
        out[(*o)++] = (char)(0xE0 | (cp >> 12));
        out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*o)++] = (char)(0xF0 | (cp >> 18));
        out[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    }
    return 0;
}

/* Length of a valid UTF-8 sequence at p (1..4), or 0 if invalid/truncated. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end) {
    unsigned c = p[0];
    size_t n;
    uint32_t cp, min;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; min = 0x10000; }
    else return 0;
    if ((size_t)(end - p) < n) return 0;
    for (size_t k = 1; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

static int hex4(const char *p, uint32_t *out) {
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p[k];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* Parses a string at ps->p (on the opening quote) into a malloc'd NUL-terminated buffer. */
static bark_status parse_string(parser *ps, char **out, size_t *out_len) {
    const char *q = ps->p + 1;
    /* The decoded text is never longer than the source text. */
    const char *close = q;
    while (close < ps->end && *close != '"') close += (*close == '\\' && close + 1 < ps->end) ? 2 : 1;
    if (close >= ps->end) return fail_at(ps, ps->p, BARK_ERR_FORMAT, "unterminated string");
    char *buf = malloc((size_t)(close - q) + 1);
    if (!buf) return fail_at(ps, ps->p, BARK_ERR_NOMEM, "out of memory");
    size_t o = 0;
    while (q < close) {
        unsigned char c = (unsigned char)*q;
        if (c < 0x20) { free(buf); return fail_at(ps, q, BARK_ERR_FORMAT, "control character in string"); }
        if (c != '\\') {
            size_t n = utf8_seq((const unsigned char *)q, (const unsigned char *)close);
            if (n == 0) { free(buf); return fail_at(ps, q, BARK_ERR_FORMAT, "invalid UTF-8 in string"); }
            memcpy(buf + o, q, n);
            o += n;
            q += n;
            continue;
        }
        char e = q[1];
        q += 2;
        switch (e) {
        case '"': buf[o++] = '"'; break;
        case '\\': buf[o++] = '\\'; break;
        case '/': buf[o++] = '/'; break;
        case 'b': buf[o++] = '\b'; break;
        case 'f': buf[o++] = '\f'; break;
        case 'n': buf[o++] = '\n'; break;
        case 'r': buf[o++] = '\r'; break;
        case 't': buf[o++] = '\t'; break;
        case 'u': {
            uint32_t cp;
            if (close - q < 4 || hex4(q, &cp) != 0) { free(buf); return fail_at(ps, q, BARK_ERR_FORMAT, "bad \\u escape"); }
            q += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF) { free(buf); return fail_at(ps, q, BARK_ERR_FORMAT, "lone low surrogate"); }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t lo;
                if (close - q < 6 || q[0] != '\\' || q[1] != 'u' || hex4(q + 2, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF) {
                    free(buf);
                    return fail_at(ps, q, BARK_ERR_FORMAT, "lone high surrogate");
                }
                q += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (cp == 0) { free(buf); return fail_at(ps, q, BARK_ERR_UNSUPPORTED, "\\u0000 in a string"); }
            put_utf8(buf, &o, cp); /* at most 4 bytes from at least 6 source bytes */
            break;
        }
        default: free(buf); return fail_at(ps, q - 1, BARK_ERR_FORMAT, "bad escape in string");
        }
    }
    buf[o] = '\0';
    ps->p = close + 1;
    *out = buf;
    *out_len = o;
    return BARK_OK;
}

static bark_status parse_number(parser *ps, json_node *v) {
    const char *s = ps->p, *q = s;
    if (q < ps->end && *q == '-') q++;
    if (q >= ps->end) return fail_at(ps, s, BARK_ERR_FORMAT, "bad number");
    if (*q == '0') q++;
    else if (*q >= '1' && *q <= '9') while (q < ps->end && *q >= '0' && *q <= '9') q++;
    else return fail_at(ps, s, BARK_ERR_FORMAT, "bad number");
    int integral = 1;
    if (q < ps->end && *q == '.') {
        integral = 0;
        q++;
        if (q >= ps->end || *q < '0' || *q > '9') return fail_at(ps, q, BARK_ERR_FORMAT, "bad number");
        while (q < ps->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        integral = 0;
        q++;
        if (q < ps->end && (*q == '+' || *q == '-')) q++;
        if (q >= ps->end || *q < '0' || *q > '9') return fail_at(ps, q, BARK_ERR_FORMAT, "bad number");
        while (q < ps->end && *q >= '0' && *q <= '9') q++;
    }
    size_t n = (size_t)(q - s);
    char small[64], *tmp = n < sizeof small ? small : malloc(n + 1);
    if (!tmp) return fail_at(ps, s, BARK_ERR_NOMEM, "out of memory");
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    v->d = strtod(tmp, NULL);
    if (tmp != small) free(tmp);
    if (integral) {
        /* Exact int64 value when it fits. */
        const char *d = s;
        int neg = (*d == '-');
        if (neg) d++;
        uint64_t acc = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        int fits = 1;
        for (; d < q; d++) {
            uint64_t dig = (uint64_t)(*d - '0');
            if (acc > (lim - dig) / 10) { fits = 0; break; }
            acc = acc * 10 + dig;
        }
        if (fits) {
            v->is_int = 1;
            v->i = neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc) : (int64_t)acc;
        }
    }
    ps->p = q;
    return BARK_OK;
}

static int key_cmp(const void *a, const void *b) {
    return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

static bark_status check_dup_keys(parser *ps, const json_node *v, const char *at) {
    if (v->n < 2) return BARK_OK;
    char **idx[64], ***sorted = v->n <= 64 ? idx : malloc(v->n * sizeof *sorted);
    if (!sorted) return fail_at(ps, at, BARK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < v->n; i++) sorted[i] = &v->keys[i];
    qsort(sorted, v->n, sizeof *sorted, key_cmp);
    bark_status st = BARK_OK;
    for (size_t i = 1; i < v->n && st == BARK_OK; i++)
        if (strcmp(*sorted[i - 1], *sorted[i]) == 0) st = fail_at(ps, at, BARK_ERR_FORMAT, "duplicate key in object");
    if (sorted != idx) free(sorted);
    return st;
}

static bark_status push_item(parser *ps, json_node *c, json_node *item, char *key) {
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 8;
        json_node **ni = realloc(c->items, nc * sizeof *ni);
        if (!ni) goto oom;
        c->items = ni;
        if (c->type == JSON_OBJECT) {
            char **nk = realloc(c->keys, nc * sizeof *nk);
            if (!nk) goto oom;
            c->keys = nk;
        }
        c->cap = nc;
    }
    c->items[c->n] = item;
    if (c->type == JSON_OBJECT) c->keys[c->n] = key;
    c->n++;
    return BARK_OK;
oom:
    json_free(item);
    free(key);
    return fail_at(ps, ps->p, BARK_ERR_NOMEM, "out of memory");
}

static bark_status parse_value(parser *ps, int depth, json_node **out);

static bark_status parse_container(parser *ps, int depth, json_node *v) {
    const char *open = ps->p;
    char close = v->type == JSON_OBJECT ? '}' : ']';
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return BARK_OK;
    }
    for (;;) {
        char *key = NULL;
        size_t klen;
        bark_status st;
        skip_ws(ps);
        if (v->type == JSON_OBJECT) {
            if (ps->p >= ps->end || *ps->p != '"') return fail_at(ps, ps->p, BARK_ERR_FORMAT, "expected a string key");
            if ((st = parse_string(ps, &key, &klen)) != BARK_OK) return st;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                free(key);
                return fail_at(ps, ps->p, BARK_ERR_FORMAT, "expected ':'");
            }
            ps->p++;
        }
        json_node *item = NULL;
        if ((st = parse_value(ps, depth + 1, &item)) != BARK_OK) {
            free(key);
            return st;
        }
        if ((st = push_item(ps, v, item, key)) != BARK_OK) return st;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            break;
        }
        return fail_at(ps, ps->p, BARK_ERR_FORMAT, v->type == JSON_OBJECT ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    return v->type == JSON_OBJECT ? check_dup_keys(ps, v, open) : BARK_OK;
}

static int literal(parser *ps, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) return 0;
    ps->p += n;
    return 1;
}

static bark_status parse_value(parser *ps, int depth, json_node **out) {
    skip_ws(ps);
    if (ps->p >= ps->end) return fail_at(ps, ps->p, BARK_ERR_FORMAT, "unexpected end of text");
    if (depth > JSON_MAX_DEPTH) return fail_at(ps, ps->p, BARK_ERR_UNSUPPORTED, "nesting too deep");
    char c = *ps->p;
    json_type t;
    if (c == '{') t = JSON_OBJECT;
    else if (c == '[') t = JSON_ARRAY;
    else if (c == '"') t = JSON_STRING;
    else if (c == 't' || c == 'f') t = JSON_BOOL;
    else if (c == 'n') t = JSON_NULL;
    else if (c == '-' || (c >= '0' && c <= '9')) t = JSON_NUMBER;
    else return fail_at(ps, ps->p, BARK_ERR_FORMAT, "unexpected character");
    json_node *v = new_node(t);
    if (!v) return fail_at(ps, ps->p, BARK_ERR_NOMEM, "out of memory");
    bark_status st = BARK_OK;
    switch (t) {
    case JSON_OBJECT: case JSON_ARRAY: st = parse_container(ps, depth, v); break;
    case JSON_STRING: st = parse_string(ps, &v->s, &v->slen); break;
    case JSON_NUMBER: st = parse_number(ps, v); break;
    case JSON_BOOL:
        if (literal(ps, "true")) v->d = 1;
        else if (!literal(ps, "false")) st = fail_at(ps, ps->p, BARK_ERR_FORMAT, "bad literal");
        break;
    case JSON_NULL:
        if (!literal(ps, "null")) st = fail_at(ps, ps->p, BARK_ERR_FORMAT, "bad literal");
        break;
    }
    if (st != BARK_OK) {
        json_free(v);
        return st;
    }
    *out = v;
    return BARK_OK;
}

bark_status json_parse(const char *text, size_t len, json_node **root, bark_error *err) {
    parser ps = { text, text + len, text, err };
    *root = NULL;
    if (!text && len) return bark_fail(err, BARK_ERR_ARG, "JSON: no text");
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) ps.p += 3; /* a UTF-8 byte order mark */
    json_node *v = NULL;
    bark_status st = parse_value(&ps, 1, &v);
    if (st != BARK_OK) return st;
    skip_ws(&ps);
    if (ps.p != ps.end) {
        json_free(v);
        return fail_at(&ps, ps.p, BARK_ERR_FORMAT, "text after the value");
    }
    *root = v;
    return BARK_OK;
}

json_type json_type_of(const json_node *v) { return v ? v->type : JSON_NULL; }

const json_node *json_get(const json_node *obj, const char *key) {
    if (!obj || obj->type != JSON_OBJECT || !key) return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0) return obj->items[i];
    return NULL;
}

size_t json_len(const json_node *v) {
    return v && (v->type == JSON_ARRAY || v->type == JSON_OBJECT) ? v->n : 0;
}

const json_node *json_at(const json_node *arr, size_t i) {
    return arr && arr->type == JSON_ARRAY && i < arr->n ? arr->items[i] : NULL;
}

const char *json_key(const json_node *obj, size_t i) {
    return obj && obj->type == JSON_OBJECT && i < obj->n ? obj->keys[i] : NULL;
}

const json_node *json_value(const json_node *obj, size_t i) {
    return obj && obj->type == JSON_OBJECT && i < obj->n ? obj->items[i] : NULL;
}

double json_num(const json_node *v) { return v && v->type == JSON_NUMBER ? v->d : 0.0; }

int json_int(const json_node *v, int64_t *out) {
    if (!v || v->type != JSON_NUMBER) return 0;
    if (v->is_int) {
        *out = v->i;
        return 1;
    }
    if (isfinite(v->d) && v->d == floor(v->d) && fabs(v->d) < 9007199254740992.0) {
        *out = (int64_t)v->d;
        return 1;
    }
    return 0;
}

const char *json_str(const json_node *v) { return v && v->type == JSON_STRING ? v->s : NULL; }
size_t json_str_len(const json_node *v) { return v && v->type == JSON_STRING ? v->slen : 0; }
int json_bool(const json_node *v) { return v && v->type == JSON_BOOL && v->d != 0; }
