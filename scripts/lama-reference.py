#!/usr/bin/python3
"""lama-reference.py - an independent PyTorch implementation of the LaMa
generator as described in ../shared/lama/SPEC.md (FFCResNetGenerator, big-lama
layout), used to make the golden files that `make check` compares the C engine
against, and as the PyTorch side of scripts/bench/lama.sh.

Needs Debian's python3-torch and python3-numpy (run with /usr/bin/python3).
Not needed at run time or by `make check`.

  lama-reference.py golden OUTDIR      reduced config (ngf 8, 2 blocks), random
                                       weights + BN statistics, 4 test images
  lama-reference.py random OUT.safetensors [--ngf 64 --blocks 18] [--seed N]
                                       random weights under the official names
  lama-reference.py bench MODEL.safetensors [--size 512] [--threads 1,2] [--runs 5]
                                       median forward time in PyTorch (eval, no grad)
"""
import argparse
import json
import os
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BN_EPS = 1e-5


# ---------------------------------------------------------------- the model
class Holder(nn.Module):
    """An empty module; children are added by name so keys match the checkpoint."""


def bn(c):
    return nn.BatchNorm2d(c, eps=BN_EPS)


def conv(cin, cout, k, bias=False):
    return nn.Conv2d(cin, cout, k, bias=bias)


def ffc_layer(cin, cout, k, nl_out, ng_out, nl_in, ng_in, cs):
    """One FFC_BN_ACT with the official attribute names."""
    m = Holder()
    m.ffc = Holder()
    if nl_out:
        m.ffc.convl2l = conv(nl_in, nl_out, k)
        m.bn_l = bn(nl_out)
    if ng_out:
        m.ffc.convl2g = conv(nl_in, ng_out, k)
        m.bn_g = bn(ng_out)
    if ng_in:
        m.ffc.convg2l = conv(ng_in, nl_out, k)
        st = Holder()
        st.conv1 = nn.Sequential(conv(ng_in, cs, 1), bn(cs), nn.ReLU())
        st.fu = Holder()
        st.fu.conv_layer = conv(2 * cs, 2 * cs, 1)
        st.fu.bn = bn(2 * cs)
        st.conv2 = conv(cs, ng_out, 1)
        m.ffc.convg2g = st
    return m


