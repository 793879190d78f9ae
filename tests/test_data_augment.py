"""YOLOv5's augmentation: boxes follow the pixels, flips are exact, off is identity, randomness is (seed, epoch, index)'s."""
import numpy as np
import pytest
import torch

from lib.config import YOLOV5_AUGMENTATION, ConfigError, TrainConfig
from lib.data import Hyp, augment_frame, mixup, mosaic
from lib.data.augment import box_candidates
from lib.data.train_items import EpochSampler, TrainItems

S = 96
COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]


def frame(rects, size=S):
    """A grey frame with solid rectangles ``(cls, x1, y1, x2, y2)`` in pixels, each of colour COLOURS[cls], and its
    normalised targets."""
    image = torch.full((3, size, size), 114, dtype=torch.uint8)
    rows = []
    for cls, x1, y1, x2, y2 in rects:
        image[:, y1:y2, x1:x2] = torch.tensor(COLOURS[cls], dtype=torch.uint8)[:, None, None]
        rows.append([cls, (x1 + x2) / 2 / size, (y1 + y2) / 2 / size, (x2 - x1) / size, (y2 - y1) / size])
    return image, torch.tensor(rows, dtype=torch.float32).reshape(-1, 5)


def colour_box(image, cls, tol=60):
    """The XYXY pixel extent of the pixels near COLOURS[cls] (None if fewer than 4), and their count."""
    c = torch.tensor(COLOURS[cls], dtype=torch.float32)[:, None, None]
    mask = ((image.float() - c).abs().amax(0) < tol)
    ys, xs = torch.nonzero(mask, as_tuple=True)
    if len(xs) < 4:
        return None, int(len(xs))
    return torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=torch.float32), int(len(xs))


def pixel_boxes(targets, size=S):
    t = targets.clone()
    return torch.stack([(t[:, 1] - t[:, 3] / 2) * size, (t[:, 2] - t[:, 4] / 2) * size,
                        (t[:, 1] + t[:, 3] / 2) * size, (t[:, 2] + t[:, 4] / 2) * size], 1)


def check_boxes_follow(image, targets, tol=3.0):
    """Every box holds its colour's pixels, and fits them within ``tol`` px (the bilinear edge) where they do not
    touch the frame's edge (there a rotated box, clipped, may hold more, as in YOLOv5); a colour that kept over 200
    pixels has a box."""
    size = image.shape[-1]
    boxes = pixel_boxes(targets, size)
    for cls in range(len(COLOURS)):
        seen, count = colour_box(image, cls)
        mine = boxes[targets[:, 0] == cls]
        for b in mine:
            assert seen is not None, f"class {cls} has a box but no pixels"
            assert (b[:2] <= seen[:2] + tol).all() and (b[2:] >= seen[2:] - tol).all(), (cls, b.tolist(), seen.tolist())
            if seen[:2].min() > 1 and seen[2:].max() < size - 1:
                assert (b - seen).abs().max() <= tol, (cls, b.tolist(), seen.tolist())
        if count > 200:
            assert len(mine), f"class {cls}: {count} pixels visible, no box"


GEOMETRIC = Hyp(degrees=25, translate=0.2, aug_scale=0.5, shear=8, perspective=0.0005, flipud=0.5, fliplr=0.5)


@pytest.mark.parametrize("seed", range(12))
def test_boxes_follow_the_pixels_under_affine_and_flips(seed):
    image, targets = frame([(0, 10, 12, 40, 30), (1, 50, 40, 80, 86), (2, 20, 60, 34, 90)])
    out, t = augment_frame(image, targets, GEOMETRIC, np.random.default_rng(seed))
    assert out.shape == image.shape and out.dtype == torch.uint8 and t.shape[1] == 5
    check_boxes_follow(out, t)


