# Copyright 2026 The diffusers-freqca authors. Licensed under the Apache License, Version 2.0.
"""Procedural training data for the zoo: two families of eight classes each, drawn at any height and width.

Every class has large-scale structure (horizons, regions, shapes, gradients) and fine detail (texture, stars,
waves, grain) whose phase and placement are random, so a model trained on them has both low- and high-frequency
dynamics to learn. Coordinates are normalised to the image's shorter side, so a class looks alike at every aspect
ratio. Nothing here comes from the tiny demo model's data (`diffusers_freqca.tiny_model`): the zoo must hold models
whose data the project's designs were not chosen on.
"""

import numpy as np


FAMILIES = {
    "scenes": (
        "sunset over a grassy field",
        "snowy mountain range under a blue sky",
        "sea with waves and a sailing boat",
        "night city with lit windows and stars",
        "forest of round trees",
        "desert dunes with a cactus",
        "falling snow over a frozen lake",
        "meadow of colourful flowers",
    ),
    "patterns": (
        "nested polygons",
        "tartan plaid",
        "stained-glass cells",
        "spiral",
        "polka dots on a gradient",
        "zigzag chevrons",
        "sunburst",
        "brick wall",
    ),
}


def class_names(family: str) -> tuple[str, ...]:
    r"""
    The class names ("prompts") of a data family.

    Args:
        family (`str`): `"scenes"`, `"patterns"` or `"mixed"` (both, scenes first).

    Returns:
        `tuple[str, ...]`: the names; a class index is a position in it.
    """
    if family == "mixed":
        return FAMILIES["scenes"] + FAMILIES["patterns"]
    if family not in FAMILIES:
        raise ValueError(f"`family` must be one of {[*FAMILIES, 'mixed']}, got {family!r}.")
    return FAMILIES[family]


def _smooth_noise(rng: np.random.Generator, height: int, width: int, beta: float) -> np.ndarray:
    # Gaussian noise with a 1/f^beta amplitude spectrum, normalised to zero mean and unit std: clouds, terrain.
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    radius = np.sqrt(fy**2 + fx**2)
    radius[0, 0] = 1.0
    spectrum = (rng.standard_normal(radius.shape) + 1j * rng.standard_normal(radius.shape)) / radius**beta
    spectrum[0, 0] = 0.0
    field = np.fft.irfft2(spectrum, s=(height, width))
    return (field - field.mean()) / (field.std() + 1e-8)


def _ridge(rng: np.random.Generator, width: int, scale: float) -> np.ndarray:
    # A 1-D fractal line (mountain ridges, dunes): sum of octaves with random phases.
    x = np.linspace(0, 1, width)
    line = np.zeros(width)
    for octave in range(5):
        frequency = 2 ** (octave + 1)
        line += np.sin(2 * np.pi * frequency * x + rng.uniform(0, 2 * np.pi)) / frequency
    return line * scale


class _Canvas:
    # Pixel grids in units of the shorter side, and helpers to paint with a colour jitter shared by the image.
    def __init__(self, rng: np.random.Generator, height: int, width: int):
        self.rng, self.height, self.width = rng, height, width
        side = min(height, width)
        self.y, self.x = np.mgrid[0:height, 0:width].astype(np.float32) / side
        self.h, self.w = height / side, width / side
        self.jitter = rng.uniform(-0.08, 0.08, 3).astype(np.float32)
        self.image = np.zeros((3, height, width), np.float32)

    def colour(self, rgb) -> np.ndarray:
        return np.clip(np.asarray(rgb, np.float32) + self.jitter, 0, 1)[:, None, None]

    def fill(self, rgb) -> None:
        self.image[:] = self.colour(rgb)

    def paint(self, mask: np.ndarray, value) -> None:
        value = value if isinstance(value, np.ndarray) and value.ndim == 3 else self.colour(value)
        self.image = np.where(mask[None], value, self.image)

    def gradient(self, top, bottom, axis: str = "y") -> np.ndarray:
        t = self.y / self.h if axis == "y" else self.x / self.w
        return self.colour(top) * (1 - t[None]) + self.colour(bottom) * t[None]


