/* The per-word and per-character scans of the features.
 *
 * word_counts (features._word_counts): a word is a maximal run of the characters regex \w matches in a str pattern (Unicode letters,
 * digits and numerics, and '_'), exactly as features._WORD finds them. Per line it counts the
 * words, their characters, those whose first character is upper case, and those whose lower-cased
 * form is in each of two sets (stopwords, title words); and whether its first letter (the first
 * word character that is no decimal digit or '_', regex [^\W\d_]) is upper case. Lower-casing is
 * str.lower's: done here for ASCII words, by calling str.lower for the others.
 *
 * find_literals (features._lines_matching): every position where one of a few dozen literal strings
 * starts, in one pass over the text instead of one str.find pass per literal.
 *
 * ascii_tokens (html._tokens): the words of an ASCII class, id or role value, as its two regexes
 * find them, without building the lower-cased and split copies they scan.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define N_COUNTS 6 /* words, characters, capitalised, in the first set, in the second set, first letter upper */

/* regex \w for a str pattern; ASCII (most characters) by a test, not by the Unicode database's calls */
static inline int is_word(Py_UCS4 ch) {
    if (ch < 128) return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
    return Py_UNICODE_ISALNUM(ch);
}

/* The lower-cased word text[start:end] as a new str, or NULL with an exception set. */
static PyObject *lowered(PyObject *text, int kind, const void *data, Py_ssize_t start, Py_ssize_t end, int ascii) {
    if (ascii) {
        PyObject *word = PyUnicode_New(end - start, 127);
        if (word == NULL) return NULL;
        Py_UCS1 *out = PyUnicode_1BYTE_DATA(word);
        for (Py_ssize_t i = start; i < end; i++) {
            Py_UCS4 ch = PyUnicode_READ(kind, data, i);
            out[i - start] = (Py_UCS1)(ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch);
        }
        return word;
    }
    PyObject *word = PyUnicode_Substring(text, start, end);
    if (word == NULL) return NULL;
    PyObject *low = PyObject_CallMethod(word, "lower", NULL);
    Py_DECREF(word);
    return low;
}

/* texts[line] as a str ready to read, or NULL with the exception set. */
static PyObject *line_text(PyObject *texts, Py_ssize_t line) {
    PyObject *text = PyList_GET_ITEM(texts, line);
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "line %zd is not a str", line);
        return NULL;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0) return NULL; /* legacy strings only, before Python 3.12 */
#endif
    return text;
}

static PyObject *word_counts(PyObject *self, PyObject *args) {
    PyObject *texts, *first_set, *second_set;
    if (!PyArg_ParseTuple(args, "O!O!O!", &PyList_Type, &texts, &PyFrozenSet_Type, &first_set, &PyFrozenSet_Type, &second_set))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(texts);
    PyObject *result = PyBytes_FromStringAndSize(NULL, n * N_COUNTS * (Py_ssize_t)sizeof(int64_t));
    if (result == NULL) return NULL;
    int64_t *counts = (int64_t *)PyBytes_AS_STRING(result);
    memset(counts, 0, n * N_COUNTS * sizeof(int64_t));
    const int use_second = PySet_GET_SIZE(second_set) > 0;
    for (Py_ssize_t line = 0; line < n; line++) {
        PyObject *text = line_text(texts, line);
        if (text == NULL) goto fail;
        const int kind = PyUnicode_KIND(text);
        const void *data = PyUnicode_DATA(text);
        const Py_ssize_t length = PyUnicode_GET_LENGTH(text);
        int64_t *c = counts + line * N_COUNTS;
        int lettered = 0; /* the line's first letter (regex [^\W\d_]) was seen */
        Py_ssize_t i = 0;
        while (i < length) {
            if (!is_word(PyUnicode_READ(kind, data, i))) {
                i++;
                continue;
            }
            const Py_ssize_t start = i;
            int ascii = 1;
            Py_UCS4 ch;
            while (i < length && is_word(ch = PyUnicode_READ(kind, data, i))) {
                ascii &= ch < 128;
                if (!lettered && ch != '_' && !Py_UNICODE_ISDECIMAL(ch)) {
                    lettered = 1;
                    c[5] = Py_UNICODE_ISUPPER(ch) != 0;
                }
                i++;
            }
            c[0] += 1;
            c[1] += i - start;
            c[2] += Py_UNICODE_ISUPPER(PyUnicode_READ(kind, data, start)) != 0;
            PyObject *low = lowered(text, kind, data, start, i, ascii);
            if (low == NULL) goto fail;
            int hit = PySet_Contains(first_set, low);
            c[3] += hit > 0;
            if (hit >= 0 && use_second) {
                hit = PySet_Contains(second_set, low);
                c[4] += hit > 0;
            }
            Py_DECREF(low);
            if (hit < 0) goto fail;
        }
    }
    return result;
fail:
    Py_DECREF(result);
    return NULL;
}

