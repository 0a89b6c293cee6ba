/* convert_hf.c: a Hugging Face suno/bark(-small) folder: config, weights (safetensors, sharded, or .bin),
 * vocab.txt and speaker embeddings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "convert/convert_int.h"
#include "formats/jsondoc.h"
#include "formats/pickle.h"

static int exists(const char *dir, const char *name, char *path, size_t cap) {
    struct stat sb;
    if (snprintf(path, cap, "%s/%s", dir, name) >= (int)cap) return 0;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int has_prefix(const src_set *s, const char *prefix) {
    for (size_t i = 0; i < s->n; i++)
        if (!strncmp(s->t[i].name, prefix, strlen(prefix))) return 1;
    return 0;
}

/* Reads a whole (small) text file and parses it as JSON. */
static bark_status load_json(convert_ctx *c, const char *path, cJSON **out) {
    FILE *f = fopen(path, "rb");
    if (!f) return bark_fail(c->err, BARK_ERR_IO, "%s: cannot open", path);
    char *buf = malloc(1 << 22);
    size_t n = buf ? fread(buf, 1, 1 << 22, f) : 0;
    int too_big = buf && n == (1 << 22);
    fclose(f);
    bark_status st;
    if (!buf) st = bark_fail(c->err, BARK_ERR_NOMEM, "%s: out of memory", path);
    else if (too_big) st = bark_fail(c->err, BARK_ERR_FORMAT, "%s: larger than 4 MiB; not a config file", path);
    else if ((st = json_parse(buf, n, out, c->err))) bark_err_prefix(c->err, "%s: ", path);
    free(buf);
    return st;
}

/* A sub-model config with BarkSubModelConfig's defaults for absent fields (save_pretrained omits them). */
static bark_status sub_config(convert_ctx *c, const cJSON *root, const char *key, gpt_config *g,
                              const char *path) {
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!cJSON_IsObject(o))
        return bark_fail(c->err, BARK_ERR_FORMAT, "%s: no \"%s\" object; not a Bark config.json", path, key);
    const struct { const char *k; int *dst; int def; } f[] = {
        {"num_layers", &g->n_layer, 12}, {"num_heads", &g->n_head, 12}, {"hidden_size", &g->n_embd, 768},
        {"block_size", &g->block_size, 1024}, {"input_vocab_size", &g->input_vocab, 10048},
        {"output_vocab_size", &g->output_vocab, 10048}, {"n_codes_total", &g->n_codes_total, 8},
        {"n_codes_given", &g->n_codes_given, 1}};
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, f[i].k);
        int64_t x = f[i].def;
        if (v && !json_int(v, 0, 1 << 24, &x))
            return bark_fail(c->err, BARK_ERR_FORMAT, "%s: %s.%s is not a sensible integer", path, key, f[i].k);
        *f[i].dst = (int)x;
    }
    return BARK_OK;
}

/* Every file named in model.safetensors.index.json's weight_map, each read once. */
static bark_status read_shards(convert_ctx *c, const char *dir, const char *index, src_set *s) {
    cJSON *root = NULL;
    bark_status st = load_json(c, index, &root);
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!st && !cJSON_IsObject(map))
        st = bark_fail(c->err, BARK_ERR_FORMAT, "%s: no weight_map object", index);
    for (const cJSON *v = st ? NULL : map->child; v && !st; v = v->next) {
        const char *file = cJSON_GetStringValue(v);
        if (!file) {
            st = bark_fail(c->err, BARK_ERR_FORMAT, "%s: weight_map's \"%s\" is not a file name", index, v->string);
            break;
        }
        int seen = 0;
        for (const cJSON *u = map->child; u != v && !seen; u = u->next) seen = !strcmp(file, u->valuestring);
        if (seen) continue;
        if (strchr(file, '/') || !strcmp(file, "..") || !*file) {
            st = bark_fail(c->err, BARK_ERR_FORMAT, "%s: weight_map names an unsafe file '%s'", index, file);
            break;
        }
        char path[4096];
        if (!exists(dir, file, path, sizeof path))
            st = bark_fail(c->err, BARK_ERR_MISSING, "%s: shard '%s' listed in the index is missing", dir, file);
        else
            st = src_read_safetensors(s, path, "", c->err);
    }
    cJSON_Delete(root);
    return st;
}