def _scene(index: int, c: _Canvas) -> None:
    rng, x, y, h, w = c.rng, c.x, c.y, c.h, c.w
    horizon = rng.uniform(0.45, 0.65) * h
    if index == 0:  # sunset: warm sky, sun on the horizon, dark grass with fine blades
        c.image[:] = c.gradient([0.35, 0.15, 0.45], [0.98, 0.55, 0.2])
        sun_x, sun_r = rng.uniform(0.2, 0.8) * w, rng.uniform(0.08, 0.14)
        c.paint((x - sun_x) ** 2 + (y - horizon) ** 2 < sun_r**2, [1.0, 0.85, 0.4])
        blades = 0.5 + 0.5 * np.sin(
            2 * np.pi * rng.uniform(40, 60) * x + 3 * _smooth_noise(rng, c.height, c.width, 2.5)
        )
        grass = c.colour([0.1, 0.25, 0.08]) * (0.5 + 0.5 * blades[None])
        c.paint(y > horizon, grass)
    elif index == 1:  # mountains: fractal ridge, snow caps, sky gradient
        c.image[:] = c.gradient([0.25, 0.45, 0.85], [0.7, 0.85, 1.0])
        ridge = horizon - 0.15 - _ridge(rng, c.width, 0.25)[None, :]
        rock = c.colour([0.35, 0.3, 0.3]) * (0.8 + 0.2 * _smooth_noise(rng, c.height, c.width, 1.2)[None])
        c.paint(y > ridge, rock)
        c.paint((y > ridge) & (y < ridge + 0.06 + 0.03 * np.sin(40 * x)), [0.95, 0.95, 0.98])
        c.paint(y > horizon + 0.15, [0.2, 0.45, 0.2])
    elif index == 2:  # sea: sky, wavy water with perspective, a boat
        c.image[:] = c.gradient([0.5, 0.7, 0.95], [0.85, 0.9, 1.0])
        depth = np.clip((y - horizon) / (h - horizon + 1e-6), 0, 1)
        waves = 0.5 + 0.5 * np.sin(2 * np.pi * (8 + 30 * depth) * y + 2 * np.sin(6 * x + rng.uniform(0, 6)))
        water = c.colour([0.05, 0.25, 0.5]) * (0.7 + 0.3 * waves[None])
        c.paint(y > horizon, water)
        bx = rng.uniform(0.25, 0.75) * w
        hull = (y > horizon - 0.02) & (y < horizon + 0.03) & (np.abs(x - bx) < 0.1 - (y - horizon + 0.02))
        sail = (y < horizon - 0.02) & (y > horizon - 0.2) & (x > bx) & (x - bx < (y - horizon + 0.2) * 0.6)
        c.paint(hull, [0.4, 0.2, 0.1])
        c.paint(sail, [0.97, 0.97, 0.92])
    elif index == 3:  # night city: stars, building blocks with a grid of lit windows
        c.image[:] = c.gradient([0.02, 0.02, 0.1], [0.1, 0.1, 0.25])
        c.paint(rng.random((c.height, c.width)) > 0.985, [0.9, 0.9, 0.8])
        left = 0.0
        while left < w:
            bw, top = rng.uniform(0.12, 0.25), rng.uniform(0.25, 0.6) * h
            inside = (x >= left) & (x < left + bw) & (y > top)
            windows = (np.sin(2 * np.pi * 28 * x) > 0.2) & (np.sin(2 * np.pi * 28 * y) > 0.2)
            lit = windows & (_smooth_noise(rng, c.height, c.width, 0.5) > 0.2)
            c.paint(inside, [0.12, 0.12, 0.15])
            c.paint(inside & lit, [0.95, 0.8, 0.35])
            left += bw + rng.uniform(0.0, 0.05)
    elif index == 4:  # forest: trunks and round canopies with leafy texture
        c.image[:] = c.gradient([0.6, 0.8, 0.6], [0.15, 0.3, 0.1])
        leaves = _smooth_noise(rng, c.height, c.width, 0.8)
        for _ in range(rng.integers(4, 8)):
            tx, ty, r = rng.uniform(0, w), rng.uniform(0.3, 0.6) * h, rng.uniform(0.08, 0.16)
            c.paint((np.abs(x - tx) < 0.025) & (y > ty), [0.3, 0.18, 0.08])
            canopy = c.colour([0.1, 0.45, 0.12]) * (0.75 + 0.25 * np.sign(leaves)[None])
            c.paint((x - tx) ** 2 + (y - ty) ** 2 < r**2, canopy)
    elif index == 5:  # desert: banded dunes with sand ripples, a cactus
        c.image[:] = c.gradient([0.55, 0.75, 0.95], [0.95, 0.9, 0.75])
        dune = horizon - _ridge(rng, c.width, 0.12)[None, :]
        ripples = 0.5 + 0.5 * np.sin(2 * np.pi * 45 * (y + 0.1 * np.sin(5 * x)))
        sand = c.colour([0.85, 0.65, 0.35]) * (0.85 + 0.15 * ripples[None])
        c.paint(y > dune, sand)
        cx = rng.uniform(0.2, 0.8) * w
        body = (np.abs(x - cx) < 0.03) & (y > horizon - 0.25) & (y < horizon + 0.05)
        arm = (np.abs(x - cx - 0.07) < 0.02) & (y > horizon - 0.18) & (y < horizon - 0.08)
        bar = (x > cx) & (x < cx + 0.09) & (np.abs(y - horizon + 0.1) < 0.02)
        c.paint(body | arm | bar, [0.15, 0.5, 0.2])
    elif index == 6:  # frozen lake: pale blue ice with cracks, snow flakes
        c.image[:] = c.gradient([0.75, 0.8, 0.9], [0.9, 0.95, 1.0])
        crack = np.abs(_smooth_noise(rng, c.height, c.width, 1.6)) < 0.06
        c.paint((y > horizon) & crack, [0.45, 0.6, 0.8])
        c.paint(y < horizon - 0.2 + 0.05 * np.sin(9 * x), [0.6, 0.65, 0.75])
        c.paint(rng.random((c.height, c.width)) > 0.97, [1.0, 1.0, 1.0])
    else:  # meadow: green grass and clusters of coloured flowers
        c.image[:] = c.gradient([0.55, 0.8, 0.95], [0.2, 0.55, 0.15])
        c.paint(
            y > horizon, c.colour([0.25, 0.6, 0.2]) * (0.8 + 0.2 * _smooth_noise(rng, c.height, c.width, 1.0)[None])
        )
        for _ in range(rng.integers(12, 20)):
            fx, fy, r = rng.uniform(0, w), rng.uniform(horizon, h), rng.uniform(0.02, 0.04)
            c.paint(
                (x - fx) ** 2 + (y - fy) ** 2 < r**2, rng.choice([[0.95, 0.2, 0.3], [1.0, 0.9, 0.2], [0.7, 0.3, 0.9]])
            )


