/* The hot loops of prediction: the trees of a gradient-boosted model walked over binned rows, and
 * the binning of the rows.
 *
 * scikit-learn walks one tree per Python call over nodes of ~60 bytes that also carry what only
 * training needs. Here a model's trees are flat arrays (trees.FlatTrees): per node its
 * feature (uint16), bin threshold (uint8), flags (bit 0 leaf, bit 1 missing values go left),
 * children (uint32, indices into all nodes) and leaf value (float64). Trees are walked one after
 * another over all rows, so one tree's nodes stay in cache while the rows stream past, and the
 * leaf values are added per row and class in the trees' order: the sums are scikit-learn's, bit
 * for bit.
 *
 * The rows are binned as scikit-learn bins them (bin_rows), from the float32 features as they are
 * (no float64, column-major copy first), by a binary search without branches: about twice as fast.
 *
 * expit is the logistic function of the word models and of two-class trees, computed as scipy's is
 * (1 / (1 + exp(-x)) with the C library's exp, which numpy's vectorised exp is not, to the last
 * bit), so that predicting needs no scipy.special (0.15 s to import).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
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

/* bin(x): the number of thresholds below x, found by a binary search without branches (the compare
 * picks the half, which compilers turn into a conditional move): the bin of scikit-learn's
 * _map_to_bins, where thresholds[i - 1] < x <= thresholds[i] gives bin i. */
static inline uint8_t bin_of(const double v, const double *thresholds, const Py_ssize_t n_thresholds, const uint8_t missing) {
    if (isnan(v)) return missing;
    const double *base = thresholds;
    Py_ssize_t n = n_thresholds;
    while (n > 1) {
        const Py_ssize_t half = n / 2;
        base = base[half] < v ? base + half : base;
        n -= half;
    }
    return (uint8_t)((base - thresholds) + (n_thresholds > 0 && *base < v));
}

static PyObject *bin_rows(PyObject *self, PyObject *args) {
    Py_buffer X, thresholds, offsets, out;
    Py_ssize_t n_rows, first, itemsize;
    int missing_bin;
    if (!PyArg_ParseTuple(args, "y*nnny*y*iw*", &X, &n_rows, &itemsize, &first, &thresholds, &offsets, &missing_bin, &out))
        return NULL;
    PyObject *result = NULL;
    const Py_ssize_t n_cols = offsets.len / 8 - 1;
    if (n_rows > 0 && (itemsize == 4 || itemsize == 8) && n_cols >= 0 && first >= 0 && first <= n_cols &&
        check(&X, n_rows * n_cols, itemsize, "X") && check(&out, n_rows * n_cols, 1, "out") &&
        ((const int64_t *)offsets.buf)[n_cols] * 8 == thresholds.len) {
        const char *x = X.buf;
        const double *thr = thresholds.buf;
        const int64_t *off = offsets.buf;
        uint8_t *binned = out.buf;
        const uint8_t missing = (uint8_t)missing_bin;
        Py_BEGIN_ALLOW_THREADS
        /* blocks of rows, column by column within a block: a block of X stays in cache while each
         * column's thresholds are searched */
        for (Py_ssize_t r0 = 0; r0 < n_rows; r0 += 256) {
            const Py_ssize_t r1 = r0 + 256 < n_rows ? r0 + 256 : n_rows;
            for (Py_ssize_t f = first; f < n_cols; f++) {
                const double *t = thr + off[f];
                const Py_ssize_t n_t = off[f + 1] - off[f];
                uint8_t *column = binned + f * n_rows;
                if (itemsize == 4)
                    for (Py_ssize_t r = r0; r < r1; r++) column[r] = bin_of(((const float *)x)[r * n_cols + f], t, n_t, missing);
                else
                    for (Py_ssize_t r = r0; r < r1; r++) column[r] = bin_of(((const double *)x)[r * n_cols + f], t, n_t, missing);
            }
        }
        Py_END_ALLOW_THREADS
        Py_INCREF(Py_None);
        result = Py_None;
    } else if (!PyErr_Occurred()) {
        PyErr_SetString(PyExc_ValueError, "X must be (n_rows, n_cols) float32 or float64, out (n_cols, n_rows) uint8, offsets n_cols + 1 into thresholds");
    }
    PyBuffer_Release(&X); PyBuffer_Release(&thresholds); PyBuffer_Release(&offsets); PyBuffer_Release(&out);
    return result;
}

static PyObject *expit(PyObject *self, PyObject *args) {
    Py_buffer x;
    if (!PyArg_ParseTuple(args, "w*", &x)) return NULL;
    double *v = x.buf;
    const Py_ssize_t n = x.len / (Py_ssize_t)sizeof(double);
    for (Py_ssize_t i = 0; i < n; i++) v[i] = 1 / (1 + exp(-v[i]));
    PyBuffer_Release(&x);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"add_leaf_values", add_leaf_values, METH_VARARGS,
     "add_leaf_values(X, n_rows, missing_bin, feature, threshold, flags, left, right, value, roots, n_classes, raw)\n\n"
     "Add to raw (n_rows, n_classes) float64 the leaf value each tree reaches for each row of X, binned\n"
     "values stored feature by feature (n_features, n_rows) uint8; tree t scores class t % n_classes.\n"
     "Node arrays as trees.FlatTrees builds them; they are trusted to index within themselves and X."},
    {"expit", expit, METH_VARARGS,
     "expit(x)\n\nReplace each value of x (a writable, contiguous float64 buffer) by 1 / (1 + exp(-x)), as scipy.special.expit does."},
    {"bin_rows", bin_rows, METH_VARARGS,
     "bin_rows(X, n_rows, itemsize, first, thresholds, offsets, missing_bin, out)\n\n"
     "Bin columns first.. of X (n_rows, n_cols), C order, float32 or float64 (itemsize 4 or 8), into\n"
     "out (n_cols, n_rows) uint8, as scikit-learn's _map_to_bins does: column f's thresholds are\n"
     "thresholds[offsets[f]:offsets[f + 1]] (float64, increasing); NaN goes to missing_bin."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_treewalk", "Compiled tree walk, binning and logistic function (see trees.py).", -1, methods};

PyMODINIT_FUNC PyInit__treewalk(void) { return PyModule_Create(&module); }
