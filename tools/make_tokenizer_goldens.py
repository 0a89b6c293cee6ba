#!/usr/bin/env python3
"""make_tokenizer_goldens.py: writes the tokenizer corpus and golden ids under tests/data/tokenizer/.

Run from the repo root with the project venv:  tools/.venv/bin/python tools/make_tokenizer_goldens.py
Files written (one line per corpus line, ids space-separated, an empty line for no ids):
  corpus.txt     every line a JSON string (ensure_ascii=False; controls escaped)
  slow_ids.txt   transformers' slow BertTokenizer(vocab.txt, do_lower_case=False).encode(add_special_tokens=False)
                 - what suno's Bark runs; the C tokenizer must equal it on every line
  fast_diff.txt  "<corpus line> <ids>" of the Rust tokenizer from tokenizer.json on the lines where it differs from
                 the slow one (comparison only; the C tests do not read it)
  bytes.txt      hex byte strings, many not valid UTF-8; bytes_ids.txt: slow ids of bytes.decode("utf-8", "replace")
  bark_inputs.txt  for a subset of lines: "<corpus line> <n_text> <truncated> <pad> <ids[0..n_text)>" from
                 Bark's own preprocessing (slots n_text..255 all hold <pad>), or "<corpus line> ERR" when Bark's
                 assertion fails (empty text).
                 _normalize_whitespace, _tokenize, TEXT_ENCODING_OFFSET and TEXT_PAD_TOKEN are imported from
                 suno's bark.generation; its inline truncate/pad lines are restated below (same numpy calls).
"""
import json
import os
import random
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VOCAB = os.path.join(ROOT, "models/bert-base-multilingual-cased/vocab.txt")
TOKJSON = os.path.join(ROOT, "models/bert-base-multilingual-cased/tokenizer.json")
OUT = os.path.join(ROOT, "tests/data/tokenizer")

