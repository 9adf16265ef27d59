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
# The MLP's objective: "anchored" (the default, run.sh's too) is activerm's since session 6,
# (lambda/2N) (||w||^2 + sum_l ||W_l - W_l0||^2) over the hidden weight matrices W_l, W_l0 their
# initial draw (MlpAnchorPrior, MlpTrainer); "none" is the benchmark before it: (lambda/2N) ||w||^2 only.
prior = os.environ.get("BENCH_MLP_PRIOR", "anchored")
if prior not in ("anchored", "none"):
    sys.exit(f"BENCH_MLP_PRIOR must be anchored or none, not {prior!r}")


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
        hidden = [net[0], net[2], net[4]]
        anchors = [h.weight.detach().clone() for h in hidden]  # W_l0: this seed's initial draw
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.0)
        xt = torch.from_numpy(x)
        at, bt = torch.from_numpy(a.astype(np.int64)), torch.from_numpy(b.astype(np.int64))
        yt = torch.from_numpy(y.astype(np.float32))
        n = len(a)
        lam = 1.0  # FitBenchmark's lambda; N = n (no held-out part), so lambda/N = 1/n as on the Java side
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
                    + 0.5 * (lam / n) * net[-1].weight.pow(2).sum()
                if prior == "anchored":
                    loss = loss + 0.5 * (lam / n) * sum((h.weight - a0).pow(2).sum() for h, a0 in zip(hidden, anchors))
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
            objective = train_loss + anchored_prior(net, anchors, lam / n)
        print(f"torch {torch.__version__} mlp seconds={secs:.3f} cpu_seconds={cpu:.3f} epochs={epochs} threads={torch.get_num_threads()} "
              f"prior={prior} train_loss={train_loss:.5f} train_acc={train_acc:.4f} anchored_objective={objective:.8f}", flush=True)
        check_java_objective(torch, xt, at, bt, yt, lam / n)
    else:
        print("torch not importable; numpy MLP instead", flush=True)
        numpy_mlp(x, a, b, y)


def anchored_prior(net, anchors, penalty):
    """(penalty/2) (||w||^2 + sum_l ||W_l - W_l0||^2) in double: the prior part of activerm's objective."""
    sq = net[-1].weight.double().pow(2).sum()
    for h, a0 in zip([net[0], net[2], net[4]], anchors):
        sq = sq + (h.weight.double() - a0.double()).pow(2).sum()
    return 0.5 * penalty * sq.item()


def check_java_objective(torch, xt, at, bt, yt, penalty):
    """This file's anchored objective (the training loss above, in double over all pairs) at the
    Java fit's result and anchor (FitBenchmark wrote them), against the objective Java reports:
    the same function of the same weights must give the same value up to float32 rounding."""
    if not os.path.exists(f"{d}/mlp_java_final_w.f32"):
        return
    java = [l for l in open(f"{d}/java.txt") if l.startswith("mlp objective=")]

    def tensor(name, shape):
        return torch.from_numpy(np.fromfile(f"{d}/{name}.f32", dtype="<f4").reshape(shape)).double()

    dim = xt.shape[1]
    net = torch.nn.Sequential(
        torch.nn.Linear(dim, 512), torch.nn.GELU(approximate="tanh"),
        torch.nn.Linear(512, 512), torch.nn.GELU(approximate="tanh"),
        torch.nn.Linear(512, 512), torch.nn.GELU(approximate="tanh"),
        torch.nn.Linear(512, 1, bias=False)).double()
    sizes = [dim, 512, 512, 512]
    with torch.no_grad():
        for l in range(3):
            net[2 * l].weight.copy_(tensor(f"mlp_java_final_W{l}", (sizes[l + 1], sizes[l])))
            net[2 * l].bias.copy_(tensor(f"mlp_java_final_b{l}", (sizes[l + 1],)))
        net[-1].weight.copy_(tensor("mlp_java_final_w", (1, 512)))
        anchors = [tensor(f"mlp_java_anchor_W{l}", (sizes[l + 1], sizes[l])) for l in range(3)]
        r = net(xt.double()).squeeze(1)
        s = r[at] - r[bt]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(s, yt.double()).item()
        objective = loss + anchored_prior(net, anchors, penalty)
    said = float(java[0].split()[1].split("=")[1]) if java else float("nan")
    print(f"java weights: torch anchored_objective={objective:.8f} java objective={said:.8f} "
          f"rel_diff={abs(objective - said) / said:.2e}", flush=True)


def numpy_mlp(x, a, b, y):
    rng = np.random.default_rng(1)
    sizes = [x.shape[1], 512, 512, 512]
    W = [rng.uniform(-1, 1, (sizes[l + 1], sizes[l])).astype(np.float32) / np.float32(np.sqrt(sizes[l])) for l in range(3)]
    B = [rng.uniform(-1, 1, sizes[l + 1]).astype(np.float32) / np.float32(np.sqrt(sizes[l])) for l in range(3)]
    w = (rng.uniform(-1, 1, 512) / np.sqrt(512)).astype(np.float32)
    W0 = [Wl.copy() for Wl in W]  # the anchored prior's W_l0 (BENCH_MLP_PRIOR=anchored)
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
                if prior == "anchored":
                    gW[l] += np.float32(1.0 / n) * (W[l] - W0[l])
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
    print(f"numpy {np.__version__} mlp seconds={secs:.3f} epochs=10 prior={prior}", flush=True)


import sklearn.linear_model  # noqa: E402,F401  (loads scipy/numpy BLAS before blas_info looks)
blas_info()
if os.environ.get("BENCH_ONLY") != "mlp":  # BENCH_ONLY=mlp as -Dactiverm.bench.only=mlp
    linear()
mlp()
