/* A tiny C extension: the kind of compiled dependency that needs gcc to build, and not to run. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *mean_abs(PyObject *self, PyObject *args) {
    PyObject *seq;
    if (!PyArg_ParseTuple(args, "O", &seq)) return NULL;
    PyObject *fast = PySequence_Fast(seq, "expected a sequence of numbers");
    if (fast == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    double total = 0.0;
    for (Py_ssize_t i = 0; i < n; i++) {
        double x = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(fast, i));
        if (x == -1.0 && PyErr_Occurred()) { Py_DECREF(fast); return NULL; }
        total += x < 0 ? -x : x;
    }
    Py_DECREF(fast);
    return PyFloat_FromDouble(n ? total / (double)n : 0.0);
}

static PyMethodDef methods[] = {
    {"mean_abs", mean_abs, METH_VARARGS, "Mean of the absolute values of a sequence."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "fastscore", NULL, -1, methods};

PyMODINIT_FUNC PyInit_fastscore(void) { return PyModule_Create(&module); }
