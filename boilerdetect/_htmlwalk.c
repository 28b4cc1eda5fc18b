/* HTML -> lines in one compiled walk: html.segment_html's fast path.
 *
 * The walk is html._walk_tree's, step for step (same lines, same facts, same ids), run over lexbor's
 * tree through lexbor's public C API. The functions are looked up by name (dlsym) in the lexbor that
 * selectolax ships and has already loaded, so both walks read trees built by the same parser. Only
 * functions are called, never struct fields read: nothing here depends on lexbor's memory layout.
 * bind() raises ImportError when a function is missing, and html.py keeps its Python walk.
 *
 * What needs Python's own rules stays Python's: class/id tokens (html._tokens, cached), the hidden
 * style regex, str.split/str.strip/str.isspace on Unicode whitespace, and the Line constructor.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef struct lxb_node lxb_node; /* opaque: lexbor's node, element and document pointers */
typedef unsigned char lxb_char;

enum { NODE_ELEMENT = 1, NODE_TEXT = 3 };

static struct {
    void *(*document_create)(void);
    unsigned int (*document_parse)(void *doc, const lxb_char *html, size_t len);
    void *(*document_destroy)(void *doc);
    void (*scripting_set)(void *doc, bool scripting);
    void (*dom_opt_set)(void *doc, unsigned int opt);
    lxb_node *(*document_root)(void *doc);
    lxb_node *(*head_element)(void *doc);
    lxb_node *(*first_child)(lxb_node *node);
    lxb_node *(*next)(lxb_node *node);
    lxb_node *(*parent)(lxb_node *node);
    int (*node_type)(lxb_node *node);
    uintptr_t (*tag_id)(lxb_node *node);
    const lxb_char *(*qualified_name)(lxb_node *element, size_t *len);
    const lxb_char *(*get_attribute)(lxb_node *element, const lxb_char *name, size_t name_len, size_t *value_len);
    bool (*has_attribute)(lxb_node *element, const lxb_char *name, size_t name_len);
    void *(*first_attribute)(lxb_node *element);
    lxb_char *(*text_content)(lxb_node *node, size_t *len);
    lxb_char *(*destroy_text)(void *doc, lxb_char *text);
} lx;

static int bound = 0;

static PyObject *bind(PyObject *self, PyObject *args) {
    const char *path;
    if (!PyArg_ParseTuple(args, "s", &path)) return NULL;
    void *lib = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (lib == NULL) lib = dlopen(path, RTLD_NOW);
    if (lib == NULL) return PyErr_Format(PyExc_ImportError, "cannot open %s: %s", path, dlerror());
    struct { void **slot; const char *name; } table[] = {
        {(void **)&lx.document_create, "lxb_html_document_create"},
        {(void **)&lx.document_parse, "lxb_html_document_parse"},
        {(void **)&lx.document_destroy, "lxb_html_document_destroy"},
        {(void **)&lx.scripting_set, "lxb_dom_document_scripting_set_noi"},
        {(void **)&lx.dom_opt_set, "lxb_html_document_dom_opt_set_noi"},
        {(void **)&lx.document_root, "lxb_dom_document_root"},
        {(void **)&lx.head_element, "lxb_html_document_head_element_noi"},
        {(void **)&lx.first_child, "lxb_dom_node_first_child_noi"},
        {(void **)&lx.next, "lxb_dom_node_next_noi"},
        {(void **)&lx.parent, "lxb_dom_node_parent_noi"},
        {(void **)&lx.node_type, "lxb_dom_node_type_noi"},
        {(void **)&lx.tag_id, "lxb_dom_node_tag_id_noi"},
        {(void **)&lx.qualified_name, "lxb_dom_element_qualified_name"},
        {(void **)&lx.get_attribute, "lxb_dom_element_get_attribute"},
        {(void **)&lx.has_attribute, "lxb_dom_element_has_attribute"},
        {(void **)&lx.first_attribute, "lxb_dom_element_first_attribute_noi"},
        {(void **)&lx.text_content, "lxb_dom_node_text_content"},
        {(void **)&lx.destroy_text, "lxb_dom_document_destroy_text_noi"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        *table[i].slot = dlsym(lib, table[i].name);
        if (*table[i].slot == NULL) {
            bound = 0;
            return PyErr_Format(PyExc_ImportError, "%s has no %s", path, table[i].name);
        }
    }
    bound = 1;
    Py_RETURN_NONE;
}

/* ---- small helpers ---- */

static PyObject *decode(const lxb_char *data, size_t len) {
    return PyUnicode_DecodeUTF8((const char *)data, (Py_ssize_t)len, "replace");
}

/* The value of an attribute as a str, or NULL (no exception) when absent or empty; -1 on error. */
static int attribute(lxb_node *el, const char *name, PyObject **out) {
    size_t len = 0;
    const lxb_char *value = lx.get_attribute(el, (const lxb_char *)name, strlen(name), &len);
    *out = NULL;
    if (value == NULL || len == 0) return 0;
    *out = decode(value, len);
    return *out == NULL ? -1 : 0;
}

/* The text under a node (a text node's own), as a str; "" when it has none. */
static PyObject *node_text(void *doc, lxb_node *node) {
    size_t len = 0;
    lxb_char *text = lx.text_content(node, &len);
    if (text == NULL) return PyUnicode_New(0, 0);
    PyObject *s = decode(text, len);
    lx.destroy_text(doc, text);
    return s;
}

/* str.isspace: not empty and only whitespace */
static int is_space(PyObject *s) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    if (n == 0) return 0;
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    for (Py_ssize_t i = 0; i < n; i++)
        if (!Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i))) return 0;
    return 1;
}

