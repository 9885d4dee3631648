"""AR assets: product 3D models checked, normalised, reduced per device profile, and served.

Used by other packages through two functions:

- :func:`ar_assets.service.lod_for_sku` — the GLB bytes of a SKU's default model at a profile
  (``phone``, ``planner``, ``vr``), or None;
- :func:`ar_assets.validator.validate_glb` — our structural checks and the Khronos
  glTF-Validator on a GLB, as a report whose ``errors`` must be 0 for a file we serve.

Roles: ``gltf``, ``geometry``, ``profiles`` and ``report`` are pure; ``sources`` turns an
upload into one GLB; ``validator``, ``decode`` and ``lod`` drive Node and gltfpack;
``storage`` is the content-addressed blob store; ``store`` the SQL; ``service`` one unit of
work; ``tasks`` the Celery task. The demo's models and the benchmark are development tools
(``devtools``).
"""
