"""Seconds per training epoch of the course's Part 2 CNN (compat/mnist_cnn.py), minikeras vs TensorFlow Keras.

    python compat/bench_cnn.py --compare [--repeats 5] [--epochs 3] [--blas-threads 1] [--only minikeras]

runs each library in a fresh subprocess, alternating, so neither inherits the other's warm caches or thread
pools, and prints the medians (wall clock and process CPU time, which counts every thread) with the ratio
TF/minikeras and the machine load. Data is synthetic: random 28x28x1 images with one-hot labels, fit with
validation_split=0.2 and batch_size=200 as the course; 6000 images give 24 training steps per epoch.

Without --compare this is an ordinary course script, as every script in compat/ is: it trains the CNN on
a few synthetic images with whatever `keras` is, and compat/test_course_scripts.py runs it under both.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def time_epochs(keras, images, epochs):
    """Build and train the course CNN; the first epoch warms up (build, BLAS threads, TF tracing), then
    `epochs` more are timed one by one. Returns the fastest (wall, cpu) seconds."""
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.random((images, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, images)]
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
    model.fit(x, y, batch_size=200, epochs=1, validation_split=0.2, verbose=0)
    wall, cpu = [], []
    for _ in range(epochs):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        model.fit(x, y, batch_size=200, epochs=1, validation_split=0.2, verbose=0)
        wall.append(time.perf_counter() - wall_start)
        cpu.append(time.process_time() - cpu_start)
    return min(wall), min(cpu)


def run_worker(library, epochs, blas_threads):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if blas_threads:
        env["OPENBLAS_NUM_THREADS"] = str(blas_threads)
    done = subprocess.run([sys.executable, __file__, "--worker", library, "--epochs", str(epochs)], env=env,
                          cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def load():
    with open("/proc/loadavg") as f:
        return f.read().strip()


def compare(libraries, repeats, epochs, blas_threads):
    print("load before:", load())
    runs = {library: [] for library in libraries}
    for repeat in range(repeats):
        for library in libraries:
            result = run_worker(library, epochs, blas_threads if library == "minikeras" else None)
            runs[library].append(result)
            print(f"  run {repeat + 1} {library:9s} wall {result['wall']:.3f} s  cpu {result['cpu']:.3f} s",
                  flush=True)
    print("load after: ", load())
    medians = {library: {kind: statistics.median(run[kind] for run in results) for kind in ("wall", "cpu")}
               for library, results in runs.items()}
    for library, median in medians.items():
        print(f"{library:9s} median epoch: wall {median['wall']:.3f} s, cpu {median['cpu']:.3f} s")
    if len(medians) == 2:
        for kind in ("wall", "cpu"):
            print(f"ratio TF/minikeras ({kind}): {medians['keras'][kind] / medians['minikeras'][kind]:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compare", action="store_true", help="the benchmark: alternating subprocesses")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per process (the fastest is kept)")
    parser.add_argument("--only", choices=["minikeras", "keras"])
    parser.add_argument("--blas-threads", type=int, help="OPENBLAS_NUM_THREADS for minikeras's processes")
    parser.add_argument("--worker", choices=["minikeras", "keras"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compare:
        compare([args.only] if args.only else ["minikeras", "keras"], args.repeats, args.epochs, args.blas_threads)
    elif args.worker:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        wall, cpu = time_epochs(__import__(args.worker), 6000, args.epochs)
        print(json.dumps({"library": args.worker, "wall": wall, "cpu": cpu}))
    else:
        import keras
        wall, cpu = time_epochs(keras, 400, 1)
        print(f"CNN epoch on 400 images: wall {wall:.3f} s, cpu {cpu:.3f} s")


if __name__ == "__main__":
    main()
