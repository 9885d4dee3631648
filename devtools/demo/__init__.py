"""``homeloop demo`` (:mod:`devtools.demo.run`) and the demo's data: the catalog's 3D models
(:mod:`~devtools.demo.models`), a residential community with a furnished design
(:mod:`~devtools.demo.community`) and the shop floor (:mod:`~devtools.demo.shop_floor`).
"""
