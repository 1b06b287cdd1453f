"""Milliseconds of one attention, forward and backward in bf16, at the demo's shapes (`small`, 16 videos; 09_train, round 9):
`F.scaled_dot_product_attention` against the same attention written out (logits, softmax in float32 or in bf16, values).
Usage: python tools/bench_attention.py"""
import time, torch, torch.nn.functional as F
torch.manual_seed(0)
def ms(fn, shapes, mask=None, n=30):
    q, k, v = [torch.randn(*s, dtype=torch.bfloat16, requires_grad=True) for s in shapes]
    for _ in range(3): fn(q, k, v, mask).float().sum().backward()
    t = time.perf_counter()
    for _ in range(n): fn(q, k, v, mask).float().sum().backward()
    return (time.perf_counter() - t) / n * 1000
def sdpa(q, k, v, m): return F.scaled_dot_product_attention(q, k, v, attn_mask=m)
def written(softmax_dtype):
    def f(q, k, v, m):
        a = (q * q.shape[-1] ** -0.5) @ k.transpose(-1, -2)
        if m is not None: a = a + m
        return a.to(softmax_dtype).softmax(-1).to(q.dtype) @ v
    return f
bias = (2 * torch.randn(48, 512)).to(torch.bfloat16)                 # the locality prior's logit bias (cross_bias)
cases = [('decoder self-attention, 256 patches, 4 heads of 32', [(16, 4, 256, 32)] * 3, None),
         ('encoder cross-attention, 48 queries over 512 tokens + bias', [(16, 4, 48, 56), (16, 4, 512, 56), (16, 4, 512, 56)], bias),
         ('encoder self-attention, 48 queries', [(16, 4, 48, 56)] * 3, None)]
for name, shapes, m in cases:
    print(f"{name}: SDPA {ms(sdpa, shapes, m):.1f} ms, written out {ms(written(torch.float32), shapes, m):.1f} (float32 softmax) / "
          f"{ms(written(torch.bfloat16), shapes, m):.1f} (bf16 softmax)")