/* ---- tag names, cached per call by lexbor's tag id ---- */

#define TAG_CACHE 1024
enum { T_SKIP = 1, T_BLOCK = 2, T_A = 4, T_BREAK = 8 }; /* BREAK: br or hr */

typedef struct {
    PyObject *name[TAG_CACHE];
    unsigned char flags[TAG_CACHE];
    PyObject *block_tags, *skip_tags;
} Tags;

/* The element's tag name (new reference) and its flags; NULL with an exception on error.
 * A name the Python walk skips (None, or starting "-", "!", "_", or in SKIP_TAGS) gets T_SKIP. */
static PyObject *tag_of(Tags *tags, lxb_node *el, unsigned char *flags) {
    uintptr_t id = lx.tag_id(el);
    if (id < TAG_CACHE && tags->name[id] != NULL) {
        *flags = tags->flags[id];
        Py_INCREF(tags->name[id]);
        return tags->name[id];
    }
    size_t len = 0;
    const lxb_char *raw = lx.qualified_name(el, &len);
    PyObject *name = raw == NULL ? PyUnicode_New(0, 0) : decode(raw, len);
    if (name == NULL) return NULL;
    unsigned char f = 0;
    if (raw == NULL || (len > 0 && (raw[0] == '-' || raw[0] == '!' || raw[0] == '_'))) f |= T_SKIP;
    int in = PySet_Contains(tags->skip_tags, name);
    if (in < 0) goto fail;
    if (in) f |= T_SKIP;
    if ((in = PySet_Contains(tags->block_tags, name)) < 0) goto fail;
    if (in) f |= T_BLOCK;
    if (len == 1 && raw[0] == 'a') f |= T_A;
    if (len == 2 && (memcmp(raw, "br", 2) == 0 || memcmp(raw, "hr", 2) == 0)) f |= T_BREAK;
    if (id < TAG_CACHE) {
        Py_INCREF(name);
        tags->name[id] = name;
        tags->flags[id] = f;
    }
    *flags = f;
    return name;
fail:
    Py_DECREF(name);
    return NULL;
}

/* ---- the walk ---- */

typedef struct {
    lxb_node *node;
    PyObject *tag;   /* owned */
    PyObject *block; /* owned: innermost block tag among it and its ancestors ("" when none) */
    long id;
    unsigned char flags;
    /* its facts (html._Facts), once a line inside it needs them */
    int has_facts, hidden, any_hidden;
    PyObject *tokens, *ancestors, *ancestor_tags, *attr_tokens; /* owned once has_facts */
} Open;

