/* emit.c: turns source tensors into f32 and stores them as f32, f16, q8_0 or q4_0 according to their role. */
#include <stdlib.h>
#include <string.h>

#include "model/quant.h"
#include "convert/convert_int.h"

float *convert_to_f32(convert_ctx *c, const src_tensor *t, const char *label) {
    size_t n = t->nbytes / (src_dtype_size(t->dtype) ? src_dtype_size(t->dtype) : 1);
    if (t->dtype != SRC_F32 && t->dtype != SRC_F16 && t->dtype != SRC_BF16 && t->dtype != SRC_F64) {
        bark_fail(c->err, BARK_ERR_FORMAT, "%s: tensor '%s' has dtype %s where floats were expected", label, t->name,
                  src_dtype_name(t->dtype));
        return NULL;
    }
    float *out = malloc(n ? n * sizeof(float) : 1);
    if (!out) {
        bark_fail(c->err, BARK_ERR_NOMEM, "%s: out of memory for tensor '%s'", label, t->name);
        return NULL;
    }
    const uint8_t *p = t->data;
    for (size_t i = 0; i < n; i++) {
        switch (t->dtype) {
        case SRC_F32: memcpy(&out[i], p + 4 * i, 4); break;
        case SRC_F16: out[i] = bark_f16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8)); break;
        case SRC_BF16: {
            uint32_t b = (uint32_t)(p[2 * i] | p[2 * i + 1] << 8) << 16;
            memcpy(&out[i], &b, 4);
            break;
        }
        default: {
            double d;
            memcpy(&d, p + 8 * i, 8);
            out[i] = (float)d;
        }
        }
    }
    return out;
}

static uint32_t pick_type(const convert_ctx *c, emit_role role, int64_t ne0) {
    int quantized = c->p->wtype == BARK_WTYPE_Q8_0 || c->p->wtype == BARK_WTYPE_Q4_0 ||
                    c->p->wtype == BARK_WTYPE_Q8_0_ATTN_F16;
    switch (role) {
    case ROLE_ATTN_QKV:
        if (c->p->wtype == BARK_WTYPE_Q8_0_ATTN_F16) return BARK_TYPE_F16;
        /* fall through */
    case ROLE_LINEAR:
        if (c->p->wtype == BARK_WTYPE_Q4_0 && ne0 % QK4_0 == 0) return BARK_TYPE_Q4_0;
        /* fall through */
    case ROLE_MATRIX:
        if (quantized && ne0 % QK8_0 == 0) return BARK_TYPE_Q8_0;
        return c->p->wtype == BARK_WTYPE_F32 ? BARK_TYPE_F32 : BARK_TYPE_F16;
    case ROLE_EMBEDDING: /* a row is gathered per token, never multiplied: full precision costs no time, and q8_0's
                          * error here, fed straight into the first layer's queries, is what a peaked model feels most
                          * (issue 19: on tests/data/trained/text_sharp.pt, KL 1.0e-3 -> 3.3e-4) */
    case ROLE_CODEC:
        return c->p->wtype == BARK_WTYPE_F32 ? BARK_TYPE_F32 : BARK_TYPE_F16;
    default:
        return BARK_TYPE_F32;
    }
}

bark_status convert_emit(convert_ctx *c, const char *name, emit_role role, const float *data, int n_dims,
                         const int64_t *shape) {
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return bark_fail(c->err, BARK_ERR_FORMAT, "tensor '%s' has %d dims", name, n_dims);
    if (gguf_writer_has_tensor(c->w, name))
        return bark_fail(c->err, BARK_ERR_FORMAT, "tensor '%s' comes from two sources; give each stage once", name);
    int64_t ne[GGUF_MAX_DIMS];
    int64_t n = 1;
    for (int d = 0; d < n_dims; d++) {
        ne[d] = shape[n_dims - 1 - d];
        n *= ne[d];
    }
    uint32_t type = pick_type(c, role, ne[0]);
    size_t nbytes = bark_type_row_size(type, ne[0]) * (size_t)(n / ne[0]);
    void *buf = malloc(nbytes ? nbytes : 1);
    if (!buf) return bark_fail(c->err, BARK_ERR_NOMEM, "out of memory storing '%s'", name);
    if (type == BARK_TYPE_F32) {
        memcpy(buf, data, nbytes);
    } else if (type == BARK_TYPE_F16) {
        uint16_t *h = buf;
        for (int64_t i = 0; i < n; i++) h[i] = bark_f32_to_f16(data[i]);
    } else if (type == BARK_TYPE_Q4_0) {
        bark_quantize_row_q4_0(data, buf, n);
    } else {
        bark_quantize_row_q8_0(data, buf, n);
    }
    bark_status st = gguf_add_tensor(c->w, name, type, n_dims, ne, buf, nbytes);
    free(buf);
    return st ? bark_fail(c->err, st, "out of memory storing '%s'", name) : BARK_OK;
}
