"Transport: the authors' loss and sampler, one model call per SDE step, ODE solvers on exact toy flows, seeding."
import math
import pytest
import torch
from coordtok.sit import SiT, sit_preset, sit_from_state_dict
from coordtok.transport import (interpolate, velocity_target, velocity_loss, training_loss, draw_noise_and_time,
                                score_from_velocity, sde_drift, sample_sde, sample_ode, gaussian_mixture_velocity, guided)

@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads(); torch.set_num_threads(1)  # tiny tensors; extra threads only spin on a shared CPU
    yield
    torch.set_num_threads(n)

class CountCalls:
    def __init__(self, model): self.model, self.n = model, 0
    def __call__(self, *a, **kw): self.n += 1; return self.model(*a, **kw)

def zero_model(x, t, y=None): return tuple(torch.zeros_like(p) for p in x)

def test_reference_loss(reference_dir):
    ref = torch.load(reference_dir / 'official_sit_tiny.pt', weights_only=True)
    model = sit_from_state_dict(ref['state_dict'], ref['config'])
    with torch.no_grad(): loss = velocity_loss(model, ref['x'], ref['loss_x0'], ref['loss_t'], ref['y'])
    assert loss.shape == ref['loss'].shape == (2,)
    assert (loss - ref['loss']).abs().max() < 1e-5

def test_reference_sampler(reference_dir):
    ref = torch.load(reference_dir / 'official_sampler_tiny.pt', weights_only=True)
    model = CountCalls(sit_from_state_dict(ref['sit_state_dict'], ref['sit_config']))
    out = sample_sde(model, ref['init'], num_steps=250, last_step_size=0.04, y=ref['y'], noise=ref['noise'])
    assert model.n == 250
    for o, r in zip(out, ref['sample']): assert (o - r).abs().max() < 1e-4
    # and the draws matter: other noise gives another sample
    other = sample_sde(model.model, ref['init'], y=ref['y'], noise=tuple(n.flip(0) for n in ref['noise']))
    assert max((o - r).abs().max() for o, r in zip(other, ref['sample'])) > 1e-2

@pytest.mark.parametrize('num_steps', [250, 10, 2])
def test_one_model_call_per_sde_step(num_steps):
    m = CountCalls(zero_model)
    sample_sde(m, (torch.randn(2, 3), torch.randn(2, 1, 2)), num_steps=num_steps, generator=torch.Generator().manual_seed(0))
    assert m.n == num_steps

def test_sde_grid_and_last_step():
    # a model that records its times: linspace(0, 0.96, 250) (float32) for the stochastic steps, then 0.96
    ts = []
    def rec(x, t, y=None): ts.append(t.clone()); return zero_model(x, t)
    sample_sde(rec, (torch.zeros(3, 2),), generator=torch.Generator().manual_seed(0))
    grid = torch.linspace(0, 0.96, 250)
    assert all(t.shape == (3,) for t in ts)
    assert torch.equal(torch.stack([t[0] for t in ts[:-1]]), grid[:-1])
    assert ts[-1][0].item() == pytest.approx(0.96)
    # with v = 0 the drift is -x: the noise-free last step scales x by (1 - 0.04)
    x = (torch.ones(1, 4),)
    noise = (torch.zeros(249, 1, 4),)
    out = sample_sde(zero_model, x, noise=noise)[0]
    dt = (grid[1] - grid[0]).item()
    assert torch.allclose(out, torch.full((1, 4), (1 - dt) ** 249 * 0.96), atol=1e-6)

def test_closed_form_drift():
    v, x, t = torch.randn(4, 3, 2), torch.randn(4, 3, 2), torch.rand(4) * 0.96
    te = t[:, None, None]
    assert torch.allclose(score_from_velocity(v, x, t), (te * v - x) / (1 - te))
    assert torch.allclose(sde_drift(v, x, t), v + (1 - te) * score_from_velocity(v, x, t), atol=1e-5)
    assert torch.allclose(sde_drift(v, x, t), (1 + te) * v - x)

def test_interpolant_and_loss():
    x0, x1 = (torch.zeros(2, 3), torch.zeros(2, 1, 1)), (torch.ones(2, 3), 2 * torch.ones(2, 1, 1))
    xt = interpolate(x0, x1, torch.tensor([0.25, 1.0]))
    assert torch.equal(xt[0], torch.tensor([[0.25] * 3, [1.0] * 3]))
    assert torch.equal(xt[1].flatten(), torch.tensor([0.5, 2.0]))
    assert torch.equal(velocity_target(x0, x1)[1], 2 * torch.ones(2, 1, 1))
    # zero model: per plane MSE of the target, averaged over planes (not over all values)
    loss = velocity_loss(zero_model, x1, x0, torch.rand(2))
    assert torch.allclose(loss, torch.full((2,), (1 + 4) / 2))

def test_training_loss_draws_with_generator():
    x1 = (torch.randn(3, 2, 4, 4), torch.randn(3, 2, 8, 4), torch.randn(3, 2, 8, 4))
    x0, t = draw_noise_and_time(x1, torch.Generator().manual_seed(1))
    assert t.shape == (3,) and (t >= 0).all() and (t < 1).all() and [a.shape for a in x0] == [b.shape for b in x1]
    model = lambda x, t, y=None: tuple(p * t[:, None, None, None] for p in x)
    a = training_loss(model, x1, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, velocity_loss(model, x1, x0, t))
    assert not torch.equal(a, training_loss(model, x1, generator=torch.Generator().manual_seed(2)))