typedef struct {
    void *doc;
    Tags tags;
    PyObject *line_type, *tokens_fn, *hidden_fn, *no_tokens, *empty, *empty_tuple;
    PyObject *unions; /* (set, more) -> set | more, see extended() */
    Py_ssize_t max_ancestors;
    Open *stack;
    Py_ssize_t depth, capacity;
    long *anchor_id; /* the open <a> elements: id and href */
    PyObject **anchor_href;
    Py_ssize_t n_anchors, anchor_capacity;
    /* the line being built (html._LineBuilder) */
    PyObject *parts, *links, *lines;
    Py_ssize_t link_chars;
    long last_anchor; /* the <a> of the line's last link, -1 when none */
} Walk;

static void clear_facts(Open *o) {
    if (!o->has_facts) return;
    Py_CLEAR(o->tokens);
    Py_CLEAR(o->ancestors);
    Py_CLEAR(o->ancestor_tags);
    Py_CLEAR(o->attr_tokens);
    o->has_facts = 0;
}

/* html._attr_tokens: the union of the tokens of the class, id and role values */
static PyObject *attr_tokens(Walk *w, lxb_node *el) {
    static const char *names[] = {"class", "id", "role"};
    PyObject *tokens = NULL;
    for (int i = 0; i < 3; i++) {
        PyObject *value;
        if (attribute(el, names[i], &value) < 0) goto fail;
        if (value == NULL) continue;
        PyObject *found = PyObject_CallOneArg(w->tokens_fn, value);
        Py_DECREF(value);
        if (found == NULL) goto fail;
        if (tokens == NULL || PySet_GET_SIZE(tokens) == 0) {
            Py_XSETREF(tokens, found);
        } else {
            PyObject *both = PyNumber_Or(tokens, found);
            Py_DECREF(found);
            if (both == NULL) goto fail;
            Py_SETREF(tokens, both);
        }
    }
    if (tokens == NULL) {
        Py_INCREF(w->no_tokens);
        return w->no_tokens;
    }
    return tokens;
fail:
    Py_XDECREF(tokens);
    return NULL;
}

/* html._is_hidden: the hidden attribute, aria-hidden="true", or a style that hides */
static int is_hidden(Walk *w, lxb_node *el) {
    if (lx.has_attribute(el, (const lxb_char *)"hidden", 6)) return 1;
    size_t len = 0;
    const lxb_char *aria = lx.get_attribute(el, (const lxb_char *)"aria-hidden", 11, &len);
    if (aria != NULL && len == 4 && memcmp(aria, "true", 4) == 0) return 1;
    PyObject *style;
    if (attribute(el, "style", &style) < 0) return -1;
    if (style == NULL) return 0;
    PyObject *match = PyObject_CallOneArg(w->hidden_fn, style);
    Py_DECREF(style);
    if (match == NULL) return -1;
    int truth = PyObject_IsTrue(match);
    Py_DECREF(match);
    return truth;
}

/* frozenset of `items` (a new list of new references, stolen) */
static PyObject *frozen(PyObject *items) {
    PyObject *set = PyFrozenSet_New(items);
    Py_DECREF(items);
    return set;
}

/* The frozenset `set` | `more` (`more` a frozenset, or a str taken as its one item; new reference):
 * `set` itself when it holds `more` already, else made once per call for each pair. The <li>s of a
 * list each extend their parent's sets by the same tag and class, and so share one result object
 * instead of building equal ones. */
