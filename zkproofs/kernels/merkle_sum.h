/*
 * Merkle-sum tree levels in one call each (included by fr.c after the Poseidon code):
 * the leaves of many users, or the parents of a whole level of nodes, from and to the
 * tree's byte records, so a build creates no Python object per node. Python twins:
 * merkle_sum_leaves / merkle_sum_level in zkproofs/kernels/reference.py; the layout they
 * implement is zkproofs/tree/hashing.py's (version 2) and its record format
 * zkproofs/tree/store.py's NodeCodec:
 *
 *   record = hash (32 bytes, big-endian) || n_sums sums (sum_bytes bytes each, big-endian)
 *   leaf   = sponge_t5([Poseidon_t3([id, salt]), *pack_64([tag, amounts])]), sums = amounts
 *   parent = sponge_t5([h_L, h_R, *pack_W([tag, sums_L, sums_R])]), sums = sums_L + sums_R
 *
 * pack_w puts 254 / w values of w bits in each field element, little-endian, the last
 * zero-filled. Inputs are checked, not trusted (errors name the record): hashes and keys
 * must be < r, leaf amounts < 2^64, child sums < 2^W (so packing is injective), parent
 * sums must fit sum_bytes (and 128 bits). Sums are held as unsigned __int128 (W <= 128).
 */

/* Big-endian bytes (len <= 16) to an integer, and back. */
static u128 be_to_u128(const unsigned char *b, int len) {
    u128 v = 0;
    for (int i = 0; i < len; i++) v = (v << 8) | b[i];
    return v;
}

static void u128_to_be(unsigned char *b, int len, u128 v) {
    for (int i = len - 1; i >= 0; i--) {
        b[i] = (unsigned char)v;
        v >>= 8;
    }
}

/* A 32-byte big-endian hash to Montgomery form; -1 if it is not < r. */
static int hash_from_be(fr *out, const unsigned char *b) {
    for (int i = 0; i < 4; i++) {
        uint64_t w = 0;
        for (int j = 0; j < 8; j++) w = (w << 8) | b[8 * (3 - i) + j];
        out->l[i] = w;
    }
    if (geq_p(out->l)) return -1;
    fr_to_mont(out);
    return 0;
}

static void hash_to_be(unsigned char *b, const fr *a) {
    fr x = *a;
    fr_from_mont(&x);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++) b[8 * (3 - i) + j] = (unsigned char)(x.l[i] >> (8 * (7 - j)));
}

/* values[0..count) of `bits` bits each (callers check the bound) packed 254 / bits per
   element into out (Montgomery form); returns the number of elements. */
static int pack_values(fr *out, const u128 *values, int count, int bits) {
    const int per = 254 / bits;
    int n = 0;
    for (int start = 0; start < count; start += per, n++) {
        uint64_t acc[4] = {0, 0, 0, 0};
        for (int i = 0; i < per && start + i < count; i++) {
            const int shift = bits * i, limb = shift / 64, off = shift % 64;
            const u128 v = values[start + i];
            const uint64_t lo = (uint64_t)v, hi = (uint64_t)(v >> 64);
            /* v << off spans up to three limbs; shift + bits <= 254 keeps them inside acc */
            acc[limb] |= lo << off;
            if (limb + 1 < 4) acc[limb + 1] |= off ? (hi << off) | (lo >> (64 - off)) : hi;
            if (limb + 2 < 4 && off) acc[limb + 2] |= hi >> (64 - off);
        }
        memcpy(out[n].l, acc, sizeof acc);
        fr_to_mont(&out[n]);  /* < 2^254 < r */
    }
    return n;
}

static int packed_count(int count, int bits) { return (count + 254 / bits - 1) / (254 / bits); }

#define MAX_SUMS 4096  /* 2A sums per record: up to 2048 assets (OKX publishes 220) */
#define MAX_LEAF_AMOUNTS 8192  /* amounts a leaf hashes: 2A sums and K A pledged amounts */
#define MAX_LEAF_PREFIX 4      /* elements hashed between the commitment and the amounts (the pledge classes' digest) */

/* merkle_sum_level(capsule, records, n_sums, sum_bytes, slot_bits, tag) -> bytes: the
   parent records of the 2m child records in `records` (pairs left, right in order). */
