"""The levels of detail we make, and the budgets each must meet. Pure data.

Budgets follow the Khronos 3D Commerce publishing targets:

- ``phone``: mobile AR in the home app (<= 3 MB, <= 150k triangles, textures <= 2048 px).
  Geometry is meshopt-compressed (EXT_meshopt_compression, with KHR_mesh_quantization): the
  app's three.js-based viewer ships the meshopt decoder, and on a phone network bytes matter
  most. (Apple's AR Quick Look suggests 100k triangles; Quick Look needs USDZ, not made here.)
- ``planner``: one item among many in a room scene on a kiosk or phone (<= 1 MB, <= 40k
  triangles, textures <= 1024 px), meshopt-compressed for the same reason: a scene loads
  dozens of them.
- ``vr``: close-up on a VR kiosk over the store's LAN (<= 250k triangles, textures up to
  4096 px, no size budget). Quantized but not meshopt-compressed: any glTF 2.0 loader with
  KHR_mesh_quantization reads it, and decoding time matters more than bytes on a LAN.

``master`` is the normalised full model as uploaded (not for clients; the source of the others).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ProfileName = Literal["phone", "planner", "vr"]


@dataclass(frozen=True, slots=True)
class Profile:
    name: ProfileName
    max_bytes: int | None
    max_triangles: int
    max_texture: int
    meshopt: bool

    @property
    def compression(self) -> str:
        return "EXT_meshopt_compression" if self.meshopt else "none"


PROFILES: dict[str, Profile] = {
    "phone": Profile("phone", 3 * 1024 * 1024, 150_000, 2048, True),
    "planner": Profile("planner", 1024 * 1024, 40_000, 1024, True),
    "vr": Profile("vr", None, 250_000, 4096, False),
}
