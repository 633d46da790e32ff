/*
 * Fixed-base batch scalar multiplication on BLS12-381 G1 and G2 (Groth16 setup: every key
 * point is a known multiple of a generator, Groth 2016 section 3.2), included by fr.c.
 * The Python twin is zkproofs/kernels/reference.py (the curve backend's windowed batch
 * multiplication and snarkjs' LEM encoding); tests/test_kernels.py holds them equal.
 *
 * Method: a table of w-bit windows of the base (entry (i, d) = d 2^(w i) B, affine),
 * built once and shared read-only by the threads that multiply; each scalar is then at
 * most ceil(255 / w) - 1 mixed additions with no doubling, and each block of results is
 * normalised to affine with one inversion. Outputs are snarkjs' section bytes (LEM, see
 * fq.h), so a key's sections need no per-point conversion in Python.
 */
#define FB_MAX_WINDOW 20
#define FB_ROWS(w) ((255 + (w) - 1) / (w)) /* scalars are < r < 2^255 */

typedef struct {
    int group; /* 1 or 2 */
    g1_table g1;
    g2_table g2;
} fb_table;

static void fb_table_free(PyObject *capsule) {
    fb_table *t = PyCapsule_GetPointer(capsule, "zkproofs.fixed_base");
    if (t == NULL) return;
    PyMem_RawFree(t->g1.points);
    PyMem_RawFree(t->g2.points);
    PyMem_RawFree(t);
}

/* fixed_base_table(group, base_lem, window) -> capsule: the window table of the base
   point (G1: 96 LEM bytes, G2: 192), which must be on the curve and not the point at
   infinity. rows (2^w - 1) mixed additions, without the GIL. */
static PyObject *py_fixed_base_table(PyObject *self, PyObject *args) {
    int group, window;
    Py_buffer base;
    if (!PyArg_ParseTuple(args, "iy*i", &group, &base, &window)) return NULL;
    PyObject *result = NULL;
    fb_table *t = NULL;
    if ((group != 1 && group != 2) || window < 1 || window > FB_MAX_WINDOW) {
        PyErr_Format(PyExc_ValueError, "fixed_base_table: group must be 1 or 2 and window in 1..%d", FB_MAX_WINDOW);
        goto done;
    }
    if (base.len != (group == 1 ? 96 : 192)) {
        PyErr_Format(PyExc_ValueError, "fixed_base_table: a G%d base point is %d LEM bytes, got %zd", group, group == 1 ? 96 : 192, base.len);
        goto done;
    }
    t = PyMem_RawCalloc(1, sizeof *t);
    if (t == NULL) { PyErr_NoMemory(); goto done; }
    t->group = group;
    int rc;
    if (group == 1) {
        fq c[2], lhs, rhs, b;
        if (fq_load_lem(c, base.buf, 2) >= 0) { PyErr_SetString(PyExc_ValueError, "fixed_base_table: a coordinate of the base is not less than q"); goto done; }
        fq_add(&b, &FQ_ONE, &FQ_ONE);
        fq_add(&b, &b, &b);                                   /* b = 4 */
        fq_mul(&lhs, &c[1], &c[1]);
        fq_mul(&rhs, &c[0], &c[0]);
        fq_mul(&rhs, &rhs, &c[0]);
        fq_add(&rhs, &rhs, &b);
        if (!fq_eq(&lhs, &rhs)) { PyErr_SetString(PyExc_ValueError, "fixed_base_table: the G1 base is not on the curve"); goto done; }
        g1_aff p = {c[0], c[1]};
        Py_BEGIN_ALLOW_THREADS
        rc = g1_table_build(&t->g1, &p, window, FB_ROWS(window));
        Py_END_ALLOW_THREADS
    } else {
        fq c[4];
        fq2 x, y, lhs, rhs, b;
        if (fq_load_lem(c, base.buf, 4) >= 0) { PyErr_SetString(PyExc_ValueError, "fixed_base_table: a coordinate of the base is not less than q"); goto done; }
        x.c0 = c[0]; x.c1 = c[1]; y.c0 = c[2]; y.c1 = c[3];
        fq2_add(&b, &FQ2_ONE, &FQ2_ONE);
        fq2_add(&b, &b, &b);
        b.c1 = b.c0;                                          /* b = 4 (1 + u) */
        fq2_sqr(&lhs, &y);
        fq2_sqr(&rhs, &x);
        fq2_mul(&rhs, &rhs, &x);
        fq2_add(&rhs, &rhs, &b);
        if (!fq2_eq(&lhs, &rhs)) { PyErr_SetString(PyExc_ValueError, "fixed_base_table: the G2 base is not on the curve"); goto done; }
        g2_aff p = {x, y};
        Py_BEGIN_ALLOW_THREADS
        rc = g2_table_build(&t->g2, &p, window, FB_ROWS(window));
        Py_END_ALLOW_THREADS
    }
    if (rc) { PyErr_NoMemory(); goto done; }
    result = PyCapsule_New(t, "zkproofs.fixed_base", fb_table_free);
    if (result != NULL) t = NULL;
done:
    if (t != NULL) {
        PyMem_RawFree(t->g1.points);
        PyMem_RawFree(t->g2.points);
        PyMem_RawFree(t);
    }
    PyBuffer_Release(&base);
    return result;
}