static PyObject *py_merkle_sum_level(PyObject *self, PyObject *args) {
    PyObject *capsule;
    Py_buffer buf;
    int n_sums, sum_bytes, bits;
    unsigned long long tag;
    if (!PyArg_ParseTuple(args, "Oy*iiiK", &capsule, &buf, &n_sums, &sum_bytes, &bits, &tag)) return NULL;
    poseidon_t *p = get_poseidon(capsule);
    PyObject *result = NULL;
    fr *rows = NULL, *digests = NULL;
    u128 *sums = NULL, *packed = NULL;
    if (p == NULL) goto done;
    const Py_ssize_t size = 32 + (Py_ssize_t)n_sums * sum_bytes;
    if (n_sums < 1 || n_sums > MAX_SUMS || sum_bytes < 1 || sum_bytes > 16 || bits < 1 || bits > 128 ||
        bits > 8 * sum_bytes || (bits < 64 && tag >> bits)) {
        PyErr_Format(PyExc_ValueError, "merkle_sum_level: unsupported shape (%d sums of %d bytes, %d-bit slots, tag %llu)",
                     n_sums, sum_bytes, bits, tag);
        goto done;
    }
    if (buf.len % (2 * size)) {
        PyErr_Format(PyExc_ValueError, "merkle_sum_level: %zd bytes are not whole pairs of %zd-byte records", buf.len, size);
        goto done;
    }
    const Py_ssize_t m = buf.len / (2 * size);
    const int values = 1 + 2 * n_sums, length = 2 + packed_count(values, bits);
    result = PyBytes_FromStringAndSize(NULL, m * size);
    rows = PyMem_RawMalloc(sizeof(fr) * (size_t)length * CHUNK);
    digests = PyMem_RawMalloc(sizeof(fr) * CHUNK);
    sums = PyMem_RawMalloc(sizeof(u128) * (size_t)n_sums * CHUNK);
    packed = PyMem_RawMalloc(sizeof(u128) * (size_t)values);
    if (result == NULL || rows == NULL || digests == NULL || sums == NULL || packed == NULL) {
        if (result) PyErr_NoMemory();
        Py_CLEAR(result);
        goto done;
    }
    const unsigned char *in = buf.buf;
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(result);
    fr capacity = {{0, (uint64_t)length, 0, 0}};
    fr_to_mont(&capacity);
    const u128 bound = bits == 128 ? 0 : (u128)1 << bits, fits = sum_bytes == 16 ? 0 : (u128)1 << (8 * sum_bytes);
    Py_ssize_t bad = -1;
    const char *why = NULL;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t start = 0; start < m && bad < 0; start += CHUNK) {
        const Py_ssize_t count = m - start < CHUNK ? m - start : CHUNK;
        for (Py_ssize_t k = 0; k < count && bad < 0; k++) {
            const Py_ssize_t j = start + k;
            const unsigned char *left = in + 2 * j * size, *right = left + size;
            fr *row = &rows[k * length];
            u128 *parent = &sums[k * n_sums];
            if (hash_from_be(&row[0], left) || hash_from_be(&row[1], right)) { bad = 2 * j; why = "a child hash is not < r"; break; }
            packed[0] = tag;
            for (int i = 0; i < n_sums; i++) {
                const u128 a = be_to_u128(left + 32 + i * sum_bytes, sum_bytes);
                const u128 b = be_to_u128(right + 32 + i * sum_bytes, sum_bytes);
                if (bound && (a >= bound || b >= bound)) { bad = 2 * j; why = "a child sum is not below 2^W"; break; }
                packed[1 + i] = a;
                packed[1 + n_sums + i] = b;
                parent[i] = a + b;
                if (parent[i] < a || (fits && parent[i] >= fits)) { bad = 2 * j; why = "a parent sum does not fit its record"; break; }
            }
            if (bad >= 0) break;
            pack_values(&row[2], packed, values, bits);
        }
        if (bad >= 0) break;
        sponge_batch(p, rows, length, count, &capacity, digests);
        for (Py_ssize_t k = 0; k < count; k++) {
            unsigned char *rec = out + (start + k) * size;
            hash_to_be(rec, &digests[k]);
            for (int i = 0; i < n_sums; i++) u128_to_be(rec + 32 + i * sum_bytes, sum_bytes, sums[k * n_sums + i]);
        }
    }
    Py_END_ALLOW_THREADS
    if (bad >= 0) {
        PyErr_Format(PyExc_ValueError, "merkle_sum_level: record %zd or its sibling: %s", bad, why);
        Py_CLEAR(result);
    }
