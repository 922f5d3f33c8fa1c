"""PyTorch's side of bench/run_train.sh: the same training workloads as
bench/train_bench.exs on 2 CPU threads, printing `name value unit` lines.

    bench/.venv/bin/python bench/train_torch.py mlp|cnn
"""
import time

import train_common as tc

tc.pin_two_cores()

import torch  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(2)
torch.manual_seed(0)


def train(model, opt, x, y, steps=None):
    """One shuffled epoch of softmax cross-entropy (on the logits) in batches
    of 128, the last one 96, or only its first `steps` batches."""
    loss_fn = nn.CrossEntropyLoss()
    perm = torch.randperm(x.shape[0])
    starts = range(0, x.shape[0], tc.BATCH)
    for i in starts if steps is None else starts[:steps]:
        idx = perm[i : i + tc.BATCH]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        opt.step()


def timed(fun):
    t0 = time.perf_counter()
    fun()
    return time.perf_counter() - t0


def mlp(x, y, x_test, y_test):
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    seconds = [timed(lambda: train(model, opt, x, y)) for _ in range(1 + tc.EPOCHS)]
    rss = tc.peak_rss_mib()  # before inference, so it is the training run's
    tc.report_epochs(seconds[1:])
    tc.report("mlp_peak_rss_mib", rss, "MiB")

    with torch.inference_mode():
        correct = (model(x_test).argmax(-1) == y_test).sum().item()
        tc.report("mlp_test_accuracy_pct", 100 * correct / len(y_test), "%")
        tc.report_inference(model, x_test[:1].clone(), x_test[:1024].clone())


def cnn(x, y):
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 5 * 5, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )
    x = x.reshape(-1, 1, 28, 28)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    train(model, opt, x, y, steps=tc.CNN_WARMUP)
    tc.report("cnn_epoch_s", timed(lambda: train(model, opt, x, y)), "s")


def main():
    which = tc.mode()
    x, y, x_test, y_test = (torch.from_numpy(a) for a in tc.fashion_mnist())
    if which == "mlp":
        mlp(x, y, x_test, y_test)
    else:
        cnn(x, y)


main()
