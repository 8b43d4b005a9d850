#!/usr/bin/env python3
"""PyTorch reference of Phrasewise's compact pretraining step, timed beside the Rust bench.

The same network as `NetConfig::compact()` (src/model/net.rs, encoder.rs, decoders.rs): the
compact bottleneck ResNet encoder E (stem 16, planes 16/32/64/128, one block per stage,
Conv_6 to 512, f_t pooled to 4 steps), D1 (Table 4 with widths 128…16), D2/D3 (Table 5), the
losses of Eq. 1–4 (L1, L1, 10 × BCE) and Adam, on batches of 16 random 128×128 mel images.
It prints samples/s averaged over the epochs after the first, as the Rust bench does, and with
`--rust CMD` runs that command before each round (interleaved, so that both see the same
load) and prints the ratio per round. Needs torch (`../shared/reference/setup.sh --torch`).

    PY=/path/to/venv/bin/python
    $PY tools/pretrain_ref.py --rounds 3 --rust "env RAYON_NUM_THREADS=2 PW_BENCH_EPOCHS=4 \
        target/debug/deps/integration-HASH model_pretrain:: --ignored --nocapture"
"""

import argparse
import re
import subprocess
import time


def build(torch):
    nn = torch.nn

    class Bottleneck(nn.Module):
        def __init__(self, cin, planes, stride):
            super().__init__()
            out = planes * 4
            self.c1 = nn.Conv2d(cin, planes, 1, bias=False)
            self.b1 = nn.BatchNorm2d(planes)
            self.c2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
            self.b2 = nn.BatchNorm2d(planes)
            self.c3 = nn.Conv2d(planes, out, 1, bias=False)
            self.b3 = nn.BatchNorm2d(out)
            self.down = None
            if stride != 1 or cin != out:
                self.down = nn.Sequential(nn.Conv2d(cin, out, 1, stride, bias=False), nn.BatchNorm2d(out))

        def forward(self, x):
            idt = x if self.down is None else self.down(x)
            y = torch.relu(self.b1(self.c1(x)))
            y = torch.relu(self.b2(self.c2(y)))
            return torch.relu(self.b3(self.c3(y)) + idt)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(1, 16, 7, 2, 3, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                                      nn.MaxPool2d(3, 2, 1))
            blocks, cin = [], 16
            for i, planes in enumerate([16, 32, 64, 128]):
                blocks.append(Bottleneck(cin, planes, 1 if i == 0 else 2))
                cin = planes * 4
            self.stages = nn.Sequential(*blocks)
            self.conv6 = nn.Conv2d(cin, 512, 1)
            layers, cin = [], 512
            ksp = [(4, 1, 0), (4, 2, 1), (4, 2, 1), (4, 2, 1), (3, 1, 1), (4, 2, 1), (3, 1, 1)]
            for w, (k, s, p) in zip([128, 128, 64, 64, 32, 32, 16], ksp):
                layers += [nn.ConvTranspose2d(cin, w, k, s, p, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
                cin = w
            layers.append(nn.ConvTranspose2d(cin, 1, 4, 2, 1))
            self.d1 = nn.Sequential(*layers)

            def seq():
                ls, c = [], 512
                for w in [512, 256, 128, 64, 32]:
                    ls += [nn.ConvTranspose1d(c, w, 2, 2), nn.ReLU()]
                    c = w
                ls.append(nn.Conv1d(c, 1, 1))
                return nn.Sequential(*ls)

            self.d2, self.d3 = seq(), seq()

        def forward(self, x):                              # x: [B, 1, 128, 128]
            f = self.conv6(self.stages(self.stem(x)))       # [B, 512, 4, 4]
            ft = nn.functional.adaptive_avg_pool2d(f, (4, 1)).squeeze(3)  # [B, 512, 4]
            u = ft.mean(2)                                  # [B, 512]
            rec = self.d1(u[:, :, None, None])              # [B, 1, 128, 128]
            return rec, self.d2(ft).squeeze(1), self.d3(ft).squeeze(1)   # [B, 128] twice

    return Net()


def torch_rate(torch, net, opt, data, batch, epochs):
    mel, melody, rhythm = data
    rates = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        for i in range(0, mel.shape[0], batch):
            rec, m, r = net(mel[i:i + batch])
            loss = ((rec - mel[i:i + batch]).abs().mean() + (m - melody[i:i + batch]).abs().mean()
                    + 10 * torch.nn.functional.binary_cross_entropy_with_logits(r, rhythm[i:i + batch]))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        rates.append(mel.shape[0] / (time.perf_counter() - t0))
    steady = rates[1:] or rates
    return sum(steady) / len(steady)


def rust_rate(cmd):
    out = subprocess.run(cmd, shell=True, capture_output=True, text=True, check=True).stdout
    found = re.search(r"([0-9.]+) samples/s after the first epoch", out)
    if not found:
        raise SystemExit(f"no 'samples/s after the first epoch' in the output of: {cmd}\n{out[-2000:]}")
    return float(found.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--phrases", type=int, default=96, help="phrases per epoch (default 96, as the Rust bench)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rust", metavar="CMD", help="the Rust bench command, run before each round")
    a = ap.parse_args()
    import torch
    torch.manual_seed(7)
    torch.set_num_threads(a.threads)
    net = build(torch)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    data = (torch.rand(a.phrases, 1, 128, 128), torch.rand(a.phrases, 128),
            (torch.rand(a.phrases, 128) > 0.8).float())
    print(f"torch {torch.__version__}, {a.threads} threads, batch {a.batch}, {a.phrases} phrases, "
          f"{sum(p.numel() for p in net.parameters())} parameters (E: "
          f"{sum(p.numel() for m in (net.stem, net.stages, net.conv6) for p in m.parameters())})")
    for k in range(a.rounds):
        rust = rust_rate(a.rust) if a.rust else None
        ref = torch_rate(torch, net, opt, data, a.batch, a.epochs)
        line = f"round {k + 1}: torch {ref:.1f} samples/s"
        if rust is not None:
            line += f", rust {rust:.1f} samples/s, rust / torch {rust / ref:.2f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