/* Positions of text where literal k starts, as (position, k) pairs: each position in turn, and at it
 * only the literals that start with its character (chained per ASCII first character). */
static PyObject *find_literals(PyObject *self, PyObject *args) {
    PyObject *text, *literals;
    if (!PyArg_ParseTuple(args, "UO!", &text, &PyTuple_Type, &literals)) return NULL;
    const Py_ssize_t n_lit = PyTuple_GET_SIZE(literals);
    Py_ssize_t *next = PyMem_Malloc((n_lit + 1) * sizeof(Py_ssize_t));
    if (next == NULL) return PyErr_NoMemory();
    Py_ssize_t ascii_first[128], other_first = -1; /* heads of the chains; -1 ends a chain */
    for (int c = 0; c < 128; c++) ascii_first[c] = -1;
    for (Py_ssize_t k = n_lit - 1; k >= 0; k--) { /* built backwards, so chains run in tuple order */
        PyObject *lit = PyTuple_GET_ITEM(literals, k);
        if (!PyUnicode_Check(lit)
#if PY_VERSION_HEX < 0x030C0000
            || PyUnicode_READY(lit) < 0 /* "U" readied text; legacy literals only, before Python 3.12 */
#endif
            || PyUnicode_GET_LENGTH(lit) == 0) {
            PyMem_Free(next);
            if (!PyErr_Occurred()) PyErr_Format(PyExc_ValueError, "literal %zd is not a non-empty str", k);
            return NULL;
        }
        Py_UCS4 first = PyUnicode_READ_CHAR(lit, 0);
        Py_ssize_t *head = first < 128 ? &ascii_first[first] : &other_first;
        next[k] = *head;
        *head = k;
    }
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    PyObject *found = PyList_New(0);
    for (Py_ssize_t i = 0; found != NULL && i < length; i++) {
        const Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        for (Py_ssize_t k = ch < 128 ? ascii_first[ch] : other_first; k >= 0; k = next[k]) {
            PyObject *lit = PyTuple_GET_ITEM(literals, k);
            const Py_ssize_t size = PyUnicode_GET_LENGTH(lit);
            if (size > length - i) continue;
            const int lkind = PyUnicode_KIND(lit);
            const void *ldata = PyUnicode_DATA(lit);
            Py_ssize_t j = 0;
            while (j < size && PyUnicode_READ(lkind, ldata, j) == PyUnicode_READ(kind, data, i + j)) j++;
            if (j < size) continue;
            PyObject *pair = Py_BuildValue("(nn)", i, k);
            if (pair == NULL || PyList_Append(found, pair) < 0) Py_CLEAR(found);
            Py_XDECREF(pair);
            if (found == NULL) break;
        }
    }
    PyMem_Free(next);
    return found;
}

static inline int ascii_lower(Py_UCS1 ch) { return ch >= 'a' && ch <= 'z'; }
static inline int ascii_upper(Py_UCS1 ch) { return ch >= 'A' && ch <= 'Z'; }
static inline int ascii_digit(Py_UCS1 ch) { return ch >= '0' && ch <= '9'; }

/* The value split where a lower-case letter is followed by a capital (camelCase), lower-cased: its
 * maximal runs of [a-z0-9] that hold letters only and are 2 or more long, as a frozenset. */
