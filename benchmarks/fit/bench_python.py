"""Python side of the Fit benchmark: scikit-learn LogisticRegression (lbfgs) on the same
difference vectors as the Java LINEAR fit, and the same MLP in PyTorch (CPU) or, when torch
is not importable, in numpy. Reads the data FitBenchmark wrote; prints one line per run."""
import os
import sys
import time

import numpy as np

d = sys.argv[1]
threads = int(os.environ.get("BENCH_THREADS", "2"))
epochs = int(os.environ.get("BENCH_MLP_EPOCHS", "10"))  # as -Dactiverm.bench.mlp.epochs on the Java side


def blas_info():
    try:
        from threadpoolctl import threadpool_info
        for i in threadpool_info():
            if i.get("internal_api") == "openblas":
                print(f"numpy/scipy openblas {i.get('version')} core={i.get('architecture')} "
                      f"threads={i.get('num_threads')} OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}", flush=True)
    except ImportError:
        pass


def load(name):
    rows, dim, n = map(int, open(f"{d}/{name}_shape.txt").read().split())
    x = np.fromfile(f"{d}/{name}_x.f32", dtype="<f4").reshape(rows, dim)
    a = np.fromfile(f"{d}/{name}_a.i32", dtype="<i4")
    b = np.fromfile(f"{d}/{name}_b.i32", dtype="<i4")
    y = np.fromfile(f"{d}/{name}_y.u8", dtype=np.uint8)
    return x, a, b, y


def linear():
    from sklearn.linear_model import LogisticRegression

    x, a, b, y = load("linear")
    z = x[a].astype(np.float64) - x[b].astype(np.float64)  # exact, as on the Java side
    n = z.shape[0]
    lam = 1.0
    # Java minimises sum_k BCE + lam/2 ||w||^2 and stops at ||grad||_inf <= tol_sum.
    # scikit-learn >= 1.2 minimises (1/n) sum_k logloss + (1/(C n))/2 ||w||^2, gtol on that
    # scaled gradient: C = 1/lam and tol = tol_sum / n give the same objective and stopping rule.
    for tol_sum in (0.1, 1e-3):
        clf = LogisticRegression(C=1.0 / lam, fit_intercept=False, solver="lbfgs", tol=tol_sum / n, max_iter=100000)
        t0 = time.perf_counter()
        clf.fit(z, y)
        secs = time.perf_counter() - t0
        w = clf.coef_.ravel()
        s = z @ w
        p = 1 / (1 + np.exp(-s))
        grad = z.T @ (p - y) + lam * w
        wj = np.fromfile(f"{d}/linear_w_tol{tol_sum}.f64", dtype="<f8")
        rel = np.max(np.abs(wj - w)) / np.max(np.abs(w))
        print(f"sklearn tol_sum={tol_sum:g} seconds={secs:.3f} iterations={int(clf.n_iter_[0])} "
              f"grad_inf={np.max(np.abs(grad)):.3e} max_rel_diff_vs_java_w={rel:.2e}", flush=True)


def mlp():
    x, a, b, y = load("mlp")
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(threads)
        torch.manual_seed(1)
        dim = x.shape[1]
        net = torch.nn.Sequential(
            torch.nn.Linear(dim, 512), torch.nn.GELU(approximate="tanh"),
            torch.nn.Linear(512, 512), torch.nn.GELU(approximate="tanh"),
            torch.nn.Linear(512, 512), torch.nn.GELU(approximate="tanh"),
            torch.nn.Linear(512, 1, bias=False))
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.0)
        xt = torch.from_numpy(x)
        at, bt = torch.from_numpy(a.astype(np.int64)), torch.from_numpy(b.astype(np.int64))
        yt = torch.from_numpy(y.astype(np.float32))
        n = len(a)
        g = torch.Generator().manual_seed(1)
        start_at = float(os.environ.get("BENCH_START_AT", "0"))  # as -Dactiverm.bench.start.at
        time.sleep(max(0.0, start_at - time.time()))
        t0 = time.perf_counter()
        c0 = time.process_time()
        for epoch in range(epochs):
            perm = torch.randperm(n, generator=g)
            for i in range(0, n, 256):
                idx = perm[i:i + 256]
                rows = torch.cat([xt[at[idx]], xt[bt[idx]]])
                r = net(rows).squeeze(1)
                m = len(idx)
                s = r[:m] - r[m:]
                loss = torch.nn.functional.binary_cross_entropy_with_logits(s, yt[idx]) \
                    + 0.5 * (1.0 / n) * net[-1].weight.pow(2).sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
        secs = time.perf_counter() - t0
        cpu = time.process_time() - c0
        with torch.no_grad():
            r = net(xt).squeeze(1).double()
            s = r[at] - r[bt]
            train_loss = torch.nn.functional.binary_cross_entropy_with_logits(s, yt.double()).item()
            train_acc = ((s > 0).double() == yt.double()).double().mean().item()
        print(f"torch {torch.__version__} mlp seconds={secs:.3f} cpu_seconds={cpu:.3f} epochs={epochs} threads={torch.get_num_threads()} "
              f"train_loss={train_loss:.5f} train_acc={train_acc:.4f}", flush=True)
    else:
        print("torch not importable; numpy MLP instead", flush=True)
        numpy_mlp(x, a, b, y)


