# Copyright 2026 The diffusers-freqca authors. All rights reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""What differs between diffusion-transformer families, in one table. Nothing else in FreqCa is model-specific.

Each row names, for one transformer class: the forward argument that describes its image token grid(s), how its
`timestep` argument maps to the flow-matching sigma in `[0, 1]`, and the output-head module whose input FreqCa caches
(the Cumulative Residual Feature). Classes without a row use `DEFAULT_FAMILY`: grid from `img_ids` / `img_shapes` if
the call passes one, the timestep scale inferred from the first call, and a head called `norm_out`.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class TransformerFamily:
    r"""
    One row of the family table.

    Args:
        grid_source (`str`, *optional*):
            The forward argument that describes the image token grid(s): `"img_ids"` (FLUX-style position ids of
            shape `(seq, >=3)`: image index, row, column), `"img_shapes"` (Qwen-Image-style per-sample lists of
            `(frames, rows, columns)`), or `None` to try both.
        timestep_scale (`float`, *optional*):
            `sigma = timestep * timestep_scale`: `1.0` for pipelines that pass `t / 1000` (FLUX, Qwen-Image),
            `0.001` for pipelines that pass `t` in `[0, 1000]`. `None` infers it from the first call (a first timestep
            above 1.5 means the `[0, 1000]` convention).
        head (`str`):
            The name of the output-head module (a direct child of the transformer) whose input is the block stack's
            image-token output: FreqCa records it on full steps and replaces it by the forecast on predicted steps.

    Example:
        ```python
        >>> family_for("FluxTransformer2DModel").grid_source
        'img_ids'
        ```
    """

    grid_source: str | None = None
    timestep_scale: float | None = None
    head: str = "norm_out"


DEFAULT_FAMILY = TransformerFamily()

# transformer class name -> its row
FAMILIES: dict[str, TransformerFamily] = {
    # img_ids: (seq, 3) image index (0 = target, 1 = FLUX.1-Kontext reference), row, column; timestep = t / 1000.
    "FluxTransformer2DModel": TransformerFamily(grid_source="img_ids", timestep_scale=1.0),
    "ChromaTransformer2DModel": TransformerFamily(grid_source="img_ids", timestep_scale=1.0),
    # img_ids: (seq, 4) time / reference index, row, column, layer.
    "Flux2Transformer2DModel": TransformerFamily(grid_source="img_ids", timestep_scale=1.0),
    # img_shapes: per sample a list of (frames, rows, columns), target first, then references; timestep = t / 1000.
    "QwenImageTransformer2DModel": TransformerFamily(grid_source="img_shapes", timestep_scale=1.0),
}


def family_for(class_name: str) -> TransformerFamily:
    r"""
    The family row of a transformer class, `DEFAULT_FAMILY` for classes without one.

    Args:
        class_name (`str`): the transformer's class name, e.g. `"QwenImageTransformer2DModel"`.

    Returns:
        [`TransformerFamily`]: the row.
    """
    return FAMILIES.get(class_name, DEFAULT_FAMILY)