static PyObject *ascii_tokens(PyObject *self, PyObject *value) {
    if (!PyUnicode_Check(value)
#if PY_VERSION_HEX < 0x030C0000
        || PyUnicode_READY(value) < 0 /* legacy strings only, before Python 3.12 */
#endif
        || !PyUnicode_IS_ASCII(value)) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "ascii_tokens takes an ASCII str");
        return NULL;
    }
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(value);
    const Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    PyObject *tokens = PyFrozenSet_New(NULL); /* a new set: PySet_Add may fill it until it is returned */
    Py_ssize_t i = 0;
    while (tokens != NULL && i < n) {
        if (!(ascii_lower(s[i]) || ascii_upper(s[i]) || ascii_digit(s[i]))) {
            i++;
            continue;
        }
        const Py_ssize_t start = i;
        int digits = 0;
        do digits |= ascii_digit(s[i++]);
        while (i < n && (ascii_lower(s[i]) || ascii_digit(s[i]) || (ascii_upper(s[i]) && !ascii_lower(s[i - 1]))));
        if (digits || i - start < 2) continue;
        PyObject *token = PyUnicode_New(i - start, 127);
        if (token == NULL) {
            Py_CLEAR(tokens);
            break;
        }
        Py_UCS1 *out = PyUnicode_1BYTE_DATA(token);
        for (Py_ssize_t j = start; j < i; j++) out[j - start] = ascii_upper(s[j]) ? s[j] + ('a' - 'A') : s[j];
        if (PySet_Add(tokens, token) < 0) Py_CLEAR(tokens);
        Py_DECREF(token);
    }
    return tokens;
}

/* FNV-1a over the code points of a word (each taken as one 32-bit unit), and a pair's hash from
 * its two words' hashes; features.hashed_words does the same arithmetic in Python. */
#define FNV_OFFSET 2166136261u
static inline uint32_t fnv(uint32_t h, Py_UCS4 ch) { return (h ^ (uint32_t)ch) * 16777619u; }
static inline uint32_t pair_hash(uint32_t first, uint32_t second) { return (first * 2654435761u) ^ second ^ 0x5bd1e995u; }

static int word_hash(PyObject *low, uint32_t *out) {
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(low) < 0) return -1;
#endif
    const int kind = PyUnicode_KIND(low);
    const void *data = PyUnicode_DATA(low);
    uint32_t h = FNV_OFFSET;
    for (Py_ssize_t i = 0; i < PyUnicode_GET_LENGTH(low); i++) h = fnv(h, PyUnicode_READ(kind, data, i));
    *out = h;
    return 0;
}

/* A growable array of int32 columns. */
typedef struct {
    int32_t *items;
    Py_ssize_t used, cap;
} Columns;

static int push(Columns *c, int32_t value) {
    if (c->used == c->cap) {
        Py_ssize_t cap = c->cap ? 2 * c->cap : 256;
        int32_t *grown = PyMem_Realloc(c->items, cap * sizeof(int32_t));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        c->items = grown;
        c->cap = cap;
    }
    c->items[c->used++] = value;
    return 0;
}

/* Append to out the hashed columns (hash & mask) of the lower-cased words of texts[line] and of
 * each pair of consecutive words, in order: word 1, word 2, pair (1, 2), word 3, pair (2, 3)... */