def numpy_mlp(x, a, b, y):
    rng = np.random.default_rng(1)
    sizes = [x.shape[1], 512, 512, 512]
    W = [rng.uniform(-1, 1, (sizes[l + 1], sizes[l])).astype(np.float32) / np.float32(np.sqrt(sizes[l])) for l in range(3)]
    B = [rng.uniform(-1, 1, sizes[l + 1]).astype(np.float32) / np.float32(np.sqrt(sizes[l])) for l in range(3)]
    w = (rng.uniform(-1, 1, 512) / np.sqrt(512)).astype(np.float32)
    params = W + B + [w]
    m1 = [np.zeros_like(p) for p in params]
    m2 = [np.zeros_like(p) for p in params]
    c = np.float32(np.sqrt(2 / np.pi))
    n = len(a)
    t = 0
    t0 = time.perf_counter()
    for epoch in range(10):
        perm = rng.permutation(n)
        for i in range(0, n, 256):
            idx = perm[i:i + 256]
            m = len(idx)
            h = np.concatenate([x[a[idx]], x[b[idx]]])
            pres, acts = [], [h]
            for l in range(3):
                p = acts[-1] @ W[l].T + B[l]
                u = c * (p + np.float32(0.044715) * p ** 3)
                sg = 1 / (1 + np.exp(-2 * u))
                pres.append((p, u, sg))
                acts.append(p * sg)
            r = acts[-1] @ w
            s = r[:m] - r[m:]
            ds = (1 / (1 + np.exp(-s)) - y[idx]) / m
            dr = np.concatenate([ds, -ds]).astype(np.float32)
            gw = acts[-1].T @ dr + (1.0 / n) * w
            da = np.outer(dr, w)
            gW, gB = [None] * 3, [None] * 3
            for l in (2, 1, 0):
                p, u, sg = pres[l]
                du = c * (1 + 3 * np.float32(0.044715) * p * p)
                dp = da * (sg + p * sg * (1 - sg) * 2 * du)
                gW[l] = dp.T @ acts[l]
                gB[l] = dp.sum(0)
                if l > 0:
                    da = dp @ W[l]
            grads = gW + gB + [gw.astype(np.float32)]
            t += 1
            for j, (p, g) in enumerate(zip(params, grads)):
                m1[j] = 0.9 * m1[j] + 0.1 * g
                m2[j] = 0.999 * m2[j] + 0.001 * g * g
                p -= (1e-3 / (1 - 0.9 ** t)) * m1[j] / (np.sqrt(m2[j]) / np.sqrt(1 - 0.999 ** t) + 1e-8)
    secs = time.perf_counter() - t0
    print(f"numpy {np.__version__} mlp seconds={secs:.3f} epochs=10", flush=True)


import sklearn.linear_model  # noqa: E402,F401  (loads scipy/numpy BLAS before blas_info looks)
blas_info()
if os.environ.get("BENCH_ONLY") != "mlp":  # BENCH_ONLY=mlp as -Dactiverm.bench.only=mlp
    linear()
mlp()