@pytest.mark.parametrize("seed", range(8))
def test_boxes_follow_the_pixels_in_a_mosaic(seed):
    tiles = [frame([(k, 20, 20, 60 + 5 * k, 50)]) for k in range(4)]
    rng = np.random.default_rng(seed)
    canvas, ct = mosaic(tiles, rng, S)
    assert canvas.shape == (3, 2 * S, 2 * S)
    check_boxes_follow(canvas, ct)
    out, t = augment_frame(tiles[0][0], tiles[0][1], Hyp(translate=0.1, aug_scale=0.5, mosaic=1.0), rng,
                           canvas=(canvas, ct))
    assert out.shape == (3, S, S)
    check_boxes_follow(out, t)


def test_fliplr_is_an_exact_mirror():
    image, targets = frame([(0, 10, 12, 40, 30), (3, 60, 5, 90, 20)])
    out, t = augment_frame(image, targets, Hyp(fliplr=1.0), np.random.default_rng(0))
    assert torch.equal(out, image.flip(-1))
    expected = targets.clone()
    expected[:, 1] = 1 - expected[:, 1]
    torch.testing.assert_close(t, expected)


def test_hsv_moves_colours_not_boxes():
    image, targets = frame([(0, 10, 12, 40, 30)])
    out, t = augment_frame(image, targets, Hyp(hsv_h=0.015, hsv_s=0.7, hsv_v=0.4), np.random.default_rng(1))
    assert not torch.equal(out, image)
    torch.testing.assert_close(t, targets)


def test_box_candidates_drop_as_yolov5():
    before = torch.tensor([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 300, 3]], dtype=torch.float32)
    after = torch.tensor([[0, 0, 10, 10], [0, 0, 3, 3], [0, 0, 1.5, 10], [0, 0, 300, 2.5]], dtype=torch.float32)
    # kept; under 10 % of its area; under 2 px wide; 2.5 px high but aspect ratio 120
    assert box_candidates(before, after).tolist() == [True, False, False, False]


def test_a_box_pushed_outside_is_dropped():
    image, targets = frame([(0, 0, 0, 12, 12)])
    # translate by up to 0.45 of the frame: some draws push the corner box out entirely, others keep it
    kept = [len(augment_frame(image, targets, Hyp(translate=0.45), np.random.default_rng(s))[1]) for s in range(20)]
    assert 0 in kept and 1 in kept


def test_mixup_blends_and_joins():
    a, b = frame([(0, 10, 10, 30, 30)]), frame([(1, 50, 50, 70, 70)])
    image, t = mixup(a, b, np.random.default_rng(0))
    assert len(t) == 2 and image.dtype == torch.uint8
    assert 0 < image[0, 20, 20] < 255 and image[0, 20, 20] != 114  # red blended with grey


class Frames(torch.utils.data.Dataset):
    """A stand-in EchoDataset: frames, targets, views."""

    def __init__(self, n=10):
        self.items = [frame([(i % 4, 5 + i, 8, 40 + i, 50)]) for i in range(n)]
        self.views = torch.tensor([i % 3 for i in range(n)])

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return (*self.items[i], int(self.views[i]), i)


def test_off_is_the_stored_frame():
    items = TrainItems(Frames(), Hyp(), seed=0, epochs=5)
    image, targets, view, index = items[(3, 4)]
    assert torch.equal(image, items.dataset.items[4][0])
    assert torch.equal(targets, items.dataset.items[4][1]) and view == 1 and index == 4


def test_items_depend_on_seed_epoch_index_only():
    hyp = Hyp.of(TrainConfig(**YOLOV5_AUGMENTATION))
    one, two = TrainItems(Frames(), hyp, seed=7, epochs=20), TrainItems(Frames(), hyp, seed=7, epochs=20)
    a, b = one[(2, 5)], two[(2, 5)]
    assert torch.equal(a.image, b.image) and torch.equal(a.targets, b.targets)
    assert not torch.equal(a.image, one[(3, 5)].image)
    assert not torch.equal(a.image, TrainItems(Frames(), hyp, seed=8, epochs=20)[(2, 5)].image)