done:
    PyMem_RawFree(rows);
    PyMem_RawFree(digests);
    PyMem_RawFree(sums);
    PyMem_RawFree(packed);
    PyBuffer_Release(&buf);
    return result;
}

/* merkle_sum_leaves(capsule_t3, capsule_t5, keys, amounts, n_amounts, n_sums, sum_bytes, tag, prefix) -> bytes:
   the leaf records of users with keys[i] = (id field, salt) (canonical elements) and
   amounts[i] (n_amounts ints in [0, 2^64), all hashed; the first n_sums are the record's sums);
   prefix: up to MAX_LEAF_PREFIX canonical elements hashed after the commitment, the same in every leaf. */
static PyObject *py_merkle_sum_leaves(PyObject *self, PyObject *args) {
    PyObject *cap3, *cap5, *keys_o, *amounts_o, *prefix_o;
    int n_amounts, n_sums, sum_bytes;
    unsigned long long tag;
    if (!PyArg_ParseTuple(args, "OOOOiiiKO", &cap3, &cap5, &keys_o, &amounts_o, &n_amounts, &n_sums, &sum_bytes, &tag, &prefix_o)) return NULL;
    poseidon_t *p3 = get_poseidon(cap3), *p5 = get_poseidon(cap5);
    if (p3 == NULL || p5 == NULL) return NULL;
    if (p3->t != 3 || n_sums < 1 || n_sums > MAX_SUMS || n_amounts < n_sums || n_amounts > MAX_LEAF_AMOUNTS || sum_bytes < 8 || sum_bytes > 16) {
        PyErr_Format(PyExc_ValueError, "merkle_sum_leaves: unsupported shape (t = %d commitment, %d amounts, %d sums of %d bytes)",
                     p3->t, n_amounts, n_sums, sum_bytes);
        return NULL;
    }
    fr prefix[MAX_LEAF_PREFIX];
    PyObject *prefix_seq = PySequence_Fast(prefix_o, "prefix must be a sequence");
    if (prefix_seq == NULL) return NULL;
    const int n_prefix = (int)PySequence_Fast_GET_SIZE(prefix_seq);
    int bad_prefix = n_prefix > MAX_LEAF_PREFIX;
    for (int i = 0; i < n_prefix && !bad_prefix; i++) bad_prefix = load(PySequence_Fast_GET_ITEM(prefix_seq, i), &prefix[i], 1) != 0;
    Py_DECREF(prefix_seq);
    if (bad_prefix) {
        PyErr_Clear();
        PyErr_Format(NonCanonical, "merkle_sum_leaves: the prefix is not at most %d elements in [0, r)", MAX_LEAF_PREFIX);
        return NULL;
    }
    /* tuples of our own: a key's or a row's conversion cannot shrink the sequences under us */
    PyObject *keys = PySequence_Tuple(keys_o);
    if (keys == NULL) return NULL;
    PyObject *amounts = PySequence_Tuple(amounts_o);
    if (amounts == NULL) { Py_DECREF(keys); return NULL; }
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(keys), size = 32 + (Py_ssize_t)n_sums * sum_bytes;
    const Py_ssize_t rows_alloc = n < CHUNK ? (n > 0 ? n : 1) : CHUNK;  /* a chunk's rows, or fewer for a small call */
    const int values = 1 + n_amounts, length = 1 + n_prefix + packed_count(values, 64);
    PyObject *result = NULL;
    fr *pairs = PyMem_RawMalloc(sizeof(fr) * 2 * rows_alloc), *commits = PyMem_RawMalloc(sizeof(fr) * rows_alloc);
    fr *rows = PyMem_RawMalloc(sizeof(fr) * (size_t)length * rows_alloc), *digests = PyMem_RawMalloc(sizeof(fr) * rows_alloc);
    uint64_t *amts = PyMem_RawMalloc(sizeof(uint64_t) * (size_t)n_amounts * rows_alloc);
    u128 *packed = PyMem_RawMalloc(sizeof(u128) * (size_t)values);
    if (PySequence_Fast_GET_SIZE(amounts) != n) {
        PyErr_Format(PyExc_ValueError, "merkle_sum_leaves: %zd keys but %zd amount rows", n, PySequence_Fast_GET_SIZE(amounts));
        goto done;
    }
    if (pairs == NULL || commits == NULL || rows == NULL || digests == NULL || amts == NULL || packed == NULL) { PyErr_NoMemory(); goto done; }
    result = PyBytes_FromStringAndSize(NULL, n * size);
    if (result == NULL) goto done;
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(result);
    fr cap_commit = {{0, 2, 0, 0}}, cap_leaf = {{0, (uint64_t)length, 0, 0}};
    fr_to_mont(&cap_commit);
    fr_to_mont(&cap_leaf);
    for (Py_ssize_t start = 0; start < n; start += CHUNK) {
        const Py_ssize_t count = n - start < CHUNK ? n - start : CHUNK;
        for (Py_ssize_t k = 0; k < count; k++) {
            const Py_ssize_t j = start + k;
            PyObject *key = PySequence_Fast(PySequence_Fast_GET_ITEM(keys, j), "a key must be a sequence");
            if (key == NULL) goto fail;
            int rc = PySequence_Fast_GET_SIZE(key) == 2 ? 0 : 2;
            for (int i = 0; i < 2 && rc == 0; i++) rc = load(PySequence_Fast_GET_ITEM(key, i), &pairs[2 * k + i], 1);
            Py_DECREF(key);
            if (rc != 0) {
                PyErr_Format(NonCanonical, "merkle_sum_leaves: key %zd is not a pair of elements in [0, r)", j);
                goto fail;
            }
            PyObject *row = PySequence_Fast(PySequence_Fast_GET_ITEM(amounts, j), "amounts must be sequences");
            if (row == NULL) goto fail;
            rc = PySequence_Fast_GET_SIZE(row) == n_amounts ? 0 : 1;
            for (int i = 0; i < n_amounts && rc == 0; i++) {
                PyObject *x = PySequence_Fast_GET_ITEM(row, i);
                unsigned char b[32];
                rc = (PyLong_Check(x) && !PyBool_Check(x)) ? int_to_bytes(x, b) : 1;
                if (rc == 0) {
                    uint64_t l[4];
                    limbs_from_bytes(l, b);
                    if (l[1] | l[2] | l[3]) rc = 1;
                    amts[k * n_amounts + i] = l[0];
                }
            }
            Py_DECREF(row);
            if (rc != 0) {
                if (rc < 0) PyErr_Clear();
                PyErr_Format(PyExc_ValueError, "merkle_sum_leaves: amounts %zd are not %d ints in [0, 2^64)", j, n_amounts);
                goto fail;
            }
        }
        Py_BEGIN_ALLOW_THREADS
        sponge_batch(p3, pairs, 2, count, &cap_commit, commits);
        for (Py_ssize_t k = 0; k < count; k++) {
            packed[0] = tag;
            for (int i = 0; i < n_amounts; i++) packed[1 + i] = amts[k * n_amounts + i];
            rows[k * length] = commits[k];
            for (int i = 0; i < n_prefix; i++) rows[k * length + 1 + i] = prefix[i];
            pack_values(&rows[k * length + 1 + n_prefix], packed, values, 64);
        }
        sponge_batch(p5, rows, length, count, &cap_leaf, digests);
        for (Py_ssize_t k = 0; k < count; k++) {
            unsigned char *rec = out + (start + k) * size;
            hash_to_be(rec, &digests[k]);
            for (int i = 0; i < n_sums; i++) u128_to_be(rec + 32 + i * sum_bytes, sum_bytes, amts[k * n_amounts + i]);
        }
        Py_END_ALLOW_THREADS
    }
    goto done;
fail:
    Py_CLEAR(result);
done:
    PyMem_RawFree(pairs);
    PyMem_RawFree(commits);
    PyMem_RawFree(rows);
    PyMem_RawFree(digests);
    PyMem_RawFree(amts);
    PyMem_RawFree(packed);
    Py_DECREF(keys);
    Py_DECREF(amounts);
    return result;
}
