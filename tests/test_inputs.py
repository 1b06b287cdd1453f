"Every entry point checks its inputs and states the contract; decode_at's random access."
import pytest
import torch
from coordtok.config import preset
from coordtok.tokenizer import CoordTok, check_video

@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0); torch.set_num_threads(1)
    return CoordTok(preset('tiny')).eval()

@pytest.fixture(scope='module')
def video():
    torch.manual_seed(1)
    return torch.rand(2, 16, 32, 32, 3) * 2 - 1

@pytest.mark.parametrize('bad, message', [
    (lambda v: v[0], 'one video without the batch axis: pass video[None]'),
    (lambda v: ((v + 1) * 127.5).to(torch.uint8), 'uint8; the model takes (B, 16, 32, 32, 3) float in [-1, 1]: convert with coordtok.data.to_float'),
    (lambda v: (v + 1) * 127.5, '255]; the model takes (B, 16, 32, 32, 3) float in [-1, 1]'),
    (lambda v: v.long(), 'dtype torch.int64'),
    (lambda v: v[:, :8], 'pad shorter clips to 16 frames (coordtok.data.pad_clip) and pass n_frames'),
    (lambda v: v[:, :, :24], 'T, H, W = 16, 24, 32; the model takes (B, 16, 32, 32, 3)'),
    (lambda v: v[..., :1], '(RGB last)'),
    (lambda v: v.numpy(), 'must be a torch.Tensor'),
    (lambda v: v[None], 'got shape (1, 2, 16, 32, 32, 3)'),
])
def test_encode_rejects_bad_videos_with_the_contract(model, video, bad, message):
    with pytest.raises((ValueError, TypeError)) as e: model.encode(bad(video))
    assert message in str(e.value), str(e.value)

def test_channel_first_is_accepted(model, video):
    with torch.no_grad():
        for a, b in zip(model.encode(video.permute(0, 4, 1, 2, 3)), model.encode(video)): assert torch.equal(a, b)
    # (B, T, H, W, 3) wins when both axes are 3: a 3-frame channel-last clip stays as it is
    v = torch.zeros(1, 3, 8, 8, 3)
    assert check_video(v) is v

def test_decode_at_equals_decode_video_and_has_the_stated_shape(model, video):
    with torch.no_grad():
        planes = model.encode(video)
        assert torch.equal(model.decode_at(planes, range(16)), model.decode_video(planes))
        assert torch.equal(model.decode_at(planes, list(range(16)), chunk=300), model.decode_video(planes, chunk=300))
        out = model.decode_at(planes, [15, 3], box=(4, 8, 12, 20))
        assert out.shape == (2, 2, 12, 20, 3)
        one = model.decode_at(planes, 5)
        assert one.shape == (2, 1, 32, 32, 3)

@pytest.mark.parametrize('kw, message', [
    (dict(frames=[16]), 'frames must lie in [0, 16)'),
    (dict(frames=[-1]), 'frames must lie in [0, 16)'),
    (dict(frames=[]), 'non-empty list of int frame indices'),
    (dict(frames=[0.5]), 'non-empty list of int frame indices'),
    (dict(frames=[0], box=(1, 0, 4, 4)), "not aligned to the decoder's 4x4 patches: top and height must be multiples of 4"),
    (dict(frames=[0], box=(0, 0, 4, 6)), "not aligned to the decoder's 4x4 patches"),
    (dict(frames=[0], box=(28, 0, 8, 4)), 'not inside the 32x32 frame'),
    (dict(frames=[0], box=(0, 0, 4)), 'box must be (top, left, height, width)'),
    (dict(frames=[0], chunk=0), 'chunk must be a positive number'),
])
def test_decode_at_rejects_bad_requests(model, video, kw, message):
    with torch.no_grad(): planes = model.encode(video)
    with pytest.raises(ValueError) as e: model.decode_at(planes, **kw)
    assert message in str(e.value), str(e.value)

def test_decode_at_rejects_bad_planes(model, video):
    with torch.no_grad(): xy, yt, xt = model.encode(video)
    with pytest.raises(TypeError, match='must be three tensors'): model.decode_at((xy, yt), [0])
    with pytest.raises(ValueError, match=r'yt \(B, 4, 8, 8\)'): model.decode_at((xy, yt[:, :, :4], xt), [0])
    with pytest.raises(ValueError, match='channel-first'): model.decode_at(tuple(p.permute(0, 2, 3, 1) for p in (xy, yt, xt)), [0])