static PyObject *extended(Walk *w, PyObject *set, PyObject *more) {
    int contained;
    if (PyUnicode_Check(more)) {
        contained = PySet_Contains(set, more);
    } else {
        PyObject *le = PyObject_RichCompare(more, set, Py_LE);
        if (le == NULL) return NULL;
        contained = PyObject_IsTrue(le);
        Py_DECREF(le);
    }
    if (contained < 0) return NULL;
    if (contained) {
        Py_INCREF(set);
        return set;
    }
    PyObject *key = PyTuple_Pack(2, set, more);
    if (key == NULL) return NULL;
    PyObject *found = PyDict_GetItemWithError(w->unions, key);
    if (found != NULL || PyErr_Occurred()) {
        Py_DECREF(key);
        Py_XINCREF(found);
        return found;
    }
    PyObject *result;
    if (PyUnicode_Check(more)) {
        PyObject *items = PySequence_List(set);
        if (items == NULL || PyList_Append(items, more) < 0) {
            Py_XDECREF(items);
            Py_DECREF(key);
            return NULL;
        }
        result = frozen(items);
    } else {
        result = PyNumber_Or(set, more);
    }
    if (result != NULL && PyDict_SetItem(w->unions, key, result) < 0) Py_CLEAR(result);
    Py_DECREF(key);
    return result;
}

/* html._element_facts for stack[d], whose ancestors have theirs */
static int element_facts(Walk *w, Py_ssize_t d) {
    Open *o = &w->stack[d];
    PyObject *id = NULL;
    if (lx.first_attribute(o->node) != NULL) {
        if ((o->tokens = attr_tokens(w, o->node)) == NULL) return -1;
        if ((o->hidden = is_hidden(w, o->node)) < 0) { Py_CLEAR(o->tokens); return -1; }
    } else {
        Py_INCREF(w->no_tokens);
        o->tokens = w->no_tokens;
        o->hidden = 0;
    }
    o->has_facts = 1;
    if ((id = PyLong_FromLong(o->id)) == NULL) goto fail;
    if (d == 0) {
        o->ancestors = PyTuple_Pack(1, id);
        PyObject *tags = PyList_New(0);
        if (tags == NULL || PyList_Append(tags, o->tag) < 0) { Py_XDECREF(tags); goto fail; }
        o->ancestor_tags = frozen(tags);
        Py_INCREF(o->tokens);
        o->attr_tokens = o->tokens;
        o->any_hidden = o->hidden;
    } else if (d < w->max_ancestors) { /* the whole stack is the window: extend the parent's facts */
        Open *p = &w->stack[d - 1];
        Py_ssize_t n = PyTuple_GET_SIZE(p->ancestors);
        if ((o->ancestors = PyTuple_New(n + 1)) == NULL) goto fail;
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *item = PyTuple_GET_ITEM(p->ancestors, i);
            Py_INCREF(item);
            PyTuple_SET_ITEM(o->ancestors, i, item);
        }
        Py_INCREF(id);
        PyTuple_SET_ITEM(o->ancestors, n, id);
        if ((o->ancestor_tags = extended(w, p->ancestor_tags, o->tag)) == NULL) goto fail;
        if ((o->attr_tokens = extended(w, p->attr_tokens, o->tokens)) == NULL) goto fail;
        o->any_hidden = p->any_hidden || o->hidden;
    } else { /* deeper: the outermost element leaves the window, so recompute from the window */
        Open *p = &w->stack[d - 1];
        Py_ssize_t n = PyTuple_GET_SIZE(p->ancestors);
        if ((o->ancestors = PyTuple_New(n)) == NULL) goto fail;
        for (Py_ssize_t i = 1; i < n; i++) {
            PyObject *item = PyTuple_GET_ITEM(p->ancestors, i);
            Py_INCREF(item);
            PyTuple_SET_ITEM(o->ancestors, i - 1, item);
        }
        Py_INCREF(id);
        PyTuple_SET_ITEM(o->ancestors, n - 1, id);
        PyObject *tags = PyList_New(0), *tokens = PySet_New(o->tokens);
        int any = o->hidden;
        if (tags == NULL || tokens == NULL) { Py_XDECREF(tags); Py_XDECREF(tokens); goto fail; }
        for (Py_ssize_t i = d + 1 - w->max_ancestors; i < d; i++) {
            Open *a = &w->stack[i];
            PyObject *more = PyNumber_InPlaceOr(tokens, a->tokens); /* the same set, updated */
            if (more == NULL || PyList_Append(tags, a->tag) < 0) {
                Py_XDECREF(more); Py_DECREF(tags); Py_DECREF(tokens); goto fail;
            }
            Py_DECREF(more);
            any = any || a->hidden;
        }
        if (PyList_Append(tags, o->tag) < 0) { Py_DECREF(tags); Py_DECREF(tokens); goto fail; }
        o->ancestor_tags = frozen(tags);
        o->attr_tokens = frozen(tokens);
        if (o->ancestor_tags == NULL || o->attr_tokens == NULL) goto fail;
        o->any_hidden = any;
    }
    if (o->ancestors == NULL || o->ancestor_tags == NULL) goto fail;
    Py_DECREF(id);
    return 0;