static int line_columns(PyObject *texts, Py_ssize_t line, uint32_t mask, Columns *out) {
    PyObject *text = line_text(texts, line);
    if (text == NULL) return -1;
    const int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    const Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    int have_previous = 0;
    uint32_t previous = 0;
    Py_ssize_t i = 0;
    while (i < length) {
        if (!is_word(PyUnicode_READ(kind, data, i))) {
            i++;
            continue;
        }
        const Py_ssize_t start = i;
        int ascii = 1;
        Py_UCS4 ch;
        while (i < length && is_word(ch = PyUnicode_READ(kind, data, i))) {
            ascii &= ch < 128;
            i++;
        }
        uint32_t h = FNV_OFFSET;
        if (ascii) { /* lower-cased on the fly: no str made */
            for (Py_ssize_t j = start; j < i; j++) {
                Py_UCS4 c = PyUnicode_READ(kind, data, j);
                h = fnv(h, c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
            }
        } else {
            PyObject *low = lowered(text, kind, data, start, i, 0);
            if (low == NULL) return -1;
            int bad = word_hash(low, &h);
            Py_DECREF(low);
            if (bad) return -1;
        }
        if (push(out, (int32_t)(h & mask)) < 0) return -1;
        if (have_previous && push(out, (int32_t)(pair_hash(previous, h) & mask)) < 0) return -1;
        previous = h;
        have_previous = 1;
    }
    return 0;
}

static int parse_bits(unsigned int bits, uint32_t *mask) {
    if (bits < 1 || bits > 31) {
        PyErr_SetString(PyExc_ValueError, "bits must be 1 to 31");
        return -1;
    }
    *mask = (1u << bits) - 1;
    return 0;
}

/* Per line, the hashed columns of its words and word pairs (line_columns): int32 columns, and
 * int64 offsets (n_lines + 1) of each line's first. */
static PyObject *hashed_words(PyObject *self, PyObject *args) {
    PyObject *texts;
    unsigned int bits;
    uint32_t mask;
    if (!PyArg_ParseTuple(args, "O!I", &PyList_Type, &texts, &bits) || parse_bits(bits, &mask) < 0) return NULL;
    const Py_ssize_t n = PyList_GET_SIZE(texts);
    Columns cols = {NULL, 0, 0};
    PyObject *result = NULL, *columns = NULL;
    PyObject *starts = PyBytes_FromStringAndSize(NULL, (n + 1) * (Py_ssize_t)sizeof(int64_t));
    if (starts == NULL) goto done;
    int64_t *offset = (int64_t *)PyBytes_AS_STRING(starts);
    for (Py_ssize_t line = 0; line < n; line++) {
        offset[line] = cols.used;
        if (line_columns(texts, line, mask, &cols) < 0) goto done;
    }
    offset[n] = cols.used;
    columns = PyBytes_FromStringAndSize((const char *)cols.items, cols.used * (Py_ssize_t)sizeof(int32_t));
    if (columns != NULL) result = PyTuple_Pack(2, columns, starts);
done:
    PyMem_Free(cols.items);
    Py_XDECREF(columns);
    Py_XDECREF(starts);
    return result;
}

/* Per line, the sum of count**2 over its distinct columns (the squared length of its row of counts):
 * each column is tallied in an open-addressing table of at least twice as many slots as the line
 * has columns (key -1: a free slot; columns are never negative), cleared for each line. */
typedef struct {
    int32_t *keys;
    int32_t *counts;
    Py_ssize_t cap;
} Tally;

static int squared_length(Tally *t, const int32_t *cols, Py_ssize_t n, double *squares) {
    Py_ssize_t size = 16;
    while (size < 2 * n) size *= 2;
    if (size > t->cap) {
        int32_t *keys = PyMem_Realloc(t->keys, size * sizeof(int32_t));
        if (keys == NULL) goto no_memory;
        t->keys = keys;
        int32_t *counts = PyMem_Realloc(t->counts, size * sizeof(int32_t));
        if (counts == NULL) goto no_memory;
        t->counts = counts;
        t->cap = size;
    }
    memset(t->keys, 0xff, size * sizeof(int32_t));
    const uint32_t slots = (uint32_t)size - 1;
    double sum = 0.0;
    for (Py_ssize_t i = 0; i < n; i++) {
        const int32_t col = cols[i];
        uint32_t s = ((uint32_t)col * 2654435761u) & slots; /* Knuth's multiplicative hash */
        while (t->keys[s] != -1 && t->keys[s] != col) s = (s + 1) & slots;
        if (t->keys[s] == -1) {
            t->keys[s] = col;
            t->counts[s] = 0;
        }
        sum += 2.0 * t->counts[s]++ + 1.0; /* (c + 1)**2 - c**2 */
    }
    *squares = sum;
    return 0;
no_memory:
    PyErr_NoMemory();
    return -1;
}

/* Per line, X @ weights.T for X the rows features.hashed_words makes (each column's count, the row
 * scaled to unit length) and weights (k, 2**bits) float64: (n_lines, k) float64, 0 for a line
 * without words. The same sums as the sparse product (a column's count times its weight is the
 * weight added once per occurrence), without building the matrix. */
static PyObject *word_scores(PyObject *self, PyObject *args) {
    PyObject *texts;
    unsigned int bits;
    Py_ssize_t k;
    Py_buffer weights;
    uint32_t mask;
    if (!PyArg_ParseTuple(args, "O!Iny*", &PyList_Type, &texts, &bits, &k, &weights)) return NULL;
    PyObject *result = NULL;
    Columns cols = {NULL, 0, 0};
    Tally tally = {NULL, NULL, 0};
    if (parse_bits(bits, &mask) < 0) goto done;
    const Py_ssize_t width = (Py_ssize_t)mask + 1;
    if (k < 1 || weights.len != k * width * (Py_ssize_t)sizeof(double)) {
        PyErr_SetString(PyExc_ValueError, "weights must hold k rows of 2**bits float64");
        goto done;
    }
    const double *w = weights.buf;
    const Py_ssize_t n = PyList_GET_SIZE(texts);
    result = PyBytes_FromStringAndSize(NULL, n * k * (Py_ssize_t)sizeof(double));
    if (result == NULL) goto done;
    double *out = (double *)PyBytes_AS_STRING(result);
    for (Py_ssize_t line = 0; line < n; line++) {
        cols.used = 0;
        double *score = out + line * k;
        for (Py_ssize_t j = 0; j < k; j++) score[j] = 0.0;
        double squares;
        if (line_columns(texts, line, mask, &cols) < 0 || squared_length(&tally, cols.items, cols.used, &squares) < 0) {
            Py_CLEAR(result);
            goto done;
        }
        if (cols.used == 0) continue;
        for (Py_ssize_t a = 0; a < cols.used; a++)
            for (Py_ssize_t j = 0; j < k; j++) score[j] += w[j * width + cols.items[a]];
        const double norm = sqrt(squares);
        for (Py_ssize_t j = 0; j < k; j++) score[j] /= norm;
    }
done:
    PyMem_Free(cols.items);
    PyMem_Free(tally.keys);
    PyMem_Free(tally.counts);
    PyBuffer_Release(&weights);
    return result;
}

/* Per line, as int64 (n_lines, 2): the matches of features._SENT_BREAK (one of .!?。！？ followed by
 * whitespace) and of features._BULLET (at the line's start, optional whitespace, then one of -–—•*·▪►>
 * or 1 to 3 decimal digits and one of .), then whitespace), as those patterns find them in the lines
 * joined by newlines: a line's end is followed by whitespace except on the last line. None when a
 * line is empty, all whitespace or holds a newline: there the patterns can run on into the next line. */
static inline int is_sentence_end(Py_UCS4 ch) {
    return ch == '.' || ch == '!' || ch == '?' || ch == 0x3002 || ch == 0xFF01 || ch == 0xFF1F;
}

static inline int is_bullet_mark(Py_UCS4 ch) {
    return ch == '-' || ch == 0x2013 || ch == 0x2014 || ch == 0x2022 || ch == '*' || ch == 0xB7 || ch == 0x25AA || ch == 0x25BA || ch == '>';
}

static PyObject *line_marks(PyObject *self, PyObject *args) {
    PyObject *texts;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &texts)) return NULL;
    const Py_ssize_t n = PyList_GET_SIZE(texts);
    PyObject *result = PyBytes_FromStringAndSize(NULL, n * 2 * (Py_ssize_t)sizeof(int64_t));
    if (result == NULL) return NULL;
    int64_t *marks = (int64_t *)PyBytes_AS_STRING(result);
    for (Py_ssize_t line = 0; line < n; line++) {
        PyObject *text = line_text(texts, line);
        if (text == NULL) {
            Py_DECREF(result);
            return NULL;
        }
        const int kind = PyUnicode_KIND(text);
        const void *data = PyUnicode_DATA(text);
        const Py_ssize_t length = PyUnicode_GET_LENGTH(text);
        const int last = line == n - 1;
        /* what follows position i is whitespace: a character, or the newline after the line */
#define SPACE_AFTER(i) ((i) + 1 < length ? Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, (i) + 1)) : !last)
        Py_ssize_t first = 0; /* the first non-whitespace character */
        while (first < length && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, first))) {
            if (PyUnicode_READ(kind, data, first) == '\n') break;
            first++;
        }
        if (first == length || PyUnicode_READ(kind, data, first) == '\n') {
            Py_DECREF(result);
            Py_RETURN_NONE;
        }
        int64_t sentences = 0;
        for (Py_ssize_t i = first; i < length; i++) {
            const Py_UCS4 ch = PyUnicode_READ(kind, data, i);
            if (ch == '\n') {
                Py_DECREF(result);
                Py_RETURN_NONE;
            }
            sentences += is_sentence_end(ch) && SPACE_AFTER(i);
        }
        int64_t bullet = 0;
        const Py_UCS4 ch = PyUnicode_READ(kind, data, first);
        if (is_bullet_mark(ch)) {
            bullet = SPACE_AFTER(first);
        } else if (Py_UNICODE_ISDECIMAL(ch)) {
            Py_ssize_t i = first;
            while (i < length && i - first < 4 && Py_UNICODE_ISDECIMAL(PyUnicode_READ(kind, data, i))) i++;
            if (i - first <= 3 && i < length) {
                const Py_UCS4 after = PyUnicode_READ(kind, data, i);
                bullet = (after == '.' || after == ')') && SPACE_AFTER(i);
            }
        }