# Sentences written for this corpus, by script/language.
SENT = {
    "en": ["Hello, my name is Suno. And, uh — and I like pizza.", "I have a silky smooth voice, and today I will tell you about the exercise regimen of the common sloth.",
           "The quick brown fox jumps over the lazy dog.", "Wait... what did you just say?", "It's 7:45 a.m. on Tuesday, March 3rd, 2023.",
           "Please don't forget to bring your umbrella; it's going to rain.", "She sells seashells by the seashore.",
           "Can you believe it costs $1,299.99 plus tax?!", "E-mail me at jane.doe@example.com or visit https://example.org/path?q=1&r=2#top.",
           "NASA, the FBI and UNESCO issued a JOINT STATEMENT.", "Well, I don't know... maybe tomorrow?", "He said: \"That's not what I meant!\"",
           "Unbelievably, the antidisestablishmentarianism debate continued.", "Rock 'n' roll never dies.", "Temperature: -12.5°C, humidity 87%."],
    "fr": ["Où est la gare, s'il vous plaît ?", "J'ai mangé une crème brûlée délicieuse à Noël.", "Ça va très bien, merci beaucoup !",
           "L'été dernier, nous sommes allés à la plage près de Nice.", "Les élèves étudient l'histoire de la Révolution française."],
    "de": ["Grüß Gott! Wie geht's Ihnen heute?", "Die Straße ist wegen Bauarbeiten gesperrt.", "Ich möchte ein Stück Käsekuchen, bitte.",
           "Donaudampfschifffahrtsgesellschaftskapitänsmütze ist ein langes Wort.", "Übermorgen fahren wir nach Österreich."],
    "es": ["¿Dónde está la biblioteca? ¡No la encuentro!", "El niño comió piña y jalapeños en el año 2020.", "Mañana será otro día, señor.",
           "La pingüina bailó flamenco en la azotea."],
    "pt": ["Não sei se ele já chegou à estação.", "A ação foi concluída com êxito, irmão.", "Você gostaria de um café com pão de queijo?"],
    "it": ["Perché non vieni alla festa stasera?", "La città è bellissima in autunno.", "Ho già mangiato, grazie però."],
    "pl": ["Zażółć gęślą jaźń.", "Dzień dobry, jak się masz?", "Wszystko będzie dobrze, obiecuję."],
    "cs": ["Příliš žluťoučký kůň úpěl ďábelské ódy.", "Dobrý večer, jak se máte?"],
    "tr": ["Günaydın! Bugün hava çok güzel.", "İstanbul'da yaşayan ığdırlı bir öğrenci."],
    "vi": ["Tiếng Việt có nhiều dấu thanh điệu.", "Tôi yêu Hà Nội vào mùa thu."],
    "ru": ["Привет, как дела? Всё хорошо, спасибо!", "Москва — столица России.", "Съешь же ещё этих мягких французских булок, да выпей чаю.",
           "Я не знаю, что сказать... Ёлки-палки!"],
    "uk": ["Доброго ранку! Як справи?", "Ґанок і їжак — українські слова."],
    "bg": ["Добър ден, как сте?", "Обичам българската музика."],
    "el": ["Γειά σου κόσμε! Τι κάνεις;", "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.", "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία."],
    "ar": ["مرحبا بالعالم! كيف حالك؟", "اللغة العربية جميلة جداً.", "أنا أحب القراءة في المساء، وأنت؟"],
    "fa": ["سلام، حال شما چطور است؟", "من کتاب را دوست دارم."],
    "he": ["שלום עולם! מה שלומך?", "אני אוהב ללמוד שפות חדשות.", "בְּרֵאשִׁית בָּרָא אֱלֹהִים"],
    "hi": ["नमस्ते, आप कैसे हैं?", "मुझे हिंदी बोलना पसंद है।", "भारत एक विशाल देश है।"],
    "mr": ["माझे नाव राहुल आहे.", "आज पाऊस पडत आहे."],
    "bn": ["আমি বাংলায় গান গাই।", "তোমার নাম কী?", "ঢাকা বাংলাদেশের রাজধানী।"],
    "ta": ["வணக்கம், எப்படி இருக்கிறீர்கள்?", "தமிழ் ஒரு பழமையான மொழி."],
    "te": ["నమస్కారం, మీరు ఎలా ఉన్నారు?", "తెలుగు భాష చాలా అందమైనది."],
    "pa": ["ਸਤ ਸ੍ਰੀ ਅਕਾਲ, ਤੁਸੀਂ ਕਿਵੇਂ ਹੋ?"],
    "gu": ["કેમ છો? મજામાં છું."],
    "th": ["สวัสดีครับ คุณสบายดีไหม", "ฉันชอบกินข้าวผัด", "ประเทศไทยมีอากาศร้อน"],
    "ka": ["გამარჯობა, როგორ ხარ?", "საქართველო ლამაზი ქვეყანაა."],
    "hy": ["Բարեւ, ինչպես ես?", "Երեւանը Հայաստանի մայրաքաղաքն է։"],
    "ko": ["안녕하세요, 만나서 반갑습니다.", "저는 한국어를 공부하고 있어요.", "서울은 대한민국의 수도입니다."],
    "ja": ["こんにちは、元気ですか？", "東京タワーに行きたいです。", "カタカナとひらがなを練習しています。", "今日はいい天気ですね！"],
    "zh": ["你好，世界！", "我喜欢吃北京烤鸭。", "今天天气很好，我们去公园散步吧。", "繁體中文與簡體中文不同。"],
    "am": ["ሰላም ነው? እንዴት ነህ?", "አማርኛ የኢትዮጵያ ቋንቋ ነው።"],
    "km": ["សួស្តី​ពិភពលោក"],
    "my": ["မင်္ဂလာပါ"],
    "si": ["ආයුබෝවන්!"],
    "lo": ["ສະບາຍດີ"],
    "bo": ["བཀྲ་ཤིས་བདེ་ལེགས།"],
    "mn": ["Сайн байна уу?"],
    "sw": ["Habari yako? Nzuri sana, asante."],
    "yo": ["Ẹ káàárọ̀, ṣé dáadáa ni?"],
    "is": ["Þetta reddast, sagði hún við Ægi."],
    "ro": ["Bună ziua! Ce mai faci? Știu că ești ocupată."],
    "hu": ["Árvíztűrő tükörfúrógép.", "Jó napot kívánok!"],
}

CUES = ["[laughter]", "[laughs]", "[sighs]", "[music]", "[gasps]", "[clears throat]", "♪", "—", "...", "MAN:", "WOMAN:",
        "♪ la la la ♪", "[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]", "[unk]", "[ UNK ]", "[UNK", "UNK]"]

EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇫🇷", "🙈🙉🙊", "🤖", "👩🏻‍💻", "#️⃣", "1️⃣"]

