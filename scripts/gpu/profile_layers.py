"""Times, op by op, the convolutions and resampling GPEN-512 runs per batch,
in PyTorch on the CUDA device (same cuDNN as the C++ build), to find where
the generator's time goes. Not part of the build; a development aid.

    python3 scripts/gpu/profile_layers.py [--batch 32] [--dtype fp16]
"""
import argparse
import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--batch", type=int, default=32)
p.add_argument("--dtype", default="fp16")
a = p.parse_args()
dt = {"fp16": torch.half, "bf16": torch.bfloat16, "fp32": torch.float}[a.dtype]
torch.backends.cudnn.benchmark = True
B = a.batch
CL = torch.channels_last
ch = {4: 512, 8: 512, 16: 512, 32: 512, 64: 512, 128: 256, 256: 128, 512: 64}


def bench(fn, n=5):
    for _ in range(2):
        fn()
    torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record()
    for _ in range(n):
        fn()
    e.record()
    torch.cuda.synchronize()
    return s.elapsed_time(e) / n


rows = []


def add(name, ms, flops=0.0, nbytes=0.0):
    rows.append((name, ms, flops, nbytes))


def t(shape, fmt=CL):
    return torch.randn(*shape, device="cuda", dtype=dt).contiguous(memory_format=fmt)


with torch.inference_mode():
    for fmt, tag in ((CL, "nhwc"), (torch.contiguous_format, "nchw")):
        prev = 512
        for r in (8, 16, 32, 64, 128, 256, 512):
            c = ch[r]
            x = t((B, 2 * prev, r // 2, r // 2), fmt)
            w = t((2 * prev, c, 3, 3), fmt)
            add(f"{tag} convT {r}", bench(lambda: F.conv_transpose2d(x, w, stride=2)),
                2 * B * (r // 2) ** 2 * 2 * prev * c * 9)
            x = t((B, 2 * c, r, r), fmt)
            w = t((c, 2 * c, 3, 3), fmt)
            add(f"{tag} conv3 {r}", bench(lambda: F.conv2d(x, w, padding=1)),
                2 * B * r * r * 2 * c * c * 9)
            prev = c
        for r in (512, 256, 128, 64, 32, 16, 8):
            cin, cout = ch[r], ch[max(r // 2, 4)]
            x = t((B, cin, r, r), fmt)
            k = torch.ones(cin, 1, 4, 4, device="cuda", dtype=dt).contiguous(memory_format=fmt) / 16
            add(f"{tag} enc blur {r}", bench(lambda: F.conv2d(x, k, padding=2, groups=cin)), 0,
                2 * x.numel() * x.element_size())
            xb = t((B, cin, r + 1, r + 1), fmt)
            w = t((cout, cin, 3, 3), fmt)
            add(f"{tag} enc conv {r}", bench(lambda: F.conv2d(xb, w, stride=2)),
                2 * B * (r // 2) ** 2 * cin * cout * 9)
    # RGB skip: upfirdn up=2 as the C++ does it (zero insertion, pad, depthwise), fp32.
    for r in (256, 512):
        s = torch.randn(B, 3, r // 2, r // 2, device="cuda").contiguous(memory_format=CL)
        k = torch.ones(3, 1, 4, 4, device="cuda") / 4

        def up():
            y = s.reshape(B, 3, r // 2, 1, r // 2, 1)
            y = F.pad(y, (0, 1, 0, 0, 0, 1)).reshape(B, 3, r, r)
            y = F.pad(y, (2, 1, 2, 1))
            return F.conv2d(y, k, groups=3)

        add(f"skip upfirdn {r}", bench(up))
        add(f"skip convT {r}", bench(lambda: F.conv_transpose2d(s, k, stride=2, padding=1, groups=3)))
    # to_rgb as bmm at 512.
    y = t((B, 128, 512, 512))
    wb = torch.randn(B, 128, 3, device="cuda", dtype=dt)
    add("to_rgb bmm 512", bench(lambda: torch.bmm(y.permute(0, 2, 3, 1).reshape(B, -1, 128), wb)), 0,
        y.numel() * y.element_size())
    add("elementwise mul 512x128ch", bench(lambda: y * 1.5), 0, 2 * y.numel() * y.element_size())

total = {}
print(f"batch {B}, {a.dtype}")
print("| op | ms | TFLOP/s | GB/s |")
for name, ms, fl, nb in rows:
    total[name.split()[0]] = total.get(name.split()[0], 0) + ms
    print(f"| {name} | {ms:.2f} | {fl / ms / 1e9 if fl else 0:.0f} | {nb / ms / 1e6 if nb else 0:.0f} |")
print("totals by prefix (ms):", {k: round(v, 1) for k, v in total.items()})
