"Tests of the exported helpers of the experiment notebooks: 21_clip_stitching, 23_dynamics, 25_generation."
import math
import pytest
import torch

from coordtok.config import preset
from coordtok.data import SyntheticVideos, collate, draw_scene, render_scene
from coordtok.evaluate import boundary_discontinuity, reconstruct_in_clips
from coordtok.metrics import pearson_r
from coordtok.tokenizer import CoordTok
from coordtok.stitching import RandomWindows, reconstructor, stitched_and_whole, stitching_metrics, boundary_frames
from coordtok.dynamics import VariedVideos, quality_records, correlations, paired_dynamics
from coordtok.gen_check import nearest_rms, video_measures

torch.set_num_threads(1)


@pytest.fixture(scope='module')
def long_videos():
    return collate([SyntheticVideos(2, frames=64, size=32, seed=1)[i] for i in range(2)])['video']   # (2, 64, 32, 32, 3)


# --- stitching ---------------------------------------------------------------------------------------------------------

def test_random_windows_are_windows_of_the_video():
    long = SyntheticVideos(3, frames=48, size=32)
    w = RandomWindows(long, 16, seed=2)
    starts = set()
    for k in range(6):
        it = w[(1, k)]
        s = int(it['path'].split('[')[1].split(':')[0])
        starts.add(s)
        assert it['video'].shape == (16, 32, 32, 3) and it['n_frames'] == 16
        assert torch.equal(it['video'], long[1]['video'][s:s + 16])
        assert torch.equal(it['video'], w[(1, k)]['video'])
    assert len(starts) > 1                                   # the key moves the window
    with pytest.raises(ValueError, match='fewer than'): RandomWindows(SyntheticVideos(1, frames=8, size=32), 16)[0]


def test_stitched_jumps_more_than_whole_on_a_constructed_example(long_videos):
    v = long_videos
    # a clip "tokenizer" that loses the motion within each clip (every frame -> the clip's mean frame)
    stitched = reconstruct_in_clips(lambda c: c.mean(1, keepdim=True).expand_as(c), v, 16)
    whole = v.mean(1, keepdim=True).expand_as(v)             # the same, over the whole video: no clip boundaries
    m = stitching_metrics(v, {'stitched': stitched, 'whole': whole}, 16)
    assert m['stitched']['D_L'] > m['whole']['D_L'] + 1
    assert m['stitched']['boundary_change'] > m['stitched']['within_change']
    assert len(m['original']['changes']) == 63 and m['original']['psnr'] is None
    assert abs(m['original']['D_L']) < 1e-6


def test_stitched_and_whole_shapes_and_errors(long_videos):
    torch.manual_seed(0)
    clip, whole = CoordTok(preset('tiny')), CoordTok(preset('tiny', frames=64, latent_t=32))
    r = stitched_and_whole(long_videos, clip, whole)
    assert set(r) == {'stitched', 'whole', 'whole, chunked decoding'}
    assert all(x.shape == long_videos.shape and x.abs().max() <= 1 for x in r.values())
    assert (boundary_discontinuity(r['stitched'], 16, long_videos) > boundary_discontinuity(r['whole'], 16, long_videos)).all()
    assert set(stitched_and_whole(long_videos, clip)) == {'stitched'}
    with pytest.raises(ValueError, match='takes 64 frames'): stitched_and_whole(long_videos[:, :32], clip, whole)
    # reconstructor leaves the model in the mode it found it in
    clip.train(); reconstructor(clip)(long_videos[:, :16]); assert clip.training


def test_boundary_frames_layout(long_videos):
    img, labels = boundary_frames({'a': long_videos[0]}, 16, around=2, gain=1.0)
    assert img.shape == (2 * 32 + 2, 4 * 32 + 3 * 2, 3) and labels == ['a', 'change x1']
    assert 0 <= img.min() and img.max() <= 1


# --- dynamics ----------------------------------------------------------------------------------------------------------