/* fixed_base_mul(capsule, scalars) -> bytes: LEM bytes of k B for each int k in [0, r)
   (ValueError naming the first other one). At most rows - 1 mixed additions per scalar,
   without the GIL: threads sharing one table run in parallel. */
static PyObject *py_fixed_base_mul(PyObject *self, PyObject *args) {
    PyObject *capsule, *seq;
    if (!PyArg_ParseTuple(args, "OO", &capsule, &seq)) return NULL;
    fb_table *t = PyCapsule_GetPointer(capsule, "zkproofs.fixed_base");
    if (t == NULL) return NULL;
    Py_ssize_t n;
    uint64_t *limbs = scalar_limbs(seq, "fixed_base_mul", &n);
    if (limbs == NULL) return NULL;
    size_t point_size = t->group == 1 ? 96 : 192;
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(point_size * (size_t)n));
    if (out == NULL) { PyMem_RawFree(limbs); return NULL; }
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = t->group == 1 ? g1_table_mul(&t->g1, limbs, (size_t)n, dst) : g2_table_mul(&t->g2, limbs, (size_t)n, dst);
    Py_END_ALLOW_THREADS
    PyMem_RawFree(limbs);
    if (rc) { Py_DECREF(out); return PyErr_NoMemory(); }
    return out;
}

/* fixed_base_msm(capsules, scalars) -> bytes: LEM bytes of sum_j k_j B_j, B_j the base of
   capsules[j] (tables of one group), k_j ints in [0, r) (ValueError naming the first other
   one, or for unequal lengths or mixed groups). sum_j rows_j mixed additions at most,
   without the GIL. */
static PyObject *py_fixed_base_msm(PyObject *self, PyObject *args) {
    PyObject *caps, *seq;
    if (!PyArg_ParseTuple(args, "OO", &caps, &seq)) return NULL;
    Py_ssize_t n;
    uint64_t *limbs = scalar_limbs(seq, "fixed_base_msm", &n);  /* first: it may run Python code */
    if (limbs == NULL) return NULL;
    PyObject *owned = PySequence_Tuple(caps);  /* our own references: the tables outlive the GIL-free loop */
    if (owned == NULL) { PyMem_RawFree(limbs); return NULL; }
    Py_ssize_t n_tables = PyTuple_GET_SIZE(owned);
    PyObject *out = NULL;
    const void **tables = PyMem_RawMalloc(sizeof(void *) * (size_t)(n_tables ? n_tables : 1));
    if (tables == NULL) { PyErr_NoMemory(); goto done; }
    if (n != n_tables) {
        PyErr_Format(PyExc_ValueError, "fixed_base_msm: %zd tables but %zd scalars", n_tables, n);
        goto done;
    }
    int group = 0;
    for (Py_ssize_t j = 0; j < n_tables; j++) {
        fb_table *t = PyCapsule_GetPointer(PyTuple_GET_ITEM(owned, j), "zkproofs.fixed_base");
        if (t == NULL) goto done;
        if (group && t->group != group) {
            PyErr_SetString(PyExc_ValueError, "fixed_base_msm: tables of both groups");
            goto done;
        }
        group = t->group;
        tables[j] = group == 1 ? (const void *)&t->g1 : (const void *)&t->g2;
    }
    out = PyBytes_FromStringAndSize(NULL, group == 2 ? 192 : 96);
    if (out != NULL) {
        unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
        Py_BEGIN_ALLOW_THREADS
        if (group == 2) g2_tables_msm((const g2_table *const *)tables, limbs, (size_t)n, dst);
        else if (group == 1) g1_tables_msm((const g1_table *const *)tables, limbs, (size_t)n, dst);
        else memset(dst, 0, 96);  /* no tables: the empty sum, G1's point at infinity */
        Py_END_ALLOW_THREADS
    }
done:
    PyMem_RawFree(limbs);
    PyMem_RawFree(tables);
    Py_DECREF(owned);
    return out;
}

/* fq_from_mont_many(data) -> bytes: every 48-byte F_q block of data, little-endian
   Montgomery form (LEM) in, little-endian standard form out; ValueError naming the first
   block that is not < q. One product per block. */
static PyObject *py_fq_from_mont_many(PyObject *self, PyObject *arg) {
    Py_buffer in;
    if (PyObject_GetBuffer(arg, &in, PyBUF_SIMPLE) < 0) return NULL;
    if (in.len % 48) {
        PyErr_Format(PyExc_ValueError, "fq_from_mont_many: %zd bytes is not a whole number of 48-byte elements", in.len);
        PyBuffer_Release(&in);
        return NULL;
    }
    Py_ssize_t n = in.len / 48;
    PyObject *out = PyBytes_FromStringAndSize(NULL, in.len);
    if (out == NULL) { PyBuffer_Release(&in); return NULL; }
    const unsigned char *src = in.buf;
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    Py_ssize_t bad = -1;
    static const fq one = {{1, 0, 0, 0, 0, 0}};
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < n; k++) {
        fq a;
        if (fq_load_lem(&a, src + 48 * k, 1) >= 0) { bad = k; break; }
        fq_mul(&a, &a, &one);
        fq_store_lem(dst + 48 * k, &a, 1);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&in);
    if (bad >= 0) {
        Py_DECREF(out);
        PyErr_Format(PyExc_ValueError, "fq_from_mont_many: element #%zd is not less than q", bad);
        return NULL;
    }
    return out;
}