class Generator(nn.Module):
    def __init__(self, ngf=64, n_blocks=18, ratio=0.75):
        super().__init__()
        self.ngf, self.n_blocks = ngf, n_blocks
        d = ngf * 8
        self.ng = int(d * ratio)
        self.nl = d - self.ng
        self.cs = self.ng // 2
        m = Holder()
        m.add_module("1", ffc_layer(4, ngf, 7, ngf, 0, 4, 0, 0))
        m.add_module("2", ffc_layer(ngf, 2 * ngf, 3, 2 * ngf, 0, ngf, 0, 0))
        m.add_module("3", ffc_layer(2 * ngf, 4 * ngf, 3, 4 * ngf, 0, 2 * ngf, 0, 0))
        m.add_module("4", ffc_layer(4 * ngf, d, 3, self.nl, self.ng, 4 * ngf, 0, 0))
        for b in range(n_blocks):
            blk = Holder()
            for name in ("conv1", "conv2"):
                blk.add_module(name, ffc_layer(d, d, 3, self.nl, self.ng, self.nl, self.ng, self.cs))
            m.add_module(str(5 + b), blk)
        cin = d
        for i in range(3):
            cout = cin // 2
            m.add_module(str(6 + n_blocks + 3 * i),
                         nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1))
            m.add_module(str(7 + n_blocks + 3 * i), bn(cout))
            cin = cout
        m.add_module(str(16 + n_blocks), conv(cin, 3, 7, bias=True))
        self.model = m

    def layer(self, i):
        return getattr(self.model, str(i))

    @staticmethod
    def bnr(b, x):
        return F.relu(b(x))

    @staticmethod
    def rpad(x, p):
        return F.pad(x, (p, p, p, p), mode="reflect")

    def fourier_unit(self, fu, a):
        n, c, h, w = a.shape
        X = torch.fft.rfftn(a, dim=(-2, -1), norm="ortho")
        s = torch.stack((X.real, X.imag), dim=-1)            # n c h w2 2
        s = s.permute(0, 1, 4, 2, 3).reshape(n, 2 * c, h, -1)  # channel 2k = re, 2k+1 = im
        t = F.relu(fu.bn(fu.conv_layer(s)))
        t = t.view(n, c, 2, h, -1).permute(0, 1, 3, 4, 2).contiguous()
        Y = torch.complex(t[..., 0], t[..., 1])
        return torch.fft.irfftn(Y, s=(h, w), dim=(-2, -1), norm="ortho")

    def ffc(self, m, xl, xg):
        f = m.ffc
        pl, pg = self.rpad(xl, 1), self.rpad(xg, 1)
        l_pre = f.convl2l(pl) + f.convg2l(pg)
        st = f.convg2g
        a = st.conv1(xg)
        g_pre = f.convl2g(pl) + st.conv2(a + self.fourier_unit(st.fu, a))
        return self.bnr(m.bn_l, l_pre), self.bnr(m.bn_g, g_pre)

    def forward(self, x):
        m1 = self.layer(1)
        x = self.bnr(m1.bn_l, m1.ffc.convl2l(self.rpad(x, 3)))
        for i in (2, 3):
            mi = self.layer(i)
            x = self.bnr(mi.bn_l, F.conv2d(self.rpad(x, 1), mi.ffc.convl2l.weight, stride=2))
        m4 = self.layer(4)
        p = self.rpad(x, 1)
        xl = self.bnr(m4.bn_l, F.conv2d(p, m4.ffc.convl2l.weight, stride=2))
        xg = self.bnr(m4.bn_g, F.conv2d(p, m4.ffc.convl2g.weight, stride=2))
        for b in range(self.n_blocks):
            blk = self.layer(5 + b)
            l1, g1 = self.ffc(blk.conv1, xl, xg)
            l2, g2 = self.ffc(blk.conv2, l1, g1)
            xl, xg = xl + l2, xg + g2
        x = torch.cat([xl, xg], dim=1)
        for i in range(3):
            x = F.relu(self.layer(7 + self.n_blocks + 3 * i)(self.layer(6 + self.n_blocks + 3 * i)(x)))
        x = self.layer(16 + self.n_blocks)(self.rpad(x, 3))
        return torch.sigmoid(x)