#undef SPACE_AFTER
        marks[2 * line] = sentences;
        marks[2 * line + 1] = bullet;
    }
    return result;
}

/* The indices of the lines that " ".join(line.split()) would change: a line with whitespace at
 * either end, two whitespace characters in a row, or whitespace other than a plain space. */
static PyObject *unspaced(PyObject *self, PyObject *args) {
    PyObject *texts;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &texts)) return NULL;
    PyObject *found = PyList_New(0);
    if (found == NULL) return NULL;
    const Py_ssize_t n = PyList_GET_SIZE(texts);
    for (Py_ssize_t line = 0; line < n; line++) {
        PyObject *text = line_text(texts, line);
        if (text == NULL) goto fail;
        const int kind = PyUnicode_KIND(text);
        const void *data = PyUnicode_DATA(text);
        const Py_ssize_t length = PyUnicode_GET_LENGTH(text);
        int changed = 0, previous_space = 1; /* a space first counts as a run from the start */
        for (Py_ssize_t i = 0; i < length && !changed; i++) {
            const Py_UCS4 ch = PyUnicode_READ(kind, data, i);
            const int space = ch == ' ' || (ch > ' ' ? ch >= 0x80 && Py_UNICODE_ISSPACE(ch) : Py_UNICODE_ISSPACE(ch));
            changed = space && (ch != ' ' || previous_space);
            previous_space = space;
        }
        changed |= length > 0 && previous_space; /* whitespace at the end */
        if (changed) {
            PyObject *index = PyLong_FromSsize_t(line);
            if (index == NULL || PyList_Append(found, index) < 0) {
                Py_XDECREF(index);
                goto fail;
            }
            Py_DECREF(index);
        }
    }
    return found;