def _pattern(index: int, c: _Canvas) -> None:
    rng, x, y, h, w = c.rng, c.x, c.y, c.h, c.w
    cx, cy = rng.uniform(0.35, 0.65) * w, rng.uniform(0.35, 0.65) * h
    dx, dy = x - cx, y - cy
    angle, radius = np.arctan2(dy, dx), np.sqrt(dx**2 + dy**2)
    phase = rng.uniform(0, 2 * np.pi)
    if index == 0:  # nested regular polygons, alternating colours
        sides = rng.integers(3, 7)
        sector = np.cos(np.pi / sides) / np.cos((angle + phase) % (2 * np.pi / sides) - np.pi / sides)
        rings = np.floor(radius / sector * rng.uniform(12, 18)) % 2
        c.image[:] = c.colour([0.9, 0.3, 0.2]) * rings[None] + c.colour([0.1, 0.15, 0.35]) * (1 - rings[None])
    elif index == 1:  # plaid: two crossing stripe sets in three colours
        f = rng.uniform(5, 9)
        a = (np.sin(2 * np.pi * f * x + phase) > 0.3).astype(np.float32)
        b = (np.sin(2 * np.pi * f * y + phase) > 0.3).astype(np.float32)
        thin = (np.abs(np.sin(2 * np.pi * 4 * f * (x + y))) > 0.9).astype(np.float32)
        c.image[:] = c.colour([0.6, 0.1, 0.1]) * (1 - 0.4 * a[None] - 0.4 * b[None] + 0.3 * thin[None])
    elif index == 2:  # stained glass: Voronoi cells with random colours and dark leading
        points = rng.uniform(0, 1, (14, 2)) * [w, h]
        d = np.stack([(x - px) ** 2 + (y - py) ** 2 for px, py in points])
        order = np.sort(d, axis=0)
        cell = np.argmin(d, axis=0)
        palette = rng.uniform(0.2, 1.0, (len(points), 3)).astype(np.float32)
        c.image[:] = palette[cell].transpose(2, 0, 1)
        c.paint(np.sqrt(order[1]) - np.sqrt(order[0]) < 0.015, [0.05, 0.05, 0.05])
    elif index == 3:  # spiral arms
        arms = rng.integers(2, 5)
        s = np.sin(arms * angle + rng.uniform(15, 25) * radius + phase)
        c.image[:] = c.colour([0.1, 0.5, 0.6]) * (0.5 + 0.5 * np.sign(s)[None]) + c.colour([0.9, 0.9, 0.7]) * (
            0.5 - 0.5 * np.sign(s)[None]
        )
    elif index == 4:  # polka dots on a diagonal gradient
        c.image[:] = c.gradient([0.95, 0.6, 0.7], [0.5, 0.2, 0.6], axis="x")
        f = rng.uniform(6, 10)
        gx, gy = (x * f + phase) % 1 - 0.5, (y * f) % 1 - 0.5
        c.paint(gx**2 + gy**2 < 0.09, [1.0, 1.0, 0.95])
    elif index == 5:  # zigzag chevrons
        f = rng.uniform(6, 10)
        zig = np.abs(((x * f + phase) % 1) - 0.5)
        bands = np.floor((y + zig * 0.4) * f * 1.5) % 3
        palette = np.stack(
            [
                c.colour([0.1, 0.2, 0.5])[:, 0, 0],
                c.colour([0.95, 0.95, 0.9])[:, 0, 0],
                c.colour([0.9, 0.5, 0.1])[:, 0, 0],
            ]
        )
        c.image[:] = palette[bands.astype(int)].transpose(2, 0, 1)
    elif index == 6:  # sunburst: radial rays around a disk
        rays = np.sign(np.sin(rng.integers(10, 18) * angle + phase))
        c.image[:] = c.colour([0.95, 0.75, 0.1]) * (0.75 + 0.25 * rays[None])
        c.paint(radius < rng.uniform(0.1, 0.18), [0.9, 0.3, 0.05])
    else:  # brick wall with mortar and grain
        rows = rng.uniform(7, 11)
        row = np.floor(y * rows)
        bx = (x * rows / 2 + 0.5 * (row % 2) + phase) % 1
        by = (y * rows) % 1
        grain = 0.85 + 0.15 * _smooth_noise(rng, c.height, c.width, 0.6)
        c.image[:] = c.colour([0.7, 0.3, 0.2]) * grain[None]
        c.paint((bx < 0.06) | (by < 0.12), [0.8, 0.78, 0.72])