SPECIAL_LINES = [
    "", " ", "   ", "\t", "\n", "\r\n", " \t \n ", "\u00a0", "\u3000", "\u2028", "\u2029", "\x85", "\x1c\x1d\x1e\x1f",
    "\x0b\x0c", "\u200b", "\u200b\u200c\u200d", "\ufeff", "\x00", "\x01\x02\x03", "\x7f", "\ufffd", "a\ufffdb",
    "a\x00b", "a\x01b", "a\x1cb", "a\x85b", "a\u2028b", "a\u2029b", "a\u00a0b", "a\u3000b", "a\u1680b", "a\u202fb",
    "a\u205fb", "a\u2000b\u2001c\u200ad", "a\u200bb", "a\u200db", "a\u00adb", "a\u2060b", "a\ue000b", "a\U000f0000b",
    "a\U0010fffdb", "a\ufdd0b", "a\uffffb", "a\u0378b", "a\U000e0041b", "a\u061cb", "\u202etxet\u202c",
    "[UN\x00K]", "[UN\u200bK]", "x [UN\u200bK] y", "x[UN\u200bK]y", "[CL\u00adS]", "[MASK\x01]", "[[UNK]]", "[UNK][SEP][PAD]",
    "[UNK] [CLS] [SEP] [PAD] [MASK]", "a[UNK]b", "a [UNK]b", "[MASK]ed", "e[UNK]\u0301", "e\u0301[UNK]", "[UNK]\u0301",
    "\u0301", "\u0301\u0301a", "e\u0301", "e\u0301\u0302", "e\u0302\u0301", "a\u0328\u0301", "a\u0301\u0328", "o\u0308\u0304",
    "\u1100\u1161\u11a8", "\u1100\u1161", "\uac00\u11a8", "\u1161\u1161", "\u1100\u1100\u1161", "\u0041\u030a", "\u212b",
    "\u2126", "\u037e", "a\u037eb", "\u0387", "\u1fef", "\u0344", "\u0958", "\u0f73", "\u2000", "\u2001", "\uf900",
    "\uf900\uf901", "\U0002f800", "\u09c7\u09be", "\u0b47\u0b3e", "\u1025\u102e", "=\u0338", "<\u0338", ">\u0338",
    "a=\u0338b", "a<\u0338>\u0338b", "=\u0334\u0338", "=\u0338\u0334", "=\u0301\u0338", ";\u0338", "\u1e0b\u0323",
    "\u1e0d\u0307", "q\u0307\u0323", "\u00c5\u0301", "\u1f80\u0301", "\u03b1\u0313\u0300\u0345", "\u0345\u0313\u03b1",
    "\u05d1\u05bc\u05b0", "\u0627\u0653", "\u0648\u0654", "\u0915\u093c", "\u0928\u093c\u093f",
    "\u00e9" * 5 + "e\u0301" * 5, "Cafe\u0301 cre\u0300me bru\u0302le\u0301e", "A\u030angstro\u0308m",
    "a" * 99, "a" * 100, "a" * 101, "b" * 150, "é" * 100, "e\u0301" * 60, "e\u0301" * 100, "e\u0301" * 51,
    "x" + "\u0301" * 99, "x" + "\u0301" * 100, "\u4e00" * 120, "a-" * 80, "Pneumonoultramicroscopicsilicovolcanoconiosis",
    "supercalifragilisticexpialidocious" * 3, "https://www.example.com/a/very/long/path/with-many-segments/and_underscores/index.html?x=1&y=2",
    "ftp://user:pass@host:21/file.tar.gz", "C:\\Users\\Public\\Documents", "~/bin/run.sh --verbose -n 3",
    "<html><body>Hi</body></html>", "{\"key\": [1, 2, 3]}", "a+b=c^2 | d~e `f` $g", "100% + 50% = 150%?", "3.14159 2.71828 1,000,000",
    "0123456789", "١٢٣٤٥٦٧٨٩٠", "०१२३४५६७८९", "①②③", "Ⅻ ⅷ", "½ ¾ ⅞", "x² y³ H₂O", "ﬁ ﬂ ﬃ", "ＡＢＣ ｱｲｳ", "℃ ℉ № ™ ©",
    "«guillemets» „Anführung“ ‚einfach‘ “curly” ‘single’", "¡¿", "‹›", "…", "‥", "·•‧", "†‡§¶", "¦|", "©®",
    "♪♪♪", "♪♫♬", "la♪la", "—dash—", "–en–", "a—b", "‐‑‒―", "MAN: Hi! WOMAN: Hello!", "[laughter][laughter]",
    "[laughs]and[sighs]", "...and then...", "....", ". . .", "?!?!", "!!!", "hello\tworld", "hello\nworld", "hello\r\nworld",
    "  leading and trailing  ", "multiple     spaces     here", "ALL CAPS SENTENCE HERE", "MiXeD CaSe WoRdS",
    "\u0130stanbul \u0131", "ǅemal ǈubljana", "ß ẞ", "ﬀ", "\U0001d400\U0001d401\U0001d402", "\U0001f600\u200d\U0001f600",
    "\U00020000\U0002a6df\U0002a700\U0002b740\U0002b820\U0002ceb0", "\u3400\u4dbf\u9fff\ufaff", "\u3041\u30a2\u31f0\uff66",
    "\u2e80\u2f00\u3005\u3007", "\uff01\uff1f\u3002\u3001", "\u3010\u3011\u300c\u300d",
]