fail:
    Py_XDECREF(id);
    o->has_facts = 1;
    clear_facts(o);
    return -1;
}

/* html._LineBuilder.flush */
static int flush(Walk *w) {
    if (PyList_GET_SIZE(w->parts) == 0) return 0;
    int status = -1;
    PyObject *joined = NULL, *words = NULL, *text = NULL, *links = NULL, *line = NULL;
    if ((joined = PyUnicode_Join(w->empty, w->parts)) == NULL) goto done;
    if ((words = PyUnicode_Split(joined, NULL, -1)) == NULL) goto done;
    PyObject *space = PyUnicode_FromOrdinal(' ');
    if (space == NULL) goto done;
    text = PyUnicode_Join(space, words);
    Py_DECREF(space);
    if (text == NULL) goto done;
    if (PyUnicode_GET_LENGTH(text) > 0) {
        PyObject *block, *ancestors, *ancestor_tags, *tokens;
        int hidden;
        if (w->depth > 0) {
            Py_ssize_t first = w->depth;
            while (first > 0 && !w->stack[first - 1].has_facts) first--;
            for (Py_ssize_t d = first; d < w->depth; d++)
                if (element_facts(w, d) < 0) goto done;
            Open *top = &w->stack[w->depth - 1];
            block = top->block, ancestors = top->ancestors, ancestor_tags = top->ancestor_tags;
            tokens = top->attr_tokens, hidden = top->any_hidden;
        } else {
            block = w->empty, ancestors = w->empty_tuple, ancestor_tags = w->no_tokens;
            tokens = w->no_tokens, hidden = 0;
        }
        Py_ssize_t chars = PyUnicode_GET_LENGTH(text);
        if ((links = PyList_AsTuple(w->links)) == NULL) goto done;
        PyObject *args[10];
        args[0] = text;
        args[1] = block;
        args[2] = PyLong_FromSsize_t(w->link_chars < chars ? w->link_chars : chars);
        args[3] = PyLong_FromSsize_t(PyList_GET_SIZE(w->links));
        args[4] = links;
        args[5] = PyLong_FromSsize_t(w->depth);
        args[6] = ancestors;
        args[7] = ancestor_tags;
        args[8] = tokens;
        args[9] = hidden ? Py_True : Py_False;
        if (args[2] != NULL && args[3] != NULL && args[5] != NULL)
            line = PyObject_Vectorcall(w->line_type, args, 10, NULL);
        Py_XDECREF(args[2]);
        Py_XDECREF(args[3]);
        Py_XDECREF(args[5]);
        if (line == NULL || PyList_Append(w->lines, line) < 0) goto done;
    }
    PyObject *parts = PyList_New(0), *new_links = PyList_New(0);
    if (parts == NULL || new_links == NULL) { Py_XDECREF(parts); Py_XDECREF(new_links); goto done; }
    Py_SETREF(w->parts, parts);
    Py_SETREF(w->links, new_links);
    w->link_chars = 0;
    w->last_anchor = -1;
    status = 0;
done:
    Py_XDECREF(joined);
    Py_XDECREF(words);
    Py_XDECREF(text);
    Py_XDECREF(links);
    Py_XDECREF(line);
    return status;
}

