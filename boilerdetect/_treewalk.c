/* The trees of a gradient-boosted model, walked over binned rows: the one hot loop of prediction.
 *
 * scikit-learn walks one tree per Python call over nodes of ~60 bytes that also carry what only
 * training needs. Here a model's trees are flattened once (classifier.FlatTrees): per node its
 * feature (uint16), bin threshold (uint8), flags (bit 0 leaf, bit 1 missing values go left),
 * children (uint32, indices into all nodes) and leaf value (float64). Trees are walked one after
 * another over all rows, so one tree's nodes stay in cache while the rows stream past, and the
 * leaf values are added per row and class in the trees' order: the sums are scikit-learn's, bit
 * for bit.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

static int check(Py_buffer *buf, Py_ssize_t items, Py_ssize_t itemsize, const char *name) {
    if (buf->len != items * itemsize) {
        PyErr_Format(PyExc_ValueError, "%s holds %zd bytes, expected %zd", name, buf->len, items * itemsize);
        return 0;
    }
    return 1;
}

static PyObject *add_leaf_values(PyObject *self, PyObject *args) {
    Py_buffer X, feature, threshold, flags, left, right, value, roots, raw;
    Py_ssize_t n_rows, n_classes;
    int missing_bin;
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "y*niy*y*y*y*y*y*y*nw*", &X, &n_rows, &missing_bin, &feature, &threshold, &flags,
                          &left, &right, &value, &roots, &n_classes, &raw))
        return NULL;
    Py_ssize_t n_nodes = flags.len, n_trees = roots.len / 4;
    if (n_rows > 0 && n_classes > 0 && X.len % n_rows == 0 && check(&feature, n_nodes, 2, "feature") &&
        check(&threshold, n_nodes, 1, "threshold") && check(&left, n_nodes, 4, "left") && check(&right, n_nodes, 4, "right") &&
        check(&value, n_nodes, 8, "value") && check(&roots, n_trees, 4, "roots") && check(&raw, n_rows * n_classes, 8, "raw")) {
        const uint8_t *x = X.buf, *thr = threshold.buf, *flg = flags.buf;
        const uint16_t *feat = feature.buf;
        const uint32_t *lo = left.buf, *hi = right.buf, *root = roots.buf;
        const double *val = value.buf;
        double *out = raw.buf;
        const uint8_t missing = (uint8_t)missing_bin;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t t = 0; t < n_trees; t++) {
            const Py_ssize_t k = t % n_classes;
            for (Py_ssize_t r = 0; r < n_rows; r++) {
                uint32_t node = root[t];
                uint8_t f;
                while (!((f = flg[node]) & 1)) {
                    const uint8_t b = x[(Py_ssize_t)feat[node] * n_rows + r];
                    const int go_left = b == missing ? (f >> 1) & 1 : b <= thr[node];
                    node = go_left ? lo[node] : hi[node];
                }
                out[r * n_classes + k] += val[node];
            }
        }
        Py_END_ALLOW_THREADS
        Py_INCREF(Py_None);
        result = Py_None;
    } else if (!PyErr_Occurred()) {
        PyErr_SetString(PyExc_ValueError, "X must hold n_rows binned values per feature, and n_rows, n_classes > 0");
    }
    PyBuffer_Release(&X); PyBuffer_Release(&feature); PyBuffer_Release(&threshold); PyBuffer_Release(&flags);
    PyBuffer_Release(&left); PyBuffer_Release(&right); PyBuffer_Release(&value); PyBuffer_Release(&roots);
    PyBuffer_Release(&raw);
    return result;
}

static PyMethodDef methods[] = {
    {"add_leaf_values", add_leaf_values, METH_VARARGS,
     "add_leaf_values(X, n_rows, missing_bin, feature, threshold, flags, left, right, value, roots, n_classes, raw)\n\n"
     "Add to raw (n_rows, n_classes) float64 the leaf value each tree reaches for each row of X, binned\n"
     "values stored feature by feature (n_features, n_rows) uint8; tree t scores class t % n_classes.\n"
     "Node arrays as classifier.FlatTrees builds them; they are trusted to index within themselves and X."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_treewalk", "Compiled tree walk (see classifier.py).", -1, methods};

PyMODINIT_FUNC PyInit__treewalk(void) { return PyModule_Create(&module); }