fail:
    Py_DECREF(found);
    return NULL;
}

static PyMethodDef methods[] = {
    {"word_counts", word_counts, METH_VARARGS,
     "word_counts(texts: list[str], first: frozenset, second: frozenset) -> bytes\n\n"
     "Per line, as int64 (n_lines, 6): words (regex \\w runs), their characters, words whose first\n"
     "character is upper case, words whose lower-cased form is in first, in second, and whether the\n"
     "first letter (regex [^\\W\\d_]) is upper case."},
    {"find_literals", find_literals, METH_VARARGS,
     "find_literals(text: str, literals: tuple[str, ...]) -> list[tuple[int, int]]\n\n"
     "(position, k) for every position of text where literals[k] starts (overlaps included), by\n"
     "position, then in the order of literals."},
    {"ascii_tokens", ascii_tokens, METH_O,
     "ascii_tokens(value: str) -> frozenset[str]\n\n"
     "The words html._tokens finds in an ASCII value: split at camelCase boundaries, lower-cased, the\n"
     "maximal runs of [a-z0-9] made of 2 or more letters."},
    {"hashed_words", hashed_words, METH_VARARGS,
     "hashed_words(texts: list[str], bits: int) -> tuple[bytes, bytes]\n\n"
     "Per line, the hashed columns (below 2**bits) of its lower-cased words (regex \\w runs) and of each\n"
     "pair of consecutive words, as int32, and int64 offsets (n_lines + 1) of each line's first column."},
    {"unspaced", unspaced, METH_VARARGS,
     "unspaced(texts: list[str]) -> list[int]\n\n"
     "The indices of the lines that \" \".join(line.split()) would change."},
    {"line_marks", line_marks, METH_VARARGS,
     "line_marks(texts: list[str]) -> bytes | None\n\n"
     "Per line, as int64 (n_lines, 2): sentence breaks and whether it starts like a list item, as\n"
     "features._SENT_BREAK and features._BULLET count them in the lines joined by newlines; None when\n"
     "a line is empty, all whitespace or holds a newline."},
    {"word_scores", word_scores, METH_VARARGS,
     "word_scores(texts: list[str], bits: int, k: int, weights: bytes-like) -> bytes\n\n"
     "Per line, as float64 (n_lines, k): its hashed words and pairs (counts, scaled to unit length)\n"
     "times each of the k rows of weights (k, 2**bits) float64; 0 for a line without words."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_words", "Compiled per-word and per-character scans (see features.py and html.py).", -1, methods};

PyMODINIT_FUNC PyInit__words(void) { return PyModule_Create(&module); }