def test_mosaic_tiles_share_the_view_and_close_at_the_end():
    ds = Frames(12)
    items = TrainItems(ds, Hyp(mosaic=1.0), seed=0, epochs=10, close_mosaic=2)
    # views are i % 3: frame 4's mosaic holds only classes of frames 1, 4, 7, 10 (classes 1, 0, 3, 2)
    for epoch in range(8):
        classes = set(items[(epoch, 4)].targets[:, 0].int().tolist())
        assert classes <= {ds.items[j][1][0, 0].int().item() for j in (1, 4, 7, 10)}
    last = items[(8, 4)]
    assert torch.equal(last.image, ds.items[4][0])  # mosaic closed, nothing else on


def test_batches_equal_for_any_worker_count():
    from lib.data import make_loader

    hyp = Hyp.of(TrainConfig(**YOLOV5_AUGMENTATION))
    items = TrainItems(Frames(16), hyp, seed=1, epochs=3)

    def batches(workers):
        sampler = EpochSampler(torch.utils.data.DistributedSampler(range(16), 1, 0, shuffle=True, seed=5))
        loader = make_loader(items, 4, sampler=sampler, workers=workers)
        out = []
        for epoch in (0, 1):
            sampler.set_epoch(epoch)
            out += [b.images for b in loader]
        return out

    for a, b in zip(batches(0), batches(2)):
        assert torch.equal(a, b)


def test_config_rules():
    with pytest.raises(ConfigError, match="mixup"):
        TrainConfig(mixup=0.1)
    with pytest.raises(ConfigError, match="perspective"):
        TrainConfig(perspective=0.01)
    with pytest.raises(ConfigError, match="fliplr"):
        TrainConfig(fliplr=1.5)
    assert TrainConfig(**YOLOV5_AUGMENTATION).augmented and not TrainConfig().augmented


def test_a_run_shorter_than_close_mosaic_keeps_its_mosaic():
    # Ultralytics closes mosaic at epoch == epochs - close_mosaic: never, when that is negative
    items = TrainItems(Frames(12), Hyp(mosaic=1.0), seed=0, epochs=5, close_mosaic=10)
    assert all(not torch.equal(items[(e, 4)].image, items.dataset.items[4][0]) for e in range(5))
    closed = TrainItems(Frames(12), Hyp(mosaic=1.0), seed=0, epochs=5, close_mosaic=5)
    assert all(torch.equal(closed[(e, 4)].image, closed.dataset.items[4][0]) for e in range(5))


def test_mosaic_tiles_are_pictures_without_letterbox_bars():
    from lib.data.letterbox import letterbox
    from lib.data.mosaic import content

    # a 96 x 48 picture with a red rectangle, letterboxed to 96: grey bars above and below
    picture = np.full((48, 96, 3), 30, np.uint8)
    picture[10:30, 20:60] = COLOURS[0]
    boxed = torch.from_numpy(letterbox(picture, S)[0].transpose(2, 0, 1).copy())
    targets = torch.tensor([[0, 40 / S, (24 + 20) / S, 40 / S, 20 / S]])  # bars of 24 px: y shifted by 24
    tile, t = content(boxed, targets, (96, 48))
    assert tile.shape == (3, 48, 96) and (tile != 114).all()
    torch.testing.assert_close(t, torch.tensor([[0, 40 / 96, 20 / 48, 40 / 96, 20 / 48]]))
    tiles = []
    for k in range(4):  # one colour per tile, so each colour's extent is one box
        recoloured = tile.clone()
        mask = (tile == torch.tensor(COLOURS[0], dtype=torch.uint8)[:, None, None]).all(0)
        recoloured[:, mask] = torch.tensor(COLOURS[k], dtype=torch.uint8)[:, None]
        tiles.append((recoloured, torch.cat([torch.tensor([[float(k)]]), t[:, 1:]], 1)))
    for seed in range(4):
        canvas, ct = mosaic(tiles, np.random.default_rng(seed), S)
        check_boxes_follow(canvas, ct)


def test_an_augmented_item_reads_its_own_frame_once():
    class Counting(Frames):
        reads = 0

        def __getitem__(self, i):
            Counting.reads += 1
            return super().__getitem__(i)

    items = TrainItems(Counting(12), Hyp(mosaic=1.0, fliplr=0.5), seed=0, epochs=5)
    items[(0, 4)]
    assert Counting.reads == 4  # the frame and its three tiles, each read once (the old code read the frame thrice)
