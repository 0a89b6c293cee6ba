/* fuzz_say_json.c: libFuzzer target for a line of `bark say --lines [--json]` and `bark render` (say_line_item). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "cli/say.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *line = malloc(size + 1), why[256];
    if (!line) return 0;
    memcpy(line, data, size);
    line[size] = '\0';
    const cli_common c = {.output = "out.wav", .voice = "v2/en_speaker_6", .seed = 7};
    for (int json = 0; json < 2; json++) {
        say_item it;
        why[0] = '\0';
        if (say_line_item(line, json, &c, 3, &it, why, sizeof why) == 0) {
            if (!it.text || !it.voice || !it.output || !it.have_seed) abort(); /* a line always gets all four */
            say_item_free(&it);
        } else if (!why[0] || strchr(why, '\n') || it.text || it.voice || it.output) {
            abort(); /* a refusal is one line and leaves nothing allocated */
        }
    }
    free(line);
    return 0;
}