def mix_lines(rnd):
    langs = sorted(SENT)
    out = []
    for lang in langs:  # every sentence alone, and in three variants
        for s in SENT[lang]:
            out += [s, s.upper(), s.lower(), s.replace(" ", "  ")]
    while len(out) < 1500:
        k = rnd.randint(1, 3)
        parts = []
        for _ in range(k):
            parts.append(rnd.choice(SENT[rnd.choice(langs)]))
            r = rnd.random()
            if r < 0.25:
                parts.append(rnd.choice(CUES))
            elif r < 0.35:
                parts.append(rnd.choice(EMOJI))
            elif r < 0.42:
                parts.append(str(rnd.randint(0, 10 ** rnd.randint(1, 9))))
        sep = rnd.choice([" ", " ", " ", "  ", "\n", "\t", "", " — ", "... "])
        line = sep.join(parts)
        r = rnd.random()
        if r < 0.1:
            line = line.upper()
        elif r < 0.15:
            line = rnd.choice(["MAN: ", "WOMAN: ", "♪ ", "[music] "]) + line
        elif r < 0.2:
            import unicodedata
            line = unicodedata.normalize("NFD", line)
        out.append(line)
    return out


def long_lines(rnd):
    words = [w for s in SENT["en"] for w in s.split()]
    out = []
    for n in (200, 255, 256, 257, 300, 600):
        out.append(" ".join(rnd.choice(words) for _ in range(n)))
    out.append(" ".join(rnd.choice(SENT[rnd.choice(sorted(SENT))]) for _ in range(40)))
    return out


def pathological_lines():
    return [
        "x" + "\u0301" * 600, "e" + "\u0301" * 600 + "!", ";" + "\u0301" * 600 + " z", "\u037e" + "\u0301" * 600,
        "=" + "\u0338" + "\u0301" * 600 + "=", "=" + "\u0301" * 600 + "\u0338", "=" + "\u0334" + "\u0338" * 600,
        "ab " + "\u0300" * 513, "ab " + "\u0300" * 512, "ab " + "\u0300" * 511, "\u0301" * 700, "[UNK]" + "\u0301" * 600,
        "\u1100" + "\u1161" * 600, "a " + "\u09be" * 520 + ".", "," + "\u0338" * 520, "<" + "\u0338\u0301" * 300,
    ]


def random_lines(rnd, n):
    """Random code point soup: every category, combining marks, controls, spaces, CJK."""
    pools = [range(0x20, 0x7F), range(0xA0, 0x250), range(0x300, 0x370), range(0x370, 0x530), range(0x590, 0x700),
             range(0x900, 0xE00), range(0x1100, 0x1200), range(0x1E00, 0x2000), range(0x2000, 0x2070),
             range(0x3000, 0x3100), range(0x4E00, 0x4E80), range(0xAC00, 0xAD00), range(0xF900, 0xFB50),
             range(0xFE00, 0xFFFE), range(0x1F300, 0x1F700), range(0x0, 0x20), range(0x2F800, 0x2F840)]
    out = []
    for _ in range(n):
        k = rnd.randint(1, 40)
        s = "".join(chr(rnd.choice(rnd.choice(pools))) for _ in range(k))
        out.append(s)
    return out


BYTES = ["ff", "c0af", "e282", "e282ac", "e282e282ac", "eda080", "edbfbf", "f4908080", "f0908d88", "f08f8080",
         "6162ff6364", "61c36263", "5b554e4bff5d", "5b554eff4b5d", "fe", "80", "bf", "e0a0", "e080", "f0", "f4", "f5",
         "c2a0", "c2", "5b554e4b5d", "e38182ffe38184", "cc81", "65cc", "65cc81", "20ff20", "e4b880ff",
         "5b50414480", "efbfbd", "00ff00", "f09f9880f09f98", "c3a9c3", "ed9fbf", "ee8080"]


def ids_line(ids):
    return " ".join(str(i) for i in ids)


