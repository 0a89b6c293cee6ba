/* test_text_split.c: long texts cut into pieces at sentence, clause and word boundaries, short texts left whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/text_split.h"

/* Splits t with the limit and returns the pieces as one string "a|b|c" (static buffer). */
static const char *split(const char *t, size_t max, size_t *n) {
    static char out[8192];
    text_piece *p;
    bark_error err;
    assert_int_equal(text_split(t, strlen(t), max, &p, n, &err), BARK_OK);
    out[0] = '\0';
    for (size_t i = 0; i < *n; i++) {
        assert_true(p[i].len <= max || !memchr(t + p[i].off, ' ', p[i].len)); /* over the limit only as one word */
        if (i) strcat(out, "|");
        strncat(out, t + p[i].off, p[i].len);
    }
    free(p);
    return out;
}

static void short_text_is_one_piece(void **state) {
    (void)state;
    size_t n;
    assert_string_equal(split("  Hello there. How are you?  ", 200, &n), "Hello there. How are you?");
    assert_int_equal(n, 1);
    /* exactly at the limit: still whole */
    assert_string_equal(split("Hello there. How are you?", 25, &n), "Hello there. How are you?");
    assert_int_equal(n, 1);
}

static void cuts_after_sentences(void **state) {
    (void)state;
    size_t n;
    const char *t = "One two three. Four five six! Seven eight nine? Ten eleven twelve.";
    assert_string_equal(split(t, 32, &n), "One two three. Four five six!|Seven eight nine?|Ten eleven twelve.");
    assert_int_equal(n, 3);
    assert_string_equal(split(t, 40, &n), "One two three. Four five six!|Seven eight nine? Ten eleven twelve.");
    assert_int_equal(n, 2);
    /* a quote or bracket after the full stop stays with its sentence */
    assert_string_equal(split("He said \"stop.\" Then he left the room quietly.", 20, &n),
                         "He said \"stop.\"|Then he left the|room quietly.");
}

static void clause_then_word(void **state) {
    (void)state;
    size_t n;
    /* no sentence end in reach: the last comma past a third of the limit */
    assert_string_equal(split("alpha beta, gamma delta epsilon zeta eta theta", 30, &n),
                         "alpha beta,|gamma delta epsilon zeta eta|theta");
    /* a sentence end too early (before a third) loses to a later clause mark */
    assert_string_equal(split("Hi. alpha beta gamma; delta epsilon zeta", 25, &n), "Hi. alpha beta gamma;|delta epsilon zeta");
    /* no punctuation: at the last space */
    assert_string_equal(split("aaa bbb ccc ddd eee fff", 10, &n), "aaa bbb|ccc ddd|eee fff");
    assert_int_equal(n, 3);
}

static void never_inside_a_word(void **state) {
    (void)state;
    size_t n;
    assert_string_equal(split("a verylongwordindeed b", 8, &n), "a|verylongwordindeed|b");
    /* UTF-8 words are never cut either, and the CJK full stop ends a sentence without a space */
    const char *cjk = "\xe4\xbd\xa0\xe5\xa5\xbd\xe3\x80\x82\xe5\x86\x8d\xe8\xa7\x81\xe3\x80\x82";
    assert_string_equal(split(cjk, 10, &n), "\xe4\xbd\xa0\xe5\xa5\xbd\xe3\x80\x82|\xe5\x86\x8d\xe8\xa7\x81\xe3\x80\x82");
}

static void long_text_covers_everything(void **state) {
    (void)state;
    /* 2,000 words: every word lands in exactly one piece, in order, and every piece fits */
    size_t cap = 2000 * 12, len = 0, n;
    char *t = malloc(cap);
    for (int i = 0; i < 2000; i++) len += (size_t)snprintf(t + len, cap - len, "w%d%s", i, i % 13 == 12 ? ". " : i % 5 == 4 ? ", " : " ");
    text_piece *p;
    bark_error err;
    assert_int_equal(text_split(t, len, 200, &p, &n, &err), BARK_OK);
    assert_true(n > 2000 * 5 / 200);
    int next = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(p[i].len <= 200 && p[i].len > 0);
        const char *s = t + p[i].off, *e = s + p[i].len;
        while (s < e) {
            int w, used;
            assert_int_equal(sscanf(s, "w%d%n", &w, &used), 1);
            assert_int_equal(w, next++);
            s += used;
            while (s < e && (*s == '.' || *s == ',' || *s == ' ')) s++;
        }
        if (i + 1 < n) assert_true(e[-1] == '.' || e[-1] == ','); /* every cut fell at a clause or sentence end */
    }
    assert_int_equal(next, 2000);
    free(p);
    free(t);
}

/* split() followed by text_split_lead. */
static const char *split_lead(const char *t, size_t max, size_t *n) {
    static char out[8192];
    text_piece *p;
    bark_error err;
    assert_int_equal(text_split(t, strlen(t), max, &p, n, &err), BARK_OK);
    assert_int_equal(text_split_lead(t, &p, n, &err), BARK_OK);
    out[0] = '\0';
    for (size_t i = 0; i < *n; i++) {
        if (i) strcat(out, "|");
        strncat(out, t + p[i].off, p[i].len);
    }
    free(p);
    return out;
}

static void first_piece_short(void **state) {
    (void)state;
    size_t n;
    /* a long text: its first sentence becomes a piece of its own */
    assert_string_equal(split_lead("Good morning everyone. The train to the coast leaves at nine. Platform four.", 50, &n),
                        "Good morning everyone.|The train to the coast leaves at nine.|Platform four.");
    assert_int_equal(n, 3);
    /* no sentence end in the first piece: its first clause (at least TEXT_SPLIT_LEAD_MIN bytes in) */
    assert_string_equal(split_lead("Hi, dear passengers, the train to the coast leaves at nine from platform four", 60, &n),
                        "Hi, dear passengers,|the train to the coast leaves at nine|from platform four");
    /* one piece: left whole, however many sentences */
    assert_string_equal(split_lead("Hello there. How are you?", 200, &n), "Hello there. How are you?");
    assert_int_equal(n, 1);
    /* nothing to cut at: unchanged */
    assert_string_equal(split_lead("one two three four five six seven eight nine ten eleven", 30, &n),
                        "one two three four five six|seven eight nine ten eleven");
}

static void rejects_empty(void **state) {
    (void)state;
    text_piece *p;
    size_t n;
    bark_error err;
    assert_int_equal(text_split(" \n\t ", 4, 200, &p, &n, &err), BARK_ERR_ARG);
    assert_string_equal(err.msg, "empty text");
    assert_int_equal(text_split("abc", 3, 0, &p, &n, &err), BARK_ERR_ARG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(short_text_is_one_piece), cmocka_unit_test(cuts_after_sentences),
        cmocka_unit_test(clause_then_word),        cmocka_unit_test(never_inside_a_word),
        cmocka_unit_test(long_text_covers_everything), cmocka_unit_test(rejects_empty),
        cmocka_unit_test(first_piece_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