/* html._LineBuilder.add: a text node's text, inside the innermost open <a> if any */
static int add_text(Walk *w, PyObject *text) {
    if (PyList_GET_SIZE(w->parts) == 0 && is_space(text)) return 0;
    if (PyList_Append(w->parts, text) < 0) return -1;
    if (w->n_anchors == 0) return 0;
    PyObject *stripped = PyObject_CallMethod(text, "strip", NULL);
    if (stripped == NULL) return -1;
    Py_ssize_t n = PyUnicode_GET_LENGTH(stripped);
    if (n == 0) { Py_DECREF(stripped); return 0; }
    w->link_chars += n;
    long id = w->anchor_id[w->n_anchors - 1];
    PyObject *href = w->anchor_href[w->n_anchors - 1], *link;
    Py_ssize_t last = PyList_GET_SIZE(w->links) - 1;
    if (w->last_anchor == id && last >= 0) {
        PyObject *joined = PyUnicode_FromFormat("%U %U", PyTuple_GET_ITEM(PyList_GET_ITEM(w->links, last), 0), stripped);
        Py_DECREF(stripped);
        if (joined == NULL) return -1;
        link = PyTuple_Pack(2, joined, href);
        Py_DECREF(joined);
        if (link == NULL) return -1;
        return PyList_SetItem(w->links, last, link); /* steals link */
    }
    w->last_anchor = id;
    link = PyTuple_Pack(2, stripped, href);
    Py_DECREF(stripped);
    if (link == NULL) return -1;
    int status = PyList_Append(w->links, link);
    Py_DECREF(link);
    return status;
}

static int push(Walk *w, lxb_node *node, PyObject *tag, unsigned char flags, long id) {
    if (w->depth == w->capacity) {
        Py_ssize_t capacity = w->capacity ? 2 * w->capacity : 64;
        Open *stack = PyMem_Realloc(w->stack, capacity * sizeof(Open));
        if (stack == NULL) { PyErr_NoMemory(); return -1; }
        w->stack = stack, w->capacity = capacity;
    }
    PyObject *block = (flags & T_BLOCK) ? tag : (w->depth ? w->stack[w->depth - 1].block : w->empty);
    Open *o = &w->stack[w->depth];
    memset(o, 0, sizeof *o);
    o->node = node, o->flags = flags, o->id = id;
    Py_INCREF(tag);
    o->tag = tag;
    Py_INCREF(block);
    o->block = block;
    w->depth++;
    if (!(flags & T_A)) return 0;
    if (w->n_anchors == w->anchor_capacity) {
        Py_ssize_t capacity = w->anchor_capacity ? 2 * w->anchor_capacity : 16;
        long *ids = PyMem_Realloc(w->anchor_id, capacity * sizeof(long));
        if (ids == NULL) { PyErr_NoMemory(); return -1; }
        w->anchor_id = ids;
        PyObject **hrefs = PyMem_Realloc(w->anchor_href, capacity * sizeof(PyObject *));
        if (hrefs == NULL) { PyErr_NoMemory(); return -1; }
        w->anchor_href = hrefs, w->anchor_capacity = capacity;
    }
    PyObject *href;
    if (attribute(node, "href", &href) < 0) return -1;
    if (href == NULL) {
        Py_INCREF(w->empty);
        href = w->empty;
    }
    w->anchor_id[w->n_anchors] = id;
    w->anchor_href[w->n_anchors++] = href;
    return 0;
}

static void pop(Walk *w) {
    Open *o = &w->stack[--w->depth];
    if (o->flags & T_A) Py_DECREF(w->anchor_href[--w->n_anchors]);
    clear_facts(o);
    Py_DECREF(o->tag);
    Py_DECREF(o->block);
}