def test_varied_videos_knobs_in_range_and_deterministic():
    a, b = VariedVideos(8, seed=4), VariedVideos(8, seed=4)
    for i in range(8):
        d, f = a.knobs(i)
        assert 0.25 <= d <= 4 and 0.5 <= f <= 2
        assert a[i]['dynamics'] == d and a[i]['detail'] == f
    assert torch.equal(a[(5, 1)]['video'], b[5]['video'])
    assert len({round(a.knobs(i)[0], 6) for i in range(8)}) == 8
    with pytest.raises(ValueError, match='0 < lo <= hi'): VariedVideos(2, detail=(2.0, 1.0))
    with pytest.raises(IndexError): a[8]


def test_correlations_on_known_data():
    recs = [dict(psnr=30 - 2 * x, dynamics=x, frequency=(x - 2) ** 2) for x in range(5)]
    r = correlations(recs)
    assert r['psnr~dynamics'] == pytest.approx(-1.0)
    assert r['psnr~frequency'] == pytest.approx(0.0, abs=1e-12)      # symmetric around x = 2: uncorrelated
    assert r['dynamics~frequency'] == pytest.approx(0.0, abs=1e-12)
    assert pearson_r([1, 2, 3], [1, 2, 3.5]) == pytest.approx(float(torch.corrcoef(torch.tensor([[1, 2, 3], [1, 2, 3.5]]))[0, 1]), rel=1e-6)


def test_quality_records_sees_a_dynamics_dependent_error():
    ds = VariedVideos(12, seed=3)
    def worse_when_faster(v):   # error proportional to how much each video moves
        motion = (v[:, 1:] - v[:, :-1]).abs().mean((1, 2, 3, 4)).view(-1, 1, 1, 1, 1)
        return v + 2 * motion * torch.randn(v.shape, generator=torch.Generator().manual_seed(0))
    recs = quality_records(worse_when_faster, ds, batch=6)
    assert len(recs) == 12 and set(recs[0]) == {'psnr', 'dynamics', 'frequency', 'knob_dynamics', 'knob_detail'}
    assert correlations(recs)['psnr~dynamics'] < -0.7
    perfect = quality_records(lambda v: v.clone(), ds, batch=12)
    assert all(math.isinf(r['psnr']) or r['psnr'] > 90 for r in perfect)


def test_paired_dynamics_renders_the_same_scene_faster():
    p = paired_dynamics(lambda v: v * 0.9, n_scenes=3, levels=(0.5, 2.0), frames=8, size=16)
    d, q = torch.tensor(p['dynamics']), torch.tensor(p['psnr'])
    assert d.shape == q.shape == (3, 2) and (d[:, 1] > d[:, 0]).all()
    assert p['levels'] == [0.5, 2.0]


# --- generation checks -------------------------------------------------------------------------------------------------

def _planes(b, fill=0.0):
    return (torch.full((b, 2, 4, 4), fill), torch.full((b, 2, 8, 4), fill), torch.full((b, 2, 8, 4), fill))

def test_nearest_rms_on_known_data():
    ref = tuple(torch.cat([a, b]) for a, b in zip(_planes(1, 0.0), _planes(1, 1.0)))        # triplanes of 0s and of 1s
    q = tuple(torch.cat([a, b]) for a, b in zip(_planes(1, 0.1), _planes(1, 2.0)))
    assert torch.allclose(nearest_rms(q, ref), torch.tensor([0.1, 1.0], dtype=torch.float64))
    assert torch.allclose(nearest_rms(ref, ref), torch.zeros(2, dtype=torch.float64))
    assert torch.allclose(nearest_rms(ref, ref, exclude_self=True), torch.ones(2, dtype=torch.float64))
    with pytest.raises(ValueError, match='query to be the reference'): nearest_rms(tuple(p[:1] for p in q), ref, exclude_self=True)


def test_video_measures_order_still_and_moving_videos():
    scene = draw_scene(7)
    v = torch.stack([render_scene(scene, 8, 16, dynamics=d) for d in (0.3, 3.0)])
    m = video_measures(v)
    assert m['dynamics'][1] > m['dynamics'][0] and set(m) == {'dynamics', 'frequency', 'std'}
    flat = torch.zeros(1, 4, 8, 8, 3)
    assert video_measures(flat)['frequency'].item() == 0 and video_measures(flat)['std'].item() == 0
