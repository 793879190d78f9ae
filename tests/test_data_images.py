"""load_rgb on small files written here: EXIF orientation, every PIL mode, every suffix, every failure.

Expected pixels come from numpy (np.rot90, hand-computed scalings) or from the EXIF spec,
not from the function under test.
"""
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from lib.data.errors import LabelError
from lib.data.images import IMAGE_SUFFIXES, UNDECODABLE_SUFFIXES, load_rgb

W, H = 8, 6
YOLO_FORMATS = {".bmp", ".dng", ".jpeg", ".jpg", ".mpo", ".png", ".tif", ".tiff", ".webp", ".pfm", ".heic"}


def load(p):
    """load_rgb plus the contract every call must keep: (H, W, 3) uint8, C-contiguous."""
    arr = load_rgb(p)
    assert arr.ndim == 3 and arr.shape[2] == 3 and arr.dtype == np.uint8 and arr.flags.c_contiguous
    return arr


def pattern(h=H, w=W):
    """A stored frame whose every pixel differs, so any rotation or flip is visible."""
    return (np.arange(h * w * 3, dtype=np.uint8).reshape(h, w, 3) * 7) % 251


def exif(orientation):
    e = Image.Exif()
    e[0x0112] = orientation
    return e


# What a viewer shows for each EXIF orientation, from the EXIF 2.3 spec (tag 0x0112).
VIEW = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],                      # mirrored left-right
    3: lambda a: np.rot90(a, 2),                  # rotate 180
    4: lambda a: a[::-1],                         # mirrored top-bottom
    5: lambda a: a.transpose(1, 0, 2),            # transpose (top-left stays)
    6: lambda a: np.rot90(a, -1),                 # rotate 90 clockwise to view
    7: lambda a: np.rot90(a, 2).transpose(1, 0, 2),  # transverse (top-left <-> bottom-right)
    8: lambda a: np.rot90(a, 1),                  # rotate 90 counter-clockwise to view
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_png_exact(tmp_path, orientation):
    a = pattern()
    p = tmp_path / "x.png"
    Image.fromarray(a).save(p, exif=exif(orientation))
    out = load(p)
    np.testing.assert_array_equal(out, VIEW[orientation](a))


@pytest.mark.parametrize("suffix,kw", [(".tif", {}), (".webp", {"lossless": True})])
def test_exif_orientation_6_tiff_and_lossless_webp(tmp_path, suffix, kw):
    a = pattern()
    p = tmp_path / f"x{suffix}"
    Image.fromarray(a).save(p, exif=exif(6), **kw)
    out = load(p)
    assert out.shape == (W, H, 3)
    np.testing.assert_array_equal(out, np.rot90(a, -1))


# A white 8x8 block in the stored top-left corner of a black 24x16 JPEG: where a viewer shows it.
@pytest.mark.parametrize("orientation,shape,corner", [
    (3, (16, 24), "bottom-right"), (6, (24, 16), "top-right"), (8, (24, 16), "bottom-left")])
def test_exif_orientation_jpeg_moves_the_marked_corner(tmp_path, orientation, shape, corner):
    a = np.zeros((16, 24, 3), np.uint8)
    a[:8, :8] = 255
    p = tmp_path / "x.jpg"
    Image.fromarray(a).save(p, exif=exif(orientation), quality=95)
    out = load(p).astype(int)
    assert out.shape == (*shape, 3)
    h, w = shape
    corners = {"top-left": out[1:7, 1:7], "top-right": out[1:7, w - 7:w - 1],
               "bottom-left": out[h - 7:h - 1, 1:7], "bottom-right": out[h - 7:h - 1, w - 7:w - 1]}
    for name, block in corners.items():
        assert (block.mean() > 230) == (name == corner), name


@pytest.mark.parametrize("suffix,mode", [(".png", "I;16"), (".tif", "I;16"), (".tif", "I;16B")])
def test_16bit_grey_scaled_with_rounding_not_clipped(tmp_path, suffix, mode):
    v = np.array([[0, 128, 257, 32767, 32768, 65280, 65535]], np.uint16)
    want = [0, 0, 1, 127, 128, 254, 255]  # round(v * 255 / 65535)
    im = Image.fromarray(v)
    if mode != im.mode:
        im = Image.frombytes(mode, im.size, v.astype(">u2").tobytes())
    p = tmp_path / f"x{suffix}"
    im.save(p)
    with Image.open(p) as check:
        assert check.mode == mode  # what PIL 13 gives for this file: no 8-bit reduction on its side
    out = load(p)
    assert out[0, :, 0].tolist() == want
    assert (out == out[:, :, :1]).all()