def randomise(g, seed):
    """He-uniform conv weights, small biases, random BN statistics."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in g.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            t = p
            if t.dim() == 4:
                fan_in = t.shape[1] * t.shape[2] * t.shape[3]
                bound = (3.0 / fan_in) ** 0.5
                if name == "model.%d.weight" % (16 + g.n_blocks):
                    bound *= 4  # a wider output range makes the golden test stricter
                t.copy_((torch.rand(t.shape, generator=gen) * 2 - 1) * bound)
            elif name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
            elif name.endswith("running_mean"):
                t.copy_(torch.randn(t.shape, generator=gen) * 0.1)
            elif name.endswith("weight"):
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
            elif name.endswith("bias"):
                t.copy_(torch.randn(t.shape, generator=gen) * 0.1)


# ---------------------------------------------------------------- safetensors
def save_safetensors(path, sd, prefix="generator."):
    header, blobs, off = {}, [], 0
    for k in sorted(sd):
        t = sd[k].detach().cpu().contiguous()
        if t.dtype == torch.float32:
            dt, raw = "F32", t.numpy().astype("<f4").tobytes()
        elif t.dtype == torch.int64:
            dt, raw = "I64", t.numpy().astype("<i8").tobytes()
        else:
            raise SystemExit("unsupported dtype %s for %s" % (t.dtype, k))
        header[prefix + k] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_safetensors(path, prefix="generator."):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    sd = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        dt = {"F32": np.float32, "I64": np.int64}[v["dtype"]]
        arr = np.frombuffer(data, dtype=dt, count=(e - b) // np.dtype(dt).itemsize, offset=base + b)
        sd[k[len(prefix):] if k.startswith(prefix) else k] = torch.from_numpy(arr.copy().reshape(v["shape"]))
    return sd


def make_model(sd):
    ngf = sd["model.1.ffc.convl2l.weight"].shape[0]
    nb = 0
    while ("model.%d.conv1.ffc.convl2l.weight" % (5 + nb)) in sd:
        nb += 1
    g = Generator(ngf, nb)
    g.load_state_dict(sd, strict=True)
    return g.eval()


# ---------------------------------------------------------------- pre/post (SPEC §2, §3)
def predict(g, img_u8, mask_u8):
    """img HWC uint8 RGB, mask HW uint8 -> (raw (3,H,W) float32, composite HWC uint8)."""
    H, W = mask_u8.shape
    img = img_u8.transpose(2, 0, 1).astype(np.float32) / 255
    mask = mask_u8[None].astype(np.float32) / 255
    ph, pw = (-H) % 8, (-W) % 8
    img = np.pad(img, ((0, 0), (0, ph), (0, pw)), mode="symmetric")
    mask = np.pad(mask, ((0, 0), (0, ph), (0, pw)), mode="symmetric")
    ti = torch.from_numpy(img)[None]
    tm = (torch.from_numpy(mask)[None] > 0) * 1
    x = torch.cat([ti * (1 - tm), tm], dim=1)
    with torch.no_grad():
        pred = g(x)
    inp = tm * pred + (1 - tm) * ti
    raw = pred[0, :, :H, :W].numpy().astype(np.float32)
    out = inp[0, :, :H, :W].permute(1, 2, 0).numpy()
    out = np.clip(out * 255, 0, 255).astype("uint8")
    return raw, out


def test_image(rng, H, W):
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    img = np.stack([128 + 100 * np.sin(xx / 7.0 + c) * np.cos(yy / 5.0 - c) for c in range(3)], -1)
    img += rng.normal(0, 12, img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    mask = np.zeros((H, W), np.uint8)
    for _ in range(3):
        y0, x0 = rng.integers(0, H - 4), rng.integers(0, W - 4)
        mask[y0:y0 + rng.integers(3, H // 2), x0:x0 + rng.integers(3, W // 2)] = rng.choice([255, 128, 1])
    return img, mask


def save_foreign_ckpt(path):
    """A checkpoint whose metadata pickles foreign classes the way a Lightning
    checkpoint does (an OmegaConf-like hyper-parameter object, a callback state
    keyed by its class), with two generator tensors."""
    import sys
    import types

    def fake(module, name):
        parts = module.split(".")
        for i in range(1, len(parts) + 1):
            sys.modules.setdefault(".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
        mod = sys.modules[module]
        cls = type(name, (), {"__module__": module})
        setattr(mod, name, cls)
        return cls

    DictConfig = fake("omegaconf", "DictConfig")
    ModelCheckpoint = fake("pytorch_lightning.callbacks.model_checkpoint", "ModelCheckpoint")
    hp = DictConfig()
    hp.content = {"generator": {"kind": "ffc_resnet", "n_blocks": 18}}
    torch.save({"epoch": 40, "state_dict": {
        "generator.model.1.bn_l.bias": torch.arange(4, dtype=torch.float32),
        "generator.model.1.bn_l.num_batches_tracked": torch.tensor(7),
        "discriminator.x": torch.zeros(1)},
        "hyper_parameters": hp, "callbacks": {ModelCheckpoint: {"best_model_score": 1.5}}}, path)


def cmd_golden(a):
    torch.manual_seed(0)
    g = Generator(ngf=8, n_blocks=2)
    randomise(g, 1234)
    g.eval()
    os.makedirs(a.outdir, exist_ok=True)
    save_safetensors(os.path.join(a.outdir, "tiny.safetensors"), g.state_dict())
    # The same weights as a Lightning-style checkpoint (what bin/make_checkpoint.py
    # leaves: state_dict with generator.* and other keys, plus plain metadata),
    # for the C .ckpt reader; and one whose pickle names a forbidden global.
    sd = {"generator." + k: v for k, v in g.state_dict().items()}
    sd["discriminator.model.0.weight"] = torch.zeros(2, 2)
    torch.save({"epoch": 3, "global_step": 1234, "pytorch-lightning_version": "1.2.9",
                "state_dict": sd, "hyper_parameters": {"lr": 0.001, "kind": "ffc_resnet", "ids": [1, 2]},
                "lr_schedulers": []}, os.path.join(a.outdir, "tiny.ckpt"))
    torch.save({"state_dict": {"generator.model.1.bn_l.bias": torch.zeros(2)}, "hook": print},
               os.path.join(a.outdir, "evil.ckpt"))
    save_foreign_ckpt(os.path.join(a.outdir, "foreign.ckpt"))
    g2 = make_model(load_safetensors(os.path.join(a.outdir, "tiny.safetensors")))
    rng = np.random.default_rng(7)
    cases = [(64, 64), (53, 71), (40, 96), (16, 24)]
    with open(os.path.join(a.outdir, "cases.txt"), "w") as f:
        for i, (H, W) in enumerate(cases):
            img, mask = test_image(rng, H, W)
            raw, out = predict(g2, img, mask)
            name = "case%d" % i
            img.tofile(os.path.join(a.outdir, name + ".img.rgb"))
            mask.tofile(os.path.join(a.outdir, name + ".mask.u8"))
            raw.astype("<f4").tofile(os.path.join(a.outdir, name + ".raw.f32"))
            out.tofile(os.path.join(a.outdir, name + ".out.rgb"))
            f.write("%s %d %d\n" % (name, W, H))
            print("%s %dx%d raw mean %.4f std %.4f, masked %d px" %
                  (name, W, H, raw.mean(), raw.std(), int((mask > 0).sum())))


def cmd_random(a):
    g = Generator(ngf=a.ngf, n_blocks=a.blocks)
    randomise(g, a.seed)
    save_safetensors(a.out, g.state_dict())


def cmd_bench(a):
    g = make_model(load_safetensors(a.model))
    x = torch.rand(1, 4, a.size, a.size, generator=torch.Generator().manual_seed(1))
    x[:, 3] = (x[:, 3] > 0.7).float()
    for th in [int(t) for t in a.threads.split(",")]:
        torch.set_num_threads(th)
        times = []
        with torch.inference_mode():
            g(x)  # warm-up
            for _ in range(a.runs):
                t0 = time.perf_counter()
                g(x)
                times.append(time.perf_counter() - t0)
        print("torch threads=%d median_s=%.4f min_s=%.4f runs=%d" %
              (th, statistics.median(times), min(times), a.runs))
        sys.stdout.flush()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("golden")
    s.add_argument("outdir")
    s.set_defaults(fn=cmd_golden)
    s = sub.add_parser("random")
    s.add_argument("out")
    s.add_argument("--ngf", type=int, default=64)
    s.add_argument("--blocks", type=int, default=18)
    s.add_argument("--seed", type=int, default=1)
    s.set_defaults(fn=cmd_random)
    s = sub.add_parser("bench")
    s.add_argument("model")
    s.add_argument("--size", type=int, default=512)
    s.add_argument("--threads", default="1,2")
    s.add_argument("--runs", type=int, default=5)
    s.set_defaults(fn=cmd_bench)
    a = p.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
