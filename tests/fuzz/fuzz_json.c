/* fuzz_json.c: libFuzzer target for json_parse (cJSON and the checks around it) and json_int. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/jsondoc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const cJSON *v) {
    int64_t i;
    if (cJSON_IsNumber(v) && json_int(v, INT64_MIN, INT64_MAX, &i) && (double)i != v->valuedouble) abort();
    for (const cJSON *c = v->child; c; c = c->next) {
        if (cJSON_IsObject(v) && cJSON_GetObjectItemCaseSensitive(v, c->string) != c) abort(); /* keys are unique */
        walk(c);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cJSON *root = NULL;
    bark_error err;
    if (json_parse((const char *)data, size, &root, &err) == BARK_OK) walk(root);
    else if (root || !strstr(err.msg, "JSON")) abort();
    cJSON_Delete(root);
    return 0;
}
