"""Helpers for the rendering tests: decode PNGs into numpy arrays through
GDAL's PNG driver, compare images the way STYLE.md says (never by bytes)."""
import os
import subprocess

import numpy as np
from osgeo import gdal

gdal.UseExceptions()


def read_png(path):
    """An (height, width, 4) uint8 RGBA array of any PNG (gray, palette, RGB, RGBA)."""
    ds = gdal.Open(path)
    bands = [ds.GetRasterBand(i + 1) for i in range(ds.RasterCount)]
    h, w = ds.RasterYSize, ds.RasterXSize
    if len(bands) == 1 and bands[0].GetColorTable() is not None:
        ct = bands[0].GetColorTable()
        lut = np.array([ct.GetColorEntry(i) for i in range(ct.GetCount())], dtype=np.uint8)
        return lut[bands[0].ReadAsArray()]
    data = np.dstack([b.ReadAsArray() for b in bands]).astype(np.uint8)
    if data.shape[2] == 1:
        data = np.dstack([data[:, :, 0]] * 3)
    if data.shape[2] == 2:
        data = np.dstack([data[:, :, 0]] * 3 + [data[:, :, 1]])
    if data.shape[2] == 3:
        data = np.dstack([data, np.full((h, w), 255, np.uint8)])
    return data


def write_png(path, rgba):
    h, w, _ = rgba.shape
    mem = gdal.GetDriverByName("MEM").Create("", w, h, 4, gdal.GDT_Byte)
    for i in range(4):
        mem.GetRasterBand(i + 1).WriteArray(rgba[:, :, i])
    gdal.GetDriverByName("PNG").CreateCopy(path, mem)


def compare(a, b):
    """(largest channel difference, pixels differing by more than 2 levels,
    pixels differing by more than 16, mean absolute error)."""
    if a.shape != b.shape:
        return 255, a.size, a.size, 255.0
    d = np.abs(a.astype(np.int16) - b.astype(np.int16))
    per_pixel = d.max(axis=2)
    return int(d.max()), int((per_pixel > 2).sum()), int((per_pixel > 16).sum()), float(d.mean())


def diff_image(a, b):
    """Red where a and b differ, scaled; grey elsewhere."""
    d = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2)
    out = np.dstack([a[:, :, :3].mean(axis=2).astype(np.uint8) // 3] * 3 + [np.full(d.shape, 255, np.uint8)])
    mask = d > 2
    out[mask] = [255, 0, 0, 255]
    return out


def pngcheck(path):
    return subprocess.run(["pngcheck", "-q", path], capture_output=True, text=True).returncode == 0
