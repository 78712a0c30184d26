"""Course workloads timed in minikeras and in TensorFlow Keras, side by side on this machine.

    python compat/bench.py [WORKLOAD ...] [--repeats 5] [--blas-threads 1] [--only minikeras]

Workloads: `import` (a bare import, timed as a whole process), `course` (the course's Part 1 script,
examples/linear_regression.py, end to end: `python -m minikeras` against plain `python`), `cnn` (the course's Part 2 CNN, compat/mnist_cnn.py, one epoch of 6000 images at batch 200 with
validation_split=0.2), `lstm1` and `lstm32` (the course's Part 3 `LSTM(128, input_shape=(5, 1))` + Dense(1),
mse, adam: one epoch of 1000 sequences at batch_size 1 and 32), `mlp` (784-512-512-10, rmsprop, one epoch
of 60000 rows at batch 128), `predict` (that MLP on 60000 rows at batch 32), `small_mlp` (800 single-sample
steps of a 2-8-1 classifier). Each library runs in a fresh subprocess, alternating, so neither inherits the
other's warm caches or thread pools; a warm-up epoch comes first and the fastest of the timed epochs
counts. Printed: medians of wall clock and process CPU time (every thread counted), peak memory of the
process, the ratio TF/minikeras, and the machine load before and after; for `mlp`, also the float32 GEMM
peak of this machine (numpy's BLAS, measured in the same run) and the fraction of it each library reaches.
For `course` and `mlp` a third contestant, `numpy`, times the same work with no Keras at all: the script's
own imports, data and plot; a minimal plain-NumPy epoch of the same MLP (preallocated, fewest passes). Its
time is a floor for any Keras library here, so TF/floor is the highest ratio one could reach.
Data is synthetic. The checkout's bytecode is compiled first, as an installed package has it (with
PYTHONDONTWRITEBYTECODE set, an editable checkout would otherwise recompile every module on each import).
"""
import argparse
import compileall
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cnn_workload(keras, np):
    rng = np.random.default_rng(0)
    x = rng.random((6000, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 6000)]
    layers = keras.layers
    model = keras.Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(16, (5, 5), padding="valid", activation="relu"),
        layers.MaxPool2D(2),
        layers.Conv2D(8, 4, padding="same", activation="relu"),
        layers.MaxPool2D(2),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return lambda: model.fit(x, y, batch_size=200, epochs=1, validation_split=0.2, verbose=0)