/* The walk of html._walk_tree from the document element; lines go to w->lines. */
static int walk(Walk *w, lxb_node *root, Py_ssize_t limit) {
    lxb_node *node = root;
    long next_id = 0;
    while (node != NULL && PyList_GET_SIZE(w->lines) <= limit) {
        int type = lx.node_type(node);
        if (type == NODE_TEXT) {
            PyObject *text = node_text(w->doc, node);
            if (text == NULL) return -1;
            int status = add_text(w, text);
            Py_DECREF(text);
            if (status < 0) return -1;
        } else if (type == NODE_ELEMENT) {
            unsigned char flags;
            PyObject *tag = tag_of(&w->tags, node, &flags);
            if (tag == NULL) return -1;
            if (!(flags & T_SKIP)) {
                if ((flags & T_BLOCK) && PyList_GET_SIZE(w->parts) > 0 && flush(w) < 0) { Py_DECREF(tag); return -1; }
                if (!(flags & T_BREAK)) {
                    next_id++;
                    lxb_node *child = lx.first_child(node);
                    if (child != NULL) {
                        int status = push(w, node, tag, flags, next_id);
                        Py_DECREF(tag);
                        if (status < 0) return -1;
                        node = child;
                        continue;
                    }
                    /* an element without children holds no line: not opened (but it has its id) */
                }
            }
            Py_DECREF(tag);
        }
        /* done with node: on to its next sibling, closing the elements that have no more children */
        while (w->depth > 0) {
            lxb_node *following = lx.next(node);
            if (following != NULL) {
                node = following;
                break;
            }
            Open *top = &w->stack[w->depth - 1];
            if ((top->flags & T_BLOCK) && PyList_GET_SIZE(w->parts) > 0 && flush(w) < 0) return -1;
            node = top->node;
            pop(w);
        }
        if (w->depth == 0) node = NULL; /* the root is closed (or was never opened) */
    }
    return flush(w);
}

/* What html._page_meta reads: the first <title>'s text, the content of the first
 * <meta property="og:title">, the href of each <base> child of <head>, and the text of every
 * <script type="application/ld+json"> (type compared without case, as lexbor's selectors do). */
static PyObject *raw_meta(void *doc, lxb_node *root) {
    PyObject *title = NULL, *og = NULL, *bases = PyList_New(0), *scripts = PyList_New(0), *result = NULL;
    int og_seen = 0;
    if (bases == NULL || scripts == NULL) goto done;
    for (lxb_node *node = root; node != NULL;) {
        if (lx.node_type(node) == NODE_ELEMENT) {
            size_t len = 0;
            const lxb_char *name = lx.qualified_name(node, &len);
            if (name != NULL && len == 5 && memcmp(name, "title", 5) == 0 && title == NULL) {
                if ((title = node_text(doc, node)) == NULL) goto done;
            } else if (name != NULL && len == 4 && memcmp(name, "meta", 4) == 0 && !og_seen) {
                size_t n = 0;
                const lxb_char *property = lx.get_attribute(node, (const lxb_char *)"property", 8, &n);
                if (property != NULL && n == 8 && memcmp(property, "og:title", 8) == 0) {
                    og_seen = 1;
                    if (attribute(node, "content", &og) < 0) goto done;
                }
            } else if (name != NULL && len == 6 && memcmp(name, "script", 6) == 0) {
                size_t n = 0;
                const lxb_char *type = lx.get_attribute(node, (const lxb_char *)"type", 4, &n);
                if (type != NULL && n == 19 && strncasecmp((const char *)type, "application/ld+json", 19) == 0) {
                    PyObject *text = node_text(doc, node);
                    if (text == NULL || PyList_Append(scripts, text) < 0) { Py_XDECREF(text); goto done; }
                    Py_DECREF(text);
                }
            }
        }
        lxb_node *child = lx.first_child(node);
        if (child != NULL) {
            node = child;
            continue;
        }
        while (node != root && lx.next(node) == NULL) node = lx.parent(node);
        node = node == root ? NULL : lx.next(node);
    }
    lxb_node *head = lx.head_element(doc);
    for (lxb_node *node = head ? lx.first_child(head) : NULL; node != NULL; node = lx.next(node)) {
        size_t len = 0;
        const lxb_char *name = lx.node_type(node) == NODE_ELEMENT ? lx.qualified_name(node, &len) : NULL;
        if (name == NULL || len != 4 || memcmp(name, "base", 4) != 0) continue;
        PyObject *href;
        if (attribute(node, "href", &href) < 0) goto done;
        if (href == NULL) continue;
        int status = PyList_Append(bases, href);
        Py_DECREF(href);
        if (status < 0) goto done;
    }
    result = Py_BuildValue("(OOOO)", title ? title : Py_None, og ? og : Py_None, bases, scripts);
done:
    Py_XDECREF(title);
    Py_XDECREF(og);
    Py_XDECREF(bases);
    Py_XDECREF(scripts);
    return result;
}