def main():
    sys.path.insert(0, ROOT)
    from transformers import BertTokenizer
    from tokenizers import Tokenizer
    from bark.generation import TEXT_ENCODING_OFFSET, TEXT_PAD_TOKEN, _normalize_whitespace, _tokenize

    slow = BertTokenizer(VOCAB, do_lower_case=False)
    fast = Tokenizer.from_file(TOKJSON)
    rnd = random.Random(20240601)
    lines = SPECIAL_LINES + [c for c in CUES] + EMOJI + mix_lines(rnd) + long_lines(rnd) + pathological_lines() + \
        random_lines(rnd, 400)
    lines = [l for l in lines if not any(0xD800 <= ord(c) < 0xE000 for c in l)]
    os.makedirs(OUT, exist_ok=True)
    slow_ids = [slow.encode(l, add_special_tokens=False) for l in lines]
    fast_ids = [fast.encode(l, add_special_tokens=False).ids for l in lines]
    with open(os.path.join(OUT, "corpus.txt"), "w", encoding="utf-8", newline="\n") as f:
        for l in lines:
            f.write(json.dumps(l, ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
                    .replace("\x85", "\\u0085") + "\n")
    with open(os.path.join(OUT, "slow_ids.txt"), "w", newline="\n") as f:
        f.writelines(ids_line(i) + "\n" for i in slow_ids)
    with open(os.path.join(OUT, "fast_diff.txt"), "w", newline="\n") as f:
        f.writelines(f"{i} {ids_line(fast_ids[i])}".rstrip() + "\n" for i in range(len(lines)) if fast_ids[i] != slow_ids[i])
    with open(os.path.join(OUT, "bytes.txt"), "w", newline="\n") as f:
        f.writelines(b + "\n" for b in BYTES)
    with open(os.path.join(OUT, "bytes_ids.txt"), "w", newline="\n") as f:
        for b in BYTES:
            f.write(ids_line(slow.encode(bytes.fromhex(b).decode("utf-8", "replace"), add_special_tokens=False)) + "\n")

    # Bark's own preprocessing (generate_text_semantic) on a subset: all special lines, every 10th mixed
    # line and the long ones.
    subset = list(range(len(SPECIAL_LINES))) + list(range(len(SPECIAL_LINES), len(lines), 10)) + \
        [i for i, l in enumerate(lines) if len(slow_ids[i]) > 200]
    subset = sorted(set(subset))
    n_trunc = 0
    with open(os.path.join(OUT, "bark_inputs.txt"), "w", newline="\n") as f:
        for i in subset:
            text = _normalize_whitespace(lines[i])
            if not len(text.strip()) > 0:  # generate_text_semantic's assertion
                f.write(f"{i} ERR\n")
                continue
            encoded_text = np.array(_tokenize(slow, text)) + TEXT_ENCODING_OFFSET
            n = len(encoded_text)
            truncated = n > 256
            n_trunc += truncated
            if truncated:
                encoded_text = encoded_text[:256]
            encoded_text = np.pad(encoded_text, (0, 256 - len(encoded_text)), constant_values=TEXT_PAD_TOKEN,
                                  mode="constant").astype(np.int64).tolist()
            kept = min(n, 256)
            pad = encoded_text[-1] if kept < 256 else TEXT_PAD_TOKEN
            assert len(encoded_text) == 256 and all(v == pad for v in encoded_text[kept:])
            f.write(f"{i} {kept} {int(truncated)} {pad} {ids_line(encoded_text[:kept])}".rstrip() + "\n")

    diff = [i for i in range(len(lines)) if slow_ids[i] != fast_ids[i]]
    print(f"{len(lines)} lines, {len(subset)} bark inputs ({n_trunc} truncated), {len(BYTES)} byte strings")
    print(f"slow != fast on {len(diff)} lines")
    import unicodedata

    def fast_of(text):
        return fast.encode(text, add_special_tokens=False).ids

    def no_cn(text):
        return "".join(c for c in text if unicodedata.category(c) != "Cn")

    reasons = {}
    for i in diff:
        l = lines[i]
        nfc = unicodedata.normalize("NFC", l)
        if fast_of(nfc) == slow_ids[i]:
            r = "NFC (slow normalises, fast does not)"
        elif fast_of(unicodedata.normalize("NFC", no_cn(l))) == slow_ids[i]:
            r = "unassigned code points (Cn: slow deletes them, fast keeps them as [UNK])"
        elif any(t in l for t in ("[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]")) or \
                any(t in no_cn(nfc) for t in ("[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]")) or "[" in l:
            r = "special-token spelling (slow keeps a cleaned word such as [UN\\x00K] whole)"
        else:
            r = "other"
        reasons.setdefault(r, []).append(i)
    for r, v in sorted(reasons.items()):
        print(f"  {r}: {len(v)} (e.g. {json.dumps(lines[v[0]][:60], ensure_ascii=True)})")


if __name__ == "__main__":
    main()