/* speaker_embeddings_path.json: {"repo_or_path": ..., "<voice>": {"semantic_prompt": "<file.npy>", ...}} */
static bark_status read_speakers(convert_ctx *c, const char *dir, const char *index) {
    cJSON *root = NULL;
    bark_status st = load_json(c, index, &root);
    if (!st && !cJSON_IsObject(root)) st = bark_fail(c->err, BARK_ERR_FORMAT, "%s: not a JSON object", index);
    static const char *const parts[3] = {"semantic_prompt", "coarse_prompt", "fine_prompt"};
    for (const cJSON *v = st ? NULL : root->child; v && !st; v = v->next) {
        if (!cJSON_IsObject(v)) continue; /* repo_or_path */
        src_set s;
        src_set_init(&s);
        for (int k = 0; k < 3 && !st; k++) {
            const char *rel = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, parts[k]));
            char path[4096];
            if (!rel || strstr(rel, "..") || rel[0] == '/')
                st = bark_fail(c->err, BARK_ERR_FORMAT, "%s: voice '%s' has no safe %s path", index, v->string,
                               parts[k]);
            else if (!exists(dir, rel, path, sizeof path))
                st = bark_fail(c->err, BARK_ERR_MISSING, "%s: voice file '%s' is missing", dir, rel);
            else
                st = src_read_npy(&s, path, parts[k], c->err);
        }
        if (!st)
            st = convert_voice(c, v->string, src_set_find(&s, parts[0]), src_set_find(&s, parts[1]),
                               src_set_find(&s, parts[2]), index);
        src_set_free(&s);
    }
    cJSON_Delete(root);
    return st;
}

bark_status convert_hf_folder(convert_ctx *c, const char *dir) {
    char path[4096];
    cJSON *cfg = NULL;
    torch_file *tf = NULL;
    src_set s;
    src_set_init(&s);
    if (!exists(dir, "config.json", path, sizeof path))
        return bark_fail(c->err, BARK_ERR_MISSING, "%s: no config.json; not a Hugging Face model folder", dir);
    bark_status st = load_json(c, path, &cfg);
    gpt_config g[3];
    memset(g, 0, sizeof g);
    static const char *const keys[3] = {"semantic_config", "coarse_acoustics_config", "fine_acoustics_config"};
    static const char *const prefixes[3] = {"semantic.", "coarse_acoustics.", "fine_acoustics."};
    for (int i = 0; i < 3 && !st; i++) st = sub_config(c, cfg, keys[i], &g[i], path);
    cJSON_Delete(cfg);
    if (!st) {
        if (exists(dir, "model.safetensors.index.json", path, sizeof path))
            st = read_shards(c, dir, path, &s);
        else if (exists(dir, "model.safetensors", path, sizeof path))
            st = src_read_safetensors(&s, path, "", c->err);
        else if (exists(dir, "pytorch_model.bin", path, sizeof path)) {
            st = torch_open(path, &tf, c->err);
            if (!st) st = torch_dict_tensors(tf, torch_root(tf), "", &s, c->err);
        } else
            st = bark_fail(c->err, BARK_ERR_MISSING, "%s: no model.safetensors, shard index or pytorch_model.bin", dir);
    }
    for (size_t i = 0; i < s.n && !st; i++) {
        int known = !strncmp(s.t[i].name, "codec_model.", 12);
        for (int k = 0; k < 3; k++) known |= !strncmp(s.t[i].name, prefixes[k], strlen(prefixes[k]));
        if (!known)
            st = bark_fail(c->err, BARK_ERR_UNSUPPORTED, "%s: unexpected tensor '%s' (not semantic, coarse_acoustics, "
                           "fine_acoustics or codec_model)", dir, s.t[i].name);
    }
    /* a folder may hold a subset of the sub-models (the others can come from other sources) */
    for (int i = 0; i < 3 && !st; i++)
        if (has_prefix(&s, prefixes[i])) st = convert_gpt(c, (bark_stage)i, &s, prefixes[i], &g[i], dir);
    if (!st && has_prefix(&s, "codec_model.")) st = convert_codec(c, &s, "codec_model.", dir);
    src_set_free(&s);
    torch_close(tf);
    if (!st && exists(dir, "vocab.txt", path, sizeof path)) st = convert_vocab(c, path);
    if (!st && exists(dir, "speaker_embeddings_path.json", path, sizeof path)) st = read_speakers(c, dir, path);
    return st;
}