def render(family: str, class_index: int, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    r"""
    One image of a class.

    Args:
        family (`str`): `"scenes"`, `"patterns"` or `"mixed"`.
        class_index (`int`): index into `class_names(family)`.
        rng (`np.random.Generator`): the source of randomness; seed it for reproducible data.
        height (`int`), width (`int`): the image size in pixels.

    Returns:
        `np.ndarray`: float32, shape `(3, height, width)`, values in `[0, 1]`.

    Example:
        ```python
        >>> render("scenes", 2, np.random.default_rng(0), 64, 96).shape
        (3, 64, 96)
        ```
    """
    names = class_names(family)
    if not 0 <= class_index < len(names):
        raise ValueError(f"`class_index` must be in [0, {len(names) - 1}] for family {family!r}, got {class_index!r}.")
    canvas = _Canvas(rng, height, width)
    if family == "mixed":
        family, class_index = ("scenes", class_index) if class_index < 8 else ("patterns", class_index - 8)
    (_scene if family == "scenes" else _pattern)(class_index, canvas)
    return np.clip(canvas.image, 0, 1).astype(np.float32)


def batch(family: str, size: int, rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    r"""
    Random classes and their images.

    Args:
        family (`str`): the data family.
        size (`int`): how many images.
        rng (`np.random.Generator`): the source of randomness.
        height (`int`), width (`int`): the image size in pixels.

    Returns:
        `tuple[np.ndarray, np.ndarray]`: images `(size, 3, height, width)` in `[-1, 1]` and class indices `(size,)`.
    """
    classes = rng.integers(0, len(class_names(family)), size)
    images = np.stack([render(family, int(k), rng, height, width) for k in classes])
    return images * 2 - 1, classes
