"""Distorted copies of digit images: how the 1,797 offline digits learn to read drawings.

Each copy of a 28x28 image gets one random affine map (rotation, scale per axis, shear, shift), a smooth
elastic warp (Simard, Steinkraus and Platt 2003) and, one time in three each, thicker or thinner strokes.
All copies are made in one vectorised resampling (about a second per 10,000 images).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

LIMIT = 10_000  # `training.augment` grows training sets smaller than this; larger ones have the variety already
CHUNK = 2_000  # images warped at a time: the float64 coordinates and noise of a chunk take about 50 MB


def augment_images(images: np.ndarray, copies: int, seed: int = 0, rotation: float = 15.0, scale: float = 0.15,
                   shear: float = 0.25, shift: float = 2.5, elastic: float = 30.0, smoothness: float = 4.0,
                   strokes: bool = True) -> np.ndarray:
    """`copies` distorted versions of each image of `images` (n, h, w) in [0, 1], as (copies * n, h, w) float32.

    Args:
        rotation: largest rotation, degrees. scale: largest relative change of each axis. shear: largest shear.
        shift: largest shift, pixels. elastic, smoothness: strength and Gaussian width (pixels) of the warp.
        strokes: thicken a third of the copies and thin another third (a 2x2 grey dilation or erosion).
    """
    images = np.asarray(images, np.float32)
    n, h, w = len(images) * copies, images.shape[1], images.shape[2]
    if n == 0:
        return np.zeros((0, h, w), np.float32)
    rng = np.random.default_rng(seed)
    angle = np.deg2rad(rng.uniform(-rotation, rotation, n))
    sx, sy, sh = rng.uniform(1 - scale, 1 + scale, n), rng.uniform(1 - scale, 1 + scale, n), rng.uniform(-shear, shear, n)
    cos, sin = np.cos(angle), np.sin(angle)
    forward = np.stack([np.stack([cos * sy - sin * sh, -sin * sx], -1), np.stack([sin * sy + cos * sh, cos * sx], -1)], -2)
    centre = np.array([(h - 1) / 2, (w - 1) / 2])[None, :, None, None]
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    shifts = rng.uniform(-shift, shift, (n, 2))[:, :, None, None]
    inverse = np.linalg.inv(forward)
    out = np.empty((n, h, w), np.float32)
    for start in range(0, n, CHUNK):  # chunk by chunk, drawing the noise in the same order as all at once
        part = slice(start, min(start + CHUNK, n))
        k = part.stop - start
        target = np.stack([rows, cols])[None] - centre - shifts[part]
        source = np.einsum("nij,njhw->nihw", inverse[part], target) + centre  # where each output pixel comes from
        source += ndimage.gaussian_filter(rng.uniform(-1, 1, (k, 2, h, w)), (0, 0, smoothness, smoothness)) * elastic
        index = np.broadcast_to(np.arange(k, dtype=np.float64)[:, None, None, None], (k, 1, h, w))
        originals = images[np.arange(start, part.stop) % len(images)]  # copy c of image i is output c * len + i
        out[part] = ndimage.map_coordinates(originals, np.concatenate([index, source], 1).transpose(1, 0, 2, 3), order=1)
    width = rng.integers(-1, 2, n) if strokes else np.zeros(n, int)
    for change, thicker in ((ndimage.grey_dilation, width > 0), (ndimage.grey_erosion, width < 0)):
        out[thicker] = change(out[thicker], size=(1, 2, 2))
    return np.clip(out, 0.0, 1.0, out=out)
