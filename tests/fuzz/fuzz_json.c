/* fuzz_json.c: libFuzzer target for the JSON parser and its accessors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const json_node *v, int depth) {
    if (depth > JSON_MAX_DEPTH + 1) abort();
    int64_t i;
    switch (json_type_of(v)) {
    case JSON_STRING:
        if (strlen(json_str(v)) != json_str_len(v)) abort();
        break;
    case JSON_NUMBER:
        (void)json_num(v);
        (void)json_int(v, &i);
        break;
    case JSON_ARRAY:
        for (size_t k = 0; k < json_len(v); k++) walk(json_at(v, k), depth + 1);
        break;
    case JSON_OBJECT:
        for (size_t k = 0; k < json_len(v); k++) {
            if (json_get(v, json_key(v, k)) != json_value(v, k)) abort(); /* keys are unique */
            walk(json_value(v, k), depth + 1);
        }
        break;
    default:
        (void)json_bool(v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_node *root = NULL;
    bark_error err;
    if (json_parse((const char *)data, size, &root, &err) == BARK_OK) walk(root, 1);
    else if (root || !strstr(err.msg, "JSON")) abort();
    json_free(root);
    return 0;
}