static PyObject *segment(PyObject *self, PyObject *args) {
    Py_buffer html;
    Walk w;
    memset(&w, 0, sizeof w);
    Py_ssize_t limit;
    if (!bound) return PyErr_Format(PyExc_RuntimeError, "_htmlwalk.bind() was not called");
    if (!PyArg_ParseTuple(args, "y*OOOOO!O!nn", &html, &w.line_type, &w.tokens_fn, &w.hidden_fn, &w.no_tokens,
                          &PyFrozenSet_Type, &w.tags.block_tags, &PyFrozenSet_Type, &w.tags.skip_tags,
                          &w.max_ancestors, &limit))
        return NULL;
    PyObject *result = NULL, *meta = NULL;
    w.doc = lx.document_create();
    if (w.doc == NULL) {
        PyBuffer_Release(&html);
        return PyErr_NoMemory();
    }
    lx.dom_opt_set(w.doc, 0);
    lx.scripting_set(w.doc, false);
    if (lx.document_parse(w.doc, html.buf, (size_t)html.len) != 0) {
        PyErr_SetString(PyExc_ValueError, "lexbor cannot parse this HTML");
        goto done;
    }
    w.empty = PyUnicode_New(0, 0), w.empty_tuple = PyTuple_New(0), w.unions = PyDict_New();
    w.parts = PyList_New(0), w.links = PyList_New(0), w.lines = PyList_New(0);
    w.last_anchor = -1;
    if (w.empty == NULL || w.empty_tuple == NULL || w.unions == NULL || w.parts == NULL || w.links == NULL || w.lines == NULL) goto done;
    lxb_node *root = lx.document_root(w.doc);
    if (root != NULL && walk(&w, root, limit) < 0) goto done;
    if ((meta = root != NULL ? raw_meta(w.doc, root) : Py_BuildValue("(OO[][])", Py_None, Py_None)) == NULL) goto done;
    result = Py_BuildValue("(OO)", w.lines, meta);
done:
    while (w.depth > 0) pop(&w);
    for (int i = 0; i < TAG_CACHE; i++) Py_XDECREF(w.tags.name[i]);
    PyMem_Free(w.stack);
    PyMem_Free(w.anchor_id);
    PyMem_Free(w.anchor_href);
    Py_XDECREF(meta);
    Py_XDECREF(w.empty);
    Py_XDECREF(w.empty_tuple);
    Py_XDECREF(w.unions);
    Py_XDECREF(w.parts);
    Py_XDECREF(w.links);
    Py_XDECREF(w.lines);
    lx.document_destroy(w.doc);
    PyBuffer_Release(&html);
    return result;
}

static PyMethodDef methods[] = {
    {"bind", bind, METH_VARARGS,
     "bind(path: str) -> None\n\nLook up lexbor's functions in the shared library at path (selectolax's lexbor\n"
     "module); ImportError when one is missing."},
    {"segment", segment, METH_VARARGS,
     "segment(html: bytes, line_type, tokens, hidden_style, no_tokens, block_tags, skip_tags, max_ancestors, limit)\n"
     "    -> (lines, (title, og_title, base_hrefs, ld_json_texts))\n\n"
     "html._walk_tree's lines of the UTF-8 html (the walk stops once len(lines) > limit), and the raw\n"
     "values html._page_meta reads."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_htmlwalk", "The compiled walk of html.segment_html.", -1, methods};

PyMODINIT_FUNC PyInit__htmlwalk(void) { return PyModule_Create(&module); }