def png_rgb16(a):
    """A 48-bit RGB PNG (colour type 2, depth 16) written by hand: PIL cannot write one."""
    h, w, _ = a.shape
    raw = b"".join(b"\x00" + a[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_48bit_rgb_png_is_pils_high_byte(tmp_path):
    """Pinned: PIL decodes 16-bit-per-channel RGB PNG to 'RGB' keeping the high byte (v >> 8)."""
    a = np.array([[[0, 128, 257], [32767, 32768, 65280], [65535, 65535, 0]]], np.uint16)
    p = tmp_path / "x.png"
    p.write_bytes(png_rgb16(a))
    with Image.open(p) as check:
        assert check.mode == "RGB"
    np.testing.assert_array_equal(load(p), (a >> 8).astype(np.uint8))


def test_int32_in_16bit_range_scaled(tmp_path):
    p = tmp_path / "x.tif"
    Image.fromarray(np.array([[0, 257, 32768, 65535]], np.int32)).save(p)
    with Image.open(p) as check:
        assert check.mode == "I"
    assert load(p)[0, :, 0].tolist() == [0, 1, 128, 255]


@pytest.mark.parametrize("bad", [70000, -5])
def test_int32_outside_16bit_range_is_an_error(tmp_path, bad):
    p = tmp_path / "x.tif"
    Image.fromarray(np.array([[0, bad]], np.int32)).save(p)
    with pytest.raises(LabelError) as e:
        load_rgb(p)
    assert (e.value.path, e.value.line, e.value.kind) == (p, None, "integer image outside 0..65535")
    assert f"{min(0, bad)}..{max(0, bad)}" in e.value.what  # the values found


@pytest.mark.parametrize("suffix", [".tif", ".pfm"])
def test_float_in_unit_range_scaled(tmp_path, suffix):
    p = tmp_path / f"x{suffix}"
    Image.fromarray(np.array([[0.0, 0.25, 1 / 255, 1.0], [0.5, 0.75, 0.1, 0.0]], np.float32)).save(p)
    with Image.open(p) as check:
        assert check.mode == "F"
    out = load(p)
    assert out[:, :, 0].tolist() == [[0, 64, 1, 255], [128, 191, 26, 0]]  # rows not flipped (PFM is bottom-up)


@pytest.mark.parametrize("values,found", [([0.0, 2.0], "0..2"), ([-0.5, 1.0], "-0.5..1"),
                                          ([0.0, float("nan")], "NaN")])
def test_float_outside_unit_range_is_an_error(tmp_path, values, found):
    p = tmp_path / "x.tif"
    Image.fromarray(np.array([values], np.float32)).save(p)
    with pytest.raises(LabelError) as e:
        load_rgb(p)
    assert (e.value.path, e.value.kind) == (p, "float image outside [0, 1]")
    assert found in e.value.what  # the values found


def test_bilevel_is_0_or_255(tmp_path):
    p = tmp_path / "x.png"
    Image.fromarray(np.array([[True, False, True]])).save(p)
    with Image.open(p) as check:
        assert check.mode == "1"
    assert load(p)[0].tolist() == [[255] * 3, [0] * 3, [255] * 3]


@pytest.mark.parametrize("transparency", [0, bytes([0, 128])])
def test_palette_with_transparency_gives_the_palette_colour(tmp_path, transparency):
    im = Image.fromarray(np.array([[0, 1, 2]], np.uint8), "P")
    im.putpalette([10, 20, 30, 200, 100, 50, 0, 255, 0])
    p = tmp_path / "x.png"
    im.save(p, transparency=transparency)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Palette images with Transparency" warning either
        out = load(p)
    assert out[0].tolist() == [[10, 20, 30], [200, 100, 50], [0, 255, 0]]


def test_rgba_and_la_drop_alpha_keeping_the_stored_colour(tmp_path):
    rgba = np.array([[[10, 20, 30, 0], [200, 100, 50, 128], [1, 2, 3, 255]]], np.uint8)
    Image.fromarray(rgba).save(tmp_path / "a.png")
    assert load(tmp_path / "a.png")[0].tolist() == [[10, 20, 30], [200, 100, 50], [1, 2, 3]]
    Image.fromarray(np.array([[[7, 0], [99, 255]]], np.uint8), "LA").save(tmp_path / "b.png")
    assert load(tmp_path / "b.png")[0].tolist() == [[7, 7, 7], [99, 99, 99]]


@pytest.mark.parametrize("suffix,tol", [(".tif", 0), (".jpg", 3)])
def test_cmyk_pure_cyan_as_pil_converts_it(tmp_path, suffix, tol):
    im = Image.new("CMYK", (W, H), (255, 0, 0, 0))
    p = tmp_path / f"x{suffix}"
    im.save(p)
    want = np.asarray(im.convert("RGB"))
    assert want[0, 0].tolist() == [0, 255, 255]
    assert np.abs(load(p).astype(int) - want).max() <= tol


@pytest.mark.parametrize("suffix,tol", [(".tif", 0), (".mpo", 2)])
def test_multi_frame_file_gives_the_first_frame(tmp_path, suffix, tol):
    p = tmp_path / f"x{suffix}"
    Image.new("RGB", (W, H), (10, 10, 10)).save(p, save_all=True, append_images=[Image.new("RGB", (W, H), (200,) * 3)])
    with Image.open(p) as check:
        assert check.n_frames == 2
    assert np.abs(load(p).astype(int) - 10).max() <= tol


def write(p, a):
    """Write (H, W, 3) uint8 `a` in p's format; returns the largest error allowed on reading it back."""
    fmt = Image.registered_extensions()[p.suffix.lower()]
    if fmt not in Image.SAVE:
        pytest.skip(f"this PIL can read {p.suffix} but not write it")
    if p.suffix == ".pfm":  # PFM holds floats: a grey image in [0, 1]
        Image.fromarray(a[:, :, 0].astype(np.float32) / 255).save(p)
        return 0
    if p.suffix in (".jpg", ".jpeg", ".mpo"):
        Image.fromarray(a).save(p, quality=95, subsampling=0)  # no chroma subsampling at the colour edge
        return 8
    Image.fromarray(a).save(p, **({"lossless": True} if p.suffix == ".webp" else {}))
    return 0


@pytest.mark.parametrize("suffix", IMAGE_SUFFIXES)
def test_every_suffix_round_trips(tmp_path, suffix):
    a = np.zeros((H, W, 3), np.uint8)
    a[:, :W // 2] = (40, 160, 220)  # smooth halves: JPEG keeps them close
    if suffix == ".pfm":
        a[:] = a[:, :, :1]
    a[:2, -2:] = 255
    p = tmp_path / f"x{suffix.upper() if suffix == '.png' else suffix}"  # case of the suffix does not matter
    tol = write(p, a)
    out = load(p)
    assert out.shape == a.shape
    assert np.abs(out.astype(int) - a).max() <= tol


def test_suffix_lists_split_yolov5_formats():
    assert set(IMAGE_SUFFIXES) | set(UNDECODABLE_SUFFIXES) == YOLO_FORMATS
    assert not set(IMAGE_SUFFIXES) & set(UNDECODABLE_SUFFIXES)
    assert {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"} <= set(IMAGE_SUFFIXES)
    assert all(s == s.lower() and s.startswith(".") for s in IMAGE_SUFFIXES + UNDECODABLE_SUFFIXES)


@pytest.mark.parametrize("suffix", [".dng", ".heic"])
def test_yolov5_format_pil_cannot_decode_says_so(tmp_path, suffix):
    if suffix not in UNDECODABLE_SUFFIXES:
        pytest.skip(f"this PIL decodes {suffix}")
    p = tmp_path / f"x{suffix}"
    p.write_bytes(b"II*\x00 any bytes")
    with pytest.raises(LabelError) as e:
        load_rgb(p)
    assert (e.value.path, e.value.kind) == (p, "image format PIL cannot decode")
    assert "convert it to PNG or TIFF" in e.value.what  # the way out


@pytest.mark.parametrize("name", ["x.gif", "x.xyz", "x"])
def test_unknown_suffix_is_an_error_naming_it(tmp_path, name):
    p = tmp_path / name
    Image.new("RGB", (W, H)).save(p, format="GIF" if name.endswith(".gif") else "PNG")  # decodable content
    suffix = name[1:] or "(none)"
    with pytest.raises(LabelError) as e:
        load_rgb(p)
    assert (e.value.path, e.value.kind) == (p, "image suffix not accepted")
    assert repr(suffix) in e.value.what  # names the suffix


def test_truncated_empty_and_missing_files_name_the_file(tmp_path):
    p = tmp_path / "cut.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)).save(p)
    p.write_bytes(p.read_bytes()[:-2000])
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "junk.png").write_bytes(b"not an image at all")
    for name, kind in [("cut.png", "cannot decode image"), ("empty.jpg", "image file is empty (0 bytes)"),
                       ("gone.png", "image file not found"), ("junk.png", "cannot decode image")]:
        with pytest.raises(LabelError) as e:
            load_rgb(tmp_path / name)
        assert (e.value.path, e.value.line, e.value.kind) == (tmp_path / name, None, kind)
    assert "UnidentifiedImageError" in e.value.what  # junk.png: PIL's own reason is kept