def test_noise_none_is_seeded_and_in_step_plane_order():
    init = (torch.randn(2, 3), torch.randn(2, 2, 2))
    model = gaussian_mixture_velocity(torch.zeros(1, 3), 1.0)
    m = lambda x, t, y=None: (model((x[0],), t)[0], -x[1])
    a = sample_sde(m, init, num_steps=20, generator=torch.Generator().manual_seed(0))
    b = sample_sde(m, init, num_steps=20, generator=torch.Generator().manual_seed(0))
    c = sample_sde(m, init, num_steps=20, generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(p, q) for p, q in zip(a, b)) and not torch.equal(a[0], c[0])
    g = torch.Generator().manual_seed(0)   # the draws are made step by step, plane by plane
    draws = [[torch.randn(p.shape, generator=g) for p in init] for _ in range(19)]
    noise = tuple(torch.stack([d[i] for d in draws]) for i in range(2))
    d = sample_sde(m, init, num_steps=20, noise=noise)
    assert all(torch.equal(p, q) for p, q in zip(a, d))

def test_noise_shape_is_checked():
    with pytest.raises(ValueError, match=r'noise\[1\]'):
        sample_sde(zero_model, (torch.zeros(2, 3), torch.zeros(2, 4)), num_steps=5, noise=(torch.zeros(4, 2, 3), torch.zeros(5, 2, 4)))
    with pytest.raises(ValueError, match='planes'): sample_sde(zero_model, (torch.zeros(2, 3),), num_steps=5, noise=())

def test_ode_exact_on_toy_fields():
    x0 = (torch.randn(5, 2, dtype=torch.float64),)
    const = lambda x, t, y=None: (torch.full_like(x[0], 0.5),)                       # x(1) = x0 + 0.5
    linear_t = lambda x, t, y=None: (t[:, None].expand_as(x[0]) * 2.0,)              # x(1) = x0 + 1
    for method in ('euler', 'heun'):
        assert torch.allclose(sample_ode(const, x0, num_steps=7, method=method)[0], x0[0] + 0.5, atol=1e-12)
    assert torch.allclose(sample_ode(linear_t, x0, num_steps=7, method='heun')[0], x0[0] + 1, atol=1e-12)
    assert not torch.allclose(sample_ode(linear_t, x0, num_steps=7, method='euler')[0], x0[0] + 1, atol=1e-3)
    # Gaussian data N(mu, s^2): the flow is affine and maps x0 to mu + s x0
    mu, s = torch.tensor([[1.5, -0.5]], dtype=torch.float64), 0.3
    gauss = gaussian_mixture_velocity(mu, s)
    heun = sample_ode(gauss, x0, num_steps=200, method='heun')[0]
    euler = sample_ode(gauss, x0, num_steps=200, method='euler')[0]
    assert (heun - (mu + s * x0[0])).abs().max() < 5e-5
    assert (euler - (mu + s * x0[0])).abs().max() < 3e-2
    m = CountCalls(gauss); sample_ode(m, x0, num_steps=10, method='heun'); assert m.n == 20
    with pytest.raises(ValueError, match='heun'): sample_ode(gauss, x0, method='rk4')

def test_sde_samples_gaussian_data():
    mu, s = torch.tensor([[2.0, -1.0]]), 0.5
    z = torch.randn(4000, 2, generator=torch.Generator().manual_seed(0))
    out = sample_sde(gaussian_mixture_velocity(mu, s), (z,), generator=torch.Generator().manual_seed(1))[0]
    assert (out.mean(0) - mu[0]).abs().max() < 0.05
    assert 0.6 * s < out.std(0).min() and out.std(0).max() < 1.1 * s

def test_guidance():
    torch.manual_seed(0)
    model = SiT(sit_preset('tiny', num_classes=3, class_dropout=0.1)).eval()
    for p in model.parameters(): torch.nn.init.normal_(p, std=0.1)
    x, t, y = tuple(torch.randn(2, 4, 8, 8) for _ in range(3)), torch.rand(2), torch.tensor([0, 2])
    with torch.no_grad():
        cond, unc = model(x, t, y), model(x, t, torch.full_like(y, 3))
        assert max((a - b).abs().max() for a, b in zip(cond, unc)) > 1e-3
        for a, b in zip(guided(model, 1.0, 3)(x, t, y), cond): assert torch.allclose(a, b, atol=1e-5)
        for a, b in zip(guided(model, 0.0, 3)(x, t, y), unc): assert torch.allclose(a, b, atol=1e-5)
        for a, c, u in zip(guided(model, 4.0, 3)(x, t, y), cond, unc): assert torch.allclose(a, u + 4 * (c - u), atol=1e-4)
    m = CountCalls(model)   # guidance still makes one model call per step (on the doubled batch)
    sample_sde(guided(m, 2.0, 3), x, num_steps=5, y=y, generator=torch.Generator().manual_seed(0)); assert m.n == 5
    with pytest.raises(ValueError, match='labels'): guided(model, 2.0, 3)(x, t, None)

def test_mixture_weights():
    means = torch.tensor([[-2.0, 0.0], [2.0, 0.0]])
    mix = gaussian_mixture_velocity(means, 0.2, weights=torch.tensor([3.0, 1.0]))
    z = torch.randn(4000, 2, generator=torch.Generator().manual_seed(0))
    out = sample_ode(mix, (z,), num_steps=50)[0]
    assert abs((out[:, 0] < 0).float().mean().item() - 0.75) < 0.03