def lstm_workload(batch_size):
    def build(keras, np):
        rng = np.random.default_rng(0)
        x = rng.random((1000, 5, 1), dtype=np.float32)
        y = x.sum(axis=1)
        model = keras.Sequential([keras.layers.Input((5, 1)), keras.layers.LSTM(128), keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mean_squared_error")
        return lambda: model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    return build


def mnist_data(np):
    rng = np.random.default_rng(0)
    return rng.random((60000, 784), dtype=np.float32), np.eye(10, dtype=np.float32)[rng.integers(0, 10, 60000)]


def mnist_mlp(keras, np):
    """Issue 7's MNIST-sized MLP: 784-512-512-10, rmsprop, batch 128, on 60000 synthetic rows."""
    x, y = mnist_data(np)
    layers = keras.layers
    model = keras.Sequential([layers.Input((784,)), layers.Dense(512, activation="relu"),
                              layers.Dense(512, activation="relu"), layers.Dense(10, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model, x, y


def mlp_flops_per_epoch():
    """Multiply-adds x 2 of one MLP epoch: the forward GEMMs, the kernel gradients, and the input
    gradients of every layer but the first (its input needs none)."""
    sizes = [784, 512, 512, 10]
    layers = list(itertools.pairwise(sizes))
    per_row = sum(2 * a * b for a, b in layers) * 2 + sum(2 * a * b for a, b in layers[1:])
    return per_row * 60000


def gemm_peak_gflops():
    """The best float32 GEMM rate numpy's BLAS reaches here, on square matrices of a few sizes."""
    import numpy as np

    best = 0.0
    for n in (1024, 2048):
        a, b = np.ones((n, n), np.float32), np.ones((n, n), np.float32)
        out = a @ b
        for _ in range(5):
            start = time.perf_counter()
            np.matmul(a, b, out=out)
            best = max(best, 2 * n ** 3 / (time.perf_counter() - start) / 1e9)
    return best


def mlp_workload(keras, np):
    model, x, y = mnist_mlp(keras, np)
    return lambda: model.fit(x, y, batch_size=128, epochs=1, verbose=0)


def predict_workload(keras, np):
    model, x, _ = mnist_mlp(keras, np)
    return lambda: model.predict(x, batch_size=32, verbose=0)


def small_mlp_workload(keras, np):
    """800 single-sample steps of a course-sized classifier (per-step overhead)."""
    rng = np.random.default_rng(0)
    x = rng.random((800, 2), dtype=np.float32)
    y = (x[:, 0] > x[:, 1]).astype(np.float32)
    model = keras.Sequential([keras.layers.Input((2,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    return lambda: model.fit(x, y, batch_size=1, epochs=1, verbose=0)


def numpy_mlp_epoch(np):
    """The floor under `mlp`: the same epoch written out in plain NumPy with preallocated arrays and the
    fewest passes (shuffled batches, relu, softmax with crossentropy, loss and accuracy per step, RMSprop)."""
    x, y = mnist_data(np)
    rng, f32, batch = np.random.default_rng(1), np.float32, 128
    sizes = [784, 512, 512, 10]
    kernels = [(rng.standard_normal(shape) * 0.05).astype(f32) for shape in itertools.pairwise(sizes)]
    weights = kernels + [np.zeros(units, f32) for units in sizes[1:]]
    grads, velocities = [np.empty_like(w) for w in weights], [np.zeros_like(w) for w in weights]
    scratch = [(np.empty_like(w), np.empty_like(w)) for w in weights]
    z = [np.empty((batch, units), f32) for units in sizes[1:]]
    dz = [np.empty((batch, units), f32) for units in sizes[1:]]
    positive = [np.empty((batch, units), bool) for units in sizes[1:3]]
    lr, rho, one_minus_rho, epsilon = f32(0.001), f32(0.9), f32(0.1), f32(1e-7)

    def step(xb, yb):
        n = len(xb)
        outputs, deltas, masks = [a[:n] for a in z], [a[:n] for a in dz], [a[:n] for a in positive]
        a = xb
        for i in range(3):
            np.matmul(a, kernels[i], out=outputs[i])
            outputs[i] += weights[3 + i]
            if i < 2:
                np.maximum(outputs[i], 0, out=outputs[i])
            a = outputs[i]
        a -= a.max(axis=1, keepdims=True)
        np.exp(a, out=a)
        a /= a.sum(axis=1, keepdims=True)
        loss, accuracy = -np.log(a[yb.astype(bool)]).mean(), (a.argmax(1) == yb.argmax(1)).mean()
        np.subtract(a, yb, out=deltas[2])
        deltas[2] *= f32(1 / n)
        inputs = [xb, outputs[0], outputs[1]]
        for i in (2, 1, 0):
            np.matmul(inputs[i].T, deltas[i], out=grads[i])
            np.add.reduce(deltas[i], axis=0, out=grads[3 + i])
            if i:
                np.matmul(deltas[i], kernels[i].T, out=deltas[i - 1])
                np.greater(outputs[i - 1], 0, out=masks[i - 1])
                deltas[i - 1] *= masks[i - 1]
        for w, g, v, (d, t) in zip(weights, grads, velocities, scratch):
            np.square(g, out=t)
            t *= one_minus_rho
            v *= rho
            v += t
            np.add(v, epsilon, out=d)
            np.sqrt(d, out=d)
            np.multiply(g, lr, out=t)
            np.divide(t, d, out=d)
            w -= d
        return float(loss), float(accuracy)

    def epoch():
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch):
            rows = order[start:start + batch]
            step(x[rows], y[rows])

    return epoch


WORKLOADS = {"cnn": cnn_workload, "lstm1": lstm_workload(1), "lstm32": lstm_workload(32), "mlp": mlp_workload,
             "predict": predict_workload, "small_mlp": small_mlp_workload}


def time_workload(library, workload, epochs):
    """Warm up with one epoch, then time `epochs` more; the fastest (wall, cpu) in seconds."""
    import numpy as np

    epoch = numpy_mlp_epoch(np) if library == "numpy" else WORKLOADS[workload](__import__(library), np)
    epoch()
    timings = []
    for _ in range(epochs):
        wall, cpu = time.perf_counter(), time.process_time()
        epoch()
        timings.append((time.perf_counter() - wall, time.process_time() - cpu))
    return min(timings)


def peak_memory_mb():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# Whole processes, timed from outside: the import alone, and the course's Part 1 script end to end.
PROCESS_WORKLOADS = {
    "import": {"minikeras": ["-c", "import minikeras"], "keras": ["-c", "import keras"]},
    "course": {"minikeras": ["-m", "minikeras", "examples/linear_regression.py"],
               "keras": ["examples/linear_regression.py"],
               # the script's own part: its imports, data and plot, with the model's two predictions as zeros
               "numpy": ["-c", ("import numpy as np; import matplotlib.pyplot as plt; x = np.linspace(1, 10, 1000); "
                                "plt.plot(x, 2 * x + 1); plt.scatter([12, 14], np.zeros((2, 1))); plt.show()")]},
}
FLOORS = {"course", "mlp"}


ALL_WORKLOADS = [*PROCESS_WORKLOADS, *WORKLOADS]


def environment(blas_threads):
    """The workers import this checkout's minikeras, whichever one is installed."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join(
        filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    if blas_threads:
        env["OPENBLAS_NUM_THREADS"] = str(blas_threads)
    return env


def run_process(library, workload, blas_threads):
    """Wall clock, CPU time and peak memory of one whole `python ...` process."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, *PROCESS_WORKLOADS[workload][library]], env=environment(blas_threads),
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if status:
        raise RuntimeError(f"{workload} under {library} exited with status {status}")
    return {"wall": time.perf_counter() - start, "cpu": usage.ru_utime + usage.ru_stime,
            "peak_mb": usage.ru_maxrss / 1024}


def run_worker(library, workload, epochs, blas_threads):
    if workload in PROCESS_WORKLOADS:
        return run_process(library, workload, blas_threads)
    done = subprocess.run([sys.executable, __file__, "--worker", library, workload, "--epochs", str(epochs)],
                          env=environment(blas_threads), cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def load():
    with open("/proc/loadavg") as f:
        return f.read().strip()


def compare(workload, libraries, repeats, epochs, blas_threads):
    print(f"{workload}: load before {load()}")
    runs = {library: [] for library in libraries}
    for _ in range(repeats):
        for library in libraries:
            runs[library].append(run_worker(library, workload, epochs, blas_threads if library == "minikeras" else None))
    medians = {library: {kind: statistics.median(run[kind] for run in results) for kind in ("wall", "cpu", "peak_mb")}
               for library, results in runs.items()}
    for library, median in medians.items():
        print(f"  {library:9s} median: wall {median['wall']:.3f} s, cpu {median['cpu']:.3f} s, "
              f"peak memory {median['peak_mb']:.0f} MB")
    if workload == "mlp":
        peak = statistics.median(gemm_peak_gflops() for _ in range(3))
        achieved = {library: mlp_flops_per_epoch() / median["wall"] / 1e9 for library, median in medians.items()}
        print(f"  GEMM peak {peak:.0f} GFLOP/s: " + ", ".join(
            f"{library} {rate:.0f} GFLOP/s ({rate / peak:.0%})" for library, rate in achieved.items()))
    if "keras" in medians and "minikeras" in medians:
        print("  ratio TF/minikeras: wall {:.2f}, cpu {:.2f}".format(
            *(medians["keras"][kind] / medians["minikeras"][kind] for kind in ("wall", "cpu"))))
    if "keras" in medians and "numpy" in medians:
        print("  ratio TF/floor (the most any Keras could reach here): wall {:.2f}".format(
            medians["keras"]["wall"] / medians["numpy"]["wall"]))
    print(f"  load after {load()}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workloads", nargs="*", default=ALL_WORKLOADS, help=f"any of {', '.join(ALL_WORKLOADS)}")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per process (the fastest counts)")
    parser.add_argument("--only", choices=["minikeras", "keras", "numpy"])
    parser.add_argument("--blas-threads", type=int, help="OPENBLAS_NUM_THREADS for minikeras's processes")
    parser.add_argument("--worker", choices=["minikeras", "keras", "numpy"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    unknown = [name for name in args.workloads if name not in ALL_WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {ALL_WORKLOADS}")
    if args.worker:
        wall, cpu = time_workload(args.worker, args.workloads[0], args.epochs)
        print(json.dumps({"wall": wall, "cpu": cpu, "peak_mb": peak_memory_mb()}))
        return
    compileall.compile_dir(REPO / "minikeras", quiet=1)
    for workload in args.workloads:
        libraries = ["minikeras", "keras"] + (["numpy"] if workload in FLOORS else [])
        if args.only and args.only not in libraries:
            parser.error(f"--only {args.only}: there is no {args.only} run of {workload}")
        compare(workload, [args.only] if args.only else libraries, args.repeats, args.epochs, args.blas_threads)


if __name__ == "__main__":
    main()
